/* seedgen.c - writes the generated part of the seed corpora (fuzz/corpus/):
 * real signed catalogs, bundles, rotations, grants and checkpoints made with
 * the fuzz test keys, certificates, configs, datasets, .npy files, and one
 * fully populated encoding of every RPC message type.
 *
 *   bazel run //fuzz:seedgen -- "$PWD/fuzz/corpus"
 *
 * Names say what each target must do with a seed: "ok-*" is accepted,
 * "bad-*" refused (tests/fuzz checks both). Certificates are made with fresh
 * keys, so a second run writes other bytes for the PEM-bearing seeds; the
 * rest is deterministic. Files copied from examples/ are added by hand. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/fileio.h"
#include "common/note.h"
#include "common/read_digest.h"
#include "client/read.h"
#include "federation/bundle.h"
#include "federation/catalog.h"
#include "fuzz/fuzz.h"
#include "gateway/attestation.h"
#include "gateway/grant.h"
#include "proto/ecluse.pb-c.h"
#include "site/config.h"
#include "site/pki.h"
#include "store/writer.h"

#define NOW 1767225600

static const char *root;

static void die(const char *what, const ecl_err *err)
{
    fprintf(stderr, "seedgen: %s: %s\n", what, err ? err->msg : "failed");
    exit(1);
}

/* Write `n` bytes: `head` bytes (a mode byte...) then `data`. */
static void seed2(const char *target, const char *name, const void *head, size_t hn,
                  const void *data, size_t n)
{
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/%s", root, target);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/%s/%s", root, target, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || (hn && fwrite(head, 1, hn, f) != hn) || (n && fwrite(data, 1, n, f) != n) ||
        fclose(f) != 0)
        die(path, NULL);
}

static void seed(const char *target, const char *name, const void *data, size_t n)
{
    seed2(target, name, NULL, 0, data, n);
}

static void seed_mode(const char *target, const char *name, uint8_t mode, const void *data,
                      size_t n)
{
    seed2(target, name, &mode, 1, data, n);
}

static void seed_csv(const char *name, uint8_t options, const char *text)
{
    seed_mode("csv", name, options, text, strlen(text));
}

static void seed_str(const char *target, const char *name, const char *s)
{
    seed(target, name, s, strlen(s));
}

/* ---- a growing byte buffer ------------------------------------------------ */
typedef struct {
    uint8_t *p;
    size_t n, cap;
} buf;

static void put(buf *b, const void *d, size_t n)
{
    if (b->n + n > b->cap) {
        b->cap = (b->n + n) * 2 + 64;
        b->p = realloc(b->p, b->cap);
        if (b->p == NULL)
            die("out of memory", NULL);
    }
    if (n)
        memcpy(b->p + b->n, d, n);
    b->n += n;
}

static void put_u8(buf *b, uint8_t v)
{
    put(b, &v, 1);
}

static void put_piece(buf *b, const void *d, size_t n)
{
    put_u8(b, (uint8_t)(n & 0xff));
    put_u8(b, (uint8_t)(n >> 8));
    put(b, d, n);
}

static void put_varint(buf *b, uint64_t v)
{
    while (v >= 0x80) {
        put_u8(b, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    put_u8(b, (uint8_t)v);
}

/* ---- RPC messages: every field of every type set ------------------------- */
static void fill(buf *b, const ProtobufCMessageDescriptor *d, int depth);

static void fill_field(buf *b, const ProtobufCFieldDescriptor *f, int depth)
{
    uint8_t zero8[8] = {1, 0, 0, 0, 0, 0, 0, 0};
    switch (f->type) {
    case PROTOBUF_C_TYPE_STRING:
        put_varint(b, (uint64_t)f->id << 3 | 2);
        put_varint(b, 5);
        put(b, "fi/ab", 5);
        break;
    case PROTOBUF_C_TYPE_BYTES:
        put_varint(b, (uint64_t)f->id << 3 | 2);
        put_varint(b, 32);
        for (int i = 0; i < 32; i++)
            put_u8(b, (uint8_t)i);
        break;
    case PROTOBUF_C_TYPE_MESSAGE: {
        if (depth > 3)
            break;
        buf sub = {0};
        fill(&sub, f->descriptor, depth + 1);
        put_varint(b, (uint64_t)f->id << 3 | 2);
        put_varint(b, sub.n);
        put(b, sub.p, sub.n);
        free(sub.p);
        break;
    }
    case PROTOBUF_C_TYPE_FIXED32:
    case PROTOBUF_C_TYPE_SFIXED32:
    case PROTOBUF_C_TYPE_FLOAT:
        put_varint(b, (uint64_t)f->id << 3 | 5);
        put(b, zero8, 4);
        break;
    case PROTOBUF_C_TYPE_FIXED64:
    case PROTOBUF_C_TYPE_SFIXED64:
    case PROTOBUF_C_TYPE_DOUBLE:
        put_varint(b, (uint64_t)f->id << 3 | 1);
        put(b, zero8, 8);
        break;
    default: /* varints: ints, bool, enum */
        put_varint(b, (uint64_t)f->id << 3);
        put_varint(b, 1);
        break;
    }
}

static void fill(buf *b, const ProtobufCMessageDescriptor *d, int depth)
{
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        fill_field(b, f, depth);
        if (f->label == PROTOBUF_C_LABEL_REPEATED)
            fill_field(b, f, depth);
        /* A oneof: the first member only, or the message would carry two. */
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF))
            while (i + 1 < d->n_fields && (d->fields[i + 1].flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                   d->fields[i + 1].quantifier_offset == f->quantifier_offset)
                i++;
    }
}

