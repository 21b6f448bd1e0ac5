/* svc_federation.c - what this site tells its peers' gateways. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "federation/bundle.h"
#include "gateway/gateway.h"
#include "gateway/peer_status.h"

int svc_federation_peer_info(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                             ecl_err *err)
{
    (void)request;
    gateway *gw = ctx;
    unsigned char *bytes = NULL;
    size_t len = 0;
    int rc = bundle_make(gw->cfg.site, gw->cfg.country, gw->cfg.endpoint, gw->ca_pem, gw->signer,
                         (int64_t)time(NULL), &bytes, &len, err);
    if (rc != 0)
        return -1;
    Ecluse__V1__PeerBundle *bundle = ecluse__v1__peer_bundle__unpack(NULL, len, bytes);
    free(bytes);
    if (bundle == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "cannot re-read this site's own bundle");
    rc = rpc_call_reply(call, &bundle->base, err);
    ecluse__v1__peer_bundle__free_unpacked(bundle, NULL);
    return rc;
}

/* Pages never exceed the message limit, whatever the entries' sizes. */
static int send_pages(rpc_call *call, gateway *gw, const catalog *c, size_t per_page, ecl_err *err)
{
    size_t count = catalog_entry_count(c), limit = gw->cfg.max_message_bytes / 2;
    ProtobufCBinaryData *page = malloc((per_page ? per_page : 1) * sizeof(*page));
    if (page == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < count;) {
        size_t n = 0, bytes = 0;
        while (i < count && n < per_page) {
            ProtobufCBinaryData e = catalog_entry_bytes(c, i);
            if (n > 0 && bytes + e.len + 16 > limit)
                break;
            page[n++] = e;
            bytes += e.len + 16;
            i++;
        }
        Ecluse__V1__CatalogEntries entries = ECLUSE__V1__CATALOG_ENTRIES__INIT;
        entries.n_entries = n;
        entries.entries = page;
        Ecluse__V1__CatalogPart part = ECLUSE__V1__CATALOG_PART__INIT;
        part.part_case = ECLUSE__V1__CATALOG_PART__PART_PAGE;
        part.page = &entries;
        rc = rpc_call_send(call, &part.base, err);
    }
    free(page);
    return rc;
}

int svc_federation_get_catalog(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                               ecl_err *err)
{
    const Ecluse__V1__GetCatalogRequest *req = (const Ecluse__V1__GetCatalogRequest *)request;
    gateway *gw = ctx;
    gateway_peer_heard_from(gw, rpc_call_identity(call)); /* a peer pulling has added us */
    shared_catalog *sc = NULL;
    if (gateway_catalog_acquire(gw, &sc, err) != 0)
        return -1;
    Ecluse__V1__SignedCatalogHeader header = ECLUSE__V1__SIGNED_CATALOG_HEADER__INIT;
    header.body = catalog_header_bytes(sc->catalog);
    header.signature = catalog_signature(sc->catalog);
    Ecluse__V1__CatalogPart part = ECLUSE__V1__CATALOG_PART__INIT;
    part.part_case = ECLUSE__V1__CATALOG_PART__PART_HEADER;
    part.header = &header;
    size_t most = GATEWAY_SETTING(gw, catalog_page_entries);
    size_t per_page = req->page_entries > 0 && req->page_entries < most ? req->page_entries : most;
    int rc = rpc_call_send(call, &part.base, err);
    if (rc == 0)
        rc = send_pages(call, gw, sc->catalog, per_page, err);
    gateway_catalog_release(gw, sc);
    return rc;
}

int svc_federation_key_rotations(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                                 ecl_err *err)
{
    const Ecluse__V1__KeyRotationsRequest *req = (const Ecluse__V1__KeyRotationsRequest *)request;
    gateway *gw = ctx;
    ProtobufCBinaryData *rows = NULL;
    size_t count = 0;
    if (fed_state_list_rotations(gw->state, &rows, &count, err) != 0)
        return -1;
    /* From the rotation that replaced the caller's pinned key on; the whole
     * chain if that key is not in it (the caller then finds its place). */
    size_t first = 0;
    for (size_t i = 0; req->since_key.len == crypto_sign_PUBLICKEYBYTES && i < count; i++) {
        Ecluse__V1__KeyRotation *r =
            ecluse__v1__key_rotation__unpack(NULL, rows[i].len, rows[i].data);
        Ecluse__V1__KeyRotationBody *b =
            r ? ecluse__v1__key_rotation_body__unpack(NULL, r->body.len, r->body.data) : NULL;
        int found = b != NULL && b->old_key.len == crypto_sign_PUBLICKEYBYTES &&
                    memcmp(b->old_key.data, req->since_key.data, crypto_sign_PUBLICKEYBYTES) == 0;
        if (b != NULL)
            ecluse__v1__key_rotation_body__free_unpacked(b, NULL);
        if (r != NULL)
            ecluse__v1__key_rotation__free_unpacked(r, NULL);
        if (found) {
            first = i;
            break;
        }
    }
    Ecluse__V1__KeyRotation **list = calloc(count ? count : 1, sizeof(*list));
    int rc = list != NULL ? 0 : ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    size_t n = 0;
    for (; rc == 0 && first + n < count; n++) {
        list[n] = ecluse__v1__key_rotation__unpack(NULL, rows[first + n].len, rows[first + n].data);
        if (list[n] == NULL)
            rc =
                ecl_fail(err, ECL_E_INTERNAL, "stored key rotation %zu does not decode", first + n);
    }
    if (rc == 0) {
        Ecluse__V1__KeyRotationList reply = ECLUSE__V1__KEY_ROTATION_LIST__INIT;
        reply.n_rotations = n;
        reply.rotations = list;
        rc = rpc_call_reply(call, &reply.base, err);
    }
    for (size_t i = 0; list != NULL && i < n; i++)
        if (list[i] != NULL)
            ecluse__v1__key_rotation__free_unpacked(list[i], NULL);
    free(list);
    fed_state_free_list(rows, count);
    return rc;
}

/* A peer's catalog or key changed: pull it (sync.c decides when). Only a
 * peer's gateway gets here (methods.c, auth.c); the notice is a hint, so
 * nothing in it is used but to log. */
int svc_federation_notify_changed(rpc_call *call, const ProtobufCMessage *request, void *ctx,
                                  ecl_err *err)
{
    const Ecluse__V1__ChangeNotice *req = (const Ecluse__V1__ChangeNotice *)request;
    gateway *gw = ctx;
    const char *site = rpc_call_identity(call)->site;
    Ecluse__V1__ChangeNoticeReply reply = ECLUSE__V1__CHANGE_NOTICE_REPLY__INIT;
    reply.pull_scheduled = gateway_sync_notified(gw, site);
    char v[24];
    snprintf(v, sizeof(v), "%" PRIu64, req->catalog_version);
    ecl_log(ECL_LOG_INFO, "peer.notice_received", "site", site, "catalog_version", v, "pull",
            reply.pull_scheduled ? "scheduled" : "already pending", NULL);
    return rpc_call_reply(call, &reply.base, err);
}
