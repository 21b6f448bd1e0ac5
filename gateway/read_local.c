/* read_local.c - reads of datasets held here, for Data.Read and ForwardRead.
 *
 * Order of a read (docs/streaming.md): open and check the grant, work out the
 * selection (refusing what is beyond the grant), make the read plan, write
 * "read-start" to the audit trail (nothing is sent if that fails), send the
 * header, then each chunk as a protobuf frame whose data bytes are a slice of
 * the mmap'd file (zero copy), then "read-end" and the trailer.
 *
 * Federation.ForwardRead is the same read asked for by a peer's gateway on
 * behalf of one of its researchers: the grant must be this site's, issued to
 * a person of the calling gateway's site, and equal to the requester the
 * gateway names; then the read is served exactly as Data.Read. */
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/fileio.h"
#include "common/log.h"
#include "common/read_digest.h"
#include "gateway/gateway.h"
#include "gateway/grant.h"
#include "store/dataset.h"
#include "store/leaves.h"
#include "store/plan.h"
#include "store/rowset.h"

/* ---- the chunk frame ------------------------------------------------------ */

static size_t put_varint(unsigned char *p, uint64_t v)
{
    size_t n = 0;
    while (v >= 0x80) {
        p[n++] = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    p[n++] = (unsigned char)v;
    return n;
}

/* ReadMessage{chunk = Chunk{tensor, offset, digest, data}} up to and including
 * the data field's tag and length, exactly as protobuf-c packs it (fields in
 * number order, proto3 zeros omitted), so the frame plus the data bytes is
 * the ordinary encoding. Returns the head length (<= DATA_CHUNK_FRAMING_MAX). */
size_t data_chunk_head(unsigned char *out, uint32_t tensor, uint64_t offset,
                       const unsigned char digest[32], size_t data_len)
{
    unsigned char inner[DATA_CHUNK_FRAMING_MAX];
    size_t n = 0;
    if (tensor != 0) {
        inner[n++] = 0x08; /* field 1, varint */
        n += put_varint(inner + n, tensor);
    }
    if (offset != 0) {
        inner[n++] = 0x10; /* field 2, varint */
        n += put_varint(inner + n, offset);
    }
    inner[n++] = 0x1a; /* field 3, bytes */
    inner[n++] = 32;
    memcpy(inner + n, digest, 32);
    n += 32;
    inner[n++] = 0x7a; /* field 15, bytes */
    n += put_varint(inner + n, data_len);
    size_t h = 0;
    out[h++] = 0x1a; /* ReadMessage field 3 (chunk), bytes */
    h += put_varint(out + h, (uint64_t)n + data_len);
    memcpy(out + h, inner, n);
    return h + n;
}

/* ---- selection against the grant ------------------------------------------ */

static int grant_has_tensor(const Ecluse__V1__GrantBody *g, const char *name)
{
    for (size_t i = 0; i < g->n_tensors; i++)
        if (strcmp(g->tensors[i], name) == 0)
            return 1;
    return 0;
}

static void list_names(char *const *names, size_t n, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < n && used + 1 < cap; i++) {
        int w = snprintf(buf + used, cap - used, "%s%s", i ? ", " : "", names[i]);
        if (w < 0)
            break;
        used += (size_t)w < cap - used ? (size_t)w : cap - used - 1;
    }
}

/* The tensors to send: those asked for (each must be granted), else the
 * grant's, else (a grant naming none) every tensor. */
static int select_tensors(const Ecluse__V1__ReadRequest *req, const Ecluse__V1__GrantBody *g,
                          char *const **names, size_t *n, ecl_err *err)
{
    if (req->n_tensors == 0) {
        *names = g->tensors;
        *n = g->n_tensors;
        return 0;
    }
    if (g->n_tensors > 0)
        for (size_t i = 0; i < req->n_tensors; i++)
            if (!grant_has_tensor(g, req->tensors[i])) {
                char allowed[256];
                list_names(g->tensors, g->n_tensors, allowed, sizeof(allowed));
                return ecl_fail(err, ECL_E_DENIED,
                                "tensor '%s' is beyond grant %s, which allows only: %s",
                                req->tensors[i], g->grant_id, allowed);
            }
    *names = req->tensors;
    *n = req->n_tensors;
    return 0;
}

/* Rows: the grant allows the first max_rows source rows (all when 0); a range
 * must lie inside them; a shard is cut from them. */