static void rpc_seeds(void)
{
    size_t count;
    const ProtobufCMessageDescriptor *const *all = fz_rpc_descriptors(&count);
    for (size_t i = 0; i < count; i++) {
        char name[160];
        uint8_t sel = (uint8_t)i;
        buf b = {0};
        fill(&b, all[i], 0);
        /* ecluse.v1's messages by their short names (as before); the
         * standard services' by full name: grpc.health.v1 also has a
         * HealthCheckRequest. */
        const char *type =
            strcmp(all[i]->package_name, "ecluse.v1") == 0 ? all[i]->short_name : all[i]->name;
        snprintf(name, sizeof(name), "ok-full-%s", type);
        seed2("rpc_request", name, &sel, 1, b.p, b.n);
        snprintf(name, sizeof(name), "ok-empty-%s", type);
        seed2("rpc_request", name, &sel, 1, NULL, 0);
        if (b.n > 2) {
            snprintf(name, sizeof(name), "bad-truncated-%s", type);
            seed2("rpc_request", name, &sel, 1, b.p, b.n - 1);
        }
        free(b.p);
    }
}

/* ---- catalogs ------------------------------------------------------------- */
static void entry(buf *b, const char *id)
{
    Ecluse__V1__DatasetEntry e = ECLUSE__V1__DATASET_ENTRY__INIT;
    Ecluse__V1__TensorInfo t = ECLUSE__V1__TENSOR_INFO__INIT, *tp = &t;
    e.id = (char *)id;
    e.title = "Breast cancer";
    e.licence = "CC-BY-4.0";
    e.rows = 569;
    t.name = "features";
    e.tensors = &tp;
    e.n_tensors = 1;
    b->n = 0;
    b->p = malloc(ecluse__v1__dataset_entry__get_packed_size(&e) + 1);
    b->n = ecluse__v1__dataset_entry__pack(&e, b->p);
}

static void catalog_seeds(void)
{
    ecl_err err;
    buf e1 = {0}, e2 = {0};
    entry(&e1, "fi/breast-cancer");
    entry(&e2, "fi/digits");
    ProtobufCBinaryData entries[2] = {{e1.n, e1.p}, {e2.n, e2.p}};
    catalog *c = NULL;
    if (catalog_sign("fi", "FI", 3, NOW - 3600, NOW + 86400 * 3650L, entries, 2, fz_signer(0), &c,
                     &err) != 0)
        die("catalog_sign", &err);
    ProtobufCBinaryData h = catalog_header_bytes(c), s = catalog_signature(c);
    /* mode, header, [signature], count, entries */
    for (int variant = 0; variant < 6; variant++) {
        static const uint8_t modes[] = {0x00, 0x01, 0x03, 0x08, 0x04, 0x00};
        static const char *const names[] = {"ok-signed",        "ok-harness-signed",
                                            "ok-fixed-digest",  "ok-not-expired",
                                            "bad-equivocation", "bad-signature"};
        buf b = {0};
        uint8_t mode = modes[variant];
        put_u8(&b, mode);
        put_piece(&b, h.data, h.len);
        if (!(mode & 1)) {
            uint8_t sig[64];
            memcpy(sig, s.data, 64);
            if (variant == 5)
                sig[10] ^= 1;
            put_piece(&b, sig, 64);
        }
        put_u8(&b, 2);
        put_piece(&b, e1.p, e1.n);
        put_piece(&b, e2.p, e2.n);
        seed("catalog", names[variant], b.p, b.n);
        free(b.p);
    }
    { /* entries out of order, digest fixed by the harness */
        buf b = {0};
        put_u8(&b, 0x03);
        put_piece(&b, h.data, h.len);
        put_u8(&b, 2);
        put_piece(&b, e2.p, e2.n);
        put_piece(&b, e1.p, e1.n);
        seed("catalog", "bad-unsorted", b.p, b.n);
        free(b.p);
    }
    unsigned char *blob = NULL;
    size_t blen = 0;
    if (catalog_to_blob(c, &blob, &blen, &err) != 0)
        die("catalog_to_blob", &err);
    seed_mode("catalog_blob", "ok-stored", 0, blob, blen);
    seed_mode("catalog_blob", "ok-resigned", 1, blob, blen);
    seed_mode("catalog_blob", "ok-not-expired", 8, blob, blen);
    seed_mode("catalog_blob", "bad-truncated", 0, blob, blen - 1);
    blob[20] ^= 0x40; /* inside the header: the signature breaks */
    seed_mode("catalog_blob", "bad-altered", 0, blob, blen);
    free(blob);
    catalog_free(c);
    free(e1.p);
    free(e2.p);
}

/* ---- certificates, bundles, rotations ------------------------------------ */
static char *ca_pem;

