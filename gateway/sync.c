/* sync.c - fetching peers' catalogs: on a schedule, and when asked. */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "federation/bundle.h"
#include "gateway/gateway.h"
#include "gateway/peer_status.h"

/* What one GetCatalog stream delivered, before anything is trusted. */
typedef struct fetched {
    Ecluse__V1__SignedCatalogHeader *header; /* owned: from the first part */
    ProtobufCBinaryData *entries;
    size_t count, cap;
    Ecluse__V1__CatalogPart **parts; /* kept so entry bytes stay valid */
    size_t part_count, part_cap;
} fetched;

static void fetched_clear(fetched *f)
{
    for (size_t i = 0; i < f->part_count; i++)
        ecluse__v1__catalog_part__free_unpacked(f->parts[i], NULL);
    free(f->parts);
    free(f->entries);
    memset(f, 0, sizeof(*f));
}

static int keep_part(fetched *f, Ecluse__V1__CatalogPart *part, ecl_err *err)
{
    if (f->part_count == f->part_cap) {
        size_t cap = f->part_cap ? 2 * f->part_cap : 16;
        void *p = realloc(f->parts, cap * sizeof(*f->parts));
        if (p == NULL)
            return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
        f->parts = p;
        f->part_cap = cap;
    }
    f->parts[f->part_count++] = part;
    return 0;
}

static int add_entries(fetched *f, const Ecluse__V1__CatalogEntries *page, ecl_err *err)
{
    if (f->count + page->n_entries > f->cap) {
        size_t cap = f->cap ? f->cap : 1024;
        while (cap < f->count + page->n_entries)
            cap *= 2;
        void *p = realloc(f->entries, cap * sizeof(*f->entries));
        if (p == NULL)
            return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
        f->entries = p;
        f->cap = cap;
    }
    for (size_t i = 0; i < page->n_entries; i++)
        f->entries[f->count++] = page->entries[i];
    return 0;
}

/* Read the whole stream: one header part first, then pages. */
static int fetch_catalog(gateway *gw, rpc_channel *ch, uint64_t known, fetched *f, ecl_err *err)
{
    Ecluse__V1__GetCatalogRequest req = ECLUSE__V1__GET_CATALOG_REQUEST__INIT;
    req.known_version = known;
    rpc_stream *st = NULL;
    if (rpc_stream_open(ch, "/ecluse.v1.Federation/GetCatalog", &req.base,
                        (int)GATEWAY_SETTING(gw, peer_timeout_ms), &st, err) != 0)
        return -1;
    int rc;
    for (;;) {
        ProtobufCMessage *msg = NULL;
        rc = rpc_stream_next(st, &ecluse__v1__catalog_part__descriptor, &msg, err);
        if (rc <= 0)
            break;
        Ecluse__V1__CatalogPart *part = (Ecluse__V1__CatalogPart *)msg;
        if (keep_part(f, part, err) != 0) {
            ecluse__v1__catalog_part__free_unpacked(part, NULL);
            rc = -1;
            break;
        }
        if (part->part_case == ECLUSE__V1__CATALOG_PART__PART_HEADER && f->header == NULL &&
            f->count == 0) {
            f->header = part->header;
        } else if (part->part_case == ECLUSE__V1__CATALOG_PART__PART_PAGE && f->header != NULL) {
            if (add_entries(f, part->page, err) != 0) {
                rc = -1;
                break;
            }
        } else {
            rc = ecl_fail(err, ECL_E_INPUT,
                          "the catalog stream is out of order (a header must "
                          "come first, and only once)");
            break;
        }
    }
    rpc_stream_close(st);
    if (rc == 0 && f->header == NULL)
        rc = ecl_fail(err, ECL_E_INPUT, "the catalog stream carried no signed header");
    return rc;
}

/* The peer's key may have rolled: follow its rotations from the pinned key. */
static int follow_rotations(gateway *gw, rpc_channel *ch, const fed_peer *peer,
                            unsigned char current[crypto_sign_PUBLICKEYBYTES], ecl_err *err)
{
    Ecluse__V1__KeyRotationsRequest req = ECLUSE__V1__KEY_ROTATIONS_REQUEST__INIT;
    req.since_key.data = (uint8_t *)peer->pinned_key;
    req.since_key.len = crypto_sign_PUBLICKEYBYTES;
    ProtobufCMessage *resp = NULL;
    if (rpc_unary(ch, "/ecluse.v1.Federation/GetKeyRotations", &req.base,
                  &ecluse__v1__key_rotation_list__descriptor, &resp,
                  (int)GATEWAY_SETTING(gw, peer_timeout_ms), err) != 0)
        return -1;
    Ecluse__V1__KeyRotationList *list = (Ecluse__V1__KeyRotationList *)resp;
    int rc = rotation_follow(peer->info.site, peer->pinned_key, list->rotations, list->n_rotations,
                             current, err);
    protobuf_c_message_free_unpacked(resp, NULL);
    return rc;
}