static int select_rows(const Ecluse__V1__ReadRequest *req, const Ecluse__V1__GrantBody *g,
                       uint64_t rows, store_plan_opts *o, ecl_err *err)
{
    uint64_t granted = g->max_rows != 0 && g->max_rows < rows ? g->max_rows : rows;
    const Ecluse__V1__RowSelection *sel = req->rows;
    int kind = sel == NULL ? 0 : (int)sel->selection_case;
    if (kind == ECLUSE__V1__ROW_SELECTION__SELECTION_RANGE && sel->range != NULL) {
        uint64_t b = sel->range->begin, e = sel->range->end == 0 ? granted : sel->range->end;
        if (e > granted)
            return ecl_fail(err, ECL_E_DENIED,
                            "rows [%llu, %llu) are beyond grant %s, which allows rows [0, %llu)",
                            (unsigned long long)b, (unsigned long long)e, g->grant_id,
                            (unsigned long long)granted);
        if (b > e)
            return ecl_fail(err, ECL_E_USAGE, "row range [%llu, %llu): begin is after end",
                            (unsigned long long)b, (unsigned long long)e);
        o->rows = STORE_ROWS_RANGE;
        o->row_begin = b;
        o->row_end = e;
        return b == e && b == 0 && rows > 0
                   ? ecl_fail(err, ECL_E_USAGE, "row range [0, 0) selects no rows")
                   : 0;
    }
    if (kind == ECLUSE__V1__ROW_SELECTION__SELECTION_SHARD && sel->shard != NULL) {
        uint64_t n = sel->shard->count, k = sel->shard->index;
        if (n == 0 || k >= n)
            return ecl_fail(err, ECL_E_USAGE, "shard %llu of %llu: need 0 <= index < count",
                            (unsigned long long)k, (unsigned long long)n);
        if (granted == rows) {
            o->rows = STORE_ROWS_SHARD;
            o->shard_index = (uint32_t)k;
            o->shard_count = (uint32_t)n;
            return 0;
        }
        /* Cut from the granted rows, as store_plan cuts shards. */
        uint64_t q = granted / n, r = granted % n;
        o->rows = STORE_ROWS_RANGE;
        o->row_begin = k * q + (k < r ? k : r);
        o->row_end = (k + 1) * q + (k + 1 < r ? k + 1 : r);
        return 0;
    }
    if (granted < rows) {
        o->rows = STORE_ROWS_RANGE;
        o->row_begin = 0;
        o->row_end = granted;
    }
    return 0;
}

/* ---- one read --------------------------------------------------------------- */

typedef struct data_read {
    gateway *gw;
    rpc_call *call;
    const Ecluse__V1__GrantBody *grant;
    const char *actor;
    const char *via; /* the relaying gateway, or NULL */
    store_dataset *ds;
    store_rowset *withdrawn;
    store_plan *plan;
    store_plan_opts opts; /* as planned; resume_offset 0 gives the prefix */
    size_t chunk_bytes;
    uint64_t resume_offset;
    char read_id[33];
    char requester[ECL_SPIFFE_MAX];
    json_t *tensors_json, *rows_json;
    uint32_t digest_version; /* of the chunks and trailer (common/read_digest.h) */
    store_leaves *leaves;    /* the dataset's leaf digests; NULL: hash them as sent */
    read_hasher *hasher;     /* chunk digests and the trailer (common/read_digest.h) */
    uint64_t bytes_sent, chunks;
} data_read;

static void release_dataset(void *ds)
{
    store_unref(ds);
}

/* The leaf index spares the read hashing what it sends; built here when the
 * dataset was published before there were indexes, or the file changed.
 * Without one the read is the same, only slower: each leaf is hashed as sent. */
static void open_leaves(data_read *r, const char *name)
{
    char path[PATH_MAX + 128];
    snprintf(path, sizeof(path), "%s/datasets/%s%s", r->gw->cfg.data_dir, name,
             store_leaves_suffix(r->digest_version));
    int built = 0;
    ecl_err err;
    if (store_leaves_load(path, r->ds, r->digest_version, &r->leaves, &built, &err) != 0) {
        r->leaves = NULL;
        ecl_log(ECL_LOG_WARN, "data.leaves_unavailable", "dataset", r->grant->dataset, "error",
                err.msg, "effect", "each leaf is hashed as it is sent", NULL);
    } else if (built) {
        ecl_log(ECL_LOG_INFO, "data.leaves_built", "dataset", r->grant->dataset, "file", path,
                NULL);
    }
}