static void pki_seeds(void)
{
    ecl_err err;
    X509 *ca = NULL, *leaf = NULL;
    EVP_PKEY *ca_key = NULL, *leaf_key = NULL;
    if (pki_make_ca("fi", 3650, &ca, &ca_key, &err) != 0 || pki_cert_to_pem(ca, &ca_pem, &err))
        die("CA", &err);
    pki_leaf_request req = {"spiffe://fi/researcher/alice", NULL, -60, 3650};
    char *leaf_pem = NULL;
    if (pki_issue(ca, ca_key, &req, &leaf, &leaf_key, &err) != 0 ||
        pki_cert_to_pem(leaf, &leaf_pem, &err) != 0)
        die("leaf", &err);
    seed_str("pem", "ok-ca.pem", ca_pem);
    seed_str("pem", "ok-leaf.pem", leaf_pem);
    seed("pem", "bad-truncated.pem", leaf_pem, strlen(leaf_pem) / 2);
    free(leaf_pem);
    X509_free(leaf);
    EVP_PKEY_free(leaf_key);
    X509_free(ca);
    EVP_PKEY_free(ca_key);
}

static void bundle_seeds(void)
{
    ecl_err err;
    unsigned char *b = NULL;
    size_t n = 0;
    char *text = NULL;
    if (bundle_make("fi", "FI", "gw.fi.example:7443", ca_pem, fz_signer(0), NOW, &b, &n, &err) !=
            0 ||
        bundle_to_text(b, n, &text, &err) != 0)
        die("bundle", &err);
    seed_mode("bundle", "ok-text", 0, text, strlen(text));
    seed_mode("bundle", "ok-encoding", 1, b, n);
    Ecluse__V1__PeerBundle *pb = ecluse__v1__peer_bundle__unpack(NULL, n, b);
    seed_mode("bundle", "ok-body", 2, pb->body.data, pb->body.len);
    pb->signature.data[0] ^= 1;
    unsigned char *bad = malloc(n);
    ecluse__v1__peer_bundle__pack(pb, bad);
    seed_mode("bundle", "bad-signature", 1, bad, n);
    seed_mode("bundle", "bad-text-header", 0, text + 1, strlen(text) - 1);
    /* A body naming a site its CA is not for. */
    Ecluse__V1__PeerBundleBody *body =
        ecluse__v1__peer_bundle_body__unpack(NULL, pb->body.len, pb->body.data);
    char *site = body->site;
    body->site = "lu";
    unsigned char *other = malloc(ecluse__v1__peer_bundle_body__get_packed_size(body));
    size_t on = ecluse__v1__peer_bundle_body__pack(body, other);
    seed_mode("bundle", "bad-ca-of-another-site", 2, other, on);
    body->site = site;
    ecluse__v1__peer_bundle_body__free_unpacked(body, NULL);
    ecluse__v1__peer_bundle__free_unpacked(pb, NULL);
    free(other);
    free(bad);
    free(text);
    free(b);

    /* Rotations 0 -> 1 -> 2 of site fi. */
    Ecluse__V1__KeyRotation *rots[2];
    for (unsigned i = 0; i < 2; i++) {
        unsigned char *r = NULL;
        size_t rn = 0;
        if (signer_local_stage(fz_signer(i), fz_key(i + 1), &err) != 0 ||
            rotation_make("fi", fz_signer(i), fz_key(i + 1)->public_key, i + 1, NOW, &r, &rn, &err))
            die("rotation", &err);
        rots[i] = ecluse__v1__key_rotation__unpack(NULL, rn, r);
        free(r);
    }
    Ecluse__V1__KeyRotationList list = ECLUSE__V1__KEY_ROTATION_LIST__INIT;
    list.rotations = rots;
    list.n_rotations = 2;
    unsigned char *lb = malloc(ecluse__v1__key_rotation_list__get_packed_size(&list));
    size_t ln = ecluse__v1__key_rotation_list__pack(&list, lb);
    seed_mode("rotation", "ok-chain", 0, lb, ln);
    seed_mode("rotation", "ok-resigned", 1, lb, ln);
    seed_mode("rotation", "ok-empty", 0, NULL, 0);
    rots[1]->signature.data[3] ^= 1;
    ln = ecluse__v1__key_rotation_list__pack(&list, lb);
    seed_mode("rotation", "bad-signature", 0, lb, ln);
    list.rotations = &rots[1];
    list.n_rotations = 1;
    rots[1]->signature.data[3] ^= 1;
    ln = ecluse__v1__key_rotation_list__pack(&list, lb);
    seed_mode("rotation", "ok-before-pinned", 0, lb, ln); /* 1 -> 2 only: skipped */
    free(lb);
    for (unsigned i = 0; i < 2; i++)
        ecluse__v1__key_rotation__free_unpacked(rots[i], NULL);
}

