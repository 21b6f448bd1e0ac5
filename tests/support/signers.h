/*
 * signers.h - for tests: a signer in the test's own process (site/signer.h,
 * signer_local) on a key the test made, so that a test can sign documents
 * as a site does without starting a gateway. Aborts the test if it fails.
 * Free with signer_free.
 */
#ifndef ECLUSE_TESTS_SUPPORT_SIGNERS_H
#define ECLUSE_TESTS_SUPPORT_SIGNERS_H

#include "site/signer.h"

signer *ts_signer(const site_key *key);

#endif
