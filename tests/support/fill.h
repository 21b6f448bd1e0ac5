/*
 * fill.h - fill a stopped site's audit trail until not one more entry fits,
 * for the tests of what a gateway does with a full trail.
 */
#ifndef ECLUSE_TESTS_SUPPORT_FILL_H
#define ECLUSE_TESTS_SUPPORT_FILL_H

#include <stddef.h>

/* Open the log in `dir` with a map of `map_bytes`, append entries of kind
 * admin by `actor`, big then smaller and smaller, until even a tiny one is
 * refused; then close and reopen and do it again until the first tiny
 * append after a reopen is refused. (LMDB hands pages freed by the last
 * transactions out again only to a later one, so one pass can leave room a
 * gateway's first small write would free up.) Asserts that something was
 * appended and that the refusal is ECL_E_UNAVAILABLE. Returns the number
 * of entries appended. */
size_t th_fill_audit(const char *dir, size_t map_bytes, const char *actor);

#endif
