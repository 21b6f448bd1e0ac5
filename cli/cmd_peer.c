/* cmd_peer.c - `ecluse peer export|add|list|remove`: peering between sites. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "cli/remote.h"
#include "common/fileio.h"
#include "federation/bundle.h"

static int run_peer_export(int argc, char **argv, ecl_err *err)
{
    cli_remote r;
    if (cli_remote_parse(argc, argv, &r, 0, "", err) != 0 || cli_remote_open(&r, err) != 0)
        return -1;
    Ecluse__V1__PeerInfoRequest req = ECLUSE__V1__PEER_INFO_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    int rc = cli_call(&r, "/ecluse.v1.Federation/GetPeerInfo", &req.base,
                      &ecluse__v1__peer_bundle__descriptor, &resp, err);
    cli_remote_close(&r);
    if (rc != 0)
        return -1;
    size_t len = protobuf_c_message_get_packed_size(resp);
    unsigned char *bytes = malloc(len ? len : 1);
    if (bytes == NULL) {
        protobuf_c_message_free_unpacked(resp, NULL);
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    }
    protobuf_c_message_pack(resp, bytes);
    protobuf_c_message_free_unpacked(resp, NULL);
    peer_info info;
    char *text = NULL;
    rc = bundle_verify(bytes, len, &info, err);
    if (rc == 0)
        rc = bundle_to_text(bytes, len, &text, err);
    free(bytes);
    if (rc != 0)
        return -1;
    fputs(text, stdout);
    fprintf(stderr,
            "Peering bundle of site %s (%s), gateway %s\nFingerprint: %s\n"
            "Send it to the other site's admin, and tell them the fingerprint by another "
            "channel.\n",
            info.site, info.country, info.endpoint, info.fingerprint);
    free(text);
    peer_info_clear(&info);
    return 0;
}

/* Peering trusts whoever holds the bundle's key: never add one before its
 * fingerprint was compared with the one told out of band, either given as
 * --expect-fingerprint or typed "yes" to at a terminal. */
static int fingerprint_confirmed(const peer_info *info, const char *expect, ecl_err *err)
{
    if (expect != NULL) {
        if (strcmp(expect, info->fingerprint) == 0)
            return 0;
        return ecl_fail(err, ECL_E_CRYPTO,
                        "fingerprint %s is not the %s you were told: not adding this peer",
                        info->fingerprint, expect);
    }
    if (!isatty(STDIN_FILENO))
        return ecl_fail(err, ECL_E_USAGE,
                        "--expect-fingerprint is required without a terminal to confirm on: "
                        "compare the bundle's fingerprint %s with the one site %s told you, "
                        "then pass --expect-fingerprint %s; nothing was added",
                        info->fingerprint, info->site, info->fingerprint);
    fprintf(stderr,
            "Is %s the fingerprint site %s told you by a channel you trust? "
            "Type yes to add it: ",
            info->fingerprint, info->site);
    char answer[16] = "";
    if (fgets(answer, sizeof(answer), stdin) == NULL || strcmp(answer, "yes\n") != 0)
        return ecl_fail(err, ECL_E_USAGE,
                        "the fingerprint of site %s was not confirmed (answer was not \"yes\"): "
                        "nothing was added",
                        info->site);
    return 0;
}

static int run_peer_add(int argc, char **argv, ecl_err *err)
{
    static const struct option opts[] = {
        CLI_REMOTE_OPTIONS, {"expect-fingerprint", required_argument, 0, 'f'}, {0, 0, 0, 0}};
    cli_remote r;
    cli_remote_init(&r);
    const char *expect = NULL;
    int c;
    while ((c = cli_getopt(argc, argv, opts, err)) != -1) {
        if (c == 'f')
            expect = optarg;
        else if (c == -2 || !cli_remote_option(&r, c, optarg))
            return -1;
    }
    if (cli_expect_positionals(argc, argv, 1, "the bundle FILE", err) != 0)
        return -1;
    const char *path = argv[cli_optind()];
    char *text = NULL;
    size_t text_len = 0;
    unsigned char *bytes = NULL;
    size_t len = 0;
    peer_info info;
    if (ecl_read_file(path, 1 << 20, &text, &text_len, err) != 0)
        return -1;
    int rc = bundle_from_text(text, text_len, &bytes, &len, err);
    free(text);
    if (rc != 0 || bundle_verify(bytes, len, &info, err) != 0) {
        free(bytes);
        return ecl_err_prefix(err, "%s", path);
    }
    printf("Bundle of site %s (%s), gateway %s\nFingerprint: %s\n", info.site, info.country,
           info.endpoint, info.fingerprint);
    fflush(stdout);
    if (fingerprint_confirmed(&info, expect, err) != 0) {
        rc = -1;
    } else if (cli_remote_open(&r, err) == 0) {
        /* It verified, so it decodes: a failure here is memory running out. */
        Ecluse__V1__PeerBundle *bundle = ecluse__v1__peer_bundle__unpack(NULL, len, bytes);
        ProtobufCMessage *resp = NULL;
        rc = bundle == NULL ? ecl_fail(err, ECL_E_INTERNAL, "out of memory")
                            : cli_call(&r, "/ecluse.v1.Admin/AddPeer", &bundle->base,
                                       &ecluse__v1__peer_summary__descriptor, &resp, err);
        if (rc == 0) {
            printf("Added peer %s. Its catalog is fetched now and every refresh interval.\n",
                   info.site);
            protobuf_c_message_free_unpacked(resp, NULL);
        }
        if (bundle != NULL)
            ecluse__v1__peer_bundle__free_unpacked(bundle, NULL);
        cli_remote_close(&r);
    } else {
        rc = -1;
    }
    free(bytes);
    peer_info_clear(&info);
    return rc;
}

