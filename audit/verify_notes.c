/* verify_notes.c - check the stored checkpoints and their cosignatures
 * against keys the caller trusts and against the tree (audit.h). */
#include "audit/internal.h"

#include <stdio.h>
#include <string.h>

#include "common/merkle.h"
#include "common/note.h"

typedef struct walk {
    audit_log *log;
    const audit_trust *trust;
    audit_verify_report *rep;
    uint64_t count;
    ecl_err *err;
    int io_failed;
} walk;

static int bad(walk *w, uint64_t seq, uint64_t size, const char *why)
{
    w->rep->first_bad_seq = seq ? seq : 1;
    snprintf(w->rep->reason, sizeof(w->rep->reason), "checkpoint of %llu entries: %.400s",
             (unsigned long long)size, why);
    return 1; /* stop the walk */
}

static int signed_by_site(const audit_trust *t, const audit_note *n)
{
    ecl_err ignored;
    for (size_t i = 0; i < t->n_site_keys; i++)
        if (ecl_note_verify(n->text, n->len, t->origin, t->site_keys[i], NULL, &ignored) == 0)
            return 1;
    return 0;
}

/* Whether the note has a signature line naming `name` ("\n— name "): a
 * witness that never cosigned this checkpoint has none, and that is no
 * fault; one that has must verify. */
static int has_line_of(const audit_note *n, size_t text_len, const char *name)
{
    char prefix[ECL_NOTE_NAME_MAX + 8];
    int len = snprintf(prefix, sizeof(prefix), "\n\xe2\x80\x94 %s ", name);
    /* Among the signature lines only (from the blank line on). */
    return len > 0 && (size_t)len < sizeof(prefix) &&
           memmem(n->text + text_len, n->len - text_len, prefix, (size_t)len) != NULL;
}

static int check_one(const audit_note *n, void *arg)
{
    walk *w = arg;
    const audit_trust *t = w->trust;
    ecl_err e;
    size_t text_len;
    ecl_checkpoint ck;
    if (ecl_note_split(n->text, n->len, &text_len, &e) != 0 ||
        ecl_checkpoint_parse(n->text, text_len, &ck, &e) != 0)
        return bad(w, n->size, n->size, e.msg);
    if (ck.size != n->size)
        return bad(w, n->size, n->size, "stored under another size than its text says");
    if (strcmp(ck.origin, t->origin) != 0)
        return bad(w, n->size, n->size, "its origin is not this log's");
    if (!signed_by_site(t, n))
        return bad(w, n->size, n->size,
                   "not signed by any key of this site's key history (forged or re-signed)");
    if (ck.size > w->count)
        return bad(w, w->count + 1, ck.size,
                   "the log is shorter than this signed checkpoint (entries were removed)");
    uint8_t root[MERKLE_HASH_BYTES];
    if (audit_tree_root(w->log, ck.size, root, w->err) != 0) {
        w->io_failed = 1;
        return 1;
    }
    if (memcmp(root, ck.root, MERKLE_HASH_BYTES) != 0)
        return bad(w, ck.size, ck.size,
                   "the tree of the entries has another root: entries up to here were rewritten");
    for (size_t i = 0; i < t->n_witnesses; i++) {
        uint64_t when;
        if (!has_line_of(n, text_len, t->witnesses[i].name) ||
            ecl_cosig_verify(n->text, n->len, t->witnesses[i].name, t->witnesses[i].pk, &when,
                             &e) == 0)
            continue;
        char why[ECL_ERR_MSG_MAX];
        snprintf(why, sizeof(why), "the cosignature of %.200s does not verify: %.200s",
                 t->witnesses[i].name, e.msg);
        return bad(w, ck.size, ck.size, why);
    }
    w->rep->checkpoints++;
    return 0;
}

int audit_verify_checkpoints(audit_log *log, const audit_trust *trust, audit_verify_report *rep,
                             ecl_err *err)
{
    if (log == NULL || trust == NULL || trust->origin == NULL || rep == NULL)
        return ecl_fail(err, ECL_E_USAGE, "audit_verify_checkpoints: NULL argument");
    uint8_t root[MERKLE_HASH_BYTES];
    walk w = {log, trust, rep, 0, err, 0};
    rep->first_bad_seq = 0;
    rep->reason[0] = '\0';
    if (audit_tree_head(log, &w.count, root, err) != 0 ||
        audit_checkpoint_each(log, check_one, &w, err) != 0 || w.io_failed)
        return -1;
    if (rep->first_bad_seq != 0)
        return ecl_fail(err, ECL_E_CRYPTO, "audit log %s: seq %llu: %s", log->dir,
                        (unsigned long long)rep->first_bad_seq, rep->reason);
    return 0;
}
