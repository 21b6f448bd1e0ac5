/*
 * fixture.h - what the fault tests share: a dataset of random bytes
 * published at a real site, and a grant for it signed with the site's real
 * key (so a test can read without going through Access.Request).
 */
#ifndef ECLUSE_TESTS_FAULTS_FIXTURE_H
#define ECLUSE_TESTS_FAULTS_FIXTURE_H

#include <stdint.h>

#include "proto/ecluse.pb-c.h"
#include "tests/support/harness.h"

/* Publish "<site>/<name>": one U8 tensor "x" of side x side random bytes,
 * under an anonymous policy, by `admin` (an identity directory). Files go
 * in `work`. Asserts success. */
void fx_publish_noise(const th_site *site, const char *admin, const char *work, const char *name,
                      uint64_t side);

/* A grant of "<holder>/<name>" (tensor "x", at most `rows` rows, until
 * `expires_unix`) for spiffe://<req_site>/researcher/<req_name>, signed with
 * the holder's keys/site.key. Free with grant_clear. */
void fx_grant(const th_site *holder, const char *name, const char *req_site, const char *req_name,
              uint64_t rows, int64_t expires_unix, Ecluse__V1__Grant *g);

#endif
