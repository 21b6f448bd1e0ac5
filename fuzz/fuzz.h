/*
 * fuzz.h - the fuzz targets of ecluse and the helpers they share.
 *
 * Every parser of outside input has one target here: a function that takes
 * arbitrary bytes, feeds them to the parser the way the gateway, the CLI or
 * the store would, and checks what came back. The same functions are driven
 * by libFuzzer (fuzz/libfuzzer_main.c, built by fuzz/run.sh with clang) and
 * replayed over the seed corpora and the saved crash inputs by the normal
 * test suite (tests/fuzz), so an input that once crashed a parser stays a
 * test forever.
 *
 * A target returns 1 when the parser accepted the input, 0 when it refused
 * it. It never returns anything else: a broken promise of the parser's
 * header (a failure without a category from its documented list or without
 * a message, a success whose result contradicts the input, a permit with an
 * unsatisfied rule, ...) aborts through fz_fail(), which libFuzzer reports as
 * a crash and the replay test as a failure.
 *
 * Targets that sign (catalogs, bundles, grants, rotations, checkpoints)
 * take a leading mode byte: one mode passes the bytes as received, the other
 * has the harness sign the fuzzed body with a fixed test key first, so that
 * the fuzzer reaches the code behind the signature check. The keys are
 * fz_key(0..FZ_KEYS-1): deterministic, public, for tests only.
 */
#ifndef ECLUSE_FUZZ_FUZZ_H
#define ECLUSE_FUZZ_FUZZ_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "site/signer.h"
#include "site/sitekey.h"

/* A target: 1 accepted, 0 refused; aborts on a broken promise. */
typedef int (*fz_target_fn)(const uint8_t *data, size_t size);

typedef struct fz_target {
    const char *name; /* also the directory under fuzz/corpus and fuzz/regressions */
    fz_target_fn fn;
} fz_target;

/* Every target, in a fixed order; *count gets their number. */
const fz_target *fz_targets(size_t *count);

/* The targets (fuzz/targets/<name>.c). */
int fz_rpc_request(const uint8_t *data, size_t size);
int fz_catalog(const uint8_t *data, size_t size);
int fz_catalog_blob(const uint8_t *data, size_t size);
int fz_bundle(const uint8_t *data, size_t size);
int fz_rotation(const uint8_t *data, size_t size);
int fz_config(const uint8_t *data, size_t size);
int fz_identity(const uint8_t *data, size_t size);
int fz_pem(const uint8_t *data, size_t size);
int fz_grant(const uint8_t *data, size_t size);
/* The dataset the grant target's holder holds (gateway/grant.h), for seeds. */
struct grant_dataset;
void fz_grant_held(struct grant_dataset *out);
int fz_policy(const uint8_t *data, size_t size);
int fz_transfer_rules(const uint8_t *data, size_t size);
int fz_sccs(const uint8_t *data, size_t size);
int fz_safetensors(const uint8_t *data, size_t size);
int fz_npy(const uint8_t *data, size_t size);
int fz_csv(const uint8_t *data, size_t size);
int fz_rowset(const uint8_t *data, size_t size);
int fz_rowlist(const uint8_t *data, size_t size);
int fz_checkpoint(const uint8_t *data, size_t size);
int fz_relay_scan(const uint8_t *data, size_t size);
int fz_verifier(const uint8_t *data, size_t size);
int fz_grant_file(const uint8_t *data, size_t size);
int fz_attestation(const uint8_t *data, size_t size);
int fz_fetch_record(const uint8_t *data, size_t size);

/* The request types of every method the gateway serves and the response
 * types it decodes from peers, as rpc_server.c / rpc_client.c unpack them
 * (the list is checked against gateway_methods() by tests/fuzz). */
#include <protobuf-c/protobuf-c.h>
const ProtobufCMessageDescriptor *const *fz_rpc_descriptors(size_t *count);

/* ---- helpers ------------------------------------------------------------ */

/* Report a broken promise (printf-style) on stderr and abort(). */
void fz_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* Check a parser's result: rc must be 0 or -1; on -1 err->code must be one
 * of the `n` codes in `allowed` and err->msg must not be empty. `what`
 * names the parser in the report. Returns 1 for 0, 0 for -1. With FZ_VERBOSE
 * set in the environment, each refusal is printed (to see why a seed fails). */
int fz_check(const char *what, int rc, const ecl_err *err, const ecl_code *allowed, size_t n);
#define FZ_CHECK(what, rc, err, ...)                                                               \
    fz_check((what), (rc), (err), (const ecl_code[]){__VA_ARGS__},                                 \
             sizeof((const ecl_code[]){__VA_ARGS__}) / sizeof(ecl_code))

/* Reading fuzz input piece by piece; reads past the end give zeros/empty. */
typedef struct fz_reader {
    const uint8_t *p;
    size_t left;
} fz_reader;

uint8_t fz_u8(fz_reader *r);
/* A piece of at most 0xffff bytes: a u16 LE length, then that many bytes
 * (fewer if the input ends first). */
const uint8_t *fz_piece(fz_reader *r, size_t *len);

/* The rest of the input as a malloc'd NUL-terminated string (the caller
 * frees it); embedded NULs stay. */
char *fz_strndup(const uint8_t *data, size_t size);

#define FZ_KEYS 4
/* Test key i (0 <= i < FZ_KEYS), from a fixed seed. */
const site_key *fz_key(unsigned i);

/* A signer (site/signer.h, in this process) on test key i, made once. */
signer *fz_signer(unsigned i);

/* Write `data` to a file `name` in this process's private temporary
 * directory (made once under $TEST_TMPDIR, $TMPDIR or /tmp and removed at
 * exit); the path goes to `path` (PATH_MAX). Aborts if it cannot: the
 * harness, not the parser, would be broken. */
void fz_write_temp(const char *name, const void *data, size_t size, char *path);

/* The directory fz_write_temp writes into. */
const char *fz_temp_dir(void);

#endif