/* Under follow_lock, from the key the state holds now (a refresh may have
 * followed the rotation since the caller read `held`). */
static int follow_peer_key(gateway *gw, const fed_peer *held,
                           unsigned char current[crypto_sign_PUBLICKEYBYTES], ecl_err *err)
{
    fed_peer peer;
    if (fed_state_get_peer(gw->state, held->info.site, &peer, err) != 0)
        return -1;
    rpc_channel *ch = NULL;
    int rc = gateway_peer_channel(gw, &peer, &ch, err);
    if (rc == 0)
        rc = follow_rotations(gw, ch, &peer, current, err);
    rpc_channel_close(ch);
    if (rc == 0 && memcmp(current, peer.pinned_key, crypto_sign_PUBLICKEYBYTES) != 0) {
        rc = fed_state_set_peer_key(gw->state, peer.info.site, current, err);
        if (rc == 0) {
            char fp[48];
            site_key_fingerprint(current, crypto_sign_PUBLICKEYBYTES, fp, sizeof(fp));
            ecl_log(ECL_LOG_INFO, "peer.key_rotated", "site", peer.info.site, "new_key", fp, NULL);
        }
    }
    fed_peer_clear(&peer);
    return rc;
}

int gateway_follow_peer_key(gateway *gw, const fed_peer *peer,
                            unsigned char current[crypto_sign_PUBLICKEYBYTES], ecl_err *err)
{
    pthread_mutex_lock(&gw->follow_lock);
    int rc = follow_peer_key(gw, peer, current, err);
    pthread_mutex_unlock(&gw->follow_lock);
    return rc;
}

static int verify_with(const fed_peer *peer, const unsigned char *key, const fetched *f,
                       const catalog *held, catalog **out, ecl_err *err)
{
    const Ecluse__V1__CatalogHeader *hh = held ? catalog_header(held) : NULL;
    catalog_expect ex = {peer->info.site, key, hh ? hh->version : 0,
                         hh ? hh->entries_digest.data : NULL, (int64_t)time(NULL)};
    return catalog_verify(f->header->body.data, f->header->body.len, f->header->signature.data,
                          f->header->signature.len, f->entries, f->count, &ex, out, err);
}

/* Fetch and judge one peer's catalog; the verdict is kept in the state. */
static int refresh_one(gateway *gw, const fed_peer *peer, uint64_t *version, ecl_err *err)
{
    rpc_channel *ch = NULL;
    if (gateway_peer_channel(gw, peer, &ch, err) != 0)
        return -1;
    catalog *held = NULL, *got = NULL;
    int64_t fetched_at = 0;
    ecl_err ignored;
    if (fed_state_get_peer_catalog(gw->state, peer->info.site, &held, &fetched_at, &ignored) != 0)
        held = NULL;
    fetched f = {0};
    int rc = fetch_catalog(gw, ch, peer->catalog_version, &f, err);
    if (rc == 0) {
        rc = verify_with(peer, peer->pinned_key, &f, held, &got, err);
        /* Signed by another key: a rotation the pinned key signed may explain it. */
        unsigned char next[crypto_sign_PUBLICKEYBYTES];
        ecl_err rot_err;
        if (rc != 0 && err->code == ECL_E_CRYPTO &&
            follow_rotations(gw, ch, peer, next, &rot_err) == 0 &&
            memcmp(next, peer->pinned_key, sizeof(next)) != 0 &&
            verify_with(peer, next, &f, held, &got, err) == 0) {
            rc = fed_state_set_peer_key(gw->state, peer->info.site, next, err);
            char fp[48];
            site_key_fingerprint(next, sizeof(next), fp, sizeof(fp));
            ecl_log(ECL_LOG_INFO, "peer.key_rotated", "site", peer->info.site, "new_key", fp, NULL);
        }
    }
    if (rc == 0)
        rc = fed_state_put_peer_catalog(gw->state, peer->info.site, got, (int64_t)time(NULL), err);
    if (rc == 0)
        *version = catalog_header(got)->version;
    catalog_free(got);
    catalog_free(held);
    fetched_clear(&f);
    rpc_channel_close(ch);
    return rc;
}

