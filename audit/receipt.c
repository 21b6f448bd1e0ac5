/* receipt.c - checking a read receipt: an entry, its inclusion proof and a
 * signed, cosigned checkpoint (audit.h, docs/audit-format.md). */
#include "audit/internal.h"

#include <stdio.h>
#include <string.h>

#include "common/merkle.h"
#include "common/note.h"

/* Copy a record field into a NUL-terminated buffer of AUDIT_FIELD_MAX + 1. */
static void field(const rec_view *v, unsigned f, char *out)
{
    size_t n = v->len[f] > AUDIT_FIELD_MAX ? AUDIT_FIELD_MAX : v->len[f];
    memcpy(out, v->field[f], n);
    out[n] = '\0';
}

static int check_entry(const audit_receipt *r, audit_receipt_facts *out, ecl_err *err)
{
    rec_view v;
    if (rec_parse(r->entry, r->entry_len, &v, err) != 0)
        return ecl_err_prefix(err, "receipt: the entry does not decode");
    uint8_t hash[AUDIT_HASH_BYTES];
    rec_hash(r->entry, r->entry_len, hash);
    if (memcmp(hash, v.hash, AUDIT_HASH_BYTES) != 0)
        return ecl_fail(err, ECL_E_CRYPTO,
                        "receipt: the entry's hash is not the hash of its bytes");
    if (v.seq != r->seq)
        return ecl_fail(err, ECL_E_INPUT, "receipt: the entry is number %llu, not %llu",
                        (unsigned long long)v.seq, (unsigned long long)r->seq);
    if (v.len[F_KIND] != strlen(AUDIT_KIND_READ_END) ||
        memcmp(v.field[F_KIND], AUDIT_KIND_READ_END, v.len[F_KIND]) != 0)
        return ecl_fail(err, ECL_E_INPUT, "receipt: entry %llu is not a read-end entry",
                        (unsigned long long)r->seq);
    field(&v, F_READ, out->read_id);
    field(&v, F_DATASET, out->dataset);
    field(&v, F_ACTOR, out->actor);
    out->time_ns = v.time_ns;
    return 0;
}

static int signed_by_site(const audit_receipt *r, const audit_receipt_trust *t, const char *origin)
{
    ecl_err ignored;
    for (size_t i = 0; i < t->n_site_keys; i++)
        if (ecl_note_verify(r->note, r->note_len, origin, t->site_keys[i], NULL, &ignored) == 0)
            return 1;
    return 0;
}

/* Signature lines in the note after the text: all but the site's own. */
static size_t count_lines(const char *note, size_t len, size_t text_len)
{
    size_t n = 0;
    for (size_t i = text_len + 1; i < len; i++)
        n += note[i] == '\n';
    return n > 0 ? n - 1 : 0;
}

int audit_receipt_verify(const audit_receipt *r, const audit_receipt_trust *t,
                         audit_receipt_facts *out, ecl_err *err)
{
    if (r == NULL || t == NULL || out == NULL || r->entry == NULL || r->note == NULL ||
        t->site == NULL)
        return ecl_fail(err, ECL_E_USAGE, "audit_receipt_verify: NULL argument");
    memset(out, 0, sizeof(*out));
    if (r->seq == 0)
        return ecl_fail(err, ECL_E_INPUT, "receipt: entry number 0 does not exist");
    if (check_entry(r, out, err) != 0)
        return -1;
    char origin[ECL_NOTE_NAME_MAX + 1];
    size_t text_len;
    ecl_checkpoint ck;
    if (ecl_audit_origin(t->site, origin, sizeof(origin), err) != 0)
        return -1;
    if (ecl_note_split(r->note, r->note_len, &text_len, err) != 0 ||
        ecl_checkpoint_parse(r->note, text_len, &ck, err) != 0)
        return ecl_err_prefix(err, "receipt: the checkpoint");
    if (strcmp(ck.origin, origin) != 0)
        return ecl_fail(err, ECL_E_CRYPTO, "receipt: the checkpoint is of log '%s', not '%s'",
                        ck.origin, origin);
    if (ck.size < r->seq)
        return ecl_fail(err, ECL_E_INPUT,
                        "receipt: a checkpoint of %llu entries cannot hold entry %llu",
                        (unsigned long long)ck.size, (unsigned long long)r->seq);
    if (!signed_by_site(r, t, origin))
        return ecl_fail(err, ECL_E_CRYPTO,
                        "receipt: the checkpoint is not signed by a trusted key of site %s",
                        t->site);
    uint8_t leaf[MERKLE_HASH_BYTES];
    merkle_leaf_hash(r->entry, r->entry_len, leaf);
    if (merkle_verify_inclusion(r->seq - 1, ck.size, leaf, r->proof, r->n_proof, ck.root) != 0)
        return ecl_fail(err, ECL_E_CRYPTO,
                        "receipt: the inclusion proof does not lead from entry %llu to the root "
                        "of the checkpoint of %llu entries",
                        (unsigned long long)r->seq, (unsigned long long)ck.size);
    for (size_t i = 0; i < t->n_witnesses; i++) {
        uint64_t when;
        if (ecl_cosig_verify(r->note, r->note_len, t->witnesses[i].name, t->witnesses[i].pk, &when,
                             err) != 0)
            return ecl_err_prefix(err, "receipt: witness %s", t->witnesses[i].name);
    }
    out->size = ck.size;
    out->cosignatures = count_lines(r->note, r->note_len, text_len);
    return 0;
}
