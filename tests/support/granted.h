/*
 * granted.h - for tests that sign grants themselves (with a site's key, as
 * the site would): the published dataset a grant must name to be read
 * (gateway/grant.h, grant_dataset), read from the holding site's state as
 * it is now. A running gateway keeps its state open; LMDB lets this process
 * read it at the same time. Aborts the test if it fails.
 */
#ifndef ECLUSE_TESTS_SUPPORT_GRANTED_H
#define ECLUSE_TESTS_SUPPORT_GRANTED_H

#include "gateway/grant.h"

/* `site_dir` is the site's directory (its data is in site_dir/data); `id`
 * is "<site>/<name>". */
void tg_dataset(const char *site_dir, const char *id, grant_dataset *out);

/* tg_dataset of body->dataset, then point `body`'s dataset_* fields at
 * *d: returns 1. If the site holds no such dataset, `body` is left as it is
 * (a grant of a dataset that is not there) and it returns 0. */
int tg_bind(const char *site_dir, Ecluse__V1__GrantBody *body, grant_dataset *d);

#endif