/* ---- grants ------------------------------------------------------------- */
static void grant_seeds(void)
{
    ecl_err err;
    Ecluse__V1__GrantBody body = ECLUSE__V1__GRANT_BODY__INIT;
    Ecluse__V1__Identity who = ECLUSE__V1__IDENTITY__INIT;
    char *tensors[] = {"features", "labels"};
    who.site = "fi";
    who.role = "researcher";
    who.name = "alice";
    body.grant_id = "00112233445566778899aabbccddeeff";
    body.dataset = "lu/breast-cancer";
    body.requester = &who;
    body.purpose = "HMB";
    body.lawful_basis = "art6-1-e+art9-2-j";
    body.job_country = "FI";
    body.transfer_basis = "eea";
    body.tensors = tensors;
    body.n_tensors = 2;
    body.max_rows = 100;
    body.issued_unix = NOW - 60;
    body.expires_unix = 4102444800; /* 2100 */
    grant_dataset held, changed;
    fz_grant_held(&held);
    changed = held;
    changed.content_digest[0] ^= 1;
    grant_bind_dataset(&body, &held);
    /* Signed by test key 0 (the holder's current key) unless said. */
    static const char *const names[] = {"ok",
                                        "bad-expired",
                                        "bad-other-site",
                                        "ok-earlier-key",
                                        "bad-changed-data",
                                        "bad-another-site-key"};
    static const unsigned key_of[] = {0, 0, 0, 1, 0, 2};
    static const uint8_t body_mode[] = {1, 1, 1, 3, 1, 5};
    for (int v = 0; v < 6; v++) {
        body.expires_unix = v == 1 ? NOW - 1 : 4102444800;
        body.dataset = v == 2 ? "fi/breast-cancer" : "lu/breast-cancer";
        grant_bind_dataset(&body, v == 4 ? &changed : &held);
        Ecluse__V1__Grant g;
        if (grant_sign(fz_signer(key_of[v]), &body, &g, &err) != 0)
            die("grant_sign", &err);
        unsigned char *gb = malloc(ecluse__v1__grant__get_packed_size(&g));
        size_t gn = ecluse__v1__grant__pack(&g, gb);
        char name[64];
        snprintf(name, sizeof(name), "%s-grant", names[v]);
        seed_mode("grant", name, 0, gb, gn);
        snprintf(name, sizeof(name), "%s-body", names[v]);
        seed_mode("grant", name, body_mode[v], g.body.data, g.body.len);
        free(gb);
        grant_clear(&g);
    }
}

/* ---- checkpoints: C2SP signed notes (docs/audit-format.md) -------------- */
static void checkpoint_seeds(void)
{
    ecl_err err;
    const site_key *key = fz_key(0);
    uint8_t root[32];
    for (int i = 0; i < 32; i++)
        root[i] = (uint8_t)(0xa0 + i);
    char text[512], note[2048], msg[ECL_COSIG_MESSAGE_MAX];
    size_t text_len, len, msg_len;
    if (ecl_checkpoint_format("ecluse/audit/fi", 1234, root, text, sizeof(text), &text_len, &err) !=
        0)
        die("checkpoint text", &err);
    unsigned char sig[crypto_sign_BYTES];
    crypto_sign_detached(sig, NULL, (const uint8_t *)text, text_len, key->secret_key);
    memcpy(note, text, text_len);
    len = text_len;
    if (ecl_note_append_signature(note, sizeof(note), &len, text_len, "ecluse/audit/fi",
                                  key->public_key, sig, &err) != 0)
        die("sign note", &err);
    seed_mode("checkpoint", "ok-signed-note", 0, note, len);
    if (ecl_cosig_message(text, text_len, (uint64_t)NOW, msg, sizeof(msg), &msg_len, &err) != 0)
        die("cosignature message", &err);
    crypto_sign_detached(sig, NULL, (const uint8_t *)msg, msg_len, key->secret_key);
    if (ecl_note_append_cosignature(note, sizeof(note), &len, text_len, "ecluse/witness/fi",
                                    key->public_key, (uint64_t)NOW, sig, &err) != 0)
        die("cosign note", &err);
    seed_mode("checkpoint", "ok-cosigned-note", 0, note, len);
    seed_mode("checkpoint", "bad-cosignature-message-not-a-note", 0, msg, msg_len);
    note[len - 5] ^= 1;
    seed_mode("checkpoint", "bad-cosignature", 0, note, len);
    seed_mode("checkpoint", "ok-harness-signed", 1, text, text_len);
    seed_mode("checkpoint", "ok-harness-cosigned", 3, text, text_len);
    seed_mode("checkpoint", "bad-no-final-newline", 1, text, text_len - 1);
    char ext[600];
    int n = snprintf(ext, sizeof(ext), "%.*sextension line\n", (int)text_len, text);
    seed_mode("checkpoint", "ok-extension-line", 3, ext, (size_t)n);
    n = snprintf(ext, sizeof(ext), "ecluse/audit/fi\n01234\n%.*s", 45,
                 text + strlen("ecluse/audit/fi\n1234\n"));
    seed_mode("checkpoint", "bad-leading-zero", 1, ext, (size_t)n);
}

/* ---- config, identity, store ---------------------------------------------- */
static void config_seeds(void)
{
    ecl_err err;
    char path[PATH_MAX], *text = NULL;
    size_t n = 0;
    snprintf(path, sizeof(path), "%s/new-site.json", fz_temp_dir());
    if (gateway_config_write_new(path, "fi", "FI", "127.0.0.1:7443", &err) != 0 ||
        ecl_read_file(path, 1 << 20, &text, &n, &err) != 0)
        die("config", &err);
    seed("config", "ok-new-site.json", text, n);
    free(text);
    seed_str("config", "ok-minimal.json",
             "{\"site\": \"lu\", \"country\": \"LU\", \"listen\": \"127.0.0.1:7443\", "
             "\"tls\": {\"cert\": \"gw.crt\", \"key\": \"gw.key\", \"ca\": \"ca.crt\"}, "
             "\"signing_key\": \"site.key\", \"data_dir\": \"data\"}");
    seed_str("config", "bad-unknown-key.json",
             "{\"site\": \"lu\", \"country\": \"LU\", \"listen\": \"127.0.0.1:0\", \"lisen\": 1}");
    seed_str("config", "bad-site.json",
             "{\"site\": \"L U\", \"country\": \"LU\", \"listen\": \"127.0.0.1:0\"}");
    seed_str("config", "bad-not-json.json", "{\"site\": ");
}

