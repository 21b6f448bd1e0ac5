/* checkpoint.c - fuzz target: audit checkpoints received from peers
 * (audit_checkpoint_decode, audit_checkpoint_open).
 *
 * Input: a mode byte, then the body. Mode bit 0 clear: a 64-byte signature
 * follows the mode byte and is used as given (the path an attacker without
 * the key takes). Set: the harness signs the body with test key 0, so that
 * the parsing behind the signature check is reached; bit 1 then pins that
 * key, and bit 2 writes test key 0 into the body's signing_key (its last
 * 32 bytes) before signing. */
#include <string.h>

#include "audit/audit.h"
#include "fuzz/fuzz.h"

#define CHECKPOINT_CONTEXT "ecluse-checkpoint-v1"

int fz_checkpoint(const uint8_t *data, size_t size)
{
    fz_reader r = {data, size};
    uint8_t mode = fz_u8(&r);
    audit_signed_checkpoint sc;
    memset(&sc, 0, sizeof(sc));
    if (!(mode & 1)) {
        for (size_t i = 0; i < AUDIT_SIG_BYTES; i++)
            sc.sig[i] = fz_u8(&r);
    }
    audit_checkpoint ck;
    ecl_err err;
    ecl_err_clear(&err);
    int decoded = FZ_CHECK("audit_checkpoint_decode",
                           audit_checkpoint_decode(r.p, r.left, &ck, &err), &err, ECL_E_INPUT);
    if (decoded && memchr(ck.site, '\0', sizeof(ck.site)) == NULL)
        fz_fail("checkpoint decoded with an unterminated site");
    if (r.left > sizeof(sc.body)) {
        if (decoded)
            fz_fail("checkpoint body of %zu bytes decoded, over AUDIT_CKPT_BODY_MAX", r.left);
        return 0;
    }
    memcpy(sc.body, r.p, r.left);
    sc.body_len = r.left;
    if ((mode & 4) && sc.body_len >= AUDIT_PK_BYTES) {
        memcpy(sc.body + sc.body_len - AUDIT_PK_BYTES, fz_key(0)->public_key, AUDIT_PK_BYTES);
        decoded =
            audit_checkpoint_decode(sc.body, sc.body_len, &ck, &err) == 0; /* as open sees it */
    }
    if (mode & 1) {
        unsigned char sig[crypto_sign_BYTES];
        if (site_key_sign(fz_key(0), CHECKPOINT_CONTEXT, sc.body, sc.body_len, sig, &err) != 0)
            fz_fail("signing failed: %s", err.msg);
        memcpy(sc.sig, sig, sizeof(sig));
    }
    const uint8_t *pinned = (mode & 3) == 3 ? fz_key(0)->public_key : NULL;
    audit_checkpoint opened;
    int ok = FZ_CHECK("audit_checkpoint_open", audit_checkpoint_open(&sc, pinned, &opened, &err),
                      &err, ECL_E_INPUT, ECL_E_CRYPTO);
    if (ok && (!decoded || memcmp(&opened, &ck, sizeof(ck)) != 0))
        fz_fail("audit_checkpoint_open accepted what audit_checkpoint_decode %s",
                decoded ? "read otherwise" : "refused");
    if (ok && pinned != NULL && memcmp(opened.signing_key, pinned, AUDIT_PK_BYTES) != 0)
        fz_fail("checkpoint opened with a pinned key names another key");
    return ok;
}
