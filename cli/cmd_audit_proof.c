/* cmd_audit_proof.c - `ecluse audit proof`: an inclusion or consistency
 * proof from the site's audit tree, as JSON an independent program can
 * check (docs/audit-format.md). */
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "cli/remote.h"
#include "client/receipt.h"

static int print_proof(const Ecluse__V1__ProofRequest *req, const Ecluse__V1__Proof *p,
                       ecl_err *err)
{
    json_t *doc = json_object(), *hashes = json_array();
    int bad = doc == NULL || hashes == NULL;
    for (size_t i = 0; !bad && i < p->n_hashes; i++)
        bad = json_array_append_new(hashes, ecl_json_base64(p->hashes[i].data, p->hashes[i].len)) !=
              0;
    if (!bad)
        bad =
            json_object_set_new(doc, "kind", json_string(req->seq ? "inclusion" : "consistency")) ||
            json_object_set_new(doc, "size", json_integer((json_int_t)p->size)) ||
            json_object_set_new(doc, "root", ecl_json_base64(p->root.data, p->root.len)) ||
            json_object_set(doc, "hashes", hashes);
    if (!bad && req->seq)
        bad = json_object_set_new(doc, "seq", json_integer((json_int_t)req->seq)) ||
              json_object_set_new(doc, "leaf", ecl_json_base64(p->leaf.data, p->leaf.len));
    if (!bad && !req->seq)
        bad = json_object_set_new(doc, "old_size", json_integer((json_int_t)req->old_size));
    if (!bad && p->checkpoint != NULL)
        bad = json_object_set_new(
            doc, "checkpoint",
            json_stringn((const char *)p->checkpoint->note.data, p->checkpoint->note.len));
    char *text = bad ? NULL : json_dumps(doc, JSON_PRESERVE_ORDER | JSON_COMPACT);
    json_decref(hashes);
    json_decref(doc);
    if (text == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "cannot build the proof's JSON");
    printf("%s\n", text);
    free(text);
    return 0;
}

static int run_audit_proof(int argc, char **argv, ecl_err *err)
{
    static const struct option opts[] = {CLI_REMOTE_OPTIONS,
                                         {"seq", required_argument, 0, 'q'},
                                         {"from-size", required_argument, 0, 'f'},
                                         {"size", required_argument, 0, 's'},
                                         {0, 0, 0, 0}};
    cli_remote r;
    cli_remote_init(&r);
    Ecluse__V1__ProofRequest req = ECLUSE__V1__PROOF_REQUEST__INIT;
    long v;
    int c;
    while ((c = cli_getopt(argc, argv, opts, err)) != -1) {
        if (c == 'q' || c == 'f' || c == 's') {
            const char *name = c == 'q' ? "--seq" : c == 'f' ? "--from-size" : "--size";
            if (cli_parse_long(name, optarg, 1, 0x7fffffffffffffffL, &v, err) != 0)
                return -1;
            if (c == 'q')
                req.seq = (uint64_t)v;
            else if (c == 'f')
                req.old_size = (uint64_t)v;
            else
                req.size = (uint64_t)v;
        } else if (c == -2 || !cli_remote_option(&r, c, optarg))
            return -1;
    }
    if ((req.seq == 0) == (req.old_size == 0))
        return ecl_fail(err, ECL_E_USAGE, "give exactly one of --seq N and --from-size M");
    if (cli_expect_positionals(argc, argv, 0, "", err) != 0 || cli_remote_open(&r, err) != 0)
        return -1;
    ProtobufCMessage *resp = NULL;
    int rc = cli_call(&r, "/ecluse.v1.Audit/Prove", &req.base, &ecluse__v1__proof__descriptor,
                      &resp, err);
    cli_remote_close(&r);
    if (rc != 0)
        return -1;
    rc = print_proof(&req, (const Ecluse__V1__Proof *)resp, err);
    protobuf_c_message_free_unpacked(resp, NULL);
    return rc;
}

const cli_command cli_audit_proof = {
    "audit proof",
    "an inclusion or consistency proof from the audit trail's Merkle tree",
    "Usage: ecluse audit proof (--seq N | --from-size M) [--size S] [--identity DIR]\n\n"
    "Prints one JSON object: the RFC 9162 inclusion proof of entry N (with the\n"
    "entry's stored bytes, the leaf data) or the consistency proof from the tree\n"
    "of M entries, against the tree of S entries (default: the latest\n"
    "checkpoint's size), with that tree's root and its signed checkpoint note.\n"
    "Hashes and bytes are base64; the formats are in docs/audit-format.md.\n\n"
    "Options:\n  --seq N          prove that entry N is in the tree\n"
    "  --from-size M    prove that the tree of S extends the tree of M\n"
    "  --size S         the tree size to prove against\n"
    "  --identity DIR   an auditor identity of this site (default $ECLUSE_IDENTITY)\n"
    "  --gateway H:P    override the gateway named in identity.json\n"
    "\nExample:\n  ecluse audit proof --seq 42 --identity ~/.ecluse/auditor-lu\n",
    run_audit_proof,
};