static void identity_seeds(void)
{
    seed_str("identity", "ok-gateway", "spiffe://fi/gateway");
    seed_str("identity", "ok-researcher", "spiffe://fi/researcher/alice");
    seed_str("identity", "ok-auditor", "spiffe://lu/auditor/a.b-c_d");
    seed_str("identity", "ok-admin", "spiffe://us-bos/admin/root");
    seed_str("identity", "bad-empty-segment", "spiffe://fi//admin/x");
    seed_str("identity", "bad-trailing-slash", "spiffe://fi/gateway/");
    seed_str("identity", "bad-role", "spiffe://fi/gateway/x");
    seed_str("identity", "bad-scheme", "https://fi/admin/x");
}

static void store_seeds(void)
{
    ecl_err err;
    store_writer *w = NULL;
    float f[6] = {1, 2, 3, 4, 5, 6};
    int64_t l[2] = {0, 1};
    uint64_t fs[2] = {2, 3}, ls[1] = {2};
    char path[PATH_MAX], *text = NULL;
    size_t n = 0;
    snprintf(path, sizeof(path), "%s/seed.safetensors", fz_temp_dir());
    if (store_writer_new(&w, &err) != 0 ||
        store_writer_add(w, "features", STORE_DT_F32, 2, fs, f, sizeof(f), &err) != 0 ||
        store_writer_add(w, "labels", STORE_DT_I64, 1, ls, l, sizeof(l), &err) != 0 ||
        store_writer_meta(w, "source", "seed", &err) != 0 || store_writer_write(w, path, &err) ||
        ecl_read_file(path, 1 << 20, &text, &n, &err) != 0)
        die("safetensors", &err);
    store_writer_free(w);
    seed("safetensors", "ok-two-tensors.safetensors", text, n);
    seed("safetensors", "bad-truncated.safetensors", text, n - 1);
    free(text);
    const char *hdr = "{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}";
    buf b = {0};
    uint64_t hl = strlen(hdr);
    for (int i = 0; i < 8; i++)
        put_u8(&b, (uint8_t)(hl >> (8 * i)));
    put(&b, hdr, hl);
    put(&b, f, 8);
    seed("safetensors", "ok-hand-made.safetensors", b.p, b.n);
    put(&b, f, 4);
    seed("safetensors", "bad-trailing-data.safetensors", b.p, b.n);
    free(b.p);

    /* .npy v1.0 '<f4' (2, 3) and v2.0 '<i8' (2,) */
    for (int v = 0; v < 3; v++) {
        const char *dict = v == 0   ? "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }"
                           : v == 1 ? "{'descr': '<i8', 'fortran_order': False, 'shape': (2,), }"
                                    : "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }";
        size_t dl = strlen(dict), total = 10 + dl + 1;
        if (v == 1)
            total += 2;
        size_t pad = (64 - total % 64) % 64;
        buf nb = {0};
        put(&nb, "\x93NUMPY", 6);
        put_u8(&nb, v == 1 ? 2 : 1);
        put_u8(&nb, 0);
        size_t hlen = dl + pad + 1;
        put_u8(&nb, (uint8_t)hlen);
        put_u8(&nb, (uint8_t)(hlen >> 8));
        if (v == 1) {
            put_u8(&nb, 0);
            put_u8(&nb, 0);
        }
        put(&nb, dict, dl);
        for (size_t i = 0; i < pad; i++)
            put_u8(&nb, ' ');
        put_u8(&nb, '\n');
        if (v == 1)
            put(&nb, l, sizeof(l));
        else
            put(&nb, f, sizeof(f));
        static const char *const names[] = {"ok-v1-f4.npy", "ok-v2-i8.npy", "bad-fortran.npy"};
        seed("npy", names[v], nb.p, nb.n);
        free(nb.p);
    }

    seed_str("rowset", "ok-doc-example.json", "{\"withdrawn_rows\": [[3, 4], [10, 20], 42]}");
    seed_str("rowset", "ok-overlapping.json", "{\"withdrawn_rows\": [[5, 9], [1, 6], 9, 0]}");
    seed_str("rowset", "ok-empty.json", "{\"withdrawn_rows\": []}");
    seed_str("rowset", "bad-empty-range.json", "{\"withdrawn_rows\": [[9, 9]]}");
    seed_str("rowset", "bad-key.json", "{\"withdrawn\": [1]}");

    /* Row lists of dataset erase and audit recipients (store/rowlist.h). */
    seed_str("rowlist", "ok-doc-example.txt", "17,40:42");
    seed_str("rowlist", "ok-merging.txt", "1:3,3,4:6,98,99");
    seed_str("rowlist", "ok-largest-row.txt", "18446744073709551614");
    seed_str("rowlist", "bad-empty-range.txt", "9:9");
    seed_str("rowlist", "bad-repeat.txt", "1:5,3");
    seed_str("rowlist", "bad-empty-item.txt", "1,,2");

    /* CSV: options byte then the file (fuzz/targets/csv.c). */
    seed_csv("ok-label-last-skip1.csv", 0x28,
             "569,30,malignant,benign\n17.99,10.38,122.8,0\n20.57,17.77,132.9,1\n");
    seed_csv("ok-header-named-label.csv", 0x1d, "a;b;label\n1;2;3\n\"4\";5.5;6\n  \n7;nan;8\r\n");
    seed_csv("ok-blanks.csv", 0x03, "1 2  3\n4\t5 6\n");
    seed_csv("bad-ragged.csv", 0x00, "1,2,3\n4,5\n");
    seed_csv("bad-label-not-integer.csv", 0x08, "1,2,3.5\n");
}

