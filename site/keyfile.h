/*
 * keyfile.h - reading a file that holds a private key.
 *
 * Every loader of a private key reads it here: the site CA's key, the
 * gateway's TLS key, the site's Ed25519 signing key, a person's key.pem. A
 * key file that group or others can reach (mode & 077), as ssh refuses one,
 * is refused with ECL_E_INPUT naming the file and its mode, before a byte
 * of it is read: the key may already be known to others, and using it in
 * silence would hide that. The file's bytes go to sodium_malloc memory
 * (guarded, locked where the system allows), never the ordinary heap.
 */
#ifndef ECLUSE_SITE_KEYFILE_H
#define ECLUSE_SITE_KEYFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "common/err.h"

/* ECL_E_INPUT "PATH: private key is readable by group or others (mode
 * 0644); chmod 600 it" if `mode` lets group or others in; else 0. */
int keyfile_check_mode(const char *path, mode_t mode, ecl_err *err) ECL_WUR;

/* Read the private key file at `path` (at most `max_bytes`; a larger one is
 * ECL_E_LIMIT), after checking its mode on the open file. On success *out
 * is sodium_malloc'd, NUL-terminated (not counted in *len); free it with
 * keyfile_free, which wipes it. ECL_E_NOT_FOUND if there is no such file. */
int keyfile_read(const char *path, size_t max_bytes, char **out, size_t *len, ecl_err *err) ECL_WUR;

/* Wipe and free what keyfile_read returned (NULL is fine). */
void keyfile_free(char *buf);

#endif
