/* signer_keys.c - the signer's key material and the one signing path
 * (see signer_keys.h). */
#include "site/signer_keys.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ecluse.pb-c.h"

static site_key *locked_key(ecl_err *err)
{
    if (sodium_init() < 0) {
        ecl_fail(err, ECL_E_INTERNAL, "libsodium failed to initialise");
        return NULL;
    }
    site_key *k = sodium_malloc(sizeof(*k));
    if (k == NULL)
        ecl_fail(err, ECL_E_LIMIT, "cannot allocate locked memory for the site key");
    return k;
}

/* Locked key memory is read-only except while a key is written into it. */
static void seal(site_key *k)
{
    if (k != NULL)
        sodium_mprotect_readonly(k);
}

static void drop(site_key **k)
{
    if (*k != NULL) {
        sodium_mprotect_readwrite(*k);
        sodium_free(*k); /* zeroes it first */
        *k = NULL;
    }
}

int signer_keys_load(signer_keys *k, const char *key_path, ecl_err *err)
{
    memset(k, 0, sizeof(*k));
    if ((k->current = locked_key(err)) == NULL)
        return -1;
    if (site_key_load(key_path, k->current, err) != 0 || (k->key_path = strdup(key_path)) == NULL) {
        if (k->key_path == NULL && err->code == ECL_OK)
            ecl_fail(err, ECL_E_INTERNAL, "out of memory");
        signer_keys_wipe(k);
        return -1;
    }
    seal(k->current);
    return 0;
}

int signer_keys_copy(signer_keys *k, const site_key *key, ecl_err *err)
{
    memset(k, 0, sizeof(*k));
    if ((k->current = locked_key(err)) == NULL)
        return -1;
    *k->current = *key;
    seal(k->current);
    return 0;
}

int signer_keys_set_site(signer_keys *k, const char *site, ecl_err *err)
{
    if (ecl_audit_origin(site, k->origin, sizeof(k->origin), err) != 0) {
        k->origin[0] = '\0';
        return ecl_err_prefix(err, "signer");
    }
    return 0;
}

void signer_keys_wipe(signer_keys *k)
{
    drop(&k->current);
    drop(&k->staged);
    free(k->key_path);
    k->key_path = NULL;
}

const char *signer_context(signer_kind kind)
{
    switch (kind) {
    case SIGNER_CATALOG:
        return CATALOG_SIGNING_CONTEXT;
    case SIGNER_GRANT:
        return GRANT_SIGNING_CONTEXT;
    case SIGNER_ATTESTATION:
        return ATTESTATION_SIGNING_CONTEXT;
    case SIGNER_BUNDLE:
        return BUNDLE_SIGNING_CONTEXT;
    case SIGNER_ROTATION:
        return ROTATION_SIGNING_CONTEXT;
    case SIGNER_ERASURE_NOTICE:
        return ERASURE_NOTICE_CONTEXT;
    case SIGNER_ERASURE_ACK:
        return ERASURE_ACK_CONTEXT;
    case SIGNER_CHECKPOINT_NOTE:
    case SIGNER_COSIGNATURE:
        return NULL; /* signed raw (signer.h) */
    }
    return NULL;
}

int signer_kind_valid(uint32_t kind)
{
    return signer_context((signer_kind)kind) != NULL || kind == SIGNER_CHECKPOINT_NOTE ||
           kind == SIGNER_COSIGNATURE;
}

/* A checkpoint text of this site's log. */
static int checkpoint_note_ok(const signer_keys *k, const void *msg, size_t len, ecl_err *err)
{
    if (k->origin[0] == '\0')
        return ecl_fail(err, ECL_E_PRECONDITION,
                        "signer: no site id was given (--site), so no checkpoint is signed");
    ecl_checkpoint cp;
    if (ecl_checkpoint_parse(msg, len, &cp, err) != 0)
        return ecl_err_prefix(err, "signer: not a checkpoint");
    if (strcmp(cp.origin, k->origin) != 0)
        return ecl_fail(err, ECL_E_INPUT,
                        "signer: the checkpoint's origin '%.64s' is not this site's log, '%s'",
                        cp.origin, k->origin);
    return 0;
}

