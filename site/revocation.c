/* revocation.c - the site's revocation list (see revocation.h). */
#include "site/revocation.h"

#include <ctype.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/fileio.h"
#include "site/config.h"
#include "site/pki_registry.h"

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

/* The revocation list at `path`, or a new empty one if there is none. */
static int load_list(const char *path, json_t **out, ecl_err *err)
{
    char *text = NULL;
    size_t len = 0;
    ecl_err read_err;
    if (ecl_read_file(path, 16 << 20, &text, &len, &read_err) != 0) {
        if (read_err.code != ECL_E_NOT_FOUND)
            return ecl_fail(err, read_err.code, "%s", read_err.msg);
        *out = json_pack("{s:i, s:[]}", "ecluse_revoked", 1, "revoked");
        return *out != NULL ? 0 : ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    }
    json_t *doc = json_loadb(text, len, 0, NULL);
    free(text);
    if (doc == NULL || !json_is_array(json_object_get(doc, "revoked"))) {
        json_decref(doc);
        return ecl_fail(err, ECL_E_INPUT, "%s: not a revocation list", path);
    }
    *out = doc;
    return 0;
}

static int listed(json_t *list, const char *serial)
{
    size_t i;
    json_t *item;
    json_array_foreach(list, i, item)
    {
        const char *s = json_string_value(json_object_get(item, "serial"));
        if (s != NULL && strcmp(s, serial) == 0)
            return 1;
    }
    return 0;
}

/* The serials of `spiffe` to revoke: all of them, or the one asked for
 * (upper-case hex, as pki_cert_serial writes it). */
static int choose_serials(pki_registry *reg, const char *spiffe, const char *only,
                          site_revoke_result *res, ecl_err *err)
{
    const char *all[SITE_REVOKE_MAX];
    size_t n = pki_registry_serials(reg, spiffe, all, SITE_REVOKE_MAX);
    if (n == 0)
        return ecl_fail(err, ECL_E_NOT_FOUND, "%s has no certificate from this site (%s)", spiffe,
                        pki_registry_path(reg));
    if (n > SITE_REVOKE_MAX)
        return ecl_fail(err, ECL_E_LIMIT,
                        "%s has %zu certificates, more than the %d one revocation handles; "
                        "revoke them by editing the revocation list",
                        spiffe, n, SITE_REVOKE_MAX);
    char want[sizeof(res->serials[0])] = "";
    for (size_t i = 0; only != NULL && only[i] != '\0' && i + 1 < sizeof(want); i++) {
        want[i] = (char)toupper((unsigned char)only[i]);
        want[i + 1] = '\0';
    }
    for (size_t i = 0; i < n; i++) {
        if (only != NULL && strcmp(all[i], want) != 0)
            continue;
        snprintf(res->serials[res->count++], sizeof(res->serials[0]), "%s", all[i]);
    }
    if (only != NULL && res->count == 0)
        return ecl_fail(err, ECL_E_NOT_FOUND,
                        "--serial %s is not one of the certificates this site issued to %s "
                        "(see %s)",
                        only, spiffe, pki_registry_path(reg));
    return 0;
}

/* Add each chosen serial not yet listed; write the list back atomically
 * (the gateway reads it on every call). */
static int add_to_list(const char *path, const char *spiffe, const char *reason,
                       site_revoke_result *res, ecl_err *err)
{
    json_t *doc = NULL;
    if (load_list(path, &doc, err) != 0)
        return -1;
    json_t *list = json_object_get(doc, "revoked");
    int bad = 0;
    for (size_t i = 0; i < res->count && !bad; i++) {
        if (listed(list, res->serials[i]))
            continue;
        bad = json_array_append_new(list, json_pack("{s:s, s:s, s:I, s:s}", "serial",
                                                    res->serials[i], "spiffe", spiffe,
                                                    "revoked_unix", (json_int_t)time(NULL),
                                                    "reason", reason ? reason : "")) != 0;
        res->added++;
    }
    if (!bad && res->added == 0) { /* every one was revoked already */
        json_decref(doc);
        return 0;
    }
    char *out = bad ? NULL : json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(doc);
    int rc = out != NULL
                 ? ecl_write_file(path, out, strlen(out), 0644, ECL_WRITE_REPLACE, err)
                 : ecl_fail(err, ECL_E_INTERNAL,
                            "cannot encode the revocation list (out of memory, or the reason "
                            "is not UTF-8)");
    free(out);
    return rc;
}

int site_revoke_person(const site_revoke_request *req, site_revoke_result *res, ecl_err *err)
{
    memset(res, 0, sizeof(*res));
    char config_path[PATH_MAX];
    gateway_config cfg;
    if (join(config_path, req->site_dir, "ecluse.json", err) != 0 ||
        gateway_config_load(config_path, &cfg, err) != 0 ||
        identity_make(cfg.site, req->role, req->name, &res->subject, err) != 0)
        return -1;
    pki_registry *reg = NULL;
    if (pki_registry_open(req->site_dir, &reg, err) != 0)
        return -1;
    int rc = choose_serials(reg, res->subject.spiffe, req->serial, res, err) != 0 ||
                     add_to_list(cfg.tls_revoked, res->subject.spiffe, req->reason, res, err) != 0
                 ? -1
                 : 0;
    pki_registry_close(reg);
    return rc;
}