/* ---- read streams: the relay's scan and the client's verifier ------------ */

/* A message packed into a new buffer (the caller frees it). */
static uint8_t *packed(const ProtobufCMessage *m, size_t *n)
{
    *n = protobuf_c_message_get_packed_size(m);
    uint8_t *b = malloc(*n ? *n : 1);
    if (b == NULL)
        die("out of memory", NULL);
    protobuf_c_message_pack(m, b);
    return b;
}

static uint8_t features[48], labels[32];
static uint64_t shape_f[2] = {4, 3}, shape_l[1] = {4};
static Ecluse__V1__TensorInfo t_features = ECLUSE__V1__TENSOR_INFO__INIT,
                              t_labels = ECLUSE__V1__TENSOR_INFO__INIT;
static Ecluse__V1__TensorInfo *t_both[2] = {&t_features, &t_labels};
static Ecluse__V1__RowRange all_rows = ECLUSE__V1__ROW_RANGE__INIT;
static Ecluse__V1__RowRange *all_rows_p = &all_rows;

/* The header of a read of two tensors of 4 rows: 48 + 32 bytes. */
static void stream_header(Ecluse__V1__ReadHeader *h, uint64_t resume)
{
    for (size_t i = 0; i < sizeof(features); i++)
        features[i] = (uint8_t)(i * 7);
    for (size_t i = 0; i < sizeof(labels); i++)
        labels[i] = (uint8_t)(i % 3);
    t_features.name = "features";
    t_features.dtype = "F32";
    t_features.n_shape = 2;
    t_features.shape = shape_f;
    t_features.byte_size = sizeof(features);
    t_labels.name = "labels";
    t_labels.dtype = "I64";
    t_labels.n_shape = 1;
    t_labels.shape = shape_l;
    t_labels.byte_size = sizeof(labels);
    all_rows.begin = 0;
    all_rows.end = 4;
    ecluse__v1__read_header__init(h);
    h->read_id = "0123456789abcdef";
    h->n_tensors = 2;
    h->tensors = t_both;
    h->total_bytes = sizeof(features) + sizeof(labels);
    h->resume_offset = resume;
    h->n_row_ranges = 1;
    h->row_ranges = &all_rows_p;
}

static void put_msg(buf *b, uint8_t op, const ProtobufCMessage *m)
{
    size_t n;
    uint8_t *p = packed(m, &n);
    put_u8(b, op);
    put_piece(b, p, n);
    free(p);
}

/* A chunk of one whole tensor with its real digest (the rows are all sent,
 * so the source offset is the offset). */
static void chunk_of(Ecluse__V1__Chunk *c, uint32_t tensor, uint8_t *data, size_t len,
                     unsigned char digest[32], read_hasher *h)
{
    read_hasher_chunk(h, data, len, 0, NULL, digest);
    ecluse__v1__chunk__init(c);
    c->tensor = tensor;
    c->data = (ProtobufCBinaryData){len, data};
    c->digest = (ProtobufCBinaryData){32, digest};
}

static void stream_seeds(void)
{
    ecl_err err;
    read_hasher *h = NULL, *trail = NULL;
    if (read_hasher_new(&h, READ_DIGEST_V2, &err) != 0 ||
        read_hasher_new(&trail, READ_DIGEST_V2, &err) != 0)
        die("read_hasher_new", &err);
    Ecluse__V1__ReadHeader hd;
    stream_header(&hd, 0);
    unsigned char d1[32], d2[32], dt[32];
    Ecluse__V1__Chunk c1, c2;
    chunk_of(&c1, 0, features, sizeof(features), d1, h);
    chunk_of(&c2, 1, labels, sizeof(labels), d2, h);
    read_hasher_add(trail, d1);
    read_hasher_add(trail, d2);
    read_hasher_final(trail, dt);
    Ecluse__V1__ReadTrailer tr = ECLUSE__V1__READ_TRAILER__INIT;
    tr.bytes_sent = hd.total_bytes;
    tr.chunks = 2;
    tr.digest = (ProtobufCBinaryData){32, dt};

    /* relay_scan: each kind of message as a gateway sends it, and framings
     * that do not hold. */
    Ecluse__V1__ReadMessage m = ECLUSE__V1__READ_MESSAGE__INIT;
    m.kind_case = ECLUSE__V1__READ_MESSAGE__KIND_HEADER;
    m.header = &hd;
    size_t n;
    uint8_t *p = packed(&m.base, &n);
    seed("relay_scan", "ok-header", p, n);
    free(p);
    m.kind_case = ECLUSE__V1__READ_MESSAGE__KIND_TRAILER;
    m.trailer = &tr;
    p = packed(&m.base, &n);
    seed("relay_scan", "ok-trailer", p, n);
    free(p);
    m.kind_case = ECLUSE__V1__READ_MESSAGE__KIND_CHUNK;
    m.chunk = &c1;
    p = packed(&m.base, &n);
    seed("relay_scan", "ok-chunk", p, n);
    seed("relay_scan", "bad-chunk-cut-short", p, n - 1);
    free(p);
    static const uint8_t fixed32[] = {0x1a, 0x05, 0x0d, 1, 2, 3, 4}; /* wire type 5 in a chunk */
    seed("relay_scan", "bad-fixed32-in-chunk", fixed32, sizeof(fixed32));
    /* field number 2^32 + 3: once cut to an int, it read as a chunk */
    static const uint8_t huge[] = {0x9a, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00};
    seed("relay_scan", "bad-field-number-over-32-bits", huge, sizeof(huge));
    static const uint8_t trailing[] = {0x12, 0x00, 0x00}; /* a byte after the one field */
    seed("relay_scan", "bad-bytes-after-the-field", trailing, sizeof(trailing));

    /* verifier: whole reads with real digests, one resumed, headers that do
     * not add up. */
    buf b = {0};
    size_t hn;
    uint8_t *hp = packed(&hd.base, &hn);
    put_u8(&b, 0);
    put_piece(&b, hp, hn);
    put_msg(&b, 0, &c1.base);
    put_msg(&b, 0, &c2.base);
    put_msg(&b, 2, &tr.base);
    seed("verifier", "ok-whole-read", b.p, b.n);
    b.p[0] = 1; /* the same, the harness writing the digests */
    seed("verifier", "ok-whole-read-digests-by-harness", b.p, b.n);
    free(hp);
    b.n = 0;
    stream_header(&hd, sizeof(features));
    hp = packed(&hd.base, &hn);
    put_u8(&b, 1);
    put_piece(&b, hp, hn);
    put_u8(&b, 1);
    put_piece(&b, features, sizeof(features)); /* the prefix, from the bytes kept */
    put_msg(&b, 0, &c2.base);
    tr.bytes_sent = sizeof(labels);
    tr.chunks = 1;
    put_msg(&b, 2, &tr.base);
    seed("verifier", "ok-resumed-read", b.p, b.n);
    free(hp);
    b.n = 0;
    stream_header(&hd, 0);
    hd.total_bytes = 81;
    hp = packed(&hd.base, &hn);
    put_u8(&b, 0);
    put_piece(&b, hp, hn);
    seed("verifier", "bad-total-does-not-add-up", b.p, b.n);
    free(hp);
    b.n = 0;
    stream_header(&hd, 0);
    all_rows.begin = 2;
    all_rows.end = 2;
    hp = packed(&hd.base, &hn);
    put_u8(&b, 0);
    put_piece(&b, hp, hn);
    seed("verifier", "bad-empty-row-range", b.p, b.n);
    free(hp);
    free(b.p);
    read_hasher_free(h);
    read_hasher_free(trail);
}

