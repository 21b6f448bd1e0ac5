/* svc_catalog.c - the federated catalog, as this site's people see it. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "gateway/gateway.h"

/* Every word of `text` appears (case-insensitively) somewhere in the entry. */
static int matches(const Ecluse__V1__DatasetEntry *e, const char *text)
{
    if (text == NULL || text[0] == '\0')
        return 1;
    char copy[512];
    snprintf(copy, sizeof(copy), "%s", text);
    char *save = NULL;
    for (char *w = strtok_r(copy, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
        int found = strcasestr(e->id, w) || strcasestr(e->title, w) ||
                    strcasestr(e->description, w) || strcasestr(e->provenance, w) ||
                    strcasestr(e->collection_purpose, w);
        for (size_t k = 0; !found && k < e->n_keywords; k++)
            found = strcasestr(e->keywords[k], w) != NULL;
        if (!found)
            return 0;
    }
    return 1;
}

typedef struct listing_source {
    const char *site;
    const char *country;
    uint64_t version;
    int64_t fetched, expires;
    int local;
} listing_source;

/* Send each entry of `c` that matches. */
static int send_entries(rpc_call *call, const catalog *c, const listing_source *src,
                        const char *text, ecl_err *err)
{
    for (size_t i = 0; i < catalog_entry_count(c); i++) {
        ProtobufCBinaryData b = catalog_entry_bytes(c, i);
        Ecluse__V1__DatasetEntry *e = ecluse__v1__dataset_entry__unpack(NULL, b.len, b.data);
        if (e == NULL)
            continue; /* verified catalogs decode; nothing else is held */
        int rc = 0;
        if (matches(e, text)) {
            Ecluse__V1__CatalogListing l = ECLUSE__V1__CATALOG_LISTING__INIT;
            l.entry = e;
            l.site = (char *)src->site;
            l.country = (char *)src->country;
            l.catalog_version = src->version;
            l.fetched_unix = src->fetched;
            l.expires_unix = src->expires;
            l.local = src->local;
            rc = rpc_call_send(call, &l.base, err);
        }
        ecluse__v1__dataset_entry__free_unpacked(e, NULL);
        if (rc != 0)
            return -1;
    }
    return 0;
}

static int list_local(rpc_call *call, gateway *gw, const char *text, ecl_err *err)
{
    shared_catalog *sc = NULL;
    if (gateway_catalog_acquire(gw, &sc, err) != 0)
        return -1;
    const Ecluse__V1__CatalogHeader *h = catalog_header(sc->catalog);
    listing_source src = {gw->cfg.site,        gw->cfg.country, h->version,
                          (int64_t)time(NULL), h->expires_unix, 1};
    int rc = send_entries(call, sc->catalog, &src, text, err);
    gateway_catalog_release(gw, sc);
    return rc;
}

static int list_peer(rpc_call *call, gateway *gw, const fed_peer *p, const char *text, ecl_err *err)
{
    catalog *c = NULL;
    int64_t fetched = 0;
    ecl_err none;
    if (fed_state_get_peer_catalog(gw->state, p->info.site, &c, &fetched, &none) != 0)
        return 0; /* nothing held yet from this peer */
    const Ecluse__V1__CatalogHeader *h = catalog_header(c);
    listing_source src = {p->info.site, p->info.country, h->version, fetched, h->expires_unix, 0};
    int rc = send_entries(call, c, &src, text, err);
    catalog_free(c);
    return rc;
}

int svc_catalog_list(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err)
{
    const Ecluse__V1__CatalogQuery *q = (const Ecluse__V1__CatalogQuery *)request;
    gateway *gw = ctx;
    int all = q->site[0] == '\0';
    if (all || strcmp(q->site, gw->cfg.site) == 0)
        if (list_local(call, gw, q->text, err) != 0)
            return -1;
    fed_peer *peers = NULL;
    size_t count = 0;
    if (fed_state_list_peers(gw->state, &peers, &count, err) != 0)
        return -1;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < count; i++)
        if (all || strcmp(q->site, peers[i].info.site) == 0)
            rc = list_peer(call, gw, &peers[i], q->text, err);
    fed_state_free_peers(peers, count);
    return rc;
}

