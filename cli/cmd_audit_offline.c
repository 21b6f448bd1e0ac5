/* cmd_audit_offline.c - `ecluse audit verify --data-dir DIR`: an auditor's
 * check of a site's data directory, read-only, with no gateway running
 * (docs/audit-format.md, "Checking the checkpoints"). */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit/audit.h"
#include "cli/audit_offline.h"
#include "common/note.h"
#include "federation/state.h"
#include "site/sitekey.h"

/* The site whose trail this is: given, or the origin of its latest
 * checkpoint (an origin names no key; the keys come from elsewhere). */
static int find_site(audit_log *log, const char *given, char *site, size_t cap, ecl_err *err)
{
    if (given != NULL) {
        snprintf(site, cap, "%s", given);
        return 0;
    }
    audit_note *note = malloc(sizeof(*note));
    if (note == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    size_t text_len;
    ecl_checkpoint ck;
    int rc = audit_checkpoint_get(log, 0, note, err) != 0 ||
                     ecl_note_split(note->text, note->len, &text_len, err) != 0 ||
                     ecl_checkpoint_parse(note->text, text_len, &ck, err) != 0
                 ? -1
                 : 0;
    free(note);
    if (rc != 0)
        return ecl_err_prefix(err, "no --site given, and the site cannot be told from the "
                                   "latest checkpoint");
    static const char prefix[] = "ecluse/audit/";
    if (strncmp(ck.origin, prefix, sizeof(prefix) - 1) != 0)
        return ecl_fail(err, ECL_E_INPUT, "the latest checkpoint is of log '%s'", ck.origin);
    const char *id = ck.origin + sizeof(prefix) - 1;
    if (strlen(id) >= cap)
        return ecl_fail(err, ECL_E_INPUT, "the latest checkpoint names a site id of %zu bytes",
                        strlen(id));
    memcpy(site, id, strlen(id) + 1);
    return 0;
}

/* Keep only the keys from `trusted` on: the history before it is the
 * site's word alone. */
static int anchor(unsigned char (*keys)[32], size_t *n, const unsigned char *trusted, ecl_err *err)
{
    for (size_t i = 0; i < *n; i++)
        if (memcmp(keys[i], trusted, 32) == 0) {
            memmove(keys[0], keys[i], (*n - i) * 32);
            *n -= i;
            return 0;
        }
    return ecl_fail(err, ECL_E_CRYPTO,
                    "the key you trust is not in the site's verified key history");
}

int audit_verify_offline(const audit_offline_options *o, ecl_err *err)
{
    char path[PATH_MAX + 32], site[ECL_NOTE_NAME_MAX + 1], origin[ECL_NOTE_NAME_MAX + 1];
    audit_log *log = NULL;
    fed_state *st = NULL;
    unsigned char(*keys)[32] = NULL;
    size_t n_keys = 0, n_peers = 0;
    fed_peer *peers = NULL;
    audit_witness_key *wit = NULL;
    char(*names)[ECL_NOTE_NAME_MAX + 1] = NULL;
    audit_verify_report rep;
    memset(&rep, 0, sizeof(rep));
    snprintf(path, sizeof(path), "%s/audit", o->data_dir);
    int rc = audit_open_readonly(path, &log, err);
    if (rc == 0) {
        ecl_err verr;
        int chain_ok = audit_verify(log, &rep, &verr) == 0;
        if (!chain_ok && rep.reason[0] == '\0') {
            *err = verr;
            rc = -1;
        } else if (!chain_ok) {
            printf("AUDIT TRAIL BROKEN at entry %llu: %s (%llu entries verified before it)\n",
                   (unsigned long long)rep.first_bad_seq, rep.reason,
                   (unsigned long long)rep.entries);
            rc = ecl_fail(err, ECL_E_CRYPTO, "the audit trail does not verify (see above)");
        }
    }
    unsigned char current[32];
    int have_current = 0;
    if (rc == 0 && o->site_key_file != NULL) {
        rc = site_key_load_public(o->site_key_file, current, err);
        have_current = rc == 0;
    }
    snprintf(path, sizeof(path), "%s/state", o->data_dir);
    if (rc == 0)
        rc = find_site(log, o->site, site, sizeof(site), err);
    if (rc == 0)
        rc = fed_state_open_readonly(path, &st, err);
    /* The site's rotation chain as it records it; a key the auditor trusts
     * anchors it (or, for a site that never rotated, is the history). */
    if (rc == 0) {
        ecl_err none;
        rc = fed_site_key_history(st, site, NULL, &keys, &n_keys, &none);
        if (rc != 0 && none.code == ECL_E_NOT_FOUND && have_current)
            rc = fed_site_key_history(st, site, current, &keys, &n_keys, err);
        else if (rc != 0 && none.code == ECL_E_NOT_FOUND)
            rc = ecl_fail(err, ECL_E_USAGE,
                          "site %s never rotated its key: give --site-key, the key to check its "
                          "checkpoints with",
                          site);
        else if (rc != 0)
            *err = none;
    }
    if (rc == 0 && have_current)
        rc = anchor(keys, &n_keys, current, err);
    else if (rc == 0)
        printf("note: no --site-key given: the key history is the site's own record of its "
               "rotations, from their first key on\n");
    if (rc == 0)
        rc = fed_state_list_peers(st, &peers, &n_peers, err);
    if (rc == 0) {
        wit = calloc(n_peers ? n_peers : 1, sizeof(*wit));
        names = calloc(n_peers ? n_peers : 1, sizeof(*names));
        if (wit == NULL || names == NULL)
            rc = ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    }
    for (size_t i = 0; rc == 0 && i < n_peers; i++) {
        rc = ecl_witness_name(peers[i].info.site, names[i], sizeof(names[i]), err);
        wit[i].name = names[i];
        memcpy(wit[i].pk, peers[i].pinned_key, 32);
    }
    if (rc == 0)
        rc = ecl_audit_origin(site, origin, sizeof(origin), err);
    if (rc == 0) {
        audit_trust trust = {origin, (const uint8_t(*)[32])keys, n_keys, wit, n_peers};
        ecl_err verr;
        if (audit_verify_checkpoints(log, &trust, &rep, &verr) == 0) {
            printf("audit trail verified offline: %llu entries, %llu tree nodes, %llu index "
                   "rows, %llu checkpoints of site %s (%zu key(s) in its history, %zu "
                   "witness key(s)), chain intact\n",
                   (unsigned long long)rep.entries, (unsigned long long)rep.tree_nodes,
                   (unsigned long long)rep.index_rows, (unsigned long long)rep.checkpoints, site,
                   n_keys, n_peers);
        } else if (rep.reason[0] != '\0') {
            printf("AUDIT TRAIL BROKEN at entry %llu: %s\n", (unsigned long long)rep.first_bad_seq,
                   rep.reason);
            rc = ecl_fail(err, ECL_E_CRYPTO, "the audit trail does not verify (see above)");
        } else {
            *err = verr;
            rc = -1;
        }
    }
    free(names);
    free(wit);
    fed_state_free_peers(peers, n_peers);
    free(keys);
    fed_state_close(st);
    audit_close(log);
    return rc;
}
