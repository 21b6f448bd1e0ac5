/*
 * pyapi.h - the C ABI of libecluse_client.so, for Python (ctypes) and any
 * other language that can call C: stream a granted dataset into buffers the
 * caller owns, in windows of whole, verified rows.
 *
 * Only plain C types cross it. Every function that can fail returns 0 (or a
 * count) on success and a negative ecl_code (common/err.h: -ECL_E_INPUT, ...)
 * on failure, and writes a message naming the problem into `msg` (NUL
 * terminated, cut to `msg_cap` bytes; msg may be NULL).
 *
 *   eclpy_session *s;   eclpy_session_open("/home/ana/.ecluse", NULL, &s, msg, sizeof msg);
 *   uint64_t n, rb;     eclpy_granted_shape(s, grant, grant_len, NULL, 0, &n, &rb, msg, sizeof
 * msg); uint64_t ranges[] = {0, n}; eclpy_read *r;      eclpy_read_open(s, grant, grant_len, NULL,
 * 0, ranges, 1, 4 << 20, &r, msg, sizeof msg); uint64_t rows; while ((got =
 * eclpy_read_next_window(r, buf, cap, &rows, msg, sizeof msg)) > 0) use(buf, rows);
 *   // got == 0: every range arrived and verified; got < 0: msg says what failed
 *   eclpy_read_close(r);  eclpy_session_close(s);
 *
 * A read is a list of row ranges [begin, end) of the dataset as stored,
 * read in that order; each range is one Data.Read (one audit entry at the
 * holding site), verified chunk by chunk and by its trailer (client/read.h)
 * before any of its rows are handed out. A thread of the read reads ahead:
 * it holds at most two windows of `window_bytes` (one being filled, one
 * ready), so a range must fit one window (rows x row bytes <= window_bytes,
 * else -ECL_E_USAGE naming the range). A window holds one range: for each
 * selected tensor in header order, its rows' bytes (rows x that tensor's row
 * bytes), one tensor after the other.
 *
 * Threads: a session may serve several reads at once; a read belongs to one
 * thread at a time. Close every read before its session.
 */
#ifndef ECLUSE_CLIENT_PYAPI_PYAPI_H
#define ECLUSE_CLIENT_PYAPI_PYAPI_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef struct eclpy_session eclpy_session;
typedef struct eclpy_read eclpy_read;

/* The version of this ABI (bumped on any incompatible change). */
#define ECLPY_ABI_VERSION 1
int eclpy_abi_version(void);

/* A session as the person of `identity_dir` (made by `ecluse pki issue`:
 * cert.pem, key.pem, ca.pem, identity.json), to their home gateway, or to
 * `gateway` (host:port) when not NULL. Errors: those of ecl_client_open
 * (-ECL_E_INPUT naming the file that is missing or wrong). */
int eclpy_session_open(const char *identity_dir, const char *gateway, eclpy_session **out,
                       char *msg, size_t msg_cap) ECL_WUR;
void eclpy_session_close(eclpy_session *s);

/* Read a grant file (`ecluse access request --save-grant`) and write its
 * Grant protobuf encoding into `buf`; returns its length. Errors: those of
 * client_grant_load, -ECL_E_LIMIT if it does not fit `cap`. */
int64_t eclpy_grant_file(const char *path, void *buf, size_t cap, char *msg,
                         size_t msg_cap) ECL_WUR;

/* What the grant (a Grant protobuf encoding) lets its holder read, as the
 * home gateway's catalog lists the dataset: its rows, cut to the grant's
 * max_rows, and the bytes of one row over `tensors` (n_tensors 0: the
 * grant's tensors, or every tensor if it names none). The catalog counts
 * rows as published: rows erased since are skipped by a read, which then
 * brings fewer. Errors: -ECL_E_INPUT (not a grant), -ECL_E_NOT_FOUND (a
 * tensor the entry does not have, or the catalog's refusal). */
int eclpy_granted_shape(eclpy_session *s, const void *grant, size_t grant_len,
                        const char *const *tensors, size_t n_tensors, uint64_t *rows,
                        uint64_t *row_bytes, char *msg, size_t msg_cap) ECL_WUR;

/* Start a read of `n_ranges` row ranges (ranges[2i], ranges[2i+1]) of
 * `tensors` (n_tensors 0: every tensor of the grant), and wait for the
 * first range's header. Errors: the gateway's refusal (read.h), -ECL_E_USAGE
 * (no ranges, an empty range, window_bytes 0), -ECL_E_INPUT (a tensor of a
 * dtype this library does not know, naming both: nothing is read). */
int eclpy_read_open(eclpy_session *s, const void *grant, size_t grant_len,
                    const char *const *tensors, size_t n_tensors, const uint64_t *ranges,
                    size_t n_ranges, uint64_t window_bytes, eclpy_read **out, char *msg,
                    size_t msg_cap) ECL_WUR;

/* The tensors of the read, from the first range's header (owned by the
 * read): name, safetensors dtype, bytes per row, and the shape of one row
 * (dims after the first; *row_ndim may be 0). -ECL_E_USAGE if i is out of range. */
size_t eclpy_read_tensor_count(const eclpy_read *r);
int eclpy_read_tensor(const eclpy_read *r, size_t i, const char **name, const char **dtype,
                      uint64_t *row_bytes, const uint64_t **row_shape, size_t *row_ndim) ECL_WUR;

/* Bytes of one row over all the read's tensors. */
uint64_t eclpy_read_row_bytes(const eclpy_read *r);

/* Copy the next verified range into buf (layout at the top of this file):
 * returns its bytes with *rows set, 0 once every range arrived and
 * verified, or a negative code: the read's failure (a digest that does not
 * match, a gateway that went away, a range whose tensors differ from the
 * first's) or -ECL_E_USAGE if the window does not fit `cap`. Ranges that
 * arrived whole before a failure are handed out first. */
int64_t eclpy_read_next_window(eclpy_read *r, void *buf, uint64_t cap, uint64_t *rows, char *msg,
                               size_t msg_cap) ECL_WUR;

/* Stop the read-ahead (it finishes the range under way, at most one window),
 * and free. NULL is ignored. */
void eclpy_read_close(eclpy_read *r);

#endif
