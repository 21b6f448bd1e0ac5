/* svc_admin.c - the site admin's door: peers, signing key, datasets. */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/fileio.h"
#include "common/log.h"
#include "federation/bundle.h"
#include "gateway/gateway.h"
#include "store/check.h"
#include "store/csv.h"
#include "store/dataset.h"
#include "store/leaves.h"
#include "store/npy.h"
#include "store/writer.h"

static void fill_summary(const fed_peer *p, Ecluse__V1__PeerSummary *s)
{
    s->site = (char *)p->info.site;
    s->country = (char *)p->info.country;
    s->endpoint = (char *)p->info.endpoint;
    s->fingerprint = (char *)p->info.fingerprint;
    s->catalog_version = p->catalog_version;
    s->last_fetch_unix = p->attempt_unix;
    /* The error held now, in words (peer_status.h); cleared by a later
     * contact, unlike the last fetch's refusal text. */
    s->last_error = (char *)p->contact.error_detail;
    s->key_generation = p->contact.key_generation;
    s->newest_key_generation = p->contact.newest_generation;
    s->catalog_fetched_unix = p->catalog_version > 0 ? p->fetched_unix : 0;
    s->last_contact_unix = p->contact.ok_unix;
    s->error_phrase = (char *)p->contact.error_phrase;
    s->error_detail = (char *)p->contact.error_detail;
    s->error_unix = p->contact.error_unix;
}

