/* config.c - fuzz target: the gateway's JSON configuration file
 * (gateway_config_load), written to a temporary file as an admin would. */
#include <limits.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "site/config.h"

static void check_terminated(const char *field, const char *s, size_t cap)
{
    if (memchr(s, '\0', cap) == NULL)
        fz_fail("config field %s is not NUL-terminated", field);
}

int fz_config(const uint8_t *data, size_t size)
{
    char path[PATH_MAX];
    fz_write_temp("gateway.json", data, size, path);
    static gateway_config cfg; /* large: keep it off the fuzzer's stack */
    ecl_err err;
    ecl_err_clear(&err);
    if (!FZ_CHECK("gateway_config_load", gateway_config_load(path, &cfg, &err), &err, ECL_E_INPUT,
                  ECL_E_LIMIT))
        return 0;
    if (!site_id_is_valid(cfg.site))
        fz_fail("config accepted with invalid site '%s'", cfg.site);
    check_terminated("country", cfg.country, sizeof(cfg.country));
    check_terminated("listen", cfg.listen, sizeof(cfg.listen));
    check_terminated("endpoint", cfg.endpoint, sizeof(cfg.endpoint));
    check_terminated("data_dir", cfg.data_dir, sizeof(cfg.data_dir));
    check_terminated("tls_cert", cfg.tls_cert, sizeof(cfg.tls_cert));
    check_terminated("tls_key", cfg.tls_key, sizeof(cfg.tls_key));
    check_terminated("tls_ca", cfg.tls_ca, sizeof(cfg.tls_ca));
    check_terminated("signing_key", cfg.signing_key, sizeof(cfg.signing_key));
    if (cfg.threads == 0 || cfg.max_message_bytes == 0)
        fz_fail("config accepted with threads %u, max_message_bytes %zu", cfg.threads,
                cfg.max_message_bytes);
    return 1;
}
