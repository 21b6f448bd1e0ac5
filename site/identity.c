#include "site/identity.h"

#include <stdio.h>
#include <string.h>

#define SPIFFE_SCHEME "spiffe://"

static int is_lower_alnum(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

int site_id_is_valid(const char *site)
{
    size_t n = site == NULL ? 0 : strlen(site);
    if (n == 0 || n >= ECL_SITE_ID_MAX || !is_lower_alnum(site[0]))
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!is_lower_alnum(site[i]) && site[i] != '-')
            return 0;
    return 1;
}

int person_name_is_valid(const char *name)
{
    size_t n = name == NULL ? 0 : strlen(name);
    if (n == 0 || n >= ECL_NAME_MAX || name[0] == '.')
        return 0;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        int ok = is_lower_alnum(c) || (c >= 'A' && c <= 'Z') || c == '.' || c == '_' || c == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

const char *role_name(ecl_role role)
{
    switch (role) {
    case ECL_ROLE_GATEWAY:
        return "gateway";
    case ECL_ROLE_RESEARCHER:
        return "researcher";
    case ECL_ROLE_AUDITOR:
        return "auditor";
    case ECL_ROLE_ADMIN:
        return "admin";
    default:
        return "none";
    }
}

ecl_role role_from_name(const char *name)
{
    static const ecl_role all[] = {ECL_ROLE_GATEWAY, ECL_ROLE_RESEARCHER, ECL_ROLE_AUDITOR,
                                   ECL_ROLE_ADMIN};
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
        if (name != NULL && strcmp(name, role_name(all[i])) == 0)
            return all[i];
    return ECL_ROLE_NONE;
}

void roles_describe(unsigned mask, char *buf, size_t cap)
{
    static const ecl_role all[] = {ECL_ROLE_RESEARCHER, ECL_ROLE_AUDITOR, ECL_ROLE_ADMIN,
                                   ECL_ROLE_GATEWAY};
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        if (!(mask & all[i]))
            continue;
        int n = snprintf(buf + used, cap - used, "%s%s", used ? ", " : "", role_name(all[i]));
        if (n < 0 || (size_t)n >= cap - used)
            return;
        used += (size_t)n;
    }
}

int identity_make(const char *site, ecl_role role, const char *name, ecl_identity *out,
                  ecl_err *err)
{
    if (!site_id_is_valid(site))
        return ecl_fail(err, ECL_E_USAGE,
                        "site id '%s' is not valid: use 1-63 of a-z, 0-9 and '-', starting "
                        "with a letter or digit",
                        site ? site : "");
    if (role == ECL_ROLE_NONE || role_name(role)[0] == 'n')
        return ecl_fail(err, ECL_E_USAGE, "unknown role");
    memset(out, 0, sizeof(*out));
    memcpy(out->site, site, strlen(site) + 1);
    out->role = role;
    if (role == ECL_ROLE_GATEWAY) {
        snprintf(out->spiffe, sizeof(out->spiffe), SPIFFE_SCHEME "%s/gateway", site);
        return 0;
    }
    if (!person_name_is_valid(name))
        return ecl_fail(err, ECL_E_USAGE,
                        "name '%s' is not valid: use 1-63 of A-Z, a-z, 0-9, '.', '_' and '-'",
                        name ? name : "");
    memcpy(out->name, name, strlen(name) + 1);
    snprintf(out->spiffe, sizeof(out->spiffe), SPIFFE_SCHEME "%s/%s/%s", site, role_name(role),
             name);
    return 0;
}

int identity_parse_spiffe(const char *uri, ecl_identity *out, ecl_err *err)
{
    if (uri == NULL || strncmp(uri, SPIFFE_SCHEME, strlen(SPIFFE_SCHEME)) != 0)
        return ecl_fail(err, ECL_E_AUTH, "identity '%s' is not a spiffe:// URI",
                        uri ? uri : "(none)");
    if (strlen(uri) >= ECL_SPIFFE_MAX)
        return ecl_fail(err, ECL_E_AUTH, "identity is longer than %d bytes", ECL_SPIFFE_MAX - 1);
    char copy[ECL_SPIFFE_MAX];
    snprintf(copy, sizeof(copy), "%s", uri + strlen(SPIFFE_SCHEME));
    char *parts[4] = {0};
    int count = 0;
    char *save = NULL;
    for (char *tok = strtok_r(copy, "/", &save); tok != NULL; tok = strtok_r(NULL, "/", &save)) {
        if (count == 3)
            return ecl_fail(err, ECL_E_AUTH, "identity '%s' has too many path segments", uri);
        parts[count++] = tok;
    }
    /* strtok_r folds "//" away; a canonical id has no empty segments, at the
     * start ("spiffe:///fi/...", found by fuzzing), inside or at the end. */
    const char *path = uri + strlen(SPIFFE_SCHEME);
    if (path[0] == '/' || strstr(path, "//") != NULL || uri[strlen(uri) - 1] == '/')
        return ecl_fail(err, ECL_E_AUTH, "identity '%s' has an empty path segment", uri);
    if (count == 2 && strcmp(parts[1], "gateway") == 0)
        return identity_make(parts[0], ECL_ROLE_GATEWAY, NULL, out, err) == 0
                   ? 0
                   : ecl_fail(err, ECL_E_AUTH, "identity '%s': bad site id", uri);
    if (count != 3)
        return ecl_fail(err, ECL_E_AUTH,
                        "identity '%s' is not spiffe://<site>/gateway or "
                        "spiffe://<site>/<role>/<name>",
                        uri);
    ecl_role role = role_from_name(parts[1]);
    if (role == ECL_ROLE_NONE || role == ECL_ROLE_GATEWAY)
        return ecl_fail(err, ECL_E_AUTH,
                        "identity '%s': unknown role '%s' (researcher, auditor or admin)", uri,
                        parts[1]);
    if (identity_make(parts[0], role, parts[2], out, err) != 0) {
        err->code = ECL_E_AUTH;
        return ecl_err_prefix(err, "identity '%s'", uri);
    }
    return 0;
}