/* ---- grant files (client/read.h) --------------------------------------- */
static void grant_file_seeds(void)
{
    ecl_err err;
    Ecluse__V1__GrantBody body = ECLUSE__V1__GRANT_BODY__INIT;
    Ecluse__V1__Identity who = ECLUSE__V1__IDENTITY__INIT;
    who.site = "fi";
    who.role = "researcher";
    who.name = "alice";
    body.grant_id = "00112233445566778899aabbccddeeff";
    body.dataset = "lu/breast-cancer";
    body.requester = &who;
    body.purpose = "HMB";
    body.issued_unix = NOW - 60;
    body.expires_unix = 4102444800;
    Ecluse__V1__Grant g;
    if (grant_sign(fz_signer(0), &body, &g, &err) != 0)
        die("grant_sign", &err);
    char path[PATH_MAX];
    snprintf(path, sizeof(path), "%s/grant_file", root);
    mkdir(path, 0755);
    snprintf(path, sizeof(path), "%s/grant_file/ok-grant", root);
    if (client_grant_save(path, &g, &err) != 0)
        die("client_grant_save", &err);
    char *text = NULL;
    size_t len = 0;
    if (ecl_read_file(path, CLIENT_GRANT_FILE_MAX, &text, &len, &err) != 0)
        die("ecl_read_file", &err);
    /* wrapped at 40 columns, CRLF line ends */
    buf w = {0};
    size_t magic = strlen(CLIENT_GRANT_MAGIC);
    put(&w, CLIENT_GRANT_MAGIC "\r\n", magic + 2);
    for (size_t i = magic + 1; i < len && text[i] != '\n'; i++) {
        put_u8(&w, (uint8_t)text[i]);
        if ((i - magic) % 40 == 0)
            put(&w, "\r\n", 2);
    }
    put(&w, "\r\n", 2);
    seed("grant_file", "ok-wrapped-crlf", w.p, w.n);
    free(w.p);
    seed_str("grant_file", "bad-magic", "ecluse-grant-v2\nAAAA\n");
    seed_str("grant_file", "bad-not-base64", "ecluse-grant-v1\nnot*base64!\n");
    seed_str("grant_file", "bad-empty", "ecluse-grant-v1\n");
    /* a Grant with a body and no signature: field 1, 2 bytes */
    seed_str("grant_file", "bad-no-signature", "ecluse-grant-v1\nCgIICA==\n");
    free(text);
    grant_clear(&g);
}

/* ---- attestations (gateway/attestation.h) ------------------------------ */
static void attestation_seed(const char *name, uint8_t mode, const uint8_t *req, size_t req_len,
                             const Ecluse__V1__AttestationBody *body, int bad_signature)
{
    ecl_err err;
    size_t bn;
    uint8_t *bb = packed(&body->base, &bn);
    buf b = {0};
    put_u8(&b, mode);
    put_piece(&b, req, req_len);
    if (mode & 1) {
        put(&b, bb, bn);
    } else {
        unsigned char sig[crypto_sign_BYTES];
        if (site_key_sign(fz_key(1), ATTESTATION_SIGNING_CONTEXT, bb, bn, sig, &err) != 0)
            die("site_key_sign", &err);
        sig[0] ^= (uint8_t)bad_signature;
        Ecluse__V1__Attestation a = ECLUSE__V1__ATTESTATION__INIT;
        a.body = (ProtobufCBinaryData){bn, bb};
        a.signature = (ProtobufCBinaryData){sizeof(sig), sig};
        size_t an;
        uint8_t *ab = packed(&a.base, &an);
        put(&b, ab, an);
        free(ab);
    }
    seed("attestation", name, b.p, b.n);
    free(b.p);
    free(bb);
}

