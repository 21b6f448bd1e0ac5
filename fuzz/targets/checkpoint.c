/* checkpoint.c - fuzz target: audit checkpoints as peers send them, C2SP
 * signed notes with a tlog-checkpoint text and cosignature/v1 lines
 * (common/note.h: ecl_note_split, ecl_checkpoint_parse, ecl_note_verify,
 * ecl_cosig_verify, ecl_cosig_message_parse).
 *
 * Input: a mode byte, then bytes. Mode bit 0 clear: the bytes are a whole
 * note as received, checked against test key 0 as the site's key
 * ("ecluse/audit/fi") and as a witness's key ("ecluse/witness/fi"). Set: the
 * bytes are a checkpoint text, which the harness signs with test key 0 (and,
 * with bit 1, cosigns), so that everything behind the signature checks is
 * reached; a text that parses must then verify. */
#include <sodium.h>
#include <string.h>

#include "common/note.h"
#include "fuzz/fuzz.h"

#define SITE_NAME    "ecluse/audit/fi"
#define WITNESS_NAME "ecluse/witness/fi"
#define NOTE_CAP     (ECL_NOTE_MAX + 1024u)

static uint8_t note[NOTE_CAP];

/* A received note: whatever the checks say, they must agree. */
static int check_received(const char *n, size_t len)
{
    const uint8_t *pk = fz_key(0)->public_key;
    ecl_err err;
    size_t text_len = 0;
    int split = FZ_CHECK("ecl_note_split", ecl_note_split(n, len, &text_len, &err), &err,
                         ECL_E_INPUT, ECL_E_LIMIT);
    if (split && (text_len == 0 || text_len >= len || n[text_len - 1] != '\n'))
        fz_fail("ecl_note_split gave a text of %zu bytes in a note of %zu", text_len, len);
    ecl_checkpoint ck;
    int parsed =
        split && FZ_CHECK("ecl_checkpoint_parse", ecl_checkpoint_parse(n, text_len, &ck, &err),
                          &err, ECL_E_INPUT, ECL_E_LIMIT);
    if (parsed && memchr(ck.origin, '\0', sizeof(ck.origin)) == NULL)
        fz_fail("checkpoint parsed with an unterminated origin");
    size_t vlen = 0;
    int signed_ok = FZ_CHECK("ecl_note_verify", ecl_note_verify(n, len, SITE_NAME, pk, &vlen, &err),
                             &err, ECL_E_INPUT, ECL_E_LIMIT, ECL_E_CRYPTO);
    if (signed_ok && (!split || vlen != text_len))
        fz_fail("ecl_note_verify accepted a note ecl_note_split %s",
                split ? "cut elsewhere" : "refused");
    uint64_t when;
    int cosigned =
        FZ_CHECK("ecl_cosig_verify", ecl_cosig_verify(n, len, WITNESS_NAME, pk, &when, &err), &err,
                 ECL_E_INPUT, ECL_E_LIMIT, ECL_E_CRYPTO);
    if (cosigned && !parsed)
        fz_fail("ecl_cosig_verify accepted a note whose text is not a checkpoint");
    if (cosigned && when > ECL_COSIG_TIME_MAX)
        fz_fail("a cosignature time over 2^63-1 was accepted");
    uint64_t t;
    size_t off;
    FZ_CHECK("ecl_cosig_message_parse", ecl_cosig_message_parse(n, len, &t, &ck, &off, &err), &err,
             ECL_E_INPUT, ECL_E_LIMIT);
    /* Accepted as the gateway would keep it: a checkpoint signed by the
     * site, and the witness's line, if there is one, good. */
    static const char witness_line[] = "\n\xe2\x80\x94 " WITNESS_NAME " ";
    /* Among the signature lines only: a text may hold those bytes too. */
    int has_witness = split && memmem(n + text_len, len - text_len, witness_line,
                                      sizeof(witness_line) - 1) != NULL;
    return parsed && signed_ok && (!has_witness || cosigned);
}

int fz_checkpoint(const uint8_t *data, size_t size)
{
    fz_reader r = {data, size};
    uint8_t mode = fz_u8(&r);
    if (!(mode & 1))
        return check_received((const char *)r.p, r.left);
    if (r.left > ECL_CHECKPOINT_MAX)
        return 0;
    const site_key *key = fz_key(0);
    ecl_err err;
    ecl_checkpoint ck;
    int parsed = ecl_checkpoint_parse((const char *)r.p, r.left, &ck, &err) == 0;
    memcpy(note, r.p, r.left);
    size_t len = r.left;
    uint8_t sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, NULL, r.p, r.left, key->secret_key);
    int appended = FZ_CHECK("ecl_note_append_signature",
                            ecl_note_append_signature((char *)note, NOTE_CAP, &len, r.left,
                                                      SITE_NAME, key->public_key, sig, &err),
                            &err, ECL_E_INPUT, ECL_E_LIMIT);
    if (parsed && !appended)
        fz_fail("a checkpoint that parses could not be signed: %s", err.msg);
    if (!appended)
        return 0;
    if (mode & 2) {
        char msg[ECL_COSIG_MESSAGE_MAX];
        size_t msg_len;
        uint64_t when = 1700000000u + (uint64_t)mode;
        int made = FZ_CHECK(
            "ecl_cosig_message",
            ecl_cosig_message((const char *)r.p, r.left, when, msg, sizeof(msg), &msg_len, &err),
            &err, ECL_E_INPUT, ECL_E_LIMIT);
        if (made != parsed)
            fz_fail("ecl_cosig_message %s a text ecl_checkpoint_parse %s",
                    made ? "took" : "refused", parsed ? "took" : "refused");
        if (made) {
            crypto_sign_detached(sig, NULL, (const uint8_t *)msg, msg_len, key->secret_key);
            if (ecl_note_append_cosignature((char *)note, NOTE_CAP, &len, r.left, WITNESS_NAME,
                                            key->public_key, when, sig, &err) != 0)
                fz_fail("a good cosignature could not be added: %s", err.msg);
        }
    }
    int ok = check_received((const char *)note, len);
    if (parsed && !ok)
        fz_fail("a checkpoint the harness signed did not verify");
    return ok;
}