/* 1 if `msg` decodes as `type`. protobuf-c checks the wire format and the
 * required structure; what the fields say is the requester's business. */
static int decodes_as(const ProtobufCMessageDescriptor *type, const void *msg, size_t len)
{
    ProtobufCMessage *m = protobuf_c_message_unpack(type, NULL, len, msg);
    if (m == NULL)
        return 0;
    protobuf_c_message_free_unpacked(m, NULL);
    return 1;
}

/* A rotation is signed only from the current key to the staged one. */
static int rotation_ok(const signer_keys *k, const void *msg, size_t len, ecl_err *err)
{
    if (k->staged == NULL)
        return ecl_fail(err, ECL_E_PRECONDITION,
                        "signer: no rotation was prepared; a key rotation is signed only "
                        "for the key the signer made");
    Ecluse__V1__KeyRotationBody *r = ecluse__v1__key_rotation_body__unpack(NULL, len, msg);
    if (r == NULL)
        return ecl_fail(err, ECL_E_INPUT, "signer: the rotation is not a KeyRotationBody");
    int ok = r->old_key.len == crypto_sign_PUBLICKEYBYTES &&
             r->new_key.len == crypto_sign_PUBLICKEYBYTES &&
             memcmp(r->old_key.data, k->current->public_key, crypto_sign_PUBLICKEYBYTES) == 0 &&
             memcmp(r->new_key.data, k->staged->public_key, crypto_sign_PUBLICKEYBYTES) == 0;
    ecluse__v1__key_rotation_body__free_unpacked(r, NULL);
    if (!ok)
        return ecl_fail(err, ECL_E_INPUT,
                        "signer: the rotation does not go from the current key to the "
                        "prepared one");
    return 0;
}

static int body_ok(const signer_keys *k, uint32_t kind, const void *msg, size_t len, ecl_err *err)
{
    const ProtobufCMessageDescriptor *type = NULL;
    switch (kind) {
    case SIGNER_CATALOG:
        type = &ecluse__v1__catalog_header__descriptor;
        break;
    case SIGNER_GRANT:
        type = &ecluse__v1__grant_body__descriptor;
        break;
    case SIGNER_ATTESTATION:
        type = &ecluse__v1__attestation_body__descriptor;
        break;
    case SIGNER_BUNDLE:
        type = &ecluse__v1__peer_bundle_body__descriptor;
        break;
    case SIGNER_ROTATION:
        return rotation_ok(k, msg, len, err);
    case SIGNER_ERASURE_NOTICE:
        type = &ecluse__v1__erasure_notice_body__descriptor;
        break;
    case SIGNER_ERASURE_ACK:
        type = &ecluse__v1__erasure_ack_body__descriptor;
        break;
    case SIGNER_CHECKPOINT_NOTE:
        return checkpoint_note_ok(k, msg, len, err);
    case SIGNER_COSIGNATURE: {
        uint64_t time = 0;
        size_t off = 0;
        if (ecl_cosig_message_parse(msg, len, &time, NULL, &off, err) != 0)
            return ecl_err_prefix(err, "signer: not a cosignature/v1 message");
        return 0;
    }
    default:
        return ecl_fail(err, ECL_E_INPUT, "signer: unknown request kind %u", kind);
    }
    if (!decodes_as(type, msg, len))
        return ecl_fail(err, ECL_E_INPUT, "signer: the %s body is not a %s",
                        signer_context((signer_kind)kind), type->short_name);
    return 0;
}

