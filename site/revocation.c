/* revocation.c - the site's revocation list (see revocation.h). */
#include "site/revocation.h"

#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/fileio.h"
#include "site/config.h"

static int join(char *out, const char *dir, const char *name, ecl_err *err)
{
    return ecl_path_join(out, PATH_MAX, dir, name, err);
}

int site_is_revoked(const char *path, const char *serial, char *why, size_t cap, ecl_err *err)
{
    char *text = NULL;
    size_t len = 0;
    ecl_err read_err;
    if (ecl_read_file(path, 16 << 20, &text, &len, &read_err) != 0)
        return read_err.code == ECL_E_NOT_FOUND ? 0
                                                : ecl_fail(err, read_err.code, "%s", read_err.msg);
    json_error_t jerr;
    json_t *doc = json_loadb(text, len, 0, &jerr);
    free(text);
    json_t *list = doc ? json_object_get(doc, "revoked") : NULL;
    if (doc == NULL || !json_is_array(list)) {
        json_decref(doc);
        return ecl_fail(err, ECL_E_INPUT, "%s: not a revocation list (%s)", path,
                        doc == NULL ? jerr.text : "field 'revoked' must be an array");
    }
    int found = 0;
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        const char *s = json_string_value(json_object_get(item, "serial"));
        if (s != NULL && strcmp(s, serial) == 0) {
            const char *reason = json_string_value(json_object_get(item, "reason"));
            snprintf(why, cap, "%s", reason && reason[0] ? reason : "no reason given");
            found = 1;
            break;
        }
    }
    json_decref(doc);
    return found;
}

int site_revoke_person(const char *site_dir, ecl_role role, const char *name, const char *reason,
                       char *serial_out, size_t cap, ecl_err *err)
{
    char config_path[PATH_MAX], path[PATH_MAX], leaf[160];
    gateway_config cfg;
    ecl_identity id;
    if (join(config_path, site_dir, "ecluse.json", err) != 0 ||
        gateway_config_load(config_path, &cfg, err) != 0 ||
        identity_make(cfg.site, role, name, &id, err) != 0)
        return -1;
    snprintf(leaf, sizeof(leaf), "%s-%s.json", role_name(role), name);
    if (ecl_path_join(path, sizeof(path), cfg.people_dir, leaf, err) != 0)
        return -1;
    char *text = NULL;
    size_t len = 0;
    if (ecl_read_file(path, 65536, &text, &len, err) != 0)
        return ecl_err_prefix(err, "no record of %s at this site", id.spiffe);
    json_t *person = json_loadb(text, len, 0, NULL);
    free(text);
    const char *serial = person ? json_string_value(json_object_get(person, "serial")) : NULL;
    if (serial == NULL) {
        json_decref(person);
        return ecl_fail(err, ECL_E_INPUT, "%s: no certificate serial recorded", path);
    }
    snprintf(serial_out, cap, "%s", serial);
    json_decref(person);
    /* Read, add, write back atomically: the gateway reads it on change. */
    json_t *doc = NULL;
    if (ecl_read_file(cfg.tls_revoked, 16 << 20, &text, &len, err) == 0) {
        doc = json_loadb(text, len, 0, NULL);
        free(text);
        if (doc == NULL || !json_is_array(json_object_get(doc, "revoked"))) {
            json_decref(doc);
            return ecl_fail(err, ECL_E_INPUT, "%s: not a revocation list", cfg.tls_revoked);
        }
    } else if (err->code == ECL_E_NOT_FOUND) {
        doc = json_pack("{s:i, s:[]}", "ecluse_revoked", 1, "revoked");
    } else {
        return -1;
    }
    json_array_append_new(json_object_get(doc, "revoked"),
                          json_pack("{s:s, s:s, s:I, s:s}", "serial", serial_out, "spiffe",
                                    id.spiffe, "revoked_unix", (json_int_t)time(NULL), "reason",
                                    reason ? reason : ""));
    char *out = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    int rc = out ? ecl_write_file(cfg.tls_revoked, out, strlen(out), 0644, ECL_WRITE_REPLACE, err)
                 : ecl_fail(err, ECL_E_INTERNAL, "cannot encode the revocation list");
    free(out);
    return rc;
}
