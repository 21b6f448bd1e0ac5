/* harness.c - what every fuzz target shares: result checks, input pieces,
 * the fixed test keys, private temporary files, the table of targets. */
#include <dirent.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz/fuzz.h"

static const fz_target targets[] = {
    {"rpc_request", fz_rpc_request},
    {"catalog", fz_catalog},
    {"catalog_blob", fz_catalog_blob},
    {"bundle", fz_bundle},
    {"rotation", fz_rotation},
    {"config", fz_config},
    {"identity", fz_identity},
    {"pem", fz_pem},
    {"grant", fz_grant},
    {"policy", fz_policy},
    {"transfer_rules", fz_transfer_rules},
    {"sccs", fz_sccs},
    {"safetensors", fz_safetensors},
    {"npy", fz_npy},
    {"csv", fz_csv},
    {"rowset", fz_rowset},
    {"rowlist", fz_rowlist},
    {"checkpoint", fz_checkpoint},
    {"relay_scan", fz_relay_scan},
    {"verifier", fz_verifier},
    {"grant_file", fz_grant_file},
    {"attestation", fz_attestation},
    {"fetch_record", fz_fetch_record},
};

const fz_target *fz_targets(size_t *count)
{
    *count = sizeof(targets) / sizeof(targets[0]);
    return targets;
}

void fz_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fuzz: broken promise: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    abort();
}

int fz_check(const char *what, int rc, const ecl_err *err, const ecl_code *allowed, size_t n)
{
    if (rc == 0)
        return 1;
    if (rc != -1)
        fz_fail("%s returned %d, not 0 or -1", what, rc);
    if (err->msg[0] == '\0')
        fz_fail("%s failed (%s) without a message", what, ecl_code_name(err->code));
    for (size_t i = 0; i < n; i++)
        if (err->code == allowed[i]) {
            if (getenv("FZ_VERBOSE") != NULL) /* why a seed is refused */
                fprintf(stderr, "%s: refused (%s): %s\n", what, ecl_code_name(err->code), err->msg);
            return 0;
        }
    fz_fail("%s failed with category '%s', which its header does not list: %s", what,
            ecl_code_name(err->code), err->msg);
}

uint8_t fz_u8(fz_reader *r)
{
    if (r->left == 0)
        return 0;
    r->left--;
    return *r->p++;
}

const uint8_t *fz_piece(fz_reader *r, size_t *len)
{
    size_t n = fz_u8(r);
    n |= (size_t)fz_u8(r) << 8;
    if (n > r->left)
        n = r->left;
    const uint8_t *p = r->p;
    r->p += n;
    r->left -= n;
    *len = n;
    return p;
}

char *fz_strndup(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (s == NULL)
        fz_fail("out of memory copying %zu bytes", size);
    if (size > 0)
        memcpy(s, data, size);
    s[size] = '\0';
    return s;
}

const site_key *fz_key(unsigned i)
{
    static site_key keys[FZ_KEYS];
    static int made;
    if (i >= FZ_KEYS)
        fz_fail("no test key %u", i);
    if (!made) {
        if (sodium_init() < 0)
            fz_fail("sodium_init failed");
        for (unsigned k = 0; k < FZ_KEYS; k++) {
            unsigned char seed[crypto_sign_SEEDBYTES];
            for (size_t b = 0; b < sizeof(seed); b++)
                seed[b] = (unsigned char)(0x40 + 16 * k + b);
            crypto_sign_seed_keypair(keys[k].public_key, keys[k].secret_key, seed);
        }
        made = 1;
    }
    return &keys[i];
}

signer *fz_signer(unsigned i)
{
    static signer *signers[FZ_KEYS];
    const site_key *key = fz_key(i);
    ecl_err err = {0};
    if (signers[i] == NULL && signer_local(key, &signers[i], &err) != 0)
        fz_fail("signer %u: %s", i, err.msg);
    return signers[i];
}

static char temp_dir[PATH_MAX];

static void remove_temp_dir(void)
{
    DIR *d = opendir(temp_dir);
    if (d != NULL) {
        struct dirent *e;
        char p[PATH_MAX];
        while ((e = readdir(d)) != NULL) {
            if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
                continue;
            if (snprintf(p, sizeof(p), "%s/%s", temp_dir, e->d_name) < (int)sizeof(p))
                unlink(p);
        }
        closedir(d);
    }
    rmdir(temp_dir);
}

const char *fz_temp_dir(void)
{
    if (temp_dir[0] == '\0') {
        const char *base = getenv("TEST_TMPDIR");
        if (base == NULL || base[0] == '\0')
            base = getenv("TMPDIR");
        if (base == NULL || base[0] == '\0')
            base = "/tmp";
        if (snprintf(temp_dir, sizeof(temp_dir), "%s/ecluse-fuzz-XXXXXX", base) >=
                (int)sizeof(temp_dir) ||
            mkdtemp(temp_dir) == NULL)
            fz_fail("cannot make a temporary directory under %s", base);
        atexit(remove_temp_dir);
    }
    return temp_dir;
}

void fz_write_temp(const char *name, const void *data, size_t size, char *path)
{
    if (snprintf(path, PATH_MAX, "%s/%s", fz_temp_dir(), name) >= PATH_MAX)
        fz_fail("temporary path too long");
    FILE *f = fopen(path, "wb");
    if (f == NULL || (size > 0 && fwrite(data, 1, size, f) != size) || fclose(f) != 0)
        fz_fail("cannot write %s", path);
}