static int open_dataset(data_read *r, ecl_err *err)
{
    const char *slash = strchr(r->grant->dataset, '/');
    const char *name = slash != NULL ? slash + 1 : "";
    if (!person_name_is_valid(name))
        return ecl_fail(err, ECL_E_INPUT, "grant names dataset '%s', which is not '<site>/<name>'",
                        r->grant->dataset);
    char path[PATH_MAX + 128];
    snprintf(path, sizeof(path), "%s/datasets/%s.safetensors", r->gw->cfg.data_dir, name);
    if (store_open(path, &r->ds, err) != 0) {
        if (err->code == ECL_E_NOT_FOUND)
            return ecl_fail(err, ECL_E_NOT_FOUND, "dataset '%s' is not held here (any more)",
                            r->grant->dataset);
        return -1;
    }
    /* Rows erased under Art. 17 up to now are never sent, whatever the
     * grant (erased.c): a read after an erasure skips them. */
    if (gateway_erased(r->gw, r->grant->dataset, &r->withdrawn, NULL, err) != 0)
        return ecl_err_prefix(err, "withdrawn rows of '%s'", r->grant->dataset);
    open_leaves(r, name);
    return 0;
}

/* The dataset held now is the one the grant was decided on. Checked after
 * the file is mapped: a dataset removed and republished in between is then
 * either the one mapped and checked, or refused. */
static int check_held(data_read *r, ecl_err *err)
{
    unsigned char *entry = NULL;
    size_t len = 0;
    if (fed_state_get_dataset(r->gw->state, r->grant->dataset, &entry, &len, err) != 0)
        return err->code == ECL_E_NOT_FOUND
                   ? ecl_fail(err, ECL_E_NOT_FOUND, "dataset '%s' is not held here (any more)",
                              r->grant->dataset)
                   : -1;
    grant_dataset held;
    int rc = grant_dataset_of(entry, len, &held, err);
    free(entry);
    return rc == 0 ? grant_check_dataset(r->grant, &held, err) : -1;
}

static int make_plan(data_read *r, const Ecluse__V1__ReadRequest *req, ecl_err *err)
{
    char *const *names = NULL;
    size_t n = 0;
    if (select_tensors(req, r->grant, &names, &n, err) != 0)
        return -1;
    /* The row count of the first tensor sent; the plan checks the others. */
    size_t first = 0;
    if (n > 0 && store_tensor_find(r->ds, names[0], &first, err) != 0)
        return -1;
    uint64_t rows = 0;
    if (store_tensor_count(r->ds) > 0) {
        const store_tensor *t = store_tensor_at(r->ds, first);
        rows = t->ndim > 0 ? t->shape[0] : 0;
    }
    store_plan_opts o;
    memset(&o, 0, sizeof(o));
    o.tensors = (const char *const *)names;
    o.n_tensors = n;
    o.withdrawn = r->withdrawn;
    if (select_rows(req, r->grant, rows, &o, err) != 0)
        return -1;
    size_t cap = r->gw->cfg.max_message_bytes - DATA_CHUNK_FRAMING_MAX;
    r->chunk_bytes = req->chunk_bytes == 0 ? DATA_DEFAULT_CHUNK_BYTES : req->chunk_bytes;
    if (r->chunk_bytes > cap)
        r->chunk_bytes = cap;
    o.chunk_bytes = r->chunk_bytes;
    o.resume_offset = req->resume_offset;
    r->resume_offset = req->resume_offset;
    r->opts = o;
    if (store_plan_new(r->ds, &o, &r->plan, err) != 0)
        return -1;
    r->tensors_json = json_array();
    r->rows_json = json_array();
    for (size_t i = 0; i < store_plan_tensor_count(r->plan); i++)
        json_array_append_new(r->tensors_json, json_string(store_plan_tensor_at(r->plan, i)->name));
    size_t cursor = 0;
    uint64_t b, e;
    while (store_plan_row_range(r->plan, &cursor, &b, &e))
        json_array_append_new(r->rows_json, json_pack("[II]", (json_int_t)b, (json_int_t)e));
    return 0;
}