void gateway_refresh_report_clear(Ecluse__V1__PeerRefresh *report)
{
    free(report->site);
    free(report->error);
    ecluse__v1__peer_refresh__init(report);
}

static void refresh_peer(gateway *gw, const char *site, Ecluse__V1__PeerRefresh *report)
{
    ecluse__v1__peer_refresh__init(report);
    report->site = strdup(site);
    report->error = strdup("");
    if (report->site == NULL || report->error == NULL)
        return; /* out of memory: reported not ok (ok stays 0), nothing tried */
    fed_peer peer;
    ecl_err err;
    uint64_t version = 0;
    int rc = fed_state_get_peer(gw->state, site, &peer, &err);
    uint64_t held_version = rc == 0 ? peer.catalog_version : 0;
    if (rc == 0) {
        rc = refresh_one(gw, &peer, &version, &err);
        if (rc != 0 && atomic_load(&gw->stopping)) { /* cancelled: no verdict on the peer */
            ecl_log(ECL_LOG_INFO, "catalog.cancelled", "site", site, "reason", err.msg, NULL);
            fed_peer_clear(&peer);
            free(report->error);
            report->error = strdup(err.msg);
            return;
        }
        if (rc != 0 && err.remote_status != 0) /* the call failed, not the verification */
            ecl_err_prefix(&err, "%s (timeout %u ms)", peer.info.endpoint,
                           GATEWAY_SETTING(gw, peer_timeout_ms));
        gateway_peer_contact(gw, &peer, PEER_CONTACT_PULL, rc == 0 ? NULL : &err); /* peer list */
        if (rc != 0) {
            ecl_err note_err;
            /* The note only feeds `peer list`; the refresh's own error is the
             * one to report, so a failed note is logged and not passed up. */
            if (fed_state_note_fetch_error(gw->state, site, (int64_t)time(NULL), err.msg,
                                           &note_err) != 0)
                ecl_log(ECL_LOG_WARN, "peer.note_failed", "site", site, "error", note_err.msg,
                        NULL);
            version = peer.catalog_version;
        }
        fed_peer_clear(&peer);
    }
    char v[24];
    snprintf(v, sizeof(v), "%" PRIu64, version);
    /* The trail records each catalog change and each refusal, not every
     * fetch that found nothing new. */
    if (rc != 0 || version != held_version) {
        char actor[ECL_SPIFFE_MAX];
        snprintf(actor, sizeof(actor), "spiffe://%s/gateway", site);
        ecl_err audit_err;
        if (gateway_record(gw, AUDIT_KIND_CATALOG, actor, NULL,
                           json_pack("{s:s, s:s, s:I, s:s}", "action", "peer-catalog", "outcome",
                                     rc == 0 ? "accepted" : "refused", "version",
                                     (json_int_t)version, "reason", rc == 0 ? "" : err.msg),
                           NULL, &audit_err) != 0 &&
            rc == 0)
            ecl_log(ECL_LOG_ERROR, "catalog.unaudited", "site", site, NULL);
    }
    if (rc == 0) {
        ecl_log(ECL_LOG_INFO, "catalog.accepted", "site", site, "version", v, NULL);
    } else {
        ecl_log(ECL_LOG_WARN, "catalog.refused", "site", site, "held_version", v, "reason", err.msg,
                NULL);
        free(report->error);
        report->error = strdup(err.msg);
    }
    report->ok = rc == 0;
    report->version = version;
}

/* Refreshes of one gateway are made one at a time: the sync thread's pull
 * (a change notice starts one at once) and an admin's Catalog.Refresh would
 * otherwise both follow the same key rotation from the same pinned key. */
void gateway_refresh_peer(gateway *gw, const char *site, Ecluse__V1__PeerRefresh *report)
{
    pthread_mutex_lock(&gw->follow_lock);
    refresh_peer(gw, site, report);
    pthread_mutex_unlock(&gw->follow_lock);
}