/* Find `id` in a verified catalog (entries are sorted by id: bisect). */
static Ecluse__V1__DatasetEntry *find_entry(const catalog *c, const char *id)
{
    size_t lo = 0, hi = catalog_entry_count(c);
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        ProtobufCBinaryData b = catalog_entry_bytes(c, mid);
        Ecluse__V1__DatasetEntry *e = ecluse__v1__dataset_entry__unpack(NULL, b.len, b.data);
        if (e == NULL)
            return NULL;
        int cmp = strcmp(e->id, id);
        if (cmp == 0)
            return e;
        ecluse__v1__dataset_entry__free_unpacked(e, NULL);
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

int svc_catalog_get(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err)
{
    const Ecluse__V1__GetDatasetRequest *req = (const Ecluse__V1__GetDatasetRequest *)request;
    gateway *gw = ctx;
    const char *slash = strchr(req->id, '/');
    if (slash == NULL || slash == req->id || (size_t)(slash - req->id) >= ECL_SITE_ID_MAX)
        return ecl_fail(err, ECL_E_INPUT, "'%s' is not a dataset id (<site>/<name>)", req->id);
    char site[ECL_SITE_ID_MAX];
    memcpy(site, req->id, (size_t)(slash - req->id));
    site[slash - req->id] = '\0';

    catalog *c = NULL;
    shared_catalog *sc = NULL;
    listing_source src = {0};
    fed_peer peer = {0};
    int64_t fetched = 0;
    if (strcmp(site, gw->cfg.site) == 0) {
        if (gateway_catalog_acquire(gw, &sc, err) != 0)
            return -1;
        c = sc->catalog;
        src = (listing_source){gw->cfg.site, gw->cfg.country, 0, (int64_t)time(NULL), 0, 1};
    } else if (fed_state_get_peer(gw->state, site, &peer, err) != 0 ||
               fed_state_get_peer_catalog(gw->state, site, &c, &fetched, err) != 0) {
        fed_peer_clear(&peer);
        return ecl_fail(err, ECL_E_NOT_FOUND,
                        "no dataset '%s': site '%s' is not a peer with "
                        "a catalog held here",
                        req->id, site);
    } else {
        src = (listing_source){peer.info.site, peer.info.country, 0, fetched, 0, 0};
    }
    const Ecluse__V1__CatalogHeader *h = catalog_header(c);
    src.version = h->version;
    src.expires = h->expires_unix;
    Ecluse__V1__DatasetEntry *e = find_entry(c, req->id);
    int rc;
    if (e == NULL) {
        rc = ecl_fail(err, ECL_E_NOT_FOUND, "no dataset '%s' in site '%s''s catalog (version %llu)",
                      req->id, site, (unsigned long long)h->version);
    } else {
        Ecluse__V1__CatalogListing l = ECLUSE__V1__CATALOG_LISTING__INIT;
        l.entry = e;
        l.site = (char *)src.site;
        l.country = (char *)src.country;
        l.catalog_version = src.version;
        l.fetched_unix = src.fetched;
        l.expires_unix = src.expires;
        l.local = src.local;
        rc = rpc_call_reply(call, &l.base, err);
        ecluse__v1__dataset_entry__free_unpacked(e, NULL);
    }
    if (sc != NULL)
        gateway_catalog_release(gw, sc);
    else
        catalog_free(c);
    fed_peer_clear(&peer);
    return rc;
}

int svc_catalog_refresh(rpc_call *call, const ProtobufCMessage *request, void *ctx, ecl_err *err)
{
    const Ecluse__V1__RefreshRequest *req = (const Ecluse__V1__RefreshRequest *)request;
    gateway *gw = ctx;
    fed_peer *peers = NULL;
    size_t count = 0;
    if (fed_state_list_peers(gw->state, &peers, &count, err) != 0)
        return -1;
    Ecluse__V1__PeerRefresh *reports = calloc(count ? count : 1, sizeof(*reports));
    Ecluse__V1__PeerRefresh **ptrs = calloc(count ? count : 1, sizeof(*ptrs));
    size_t n = 0;
    int rc = reports && ptrs ? 0 : ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    for (size_t i = 0; rc == 0 && i < count; i++) {
        if (req->site[0] != '\0' && strcmp(req->site, peers[i].info.site) != 0)
            continue;
        gateway_refresh_peer(gw, peers[i].info.site, &reports[n]);
        ptrs[n] = &reports[n];
        n++;
    }
    if (rc == 0 && req->site[0] != '\0' && n == 0)
        rc = ecl_fail(err, ECL_E_NOT_FOUND, "site '%s' is not a peer", req->site);
    if (rc == 0) {
        Ecluse__V1__RefreshReport reply = ECLUSE__V1__REFRESH_REPORT__INIT;
        reply.n_peers = n;
        reply.peers = ptrs;
        rc = rpc_call_reply(call, &reply.base, err);
    }
    for (size_t i = 0; i < n; i++)
        gateway_refresh_report_clear(&reports[i]);
    free(reports);
    free(ptrs);
    fed_state_free_peers(peers, count);
    return rc;
}