static void attestation_seeds(void)
{
    static char *tensors[] = {"features", "labels"};
    Ecluse__V1__AccessRequest req = ECLUSE__V1__ACCESS_REQUEST__INIT;
    req.dataset = "lu/iris";
    req.purpose = "NRES";
    req.lawful_basis = "art6-1-e";
    req.job_country = "FI";
    req.n_tensors = 2;
    req.tensors = tensors;
    req.rows = 100;
    size_t rn;
    uint8_t *rb = packed(&req.base, &rn);
    unsigned char digest[32], other[32];
    ecl_err err;
    if (attestation_request_digest(&req, digest, &err) != 0)
        die("attestation_request_digest", &err);
    req.rows = 101;
    if (attestation_request_digest(&req, other, &err) != 0)
        die("attestation_request_digest", &err);
    Ecluse__V1__Identity who = ECLUSE__V1__IDENTITY__INIT;
    who.site = "fi";
    who.role = "researcher";
    who.name = "rita";
    Ecluse__V1__AttestationBody body = ECLUSE__V1__ATTESTATION_BODY__INIT;
    body.requester = &who;
    body.affiliation = "University of Helsinki";
    body.organisation_type = "university";
    body.issued_unix = NOW - 10;
    body.expires_unix = NOW - 10 + ATTESTATION_TTL_S;
    body.request_digest = (ProtobufCBinaryData){32, digest};
    attestation_seed("ok-signed", 0, rb, rn, &body, 0);
    attestation_seed("ok-body", 1, rb, rn, &body, 0);
    attestation_seed("bad-signature", 0, rb, rn, &body, 1);
    body.request_digest = (ProtobufCBinaryData){32, other};
    attestation_seed("bad-other-request", 1, rb, rn, &body, 0);
    attestation_seed("ok-body-digest-by-harness", 3, rb, rn, &body, 0);
    body.request_digest = (ProtobufCBinaryData){32, digest};
    body.expires_unix = NOW - 1;
    attestation_seed("bad-expired", 1, rb, rn, &body, 0);
    body.expires_unix = NOW - 10 + ATTESTATION_TTL_S;
    who.site = "de";
    attestation_seed("bad-person-of-another-site", 1, rb, rn, &body, 0);
    who.site = "fi";
    who.role = "admin";
    attestation_seed("bad-not-a-researcher", 1, rb, rn, &body, 0);
    free(rb);
}

/* ---- fetch records and --rows (client/fetch_record.h) -------------------- */
/* Mode byte '0' (even): a record file; '1' (odd): a --rows text. */
static void fetch_record_seeds(void)
{
    const char *ok =
        "0{\"ecluse_fetch_record\": 1, \"read_id\": \"0123456789abcdef0123456789abcdef\", "
        "\"grant_id\": \"00112233445566778899aabbccddeeff\", \"grant_digest\": "
        "\"1111111111111111111111111111111111111111111111111111111111111111\", \"dataset\": "
        "\"lu/d\", \"dataset_published_unix\": 1780000000, \"dataset_entry_digest\": "
        "\"2222222222222222222222222222222222222222222222222222222222222222\", \"rows\": [[0, "
        "3], [5, 10]], \"tensors\": [\"features\", \"labels\"], \"file\": "
        "\"/home/ana/d.safetensors\", \"sha256\": "
        "\"3333333333333333333333333333333333333333333333333333333333333333\", \"fetched_unix\": "
        "1780000100, \"erased\": [[3, 5]], \"updated_unix\": 1780000200%s}";
    char text[2048];
    snprintf(text, sizeof(text), ok, "");
    seed_str("fetch_record", "ok-record.json", text);
    snprintf(text, sizeof(text), ok,
             ", \"pending\": {\"sha256\": "
             "\"4444444444444444444444444444444444444444444444444444444444444444\", \"erase\": "
             "[[7, 10]]}");
    seed_str("fetch_record", "ok-record-pending.json", text);
    seed_str("fetch_record", "bad-record-not-json.json", "0{\"ecluse_fetch_record\": 1,");
    seed_str("fetch_record", "bad-record-version.json", "0{\"ecluse_fetch_record\": 2}");
    seed_str("fetch_record", "ok-rows.txt", "13:5,9,4:6,100:200");
    seed_str("fetch_record", "bad-rows-empty-range.txt", "15:3");
    seed_str("fetch_record", "bad-rows-trailing-comma.txt", "13:5,");
    seed_str("fetch_record", "bad-rows-word.txt", "1three");
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: seedgen CORPUS_DIR\n");
        return 2;
    }
    root = argv[1];
    if (sodium_init() < 0)
        return 1;
    rpc_seeds();
    catalog_seeds();
    pki_seeds();
    bundle_seeds();
    grant_seeds();
    checkpoint_seeds();
    config_seeds();
    identity_seeds();
    store_seeds();
    stream_seeds();
    grant_file_seeds();
    attestation_seeds();
    fetch_record_seeds();
    return 0;
}