void gateway_identity_spiffe(const Ecluse__V1__Identity *id, char *out, size_t cap)
{
    if (id == NULL)
        snprintf(out, cap, "(none)");
    else if (id->name[0] == '\0')
        snprintf(out, cap, "spiffe://%s/%s", id->site, id->role);
    else
        snprintf(out, cap, "spiffe://%s/%s/%s", id->site, id->role, id->name);
}

static int audit_start(data_read *r, ecl_err *err)
{
    json_t *detail = json_pack("{s:O,s:O,s:I,s:I,s:s,s:I}", "tensors", r->tensors_json, "rows",
                               r->rows_json, "resume_offset", (json_int_t)r->resume_offset,
                               "chunk_bytes", (json_int_t)r->chunk_bytes, "requester", r->requester,
                               "digest_version", (json_int_t)r->digest_version);
    if (detail == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    if (r->via != NULL)
        json_object_set_new(detail, "via", json_string(r->via));
    return gateway_record_read(r->gw, AUDIT_KIND_READ_START, r->actor, r->grant, r->read_id, detail,
                               NULL, err);
}

static int audit_end(data_read *r, const unsigned char digest[32], const char *outcome,
                     uint64_t *seq, ecl_err *err)
{
    char hex[65];
    sodium_bin2hex(hex, sizeof(hex), digest, 32);
    json_t *detail = json_pack("{s:I,s:I,s:s,s:s}", "bytes_sent", (json_int_t)r->bytes_sent,
                               "chunks", (json_int_t)r->chunks, "digest", hex, "outcome", outcome);
    if (detail == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    if (r->via != NULL)
        json_object_set_new(detail, "via", json_string(r->via));
    return gateway_record_read(r->gw, AUDIT_KIND_READ_END, r->actor, r->grant, r->read_id, detail,
                               seq, err);
}

static int send_header(data_read *r, ecl_err *err)
{
    size_t n = store_plan_tensor_count(r->plan);
    Ecluse__V1__TensorInfo *infos = calloc(n ? n : 1, sizeof(*infos));
    Ecluse__V1__TensorInfo **ptrs = calloc(n ? n : 1, sizeof(*ptrs));
    size_t nr = json_array_size(r->rows_json);
    Ecluse__V1__RowRange *ranges = calloc(nr ? nr : 1, sizeof(*ranges));
    Ecluse__V1__RowRange **rptrs = calloc(nr ? nr : 1, sizeof(*rptrs));
    int rc = -1;
    if (infos == NULL || ptrs == NULL || ranges == NULL || rptrs == NULL) {
        ecl_fail(err, ECL_E_INTERNAL, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        const store_plan_tensor *t = store_plan_tensor_at(r->plan, i);
        ecluse__v1__tensor_info__init(&infos[i]);
        infos[i].name = (char *)t->name;
        infos[i].dtype = (char *)store_dtype_name(t->dtype);
        infos[i].n_shape = t->ndim;
        infos[i].shape = (uint64_t *)t->shape;
        infos[i].byte_size = t->byte_size;
        ptrs[i] = &infos[i];
    }
    for (size_t i = 0; i < nr; i++) {
        json_t *pair = json_array_get(r->rows_json, i);
        ecluse__v1__row_range__init(&ranges[i]);
        ranges[i].begin = (uint64_t)json_integer_value(json_array_get(pair, 0));
        ranges[i].end = (uint64_t)json_integer_value(json_array_get(pair, 1));
        rptrs[i] = &ranges[i];
    }
    Ecluse__V1__ReadHeader h = ECLUSE__V1__READ_HEADER__INIT;
    h.dataset = r->grant->dataset;
    h.n_tensors = n;
    h.tensors = ptrs;
    h.total_bytes = store_plan_total_bytes(r->plan);
    h.resume_offset = r->resume_offset;
    h.read_id = r->read_id;
    h.n_row_ranges = nr;
    h.row_ranges = rptrs;
    h.digest_version = r->digest_version;
    Ecluse__V1__ReadMessage m = ECLUSE__V1__READ_MESSAGE__INIT;
    m.kind_case = ECLUSE__V1__READ_MESSAGE__KIND_HEADER;
    m.header = &h;
    rc = rpc_call_send(r->call, &m.base, err);
out:
    free(infos);
    free(ptrs);
    free(ranges);
    free(rptrs);
    return rc;
}

/* A chunk's digest (common/read_digest.h): whole leaves come from the
 * index, so only the partial leaves at a chunk's ends are hashed here. */
static void chunk_digest(data_read *r, const store_plan *p, const store_chunk *c,
                         unsigned char out[READ_DIGEST_BYTES])
{
    const read_leaf_table *known = NULL;
    if (r->leaves != NULL)
        known = store_leaves_tensor(r->leaves, store_plan_tensor_at(p, c->tensor)->source);
    read_hasher_chunk(r->hasher, c->data, c->len, c->source_offset, known, out);
    read_hasher_add(r->hasher, out);
}

/* The chunk of the offset-0 read that holds stream byte x (< total), as
 * [*b, *e). The plan cuts chunks inside one tensor and one run of
 * consecutive rows sent (the row ranges of the header), chunk_bytes long
 * from the start of that run; tensors sent whole are one run. */
static void chunk_around(const store_plan *p, uint64_t chunk, uint64_t x, uint64_t *b, uint64_t *e)
{
    size_t i = 0;
    const store_plan_tensor *t = store_plan_tensor_at(p, 0);
    while (x >= t->stream_offset + t->byte_size)
        t = store_plan_tensor_at(p, ++i);
    uint64_t local = x - t->stream_offset, run = 0, run_len = t->byte_size;
    if (store_plan_has_rows(p)) {
        uint64_t row = t->byte_size / store_plan_rows(p), rb, re;
        size_t cursor = 0;
        while (store_plan_row_range(p, &cursor, &rb, &re)) {
            run_len = (re - rb) * row;
            if (local < run + run_len)
                break;
            run += run_len;
        }
    }
    *b = t->stream_offset + run + (local - run) / chunk * chunk;
    uint64_t run_end = t->stream_offset + run + run_len;
    *e = run_end - *b > chunk ? *b + chunk : run_end;
}

/* A read resumes only where a chunk of the offset-0 read starts (or at the
 * end): from there the plan cuts the very same chunks, so the digests the
 * client kept and the ones sent now make up the whole list. Clients resume
 * at ecl_stream_position(), which always is such a boundary. */
static int check_resume(const data_read *r, ecl_err *err)
{
    uint64_t x = r->resume_offset, b, e;
    if (x == 0 || x == store_plan_total_bytes(r->plan))
        return 0;
    chunk_around(r->plan, r->chunk_bytes, x, &b, &e);
    if (b == x)
        return 0;
    return ecl_fail(err, ECL_E_USAGE,
                    "resume offset %llu is not a chunk boundary of this read (chunks of %zu "
                    "bytes): resume from %llu or %llu, the ends of the chunk that holds it",
                    (unsigned long long)x, r->chunk_bytes, (unsigned long long)b,
                    (unsigned long long)e);
}

/* On a resumed read the trailer still covers the whole selection: the
 * digests of the skipped chunks come from hashing them again from the map,
 * cut by a plan from offset 0 with the same chunk size. */
static int hash_prefix(data_read *r, ecl_err *err)
{
    if (r->resume_offset == 0)
        return 0;
    store_plan_opts o = r->opts;
    o.resume_offset = 0;
    store_plan *p = NULL;
    if (store_plan_new(r->ds, &o, &p, err) != 0)
        return -1;
    store_chunk c;
    unsigned char digest[32];
    int rc = 0;
    while (rc == 0 && store_plan_next(p, &c) && c.stream_offset < r->resume_offset) {
        if (c.stream_offset + c.len > r->resume_offset)
            rc =
                ecl_fail(err, ECL_E_INTERNAL, "resume offset %llu falls inside chunk at %llu",
                         (unsigned long long)r->resume_offset, (unsigned long long)c.stream_offset);
        chunk_digest(r, p, &c, digest);
    }
    store_plan_free(p);
    return rc;
}

static int send_chunks(data_read *r, ecl_err *err)
{
    store_chunk c;
    unsigned char head[DATA_CHUNK_FRAMING_MAX], digest[32];
    while (store_plan_next(r->plan, &c)) {
        if (rpc_call_cancelled(r->call))
            return ecl_fail(err, ECL_E_UNAVAILABLE, "the client went away");
        /* A grant ends when it says, not when the stream happens to. */
        if ((int64_t)time(NULL) >= r->grant->expires_unix)
            return ecl_fail(err, ECL_E_PRECONDITION,
                            "grant %s expired during the read; stopped after %llu bytes: ask "
                            "for access again and resume",
                            r->grant->grant_id, (unsigned long long)r->bytes_sent);
        chunk_digest(r, r->plan, &c, digest);
        size_t hl = data_chunk_head(head, c.tensor, c.offset, digest, c.len);
        /* The slice keeps the map alive until gRPC is done with it. */
        store_ref(r->ds);
        if (rpc_call_send_zero_copy(r->call, head, hl, c.data, c.len, release_dataset, r->ds,
                                    err) != 0)
            return -1;
        r->bytes_sent += c.len;
        r->chunks++;
    }
    return 0;
}

/* The digest version asked for: 0 is what a client from before version 3
 * sends, and it knows version 2 only. */
static int digest_version_of(const Ecluse__V1__ReadRequest *req, uint32_t *out, ecl_err *err)
{
    *out = req->digest_version == 0 ? READ_DIGEST_V2 : req->digest_version;
    if (read_digest_known(*out))
        return 0;
    return ecl_fail(err, ECL_E_USAGE,
                    "digest_version %u is not one this gateway serves (%d: SHA-256, %d: BLAKE3)",
                    req->digest_version, READ_DIGEST_V2, READ_DIGEST_V3);
}

static void data_read_free(data_read *r)
{
    store_plan_free(r->plan);
    store_leaves_free(r->leaves);
    read_hasher_free(r->hasher);
    store_rowset_free(r->withdrawn);
    store_unref(r->ds);
    json_decref(r->tensors_json);
    json_decref(r->rows_json);
}

int data_serve_local(gateway *gw, rpc_call *call, const Ecluse__V1__ReadRequest *req,
                     const Ecluse__V1__GrantBody *grant, const char *actor, const char *via,
                     ecl_err *err)
{
    data_read r;
    memset(&r, 0, sizeof(r));
    r.gw = gw;
    r.call = call;
    r.grant = grant;
    r.actor = actor;
    r.via = via;
    gateway_identity_spiffe(grant->requester, r.requester, sizeof(r.requester));
    unsigned char id[16];
    randombytes_buf(id, sizeof(id));
    sodium_bin2hex(r.read_id, sizeof(r.read_id), id, sizeof(id));
    int rc = digest_version_of(req, &r.digest_version, err) == 0 &&
                     read_hasher_new(&r.hasher, r.digest_version, err) == 0 &&
                     open_dataset(&r, err) == 0 && check_held(&r, err) == 0 &&
                     make_plan(&r, req, err) == 0
                 ? 0
                 : -1;
    if (rc == 0)
        rc = check_resume(&r, err);
    if (rc != 0)
        gateway_record_read_refused(gw, actor, NULL, grant, via, err);
    else
        rc = audit_start(&r, err);
    if (rc != 0) {
        data_read_free(&r);
        return -1;
    }
    /* From here on the read is on record: every way out writes read-end. */
    char outcome[ECL_ERR_MSG_MAX + 16] = "complete";
    rc = send_header(&r, err);
    if (rc == 0)
        rc = hash_prefix(&r, err);
    if (rc == 0)
        rc = send_chunks(&r, err);
    unsigned char digest[32];
    read_hasher_final(r.hasher, digest);
    if (rc != 0)
        snprintf(outcome, sizeof(outcome), "%s: %s",
                 rpc_call_cancelled(call) ? "cancelled" : "error", err->msg);
    ecl_err aerr;
    uint64_t seq = 0;
    int arc = audit_end(&r, digest, outcome, &seq, &aerr);
    if (rc == 0 && arc != 0) {
        *err = aerr; /* the read is not confirmed: no trailer */
        rc = -1;
    } else if (arc != 0)
        ecl_log(ECL_LOG_ERROR, "data.audit_end_failed", "read_id", r.read_id, "error", aerr.msg,
                NULL);
    if (rc == 0) {
        Ecluse__V1__ReadTrailer t = ECLUSE__V1__READ_TRAILER__INIT;
        t.bytes_sent = r.bytes_sent;
        t.chunks = r.chunks;
        t.digest.data = digest;
        t.digest.len = sizeof(digest);
        t.audit_seq = seq;
        Ecluse__V1__ReadMessage m = ECLUSE__V1__READ_MESSAGE__INIT;
        m.kind_case = ECLUSE__V1__READ_MESSAGE__KIND_TRAILER;
        m.trailer = &t;
        rc = rpc_call_send(call, &m.base, err);
    }
    char bytes[24];
    snprintf(bytes, sizeof(bytes), "%llu", (unsigned long long)r.bytes_sent);
    ecl_log(ECL_LOG_INFO, "data.read", "dataset", grant->dataset, "read_id", r.read_id, "actor",
            actor, "bytes", bytes, "outcome", rc == 0 ? "complete" : outcome, NULL);
    data_read_free(&r);
    return rc;
}

/* ---- the grant and the requester --------------------------------------------- */

int data_open_own_grant(gateway *gw, const Ecluse__V1__Grant *grant, Ecluse__V1__GrantBody **out,
                        ecl_err *err)
{
    unsigned char current[crypto_sign_PUBLICKEYBYTES];
    signer_public_key(gw->signer, current);
    unsigned char(*keys)[crypto_sign_PUBLICKEYBYTES] = NULL;
    size_t n = 0;
    if (fed_site_key_history(gw->state, gw->cfg.site, current, &keys, &n, err) != 0)
        return ecl_err_prefix(err, "the key history of site '%s'", gw->cfg.site);
    int rc = grant_open_keys(grant, (const unsigned char(*)[crypto_sign_PUBLICKEYBYTES])keys, n,
                             gw->cfg.site, (int64_t)time(NULL), out, err);
    free(keys);
    return rc;
}

int data_check_requester(const Ecluse__V1__GrantBody *g, const char *spiffe, ecl_err *err)
{
    if (grant_is_for(g, spiffe))
        return 0;
    char want[ECL_SPIFFE_MAX];
    gateway_identity_spiffe(g->requester, want, sizeof(want));
    return ecl_fail(err, ECL_E_DENIED, "grant %s was issued to %s, not to %s", g->grant_id, want,
                    spiffe);
}

/* ---- Federation.ForwardRead: the holding site's side of a relayed read ---- */

static int same_identity(const Ecluse__V1__Identity *a, const Ecluse__V1__Identity *b)
{
    return a != NULL && b != NULL && strcmp(a->site, b->site) == 0 &&
           strcmp(a->role, b->role) == 0 && strcmp(a->name, b->name) == 0;
}

int svc_federation_forward_read(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                                ecl_err *err)
{
    const Ecluse__V1__ForwardedReadRequest *fwd = (const Ecluse__V1__ForwardedReadRequest *)request;
    gateway *gw = ctx;
    const ecl_identity *caller = rpc_call_identity(call);
    /* Refusals name the person the calling gateway reads for, via it. */
    char requester[ECL_SPIFFE_MAX], named[ECL_SPIFFE_MAX];
    if (fwd->requester != NULL)
        gateway_identity_spiffe(fwd->requester, named, sizeof(named));
    else
        snprintf(named, sizeof(named), "%s", caller->spiffe);
    if (fwd->request == NULL) {
        ecl_fail(err, ECL_E_INPUT, "ForwardRead: 'request' is missing");
        gateway_record_read_refused(gw, named, NULL, NULL, caller->spiffe, err);
        return -1;
    }
    Ecluse__V1__GrantBody *g = NULL;
    if (data_open_own_grant(gw, fwd->request->grant, &g, err) != 0) {
        gateway_record_read_refused(gw, named, fwd->request->grant, NULL, caller->spiffe, err);
        return -1;
    }
    int rc = 0;
    gateway_identity_spiffe(g->requester, requester, sizeof(requester));
    if (g->requester == NULL || strcmp(g->requester->site, caller->site) != 0)
        rc = ecl_fail(err, ECL_E_DENIED,
                      "grant %s was issued to %s, who is not a person of site '%s' (the caller)",
                      g->grant_id, requester, caller->site);
    else if (!same_identity(g->requester, fwd->requester))
        rc = ecl_fail(err, ECL_E_DENIED, "grant %s was issued to %s, not to %s", g->grant_id,
                      requester, named);
    if (rc != 0)
        gateway_record_read_refused(gw, named, fwd->request->grant, g, caller->spiffe, err);
    else
        rc = data_serve_local(gw, call, fwd->request, g, requester, caller->spiffe, err);
    ecluse__v1__grant_body__free_unpacked(g, NULL);
    return rc;
}
