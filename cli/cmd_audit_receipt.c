/* cmd_audit_receipt.c - `ecluse audit receipt verify FILE`: check a read
 * receipt offline, against keys the holder trusts (docs/audit-format.md,
 * "Read receipts"). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "client/receipt.h"
#include "common/note.h"
#include "site/sitekey.h"

#define MAX_WITNESSES 16

/* A key given as a C2SP verifier key ("name+id+base64", of `type`) or as a
 * .pub file. */
static int parse_key(const char *arg, uint8_t want_type, char *name, size_t name_cap,
                     uint8_t pk[32], ecl_err *err)
{
    if (strchr(arg, '+') != NULL) {
        uint8_t type;
        if (ecl_note_vkey_parse(arg, name, name_cap, &type, pk, err) != 0)
            return -1;
        if (type != want_type)
            return ecl_fail(err, ECL_E_USAGE, "key '%s' is of type 0x%02x, not 0x%02x", arg, type,
                            want_type);
        return 0;
    }
    name[0] = '\0';
    return site_key_load_public(arg, pk, err);
}

static int run_receipt_verify(int argc, char **argv, ecl_err *err)
{
    static const struct option opts[] = {{"site-key", required_argument, 0, 'K'},
                                         {"witness-key", required_argument, 0, 'W'},
                                         {0, 0, 0, 0}};
    const char *site_key = NULL;
    const char *witness_args[MAX_WITNESSES];
    size_t n_wit = 0;
    int c;
    while ((c = cli_getopt(argc, argv, opts, err)) != -1) {
        if (c == 'K')
            site_key = optarg;
        else if (c == 'W') {
            if (n_wit == MAX_WITNESSES)
                return ecl_fail(err, ECL_E_USAGE, "at most %d --witness-key", MAX_WITNESSES);
            witness_args[n_wit++] = optarg;
        } else
            return -1;
    }
    if (cli_expect_positionals(argc, argv, 1, "FILE", err) != 0)
        return -1;
    if (site_key == NULL)
        return ecl_fail(err, ECL_E_USAGE,
                        "give --site-key: the holding site's key you trust (a .pub file or a "
                        "verifier key), never one the receipt names");
    const char *path = argv[optind];
    Ecluse__V1__ReadReceipt *r = NULL;
    if (ecl_receipt_load(path, &r, err) != 0)
        return -1;
    char name[ECL_NOTE_NAME_MAX + 1], origin[ECL_NOTE_NAME_MAX + 1];
    char wnames[MAX_WITNESSES][ECL_NOTE_NAME_MAX + 1];
    uint8_t keys[1][32];
    audit_witness_key wit[MAX_WITNESSES];
    int rc = parse_key(site_key, ECL_NOTE_TYPE_ED25519, name, sizeof(name), keys[0], err);
    if (rc == 0)
        rc = ecl_audit_origin(r->site, origin, sizeof(origin), err);
    if (rc == 0 && name[0] != '\0' && strcmp(name, origin) != 0)
        rc = ecl_fail(err, ECL_E_CRYPTO, "the receipt is of site %s, the key given is %s's",
                      r->site, name);
    for (size_t i = 0; rc == 0 && i < n_wit; i++) {
        const char *eq = strchr(witness_args[i], '=');
        if (strchr(witness_args[i], '+') != NULL)
            rc = parse_key(witness_args[i], ECL_NOTE_TYPE_COSIG, wnames[i], sizeof(wnames[i]),
                           wit[i].pk, err);
        else if (eq == NULL || eq == witness_args[i])
            rc = ecl_fail(err, ECL_E_USAGE,
                          "--witness-key '%s': give SITE=FILE.pub or a verifier key",
                          witness_args[i]);
        else {
            char site[64];
            snprintf(site, sizeof(site), "%.*s", (int)(eq - witness_args[i]), witness_args[i]);
            rc = ecl_witness_name(site, wnames[i], sizeof(wnames[i]), err);
            if (rc == 0)
                rc = parse_key(eq + 1, ECL_NOTE_TYPE_COSIG, name, sizeof(name), wit[i].pk, err);
        }
        wit[i].name = wnames[i];
    }
    uint8_t hashes[MERKLE_PROOF_MAX][MERKLE_HASH_BYTES];
    audit_receipt view;
    audit_receipt_facts facts;
    if (rc == 0)
        rc = ecl_receipt_view(r, &view, hashes, err);
    if (rc == 0) {
        audit_receipt_trust trust = {r->site, (const uint8_t(*)[32])keys, 1, wit, n_wit};
        rc = audit_receipt_verify(&view, &trust, &facts, err);
    }
    if (rc == 0 && strcmp(facts.read_id, r->read_id) != 0)
        rc = ecl_fail(err, ECL_E_CRYPTO, "the receipt says read %s, its entry says %s", r->read_id,
                      facts.read_id);
    if (rc == 0) {
        time_t t = (time_t)(facts.time_ns / 1000000000LL);
        struct tm tm;
        char when[32];
        gmtime_r(&t, &tm);
        strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
        printf("receipt verified: read %s of %s by %s, ended %s, is entry %llu of site %s's "
               "audit trail, in its signed checkpoint of %llu entries with %zu cosignature(s), "
               "%zu of them checked\n",
               facts.read_id, facts.dataset, facts.actor, when, (unsigned long long)r->seq, r->site,
               (unsigned long long)facts.size, facts.cosignatures, n_wit);
    }
    protobuf_c_message_free_unpacked(&r->base, NULL);
    return rc;
}

const cli_command cli_audit_receipt_verify = {
    "audit receipt verify",
    "check a read receipt offline",
    "Usage: ecluse audit receipt verify FILE --site-key KEY [--witness-key W]...\n\n"
    "Checks a receipt that `ecluse fetch` wrote (FILE.receipt.json): the holding\n"
    "site's read-end entry of the read, its inclusion proof, and the site's\n"
    "checkpoint containing it, signed by the key you give and cosigned by each\n"
    "witness you give. No gateway is asked. Exits 10 if anything does not verify.\n"
    "A site that later removes or alters the read cannot make its trail agree\n"
    "with a receipt that verifies (docs/audit-format.md, \"Read receipts\").\n\n"
    "Options:\n"
    "  --site-key KEY     the holding site's key: its keys/site.key.pub file, or its\n"
    "                     verifier key (ecluse/audit/<site>+<id>+<base64>)\n"
    "  --witness-key W    SITE=FILE.pub (that site's key as a witness), or a\n"
    "                     verifier key (ecluse/witness/<site>+<id>+<base64>)\n"
    "\nExample:\n"
    "  ecluse audit receipt verify bc.safetensors.receipt.json --site-key lu.pub \\\n"
    "      --witness-key de=de.pub\n",
    run_receipt_verify,
};