/* ---- the schedule ----------------------------------------------------------
 *
 * Each peer has its own: pulled every catalog_refresh_seconds after a
 * success, sooner and sooner apart after failures (gateway_backoff_ms up to
 * that interval, so a peer that comes back is caught up with soon), and at
 * once when it sent a change notice. One thread pulls, so at most one pull
 * is in flight; a notice during it leaves one pending. */

typedef struct sync_peer {
    char site[ECL_SITE_ID_MAX];
    int64_t pulled_ms;  /* when the last good pull ended (monotonic) */
    int64_t retry_ms;   /* after a failure: when to try again */
    int64_t noticed_ms; /* when the last pull a notice asked for began */
    unsigned failures;  /* pulls that failed in a row */
    int wanted;         /* a notice asked for a pull */
    struct sync_peer *next;
} sync_peer;

static sync_peer *sched_find(gateway *gw, const char *site)
{
    for (sync_peer *p = gw->sync_peers; p != NULL; p = p->next)
        if (strcmp(p->site, site) == 0)
            return p;
    return NULL;
}

/* A new peer is due at once (under sync_lock). It goes last, so that peers
 * due together are pulled in the order they were added. */
static sync_peer *sched_add(gateway *gw, const char *site)
{
    sync_peer *p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    snprintf(p->site, sizeof(p->site), "%s", site);
    p->pulled_ms = p->noticed_ms = INT64_MIN / 2;
    sync_peer **end = &gw->sync_peers;
    while (*end != NULL)
        end = &(*end)->next;
    *end = p;
    return p;
}

/* Make the schedule match the peers in the state (under sync_lock). */
static void sched_match(gateway *gw, const fed_peer *peers, size_t count)
{
    for (sync_peer **at = &gw->sync_peers; *at != NULL;) {
        size_t i = 0;
        while (i < count && strcmp(peers[i].info.site, (*at)->site) != 0)
            i++;
        if (i < count) {
            at = &(*at)->next;
            continue;
        }
        sync_peer *gone = *at;
        *at = gone->next;
        free(gone);
    }
    for (size_t i = 0; i < count; i++)
        if (sched_find(gw, peers[i].info.site) == NULL)
            (void)sched_add(gw, peers[i].info.site);
}

/* The peer to pull now (under sync_lock), or NULL; *wake_ms is when the
 * next one is due. */
static sync_peer *sched_next(gateway *gw, int64_t now, int64_t *wake_ms)
{
    *wake_ms = now + (int64_t)GATEWAY_SETTING(gw, catalog_refresh_s) * 1000;
    for (sync_peer *p = gw->sync_peers; p != NULL; p = p->next) {
        /* The interval is read each time round: a reload may change it. */
        int64_t at = p->failures > 0
                         ? p->retry_ms
                         : p->pulled_ms + (int64_t)GATEWAY_SETTING(gw, catalog_refresh_s) * 1000;
        if (p->wanted && p->noticed_ms + SYNC_NOTICE_GAP_MS < at)
            at = p->noticed_ms + SYNC_NOTICE_GAP_MS;
        if (at <= now)
            return p;
        if (at < *wake_ms)
            *wake_ms = at;
    }
    return NULL;
}

int gateway_sync_notified(gateway *gw, const char *site)
{
    pthread_mutex_lock(&gw->sync_lock);
    int scheduled = 0;
    if (!gw->sync_stop) {
        sync_peer *p = sched_find(gw, site);
        if (p == NULL)
            p = sched_add(gw, site); /* the thread drops it if not a peer */
        scheduled = p != NULL && !p->wanted;
        if (scheduled)
            p->wanted = 1;
        pthread_cond_broadcast(&gw->sync_wake);
    }
    pthread_mutex_unlock(&gw->sync_lock);
    return scheduled;
}

/* Pull `p` (under sync_lock on entry and return; the pull is made without
 * it: only this thread frees entries) and schedule its next pull. */