int signer_keys_sign(signer_keys *k, uint32_t kind, const void *msg, size_t len,
                     unsigned char sig[crypto_sign_BYTES], ecl_err *err)
{
    if (k->current == NULL)
        return ecl_fail(err, ECL_E_PRECONDITION, "signer: no key is loaded");
    if (len > SIGNER_MAX_PAYLOAD)
        return ecl_fail(err, ECL_E_LIMIT, "signer: %zu bytes is more than a document may be", len);
    if (body_ok(k, kind, msg, len, err) != 0)
        return -1;
    if (kind == SIGNER_CHECKPOINT_NOTE || kind == SIGNER_COSIGNATURE) {
        /* C2SP: Ed25519 over the bytes as they are (see signer.h) */
        if (crypto_sign_detached(sig, NULL, msg, len, k->current->secret_key) != 0)
            return ecl_fail(err, ECL_E_INTERNAL, "signer: Ed25519 signing failed");
        return 0;
    }
    return site_key_sign(k->current, signer_context((signer_kind)kind), msg, len, sig, err);
}

/* `path`.new and `path`.new.pub, or `path`.<n> and `path`.<n>.pub. */
static int key_paths(const char *path, const char *suffix, char *key, char *pub, size_t cap,
                     ecl_err *err)
{
    if (snprintf(key, cap, "%s%s", path, suffix) >= (int)cap ||
        snprintf(pub, cap, "%s%s.pub", path, suffix) >= (int)cap)
        return ecl_fail(err, ECL_E_LIMIT, "%s: path too long", path);
    return 0;
}

int signer_keys_rotate_prepare(signer_keys *k, unsigned char new_pk[crypto_sign_PUBLICKEYBYTES],
                               ecl_err *err)
{
    drop(&k->staged);
    site_key *fresh = locked_key(err);
    if (fresh == NULL || site_key_generate(fresh, err) != 0) {
        drop(&fresh);
        return -1;
    }
    if (k->key_path != NULL) {
        char staged[PATH_MAX], staged_pub[PATH_MAX];
        if (key_paths(k->key_path, ".new", staged, staged_pub, sizeof(staged), err) != 0) {
            drop(&fresh);
            return -1;
        }
        /* A key staged by an earlier, unfinished rotation was never used. */
        remove(staged);
        remove(staged_pub);
        if (site_key_save(fresh, staged, err) != 0) {
            drop(&fresh);
            return -1;
        }
    }
    seal(fresh);
    k->staged = fresh;
    memcpy(new_pk, fresh->public_key, crypto_sign_PUBLICKEYBYTES);
    return 0;
}

int signer_keys_stage(signer_keys *k, const site_key *next, ecl_err *err)
{
    drop(&k->staged);
    if ((k->staged = locked_key(err)) == NULL)
        return -1;
    *k->staged = *next;
    seal(k->staged);
    return 0;
}

int signer_keys_rotate_commit(signer_keys *k, uint64_t retired_sequence, ecl_err *err)
{
    if (k->staged == NULL)
        return ecl_fail(err, ECL_E_PRECONDITION, "signer: no rotation was prepared");
    if (k->key_path != NULL) {
        char pub[PATH_MAX], staged[PATH_MAX], staged_pub[PATH_MAX], retired[PATH_MAX],
            retired_pub[PATH_MAX], suffix[32];
        snprintf(suffix, sizeof(suffix), ".%llu", (unsigned long long)retired_sequence);
        if (key_paths(k->key_path, "", retired, pub, sizeof(pub), err) != 0 ||
            key_paths(k->key_path, ".new", staged, staged_pub, sizeof(staged), err) != 0 ||
            key_paths(k->key_path, suffix, retired, retired_pub, sizeof(retired), err) != 0)
            return -1;
        if (rename(k->key_path, retired) != 0 || rename(pub, retired_pub) != 0 ||
            rename(staged, k->key_path) != 0 || rename(staged_pub, pub) != 0)
            return ecl_fail(err, ECL_E_IO,
                            "%s: the rotation is recorded but the key files could not be "
                            "swapped; the new key is in %s",
                            k->key_path, staged);
    }
    drop(&k->current);
    k->current = k->staged;
    k->staged = NULL;
    return 0;
}