int svc_admin_add_peer(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err)
{
    gateway *gw = ctx;
    const char *by = rpc_call_identity(call)->spiffe;
    size_t len = protobuf_c_message_get_packed_size(request);
    unsigned char *bytes = malloc(len ? len : 1);
    if (bytes == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    protobuf_c_message_pack(request, bytes);
    gateway_action a;
    gateway_action_init(&a, gw, AUDIT_KIND_PEER, by, NULL, json_pack("{s:s}", "action", "add"));
    peer_info info;
    int rc = bundle_verify(bytes, len, &info, err);
    if (rc == 0) {
        json_t *what =
            json_pack("{s:s, s:s, s:s, s:s, s:s}", "action", "add", "site", info.site, "country",
                      info.country, "endpoint", info.endpoint, "fingerprint", info.fingerprint);
        json_decref(a.what);
        a.what = what;
        peer_info_clear(&info);
        /* Write-ahead: no peering change without its intent on record. */
        rc = gateway_action_begin(&a, err);
    }
    fed_peer added;
    if (rc == 0)
        rc = fed_state_add_peer(gw->state, bytes, len, gw->cfg.site, &added, err);
    free(bytes);
    if (gateway_action_end(&a, rc, err) != 0) {
        if (rc == 0)
            fed_peer_clear(&added);
        return -1;
    }
    ecl_log(ECL_LOG_INFO, "peer.added", "site", added.info.site, "endpoint", added.info.endpoint,
            "fingerprint", added.info.fingerprint, "by", by, NULL);
    Ecluse__V1__PeerSummary s = ECLUSE__V1__PEER_SUMMARY__INIT;
    fill_summary(&added, &s);
    rc = rpc_call_reply(call, &s.base, err);
    fed_peer_clear(&added);
    /* Fetch its catalog now rather than at the next tick. */
    pthread_mutex_lock(&gw->sync_lock);
    gw->sync_kick = 1;
    pthread_cond_broadcast(&gw->sync_wake);
    pthread_mutex_unlock(&gw->sync_lock);
    /* ...and have it fetch ours: if it peered with us first, its own
     * fetch was refused until now. */
    gateway_notify_peers(gw);
    return rc;
}

int svc_admin_remove_peer(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err)
{
    const Ecluse__V1__RemovePeerRequest *req = (const Ecluse__V1__RemovePeerRequest *)request;
    gateway *gw = ctx;
    const char *by = rpc_call_identity(call)->spiffe;
    gateway_action a;
    gateway_action_init(&a, gw, AUDIT_KIND_PEER, by, NULL,
                        json_pack("{s:s, s:s}", "action", "remove", "site", req->site));
    /* Not a peer: nothing to remove, and nothing is about to change. */
    fed_peer peer;
    int rc = fed_state_get_peer(gw->state, req->site, &peer, err);
    if (rc == 0) {
        fed_peer_clear(&peer);
        rc = gateway_action_begin(&a, err);
    } else if (err->code == ECL_E_NOT_FOUND)
        ecl_fail(err, ECL_E_NOT_FOUND, "site '%s' is not a peer of this site", req->site);
    if (rc == 0)
        rc = fed_state_remove_peer(gw->state, req->site, err);
    if (gateway_action_end(&a, rc, err) != 0)
        return -1;
    ecl_log(ECL_LOG_INFO, "peer.removed", "site", req->site, "by", by, NULL);
    Ecluse__V1__RemovePeerResponse resp = ECLUSE__V1__REMOVE_PEER_RESPONSE__INIT;
    return rpc_call_reply(call, &resp.base, err);
}

int svc_admin_list_peers(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err)
{
    (void)request;
    gateway *gw = ctx;
    fed_peer *peers = NULL;
    size_t count = 0;
    if (fed_state_list_peers(gw->state, &peers, &count, err) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        Ecluse__V1__PeerSummary s = ECLUSE__V1__PEER_SUMMARY__INIT;
        fill_summary(&peers[i], &s);
        rc = rpc_call_send(call, &s.base, err);
    }
    fed_state_free_peers(peers, count);
    return rc;
}

/* Roll the site key: the old key signs the new one; peers follow the chain.
 * The signer makes the new key and swaps the key files; the gateway only
 * ever sees public keys. Order for crashes: new key written aside (prepare),
 * rotation recorded, then the key files swapped (commit; the old pair is
 * kept as site.key.<sequence>). */
int svc_admin_rotate_key(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err)
{
    (void)request;
    gateway *gw = ctx;
    pthread_mutex_lock(&gw->rotate_lock);
    unsigned char fresh[crypto_sign_PUBLICKEYBYTES];
    char new_fp[48];
    ProtobufCBinaryData *chain = NULL;
    size_t count = 0;
    unsigned char *rotation = NULL;
    size_t rlen = 0;
    uint64_t sequence = 0;
    gateway_action a;
    gateway_action_init(&a, gw, AUDIT_KIND_ADMIN, rpc_call_identity(call)->spiffe, NULL,
                        json_pack("{s:s}", "action", "rotate-key"));
    /* Prepare only writes the new key aside: the rotation is not yet made. */
    int rc = signer_rotate_prepare(gw->signer, fresh, err);
    if (rc == 0) {
        site_key_fingerprint(fresh, sizeof(fresh), new_fp, sizeof(new_fp));
        if (a.what != NULL)
            json_object_set_new(a.what, "new_key", json_string(new_fp));
        rc = gateway_action_begin(&a, err);
    }
    if (rc == 0 && (rc = fed_state_list_rotations(gw->state, &chain, &count, err)) == 0) {
        sequence = count + 1;
        rc = rotation_make(gw->cfg.site, gw->signer, fresh, sequence, (int64_t)time(NULL),
                           &rotation, &rlen, err);
    }
    if (rc == 0)
        rc = fed_state_add_rotation(gw->state, sequence, rotation, rlen, err);
    if (rc == 0)
        rc = signer_rotate_commit(gw->signer, sequence - 1, err);
    if (a.what != NULL && sequence != 0)
        json_object_set_new(a.what, "sequence", json_integer((json_int_t)sequence));
    rc = gateway_action_end(&a, rc, err);
    pthread_mutex_unlock(&gw->rotate_lock);
    fed_state_free_list(chain, count);
    if (rc == 0) {
        char seq[24];
        snprintf(seq, sizeof(seq), "%llu", (unsigned long long)sequence);
        ecl_log(ECL_LOG_INFO, "key.rotated", "sequence", seq, "new_key", new_fp, "by",
                rpc_call_identity(call)->spiffe, NULL);
        gateway_notify_peers(gw); /* peers follow the rotation at once */
        Ecluse__V1__KeyRotation *r = ecluse__v1__key_rotation__unpack(NULL, rlen, rotation);
        rc = r != NULL ? rpc_call_reply(call, &r->base, err)
                       : ecl_fail(err, ECL_E_INTERNAL, "cannot re-read the rotation");
        if (r != NULL)
            ecluse__v1__key_rotation__free_unpacked(r, NULL);
    }
    free(rotation);
    return rc;
}

/* ---- datasets ---------------------------------------------------------------- */

static int csv_options(const Ecluse__V1__AddDatasetRequest *req, store_csv_opts *o, ecl_err *err)
{
    memset(o, 0, sizeof(*o));
    o->delimiter = ',';
    if (strcmp(req->csv_delimiter, "whitespace") == 0)
        o->delimiter = ' ';
    else if (strcmp(req->csv_delimiter, "\\t") == 0 || strcmp(req->csv_delimiter, "\t") == 0)
        o->delimiter = '\t';
    else if (strlen(req->csv_delimiter) == 1)
        o->delimiter = req->csv_delimiter[0];
    else if (req->csv_delimiter[0] != '\0')
        return ecl_fail(err, ECL_E_INPUT,
                        "csv delimiter '%s' is not one character, '\\t' or "
                        "'whitespace'",
                        req->csv_delimiter);
    o->skip_lines = req->csv_skip_lines;
    o->header = req->csv_has_header;
    if (req->csv_labels_path[0] != '\0') {
        o->label = STORE_LABEL_FILE;
        o->labels_path = req->csv_labels_path;
    } else if (req->csv_label_column[0] != '\0') {
        char *end = NULL;
        long index = strtol(req->csv_label_column, &end, 10);
        if (*end == '\0') {
            o->label = STORE_LABEL_INDEX;
            o->label_index = index;
        } else {
            o->label = STORE_LABEL_NAME;
            o->label_name = req->csv_label_column;
        }
    }
    return 0;
}

static int import_source(const Ecluse__V1__AddDatasetRequest *req, const char *dst,
                         store_dataset **out, ecl_err *err)
{
    if (req->source_path[0] != '/')
        return ecl_fail(err, ECL_E_INPUT,
                        "source path '%s' must be absolute (it is read by the "
                        "gateway, on the gateway's host)",
                        req->source_path);
    if (strcmp(req->source_format, "safetensors") == 0)
        return store_import_safetensors(req->source_path, dst, out, err);
    if (strcmp(req->source_format, "csv") == 0) {
        store_csv_opts o;
        if (csv_options(req, &o, err) != 0)
            return -1;
        return store_import_csv(req->source_path, &o, dst, out, err);
    }
    if (strcmp(req->source_format, "npy") == 0) {
        if (req->n_npy_paths == 0 || req->n_npy_paths != req->n_npy_names)
            return ecl_fail(err, ECL_E_INPUT, "npy import needs one tensor name per file");
        return store_import_npy(req->n_npy_paths, (const char *const *)req->npy_paths,
                                (const char *const *)req->npy_names, dst, out, err);
    }
    return ecl_fail(err, ECL_E_INPUT, "source format '%s' is not safetensors, npy or csv",
                    req->source_format);
}

/* The catalog's description of the tensors, from the stored file. */
static int describe_tensors(store_dataset *ds, Ecluse__V1__DatasetEntry *e, ecl_err *err)
{
    size_t n = store_tensor_count(ds);
    e->n_tensors = n;
    e->tensors = calloc(n ? n : 1, sizeof(*e->tensors));
    if (e->tensors == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const store_tensor *t = store_tensor_at(ds, i);
        Ecluse__V1__TensorInfo *ti = calloc(1, sizeof(*ti));
        uint64_t *shape = calloc(t->ndim ? t->ndim : 1, sizeof(uint64_t));
        uint8_t *digest = malloc(STORE_DIGEST_BYTES);
        if (ti == NULL || shape == NULL || digest == NULL) {
            free(ti);
            free(shape);
            free(digest);
            return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
        }
        ecluse__v1__tensor_info__init(ti);
        e->tensors[i] = ti;
        ti->name = (char *)t->name;
        ti->dtype = (char *)store_dtype_name(t->dtype);
        memcpy(shape, t->shape, t->ndim * sizeof(uint64_t));
        ti->n_shape = t->ndim;
        ti->shape = shape;
        ti->byte_size = t->byte_size;
        ti->digest.data = digest;
        ti->digest.len = STORE_DIGEST_BYTES;
        if (store_tensor_digest(ds, i, digest, err) != 0)
            return -1;
        if (i == 0 && t->ndim > 0)
            e->rows = t->shape[0];
    }
    return 0;
}

/* The size and SHA-256 of the file a whole fetch of the dataset writes. */
static int describe_file(const store_dataset *ds, Ecluse__V1__DatasetEntry *e, ecl_err *err)
{
    uint8_t *sha = malloc(STORE_SHA256_BYTES);
    if (sha == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    e->file_sha256.data = sha;
    e->file_sha256.len = STORE_SHA256_BYTES;
    return store_whole_fetch_measure(ds, e->id, &e->file_bytes, sha, err);
}

static void free_tensors(Ecluse__V1__DatasetEntry *e)
{
    for (size_t i = 0; e->tensors != NULL && i < e->n_tensors; i++) {
        if (e->tensors[i] == NULL)
            continue;
        free(e->tensors[i]->shape);
        free(e->tensors[i]->digest.data);
        free(e->tensors[i]);
    }
    free(e->tensors);
    free(e->file_sha256.data);
}

/* The policy is checked by the engine that will apply it, for this dataset. */
static int check_policy(const char *text, const char *id, ecl_err *err)
{
    ecl_policy *pol = NULL;
    if (ecl_policy_parse(text, strlen(text), "policy", &pol, err) != 0)
        return -1;
    int rc = 0;
    if (strcmp(ecl_policy_dataset(pol), id) != 0)
        rc = ecl_fail(err, ECL_E_INPUT,
                      "policy: field 'dataset' is '%s', but the dataset "
                      "being added is '%s'",
                      ecl_policy_dataset(pol), id);
    ecl_policy_free(pol);
    return rc;
}

/* Everything about an AddDataset request that can be checked before any
 * file or state is touched. */
static int check_add_dataset(gateway *gw, const Ecluse__V1__AddDatasetRequest *req, const char *id,
                             ecl_err *err)
{
    if (!person_name_is_valid(req->name))
        return ecl_fail(err, ECL_E_INPUT,
                        "dataset name '%s' is not valid: 1-63 of A-Z a-z 0-9 "
                        ". _ -",
                        req->name);
    if (req->metadata == NULL || req->metadata->title[0] == '\0')
        return ecl_fail(err, ECL_E_INPUT, "a dataset needs at least a title");
    if (check_policy(req->policy_json, id, err) != 0)
        return -1;
    unsigned char *existing = NULL;
    size_t existing_len = 0;
    ecl_err ignored;
    if (fed_state_get_dataset(gw->state, id, &existing, &existing_len, &ignored) == 0) {
        free(existing);
        return ecl_fail(err, ECL_E_EXISTS, "dataset '%s' already exists; remove it first", id);
    }
    return 0;
}

/* The publishing checks (store/check.h): the data as imported can be served
 * as the policy describes it. Messages name the admin's source file. */
static int check_servable(const Ecluse__V1__AddDatasetRequest *req, const store_dataset *ds,
                          ecl_err *err)
{
    ecl_policy *pol = NULL;
    if (ecl_policy_parse(req->policy_json, strlen(req->policy_json), "policy", &pol, err) != 0)
        return -1;
    const char *names[ECL_POLICY_MAX_TENSORS];
    store_publish_rules r = {0};
    r.n_tensors = ecl_policy_tensor_count(pol);
    for (size_t i = 0; i < r.n_tensors && i < ECL_POLICY_MAX_TENSORS; i++)
        names[i] = ecl_policy_tensor_name(pol, i);
    r.tensors = names;
    r.source = req->source_path;
    if (strcmp(req->source_format, "npy") == 0) {
        r.files = (const char *const *)req->npy_paths;
        r.file_of = (const char *const *)req->npy_names;
        r.n_files = req->n_npy_paths;
    }
    r.allow_nonfinite = req->allow_nonfinite;
    r.allow_negative_labels = req->allow_negative_labels;
    int rc = store_publish_check(ds, &r, NULL, NULL, err);
    ecl_policy_free(pol);
    return rc;
}

/* Import the source, build its leaf index, describe it and put it in the
 * state: the part of AddDataset that changes things. On failure the files
 * it wrote are removed. *e borrows names from *out (store_unref after e). */
static int publish_dataset(gateway *gw, const Ecluse__V1__AddDatasetRequest *req, const char *id,
                           const char *dir, Ecluse__V1__DatasetEntry *e, store_dataset **out,
                           uint64_t *version, ecl_err *err)
{
    char dst[PATH_MAX + 80], leaves[PATH_MAX + 80], leaves3[PATH_MAX + 80];
    snprintf(dst, sizeof(dst), "%s/%s.safetensors", dir, req->name);
    snprintf(leaves, sizeof(leaves), "%s/%s%s", dir, req->name,
             store_leaves_suffix(READ_DIGEST_V2));
    snprintf(leaves3, sizeof(leaves3), "%s/%s%s", dir, req->name,
             store_leaves_suffix(READ_DIGEST_V3));
    store_dataset *ds = NULL;
    if (import_source(req, dst, &ds, err) != 0)
        return -1;
    *out = ds;
    if (check_servable(req, ds, err) != 0) {
        remove(dst);
        return -1;
    }
    *e = *req->metadata; /* borrow the strings */
    e->id = (char *)id;
    e->policy_json = req->policy_json;
    e->issued_unix = e->modified_unix = (int64_t)time(NULL);
    e->n_tensors = 0;
    e->tensors = NULL;
    e->file_bytes = 0; /* measured here, never taken from the request */
    e->file_sha256.data = NULL;
    e->file_sha256.len = 0;
    /* Leaf digests now, once, so that reads need not hash what they send:
     * of both digest versions, since clients without BLAKE3 ask for 2. */
    int rc = store_leaves_build(ds, leaves3, READ_DIGEST_V3, err);
    if (rc == 0)
        rc = store_leaves_build(ds, leaves, READ_DIGEST_V2, err);
    if (rc == 0)
        rc = describe_tensors(ds, e, err);
    if (rc == 0)
        rc = describe_file(ds, e, err);
    if (rc == 0) {
        size_t len = ecluse__v1__dataset_entry__get_packed_size(e);
        unsigned char *bytes = malloc(len ? len : 1);
        if (bytes == NULL)
            rc = ecl_fail(err, ECL_E_INTERNAL, "out of memory");
        else {
            ecluse__v1__dataset_entry__pack(e, bytes);
            rc = fed_state_put_dataset(gw->state, id, bytes, len, 1, version, err);
            free(bytes);
        }
    }
    if (rc != 0) {
        remove(dst);
        remove(leaves);
        remove(leaves3);
    }
    return rc;
}

int svc_admin_add_dataset(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err)
{
    const Ecluse__V1__AddDatasetRequest *req = (const Ecluse__V1__AddDatasetRequest *)request;
    gateway *gw = ctx;
    const char *by = rpc_call_identity(call)->spiffe;
    char id[ECL_SITE_ID_MAX + ECL_NAME_MAX + 1], dir[PATH_MAX];
    snprintf(id, sizeof(id), "%s/%s", gw->cfg.site, req->name);
    int named = person_name_is_valid(req->name);
    gateway_action a;
    gateway_action_init(&a, gw, AUDIT_KIND_CATALOG, by, named ? id : NULL,
                        json_pack("{s:s, s:s, s:s, s:s}", "action", "add-dataset", "source",
                                  req->source_path, "format", req->source_format, "title",
                                  req->metadata != NULL ? req->metadata->title : ""));
    if (!named && a.what != NULL)
        json_object_set_new(a.what, "name", json_string(req->name));
    Ecluse__V1__DatasetEntry e = ECLUSE__V1__DATASET_ENTRY__INIT;
    store_dataset *ds = NULL;
    uint64_t version = 0;
    int rc = check_add_dataset(gw, req, id, err);
    if (rc == 0 && (ecl_path_join(dir, sizeof(dir), gw->cfg.data_dir, "datasets", err) != 0 ||
                    ecl_mkdirs(dir, 0700, err) != 0))
        rc = -1;
    if (rc == 0)
        rc = gateway_action_begin(&a, err);
    if (rc == 0)
        rc = publish_dataset(gw, req, id, dir, &e, &ds, &version, err);
    rc = gateway_action_end(&a, rc, err);
    if (rc == 0) {
        char v[24];
        snprintf(v, sizeof(v), "%llu", (unsigned long long)version + 1);
        ecl_log(ECL_LOG_INFO, "dataset.added", "id", id, "dir", dir, "catalog_version", v, "by", by,
                NULL);
        gateway_notify_peers(gw);
        rc = rpc_call_reply(call, &e.base, err);
    }
    free_tensors(&e);
    store_unref(ds);
    return rc;
}

int svc_admin_remove_dataset(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                             ecl_err *err)
{
    const Ecluse__V1__RemoveDatasetRequest *req = (const Ecluse__V1__RemoveDatasetRequest *)request;
    gateway *gw = ctx;
    const char *by = rpc_call_identity(call)->spiffe;
    size_t prefix = strlen(gw->cfg.site);
    int ours = strncmp(req->id, gw->cfg.site, prefix) == 0 && req->id[prefix] == '/';
    gateway_action a;
    gateway_action_init(&a, gw, AUDIT_KIND_CATALOG, by, ours ? req->id : NULL,
                        json_pack("{s:s}", "action", "remove-dataset"));
    if (!ours && a.what != NULL)
        json_object_set_new(a.what, "id", json_string(req->id));
    int rc = 0;
    unsigned char *existing = NULL;
    size_t existing_len = 0;
    if (!ours)
        rc = ecl_fail(err, ECL_E_INPUT, "'%s' is not a dataset of this site ('%s/<name>')", req->id,
                      gw->cfg.site);
    else if (fed_state_get_dataset(gw->state, req->id, &existing, &existing_len, err) != 0)
        rc = err->code == ECL_E_NOT_FOUND
                 ? ecl_fail(err, ECL_E_NOT_FOUND, "dataset '%s' is not held here", req->id)
                 : -1;
    free(existing);
    uint64_t version = 0;
    if (rc == 0)
        rc = gateway_action_begin(&a, err);
    if (rc == 0)
        rc = fed_state_remove_dataset(gw->state, req->id, &version, err);
    if (rc == 0) {
        /* The file goes too; grants already streaming keep their mapping. */
        char path[PATH_MAX + 96];
        snprintf(path, sizeof(path), "%s/datasets/%s.safetensors", gw->cfg.data_dir,
                 req->id + prefix + 1);
        remove(path);
        for (uint32_t v = READ_DIGEST_V2; v <= READ_DIGEST_V3; v++) {
            snprintf(path, sizeof(path), "%s/datasets/%s%s", gw->cfg.data_dir, req->id + prefix + 1,
                     store_leaves_suffix(v));
            remove(path);
        }
    }
    if (gateway_action_end(&a, rc, err) != 0)
        return -1;
    ecl_log(ECL_LOG_INFO, "dataset.removed", "id", req->id, "by", by, NULL);
    gateway_notify_peers(gw);
    Ecluse__V1__RemoveDatasetResponse resp = ECLUSE__V1__REMOVE_DATASET_RESPONSE__INIT;
    uint64_t erasures = 0; /* each erasure made the catalog one version more */
    ecl_err ignored;
    resp.catalog_version =
        version + 1 + (gateway_erasures_total(gw, &erasures, &ignored) == 0 ? erasures : 0);
    return rpc_call_reply(call, &resp.base, err);
}

int svc_admin_list_datasets(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                            ecl_err *err)
{
    (void)request;
    gateway *gw = ctx;
    ProtobufCBinaryData *entries = NULL;
    size_t count = 0;
    uint64_t version = 0;
    if (fed_state_list_datasets(gw->state, &entries, &count, &version, err) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < count; i++) {
        Ecluse__V1__DatasetEntry *e =
            ecluse__v1__dataset_entry__unpack(NULL, entries[i].len, entries[i].data);
        if (e == NULL)
            continue;
        rc = rpc_call_send(call, &e->base, err);
        ecluse__v1__dataset_entry__free_unpacked(e, NULL);
    }
    fed_state_free_list(entries, count);
    return rc;
}

/* ---- ecluse pki --------------------------------------------------------------- */

/* The CLI issued or revoked a certificate (it holds the CA key, which the
 * gateway never reads) and this gateway, the trail's only writer while it
 * runs, records it by the admin who called. */
int svc_admin_record_pki(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err)
{
    const Ecluse__V1__PkiRecord *req = (const Ecluse__V1__PkiRecord *)request;
    gateway *gw = ctx;
    json_t *detail = NULL;
    Ecluse__V1__PkiRecordReceipt resp = ECLUSE__V1__PKI_RECORD_RECEIPT__INIT;
    if (gateway_pki_detail(req, &detail, err) != 0 ||
        gateway_record(gw, AUDIT_KIND_ADMIN, rpc_call_identity(call)->spiffe, NULL, detail,
                       &resp.seq, err) != 0)
        return -1;
    return rpc_call_reply(call, &resp.base, err);
}