/* "12 s ago", or `none` when the time is 0 (never). */
static void age_or(int64_t when, int64_t now, const char *none, char *buf, size_t cap)
{
    if (when <= 0)
        snprintf(buf, cap, "%s", none);
    else
        cli_age((long long)(now - when), buf, cap);
}

/* "0 (newest)", "0 (newest is 2)", or "0 (newest unknown)" before any contact. */
static void key_words(const Ecluse__V1__PeerSummary *p, char *buf, size_t cap)
{
    if (p->last_contact_unix <= 0)
        snprintf(buf, cap, "%llu (newest unknown)", (unsigned long long)p->key_generation);
    else if (p->key_generation >= p->newest_key_generation)
        snprintf(buf, cap, "%llu (newest)", (unsigned long long)p->key_generation);
    else
        snprintf(buf, cap, "%llu (newest is %llu)", (unsigned long long)p->key_generation,
                 (unsigned long long)p->newest_key_generation);
}

static json_t *peer_json(const Ecluse__V1__PeerSummary *p, int64_t now)
{
    json_t *doc = json_pack(
        "{s:s, s:s, s:s, s:s, s:I, s:I, s:b, s:I, s:I, s:I, s:I, s:s, s:s, s:s, s:I, s:I}", "site",
        p->site, "country", p->country, "endpoint", p->endpoint, "fingerprint", p->fingerprint,
        "key_generation", (json_int_t)p->key_generation, "newest_key_generation",
        (json_int_t)p->newest_key_generation, "key_is_newest",
        p->last_contact_unix > 0 && p->key_generation >= p->newest_key_generation,
        "catalog_version", (json_int_t)p->catalog_version, "catalog_fetched_unix",
        (json_int_t)p->catalog_fetched_unix, "last_contact_unix", (json_int_t)p->last_contact_unix,
        "last_fetch_unix", (json_int_t)p->last_fetch_unix, "status",
        p->error_phrase[0] ? p->error_phrase : "ok", "error", p->error_phrase, "error_detail",
        p->error_detail, "error_unix", (json_int_t)p->error_unix, "now_unix", (json_int_t)now);
    /* Ages as numbers too, so a script need not do the sums; null: never. */
    json_object_set_new(doc, "catalog_age_s",
                        p->catalog_fetched_unix > 0 ? json_integer(now - p->catalog_fetched_unix)
                                                    : json_null());
    json_object_set_new(doc, "last_contact_age_s",
                        p->last_contact_unix > 0 ? json_integer(now - p->last_contact_unix)
                                                 : json_null());
    json_object_set_new(doc, "last_error", json_string(p->last_error));
    return doc;
}

static int print_peer(const ProtobufCMessage *msg, void *ctx, ecl_err *err)
{
    (void)err;
    const Ecluse__V1__PeerSummary *p = (const Ecluse__V1__PeerSummary *)msg;
    int json = *(int *)ctx;
    int64_t now = (int64_t)time(NULL);
    if (json) {
        json_t *doc = peer_json(p, now);
        char *text = doc ? json_dumps(doc, JSON_PRESERVE_ORDER) : NULL;
        printf("%s\n", text ? text : "{}");
        free(text);
        json_decref(doc);
        return 0;
    }
    char key[64], fetched[32], contact[32], since[32];
    key_words(p, key, sizeof(key));
    age_or(p->catalog_fetched_unix, now, "never", fetched, sizeof(fetched));
    age_or(p->last_contact_unix, now, "never", contact, sizeof(contact));
    age_or(p->error_unix, now, "", since, sizeof(since));
    printf("%-10s %-2s %-22s key gen %s  catalog v%llu verified %s  contact %s  ", p->site,
           p->country, p->endpoint, key, (unsigned long long)p->catalog_version, fetched, contact);
    if (p->error_phrase[0])
        printf("%s (%s): %s\n", p->error_phrase, since, p->error_detail);
    else
        printf("ok\n");
    return 0;
}

