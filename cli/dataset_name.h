/*
 * dataset_name.h - the one way a person names a dataset on the command line.
 *
 * `name` is a dataset of the site of the identity in use; `site/name` is
 * the dataset `name` of site `site`, any site of the federation. Every
 * command that takes a dataset reads it through these two functions, so the
 * two forms mean the same everywhere.
 */
#ifndef ECLUSE_CLI_DATASET_NAME_H
#define ECLUSE_CLI_DATASET_NAME_H

#include <stddef.h>

#include "common/err.h"
#include "site/identity.h"

/* Room for "<site>/<name>" and its NUL. */
#define CLI_DATASET_ID_MAX (ECL_SITE_ID_MAX + ECL_NAME_MAX)

/* The full id "<site>/<name>" of the dataset `given` names, `own_site`
 * filling in a bare name. ECL_E_USAGE naming `given` if it is neither form
 * (an empty part, a second '/', a site id that is not one). */
int cli_dataset_id(const char *given, const char *own_site, char out[CLI_DATASET_ID_MAX],
                   ecl_err *err) ECL_WUR;

/* For commands that act only on the own site's datasets (`dataset add`,
 * `dataset remove`, named by `command` in errors): the bare name, from
 * `name` or `<own_site>/name`. Another site's dataset is refused with
 * ECL_E_USAGE, saying whose it is and what to give instead. */
int cli_own_dataset_name(const char *command, const char *given, const char *own_site,
                         char out[ECL_NAME_MAX], ecl_err *err) ECL_WUR;

#endif
