/*
 * signer_io.h - internal to site/: one framed message on the signer's
 * socketpair, `u32 kind-or-status || u32 length || payload` (signer.h).
 */
#ifndef ECLUSE_SITE_SIGNER_IO_H
#define ECLUSE_SITE_SIGNER_IO_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Send one message; -1 if the other end is gone (never raises SIGPIPE). */
int signer_io_write(int fd, uint32_t code, const void *payload, size_t len) ECL_WUR;

/* Receive one message into `buf` (at most `cap` bytes). `timeout_ms` < 0
 * waits for ever. Returns 0; -2 if the other end closed before a message
 * began; -1 with ECL_E_UNAVAILABLE (closed mid-message, timed out, read
 * failed) or ECL_E_LIMIT (a length over `cap`: the stream cannot be
 * trusted after that). */
int signer_io_read(int fd, uint32_t *code, void *buf, size_t cap, size_t *len, int timeout_ms,
                   ecl_err *err) ECL_WUR;

#endif