static int run_peer_list(int argc, char **argv, ecl_err *err)
{
    cli_remote r;
    if (cli_remote_parse(argc, argv, &r, 0, "", err) != 0 || cli_remote_open(&r, err) != 0)
        return -1;
    Ecluse__V1__ListPeersRequest req = ECLUSE__V1__LIST_PEERS_REQUEST__INIT;
    int rc = cli_stream(&r, "/ecluse.v1.Admin/ListPeers", &req.base,
                        &ecluse__v1__peer_summary__descriptor, print_peer, &r.json, err);
    cli_remote_close(&r);
    return rc;
}

static int run_peer_remove(int argc, char **argv, ecl_err *err)
{
    cli_remote r;
    if (cli_remote_parse(argc, argv, &r, 1, "the peer SITE", err) != 0 ||
        cli_remote_open(&r, err) != 0)
        return -1;
    Ecluse__V1__RemovePeerRequest req = ECLUSE__V1__REMOVE_PEER_REQUEST__INIT;
    req.site = argv[cli_optind()];
    ProtobufCMessage *resp = NULL;
    int rc = cli_call(&r, "/ecluse.v1.Admin/RemovePeer", &req.base,
                      &ecluse__v1__remove_peer_response__descriptor, &resp, err);
    cli_remote_close(&r);
    if (rc != 0)
        return -1;
    protobuf_c_message_free_unpacked(resp, NULL);
    printf("Removed peer %s: its gateway is refused from now on and its datasets are no longer "
           "listed.\n",
           req.site);
    return 0;
}

#define REMOTE_HELP                                                                                \
    "  --identity DIR   an admin identity of this site (default $ECLUSE_IDENTITY)\n"               \
    "  --gateway H:P    override the gateway named in identity.json\n"

const cli_command cli_peer_export = {
    "peer export",
    "print this site's signed peering bundle (and its fingerprint on stderr)",
    "Usage: ecluse peer export [--identity DIR] > SITE.peer\n\n"
    "Writes the site's peering bundle: site id, country, gateway endpoint, CA\n"
    "certificate and Ed25519 public key, signed by that key. The fingerprint goes\n"
    "to stderr: tell it to the other site's admin by a channel you trust.\n\n"
    "Options:\n" REMOTE_HELP
    "\nExample:\n  ecluse peer export --identity ~/.ecluse/admin-fi > fi.peer\n",
    run_peer_export,
};

const cli_command cli_peer_add = {
    "peer add",
    "add a peer site from its bundle, once its fingerprint is confirmed",
    "Usage: ecluse peer add FILE --expect-fingerprint FP [--identity DIR]\n\n"
    "Verifies the bundle's signature, prints the site and fingerprint, and adds the\n"
    "peer: its gateway may then connect (with a certificate from its own CA only)\n"
    "and its catalog is fetched. Nothing is added unless the fingerprint is the one\n"
    "the other site's admin told you: pass it as --expect-fingerprint, or, at a\n"
    "terminal, type yes when asked. Without either it exits 2 (printing the\n"
    "bundle's fingerprint); a different fingerprint exits 10.\n\n"
    "Options:\n  --expect-fingerprint FP   the fingerprint you were told (`peer export` prints\n"
    "                            it); a bundle with another one is refused\n" REMOTE_HELP
    "\nExample:\n  ecluse peer add lu.peer --expect-fingerprint 3f2a-91c0-...\n",
    run_peer_add,
};

const cli_command cli_peer_list = {
    "peer list",
    "list peer sites: key generation, catalog held, last contact, last error",
    "Usage: ecluse peer list [--identity DIR] [--json]\n\n"
    "One line per peer: site, country, gateway endpoint; the key generation held\n"
    "(rotations followed from its bundle's key) and whether it is the peer's\n"
    "newest as of the last contact; the catalog version held and when it was\n"
    "verified; the last successful contact; then `ok`, or the error held, in\n"
    "words (\"unreachable\", \"removed us\", \"TLS: certificate expired\",\n"
    "\"catalog refused: rollback from v7 to v5\", ...; docs/cli.md), when it\n"
    "happened, and its detail. A later contact that works clears it.\n\n"
    "Options:\n" REMOTE_HELP
    "  --json           one JSON object per line (fields in docs/cli.md)\n\n"
    "Example:\n  ecluse peer list\n",
    run_peer_list,
};

const cli_command cli_peer_remove = {
    "peer remove",
    "remove a peer: its gateway is cut off at once, its datasets unlisted",
    "Usage: ecluse peer remove SITE [--identity DIR]\n\nOptions:\n" REMOTE_HELP
    "\nExample:\n  ecluse peer remove lu\n",
    run_peer_remove,
};
