/* dataset_name.c - `name` or `site/name`, read the same by every command. */
#include "cli/dataset_name.h"

#include <stdio.h>
#include <string.h>

/* Split `given` into its site ("" for a bare name) and its name. */
static int split(const char *given, char site[ECL_SITE_ID_MAX], char name[ECL_NAME_MAX],
                 ecl_err *err)
{
    const char *slash = strchr(given, '/');
    const char *bare = slash != NULL ? slash + 1 : given;
    size_t site_len = slash != NULL ? (size_t)(slash - given) : 0;
    if (bare[0] == '\0' || strchr(bare, '/') != NULL || strlen(bare) >= ECL_NAME_MAX ||
        (slash != NULL && (site_len == 0 || site_len >= ECL_SITE_ID_MAX)))
        return ecl_fail(err, ECL_E_USAGE,
                        "'%s' is not a dataset name: give NAME for a dataset of your site, or "
                        "SITE/NAME for any site's",
                        given);
    snprintf(site, ECL_SITE_ID_MAX, "%.*s", (int)site_len, given);
    snprintf(name, ECL_NAME_MAX, "%s", bare);
    if (slash != NULL && !site_id_is_valid(site))
        return ecl_fail(err, ECL_E_USAGE, "'%s' is not a dataset name: '%s' is not a site id",
                        given, site);
    return 0;
}

int cli_dataset_id(const char *given, const char *own_site, char out[CLI_DATASET_ID_MAX],
                   ecl_err *err)
{
    char site[ECL_SITE_ID_MAX], name[ECL_NAME_MAX];
    if (split(given, site, name, err) != 0)
        return -1;
    snprintf(out, CLI_DATASET_ID_MAX, "%s/%s", site[0] != '\0' ? site : own_site, name);
    return 0;
}

int cli_own_dataset_name(const char *command, const char *given, const char *own_site,
                         char out[ECL_NAME_MAX], ecl_err *err)
{
    char site[ECL_SITE_ID_MAX];
    if (split(given, site, out, err) != 0)
        return -1;
    if (site[0] != '\0' && strcmp(site, own_site) != 0)
        return ecl_fail(err, ECL_E_USAGE,
                        "'%s' is a dataset of site %s: '%s' acts on your site's (%s) datasets "
                        "only; give '%s' or '%s/%s'",
                        given, site, command, own_site, out, own_site, out);
    return 0;
}
