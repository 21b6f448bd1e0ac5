#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"
#include "client/pyapi/pyapi.h"
#include "client/pyapi/session_internal.h"
#include "client/read.h"
#include "rpc/client.h"

struct eclpy_session {
    ecl_client *client;
};

int eclpy_abi_version(void)
{
    return ECLPY_ABI_VERSION;
}

int eclpy_report(const ecl_err *err, char *msg, size_t msg_cap)
{
    if (msg != NULL && msg_cap > 0)
        snprintf(msg, msg_cap, "%s", err->msg);
    return err->code == ECL_OK ? -ECL_E_INTERNAL : -(int)err->code;
}

ecl_client *eclpy_session_client(eclpy_session *s)
{
    return s->client;
}

int eclpy_session_open(const char *identity_dir, const char *gateway, eclpy_session **out,
                       char *msg, size_t msg_cap)
{
    ecl_err err;
    ecl_err_clear(&err);
    eclpy_session *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        ecl_fail(&err, ECL_E_INTERNAL, "out of memory");
        return eclpy_report(&err, msg, msg_cap);
    }
    if (ecl_client_open(identity_dir, gateway, &s->client, &err) != 0) {
        free(s);
        return eclpy_report(&err, msg, msg_cap);
    }
    *out = s;
    return 0;
}

void eclpy_session_close(eclpy_session *s)
{
    if (s == NULL)
        return;
    ecl_client_close(s->client);
    free(s);
}

int eclpy_grant_decode(const void *grant, size_t len, Ecluse__V1__Grant **out, ecl_err *err)
{
    Ecluse__V1__Grant *g = ecluse__v1__grant__unpack(NULL, len, grant);
    if (g == NULL)
        return ecl_fail(err, ECL_E_INPUT, "the grant given (%zu bytes) is not a Grant encoding",
                        len);
    *out = g;
    return 0;
}

int64_t eclpy_grant_file(const char *path, void *buf, size_t cap, char *msg, size_t msg_cap)
{
    ecl_err err;
    ecl_err_clear(&err);
    Ecluse__V1__Grant *g = NULL;
    if (client_grant_load(path, &g, &err) != 0)
        return eclpy_report(&err, msg, msg_cap);
    size_t n = ecluse__v1__grant__get_packed_size(g);
    if (n > cap) {
        ecluse__v1__grant__free_unpacked(g, NULL);
        ecl_fail(&err, ECL_E_LIMIT, "%s: the grant takes %zu bytes, the buffer holds %zu", path, n,
                 cap);
        return eclpy_report(&err, msg, msg_cap);
    }
    ecluse__v1__grant__pack(g, buf);
    ecluse__v1__grant__free_unpacked(g, NULL);
    return (int64_t)n;
}

/* Bytes per row of the tensor named `name` in the catalog entry; 0 if absent. */
static uint64_t entry_row_bytes(const Ecluse__V1__DatasetEntry *e, const char *name)
{
    for (size_t i = 0; i < e->n_tensors; i++) {
        const Ecluse__V1__TensorInfo *t = e->tensors[i];
        if (strcmp(t->name, name) == 0)
            return t->n_shape > 0 && t->shape[0] > 0 ? t->byte_size / t->shape[0] : 0;
    }
    return 0;
}

/* Rows and row bytes of the selection as the catalog entry lists it: the
 * tensors named (else the grant's, else all). */
static int entry_shape(const Ecluse__V1__DatasetEntry *e, const Ecluse__V1__GrantBody *body,
                       const char *const *tensors, size_t n_tensors, uint64_t *row_bytes,
                       ecl_err *err)
{
    const char *const *names = n_tensors ? tensors : (const char *const *)body->tensors;
    size_t n = n_tensors ? n_tensors : body->n_tensors;
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t rb = entry_row_bytes(e, names[i]);
        if (rb == 0)
            return ecl_fail(err, ECL_E_NOT_FOUND, "%s has no tensor '%s' (catalog entry)",
                            body->dataset, names[i]);
        sum += rb;
    }
    for (size_t i = 0; n == 0 && i < e->n_tensors; i++)
        sum += entry_row_bytes(e, e->tensors[i]->name);
    *row_bytes = sum;
    return 0;
}

/* Catalog.Get of the grant's dataset: its rows, cut to the grant's max_rows
 * as the holding gateway cuts a read (gateway/read_local.c). */
static int granted_shape(ecl_client *c, const Ecluse__V1__Grant *g, const char *const *tensors,
                         size_t n_tensors, uint64_t *rows, uint64_t *row_bytes, ecl_err *err)
{
    Ecluse__V1__GrantBody *body = ecluse__v1__grant_body__unpack(NULL, g->body.len, g->body.data);
    if (body == NULL)
        return ecl_fail(err, ECL_E_INPUT, "the grant's body does not decode");
    Ecluse__V1__GetDatasetRequest req = ECLUSE__V1__GET_DATASET_REQUEST__INIT;
    req.id = body->dataset;
    ProtobufCMessage *resp = NULL;
    int rc = rpc_unary(ecl_client_channel(c), "/ecluse.v1.Catalog/Get", &req.base,
                       &ecluse__v1__catalog_listing__descriptor, &resp, ecl_client_timeout(c), err);
    if (rc != 0) {
        ecl_err_prefix(err, "catalog entry of %s", body->dataset);
    } else {
        Ecluse__V1__CatalogListing *l = (Ecluse__V1__CatalogListing *)resp;
        if (l->entry == NULL) {
            rc =
                ecl_fail(err, ECL_E_INPUT, "the catalog listing of %s has no entry", body->dataset);
        } else {
            uint64_t n = l->entry->rows;
            *rows = body->max_rows != 0 && body->max_rows < n ? body->max_rows : n;
            rc = entry_shape(l->entry, body, tensors, n_tensors, row_bytes, err);
        }
        protobuf_c_message_free_unpacked(resp, NULL);
    }
    ecluse__v1__grant_body__free_unpacked(body, NULL);
    return rc;
}

int eclpy_granted_shape(eclpy_session *s, const void *grant, size_t grant_len,
                        const char *const *tensors, size_t n_tensors, uint64_t *rows,
                        uint64_t *row_bytes, char *msg, size_t msg_cap)
{
    ecl_err err;
    ecl_err_clear(&err);
    Ecluse__V1__Grant *g = NULL;
    if (eclpy_grant_decode(grant, grant_len, &g, &err) != 0)
        return eclpy_report(&err, msg, msg_cap);
    int rc = granted_shape(s->client, g, tensors, n_tensors, rows, row_bytes, &err);
    ecluse__v1__grant__free_unpacked(g, NULL);
    return rc == 0 ? 0 : eclpy_report(&err, msg, msg_cap);
}