static void pull(gateway *gw, sync_peer *p, int64_t now)
{
    if (p->wanted && p->noticed_ms + SYNC_NOTICE_GAP_MS <= now) {
        p->wanted = 0; /* a notice during the pull leaves one pending */
        p->noticed_ms = now;
    }
    char site[ECL_SITE_ID_MAX];
    snprintf(site, sizeof(site), "%s", p->site);
    pthread_mutex_unlock(&gw->sync_lock);
    Ecluse__V1__PeerRefresh report;
    gateway_refresh_peer(gw, site, &report);
    int ok = report.ok;
    gateway_refresh_report_clear(&report);
    pthread_mutex_lock(&gw->sync_lock);
    if (!ok && atomic_load(&gw->stopping))
        return; /* cancelled by the stop: no backoff, no verdict */
    unsigned interval_ms = GATEWAY_SETTING(gw, catalog_refresh_s) * 1000u;
    char n[16], d[16];
    if (ok) {
        if (p->failures > 0) {
            snprintf(n, sizeof(n), "%u", p->failures);
            ecl_log(ECL_LOG_INFO, "catalog.recovered", "site", site, "failures", n, NULL);
        }
        p->failures = 0;
        p->pulled_ms = gateway_monotonic_ms();
        return;
    }
    p->failures++;
    unsigned delay = gateway_backoff_ms(p->failures, interval_ms);
    p->retry_ms = gateway_monotonic_ms() + delay;
    snprintf(n, sizeof(n), "%u", p->failures);
    snprintf(d, sizeof(d), "%u", delay);
    ecl_log(ECL_LOG_WARN, "catalog.backoff", "site", site, "failures", n, "retry_in_ms", d, NULL);
}

/* A kick (a peer was added): every peer not backing off is due now. */
static void sched_kick(gateway *gw)
{
    for (sync_peer *p = gw->sync_peers; p != NULL; p = p->next)
        if (p->failures == 0)
            p->pulled_ms = INT64_MIN / 2;
}

static void *sync_main(void *arg)
{
    gateway *gw = arg;
    pthread_mutex_lock(&gw->sync_lock);
    while (!gw->sync_stop && !atomic_load(&gw->stopping)) {
        int kicked = gw->sync_kick;
        gw->sync_kick = 0;
        pthread_mutex_unlock(&gw->sync_lock);
        fed_peer *peers = NULL;
        size_t count = 0;
        ecl_err err;
        int listed = fed_state_list_peers(gw->state, &peers, &count, &err);
        if (listed != 0)
            ecl_log(ECL_LOG_ERROR, "catalog.sync", "error", err.msg, NULL);
        pthread_mutex_lock(&gw->sync_lock);
        if (listed == 0) {
            sched_match(gw, peers, count);
            fed_state_free_peers(peers, count);
        }
        int64_t now = gateway_monotonic_ms(), wake_ms;
        if (kicked)
            sched_kick(gw);
        sync_peer *p = sched_next(gw, now, &wake_ms);
        if (p != NULL) {
            pull(gw, p, now);
            continue;
        }
        if (gw->sync_stop || gw->sync_kick)
            continue;
        /* Sleep until a pull is due, a notice or a kick comes, or a reload
         * changed the interval (gateway_sync_wake): any wake-up goes round
         * again and works out the time anew. */
        struct timespec until = {(time_t)(wake_ms / 1000), (long)(wake_ms % 1000) * 1000000};
        (void)pthread_cond_timedwait(&gw->sync_wake, &gw->sync_lock, &until);
    }
    pthread_mutex_unlock(&gw->sync_lock);
    return NULL;
}

int gateway_sync_start(gateway *gw, ecl_err *err)
{
    if (pthread_create(&gw->sync_thread, NULL, sync_main, gw) != 0)
        return ecl_fail(err, ECL_E_INTERNAL, "cannot start the catalog sync thread");
    gw->sync_running = 1;
    return gateway_notify_start(gw, err);
}

void gateway_sync_wake(gateway *gw)
{
    pthread_mutex_lock(&gw->sync_lock);
    pthread_cond_broadcast(&gw->sync_wake);
    pthread_mutex_unlock(&gw->sync_lock);
}

void gateway_sync_stop(gateway *gw)
{
    pthread_mutex_lock(&gw->sync_lock);
    gw->sync_stop = 1; /* also refuses notices from now on */
    pthread_cond_broadcast(&gw->sync_wake);
    pthread_mutex_unlock(&gw->sync_lock);
    gateway_notify_stop(gw);
    if (gw->sync_running) {
        pthread_join(gw->sync_thread, NULL);
        gw->sync_running = 0;
    }
    pthread_mutex_lock(&gw->sync_lock);
    while (gw->sync_peers != NULL) {
        sync_peer *next = gw->sync_peers->next;
        free(gw->sync_peers);
        gw->sync_peers = next;
    }
    pthread_mutex_unlock(&gw->sync_lock);
}
