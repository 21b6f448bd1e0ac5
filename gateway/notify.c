/* notify.c - telling peers at once that this site's catalog or key changed.
 *
 * A notice is a hint: the peer answers it by pulling and verifying, so the
 * notice itself carries nothing it must trust. The notifier thread sends
 * them, so the admin call that changed the catalog never waits on the
 * network; a peer that cannot be told is retried with a growing wait and
 * meanwhile pulls on its own schedule anyway. */
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "gateway/gateway.h"

#define BACKOFF_FIRST_MS 1000u
#define IDLE_WAIT_MS     60000 /* nothing owed: look again now and then */

/* What one peer is owed. */
typedef struct notify_peer {
    char site[ECL_SITE_ID_MAX];
    int owed;          /* a change it has not been told of */
    int erasures;      /* erasure notices or acks to deliver (erasure_out.c) */
    unsigned failures; /* notices that failed in a row */
    int64_t due_ms;    /* not before (monotonic): the backoff */
    struct notify_peer *next;
} notify_peer;

int64_t gateway_monotonic_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

unsigned gateway_backoff_ms(unsigned failures, unsigned cap_ms)
{
    unsigned delay = BACKOFF_FIRST_MS;
    for (unsigned i = 1; i < failures && delay < cap_ms; i++)
        delay = delay > UINT32_MAX / 2 ? UINT32_MAX : 2 * delay;
    if (delay > cap_ms)
        delay = cap_ms;
    return delay - randombytes_uniform(delay / 4 + 1);
}

void gateway_notify_peers(gateway *gw)
{
    pthread_mutex_lock(&gw->sync_lock);
    gw->notify_changed = 1;
    if (gw->notify_running) /* else the notifier's first round tells every peer */
        pthread_cond_broadcast(&gw->notify_wake);
    pthread_mutex_unlock(&gw->sync_lock);
}

static notify_peer *find(gateway *gw, const char *site)
{
    for (notify_peer *p = gw->notify_peers; p != NULL; p = p->next)
        if (strcmp(p->site, site) == 0)
            return p;
    return NULL;
}

/* Make the list match the peers in the state (under sync_lock): a new peer
 * starts with nothing owed, a removed one is forgotten. */
static void match_peers(gateway *gw, const fed_peer *peers, size_t count)
{
    for (notify_peer **at = &gw->notify_peers; *at != NULL;) {
        size_t i = 0;
        while (i < count && strcmp(peers[i].info.site, (*at)->site) != 0)
            i++;
        if (i < count) {
            at = &(*at)->next;
            continue;
        }
        notify_peer *gone = *at;
        *at = gone->next;
        free(gone);
    }
    for (size_t i = 0; i < count; i++) {
        if (find(gw, peers[i].info.site) != NULL)
            continue;
        notify_peer *p = calloc(1, sizeof(*p));
        if (p == NULL)
            continue; /* out of memory: this peer learns at its next pull */
        snprintf(p->site, sizeof(p->site), "%s", peers[i].info.site);
        p->next = gw->notify_peers;
        gw->notify_peers = p;
    }
}

/* One NotifyChanged call to `site`, bounded by the peer timeout. */
static int send_notice(gateway *gw, const char *site, uint64_t version, ecl_err *err)
{
    fed_peer peer;
    if (fed_state_get_peer(gw->state, site, &peer, err) != 0)
        return -1;
    rpc_channel *ch = NULL;
    int rc = gateway_peer_channel(gw, &peer, &ch, err);
    if (rc == 0) {
        Ecluse__V1__ChangeNotice req = ECLUSE__V1__CHANGE_NOTICE__INIT;
        req.catalog_version = version;
        ProtobufCMessage *resp = NULL;
        rc = rpc_unary(ch, "/ecluse.v1.Federation/NotifyChanged", &req.base,
                       &ecluse__v1__change_notice_reply__descriptor, &resp,
                       (int)GATEWAY_SETTING(gw, peer_timeout_ms), err);
        if (rc == 0)
            protobuf_c_message_free_unpacked(resp, NULL);
        if (rc != 0 && err->remote_status != 0)
            ecl_err_prefix(err, "%s", peer.info.endpoint);
        rpc_channel_close(ch);
    }
    fed_peer_clear(&peer);
    return rc;
}

/* The peer owed a notice whose wait is over (under sync_lock), or NULL;
 * *wake_ms is when the next one's wait ends. */
static notify_peer *next_due(gateway *gw, int64_t now, int64_t *wake_ms)
{
    *wake_ms = now + IDLE_WAIT_MS;
    for (notify_peer *p = gw->notify_peers; p != NULL; p = p->next) {
        if (!p->owed && !p->erasures)
            continue;
        if (p->due_ms <= now)
            return p;
        if (p->due_ms < *wake_ms)
            *wake_ms = p->due_ms;
    }
    return NULL;
}

/* Tell `p` (still under sync_lock on entry and return; the call is made
 * without it) and note how it went. */
static void tell(gateway *gw, notify_peer *p)
{
    char site[ECL_SITE_ID_MAX];
    snprintf(site, sizeof(site), "%s", p->site);
    int change = p->owed, erasures = p->erasures;
    p->owed = 0; /* a change made during the call owes a new notice */
    p->erasures = 0;
    pthread_mutex_unlock(&gw->sync_lock);
    ecl_err err;
    /* The version this site serves: its state's, plus one (own_catalog.c). */
    uint64_t version = fed_state_catalog_version(gw->state) + 1;
    int rc = change ? send_notice(gw, site, version, &err) : 0;
    int erc = erasures ? gateway_erasure_deliver(gw, site, &err) : 0;
    if (rc == 0 && erc != 0)
        rc = -1;
    char v[24];
    snprintf(v, sizeof(v), "%" PRIu64, version);
    pthread_mutex_lock(&gw->sync_lock);
    /* The list may have changed meanwhile: only this thread frees, but
     * look the peer up again in case it was removed and re-added. */
    p = find(gw, site);
    if (rc == 0) {
        if (change)
            ecl_log(ECL_LOG_INFO, "peer.notice_sent", "site", site, "catalog_version", v, NULL);
        if (p != NULL)
            p->failures = 0;
        return;
    }
    if (p == NULL)
        return;
    p->owed |= change;
    p->erasures |= erasures;
    p->failures++;
    unsigned delay =
        gateway_backoff_ms(p->failures, GATEWAY_SETTING(gw, catalog_refresh_s) * 1000u);
    p->due_ms = gateway_monotonic_ms() + delay;
    char n[16], d[16];
    snprintf(n, sizeof(n), "%u", p->failures);
    snprintf(d, sizeof(d), "%u", delay);
    ecl_log(ECL_LOG_WARN, "peer.notice_backoff", "site", site, "failures", n, "retry_in_ms", d,
            "error", err.msg, NULL);
}

static void *notify_main(void *arg)
{
    gateway *gw = arg;
    pthread_mutex_lock(&gw->sync_lock);
    while (!gw->sync_stop) {
        int changed = gw->notify_changed, erasures = gw->erasures_owed;
        gw->notify_changed = 0;
        gw->erasures_owed = 0;
        pthread_mutex_unlock(&gw->sync_lock);
        char(*owed)[ECL_SITE_ID_MAX] = NULL;
        size_t n_owed = 0;
        ecl_err oerr;
        if (erasures && gateway_erasure_recover(gw, &oerr) != 0)
            ecl_log(ECL_LOG_ERROR, "erasure.notice", "error", oerr.msg, NULL);
        if (erasures && gateway_erasure_owed_sites(gw, &owed, &n_owed, &oerr) != 0)
            ecl_log(ECL_LOG_ERROR, "erasure.notice", "error", oerr.msg, NULL);
        fed_peer *peers = NULL;
        size_t count = 0;
        ecl_err err;
        int listed = fed_state_list_peers(gw->state, &peers, &count, &err);
        if (listed != 0)
            ecl_log(ECL_LOG_ERROR, "peer.notice", "error", err.msg, NULL);
        pthread_mutex_lock(&gw->sync_lock);
        if (listed == 0) {
            match_peers(gw, peers, count);
            fed_state_free_peers(peers, count);
        }
        for (notify_peer *p = gw->notify_peers; changed && p != NULL; p = p->next)
            p->owed = 1; /* a peer backing off keeps its wait */
        for (size_t i = 0; i < n_owed; i++) {
            notify_peer *p = find(gw, owed[i]);
            if (p != NULL)
                p->erasures = 1;
        }
        free(owed);
        int64_t wake_ms;
        notify_peer *p = next_due(gw, gateway_monotonic_ms(), &wake_ms);
        if (p != NULL) {
            tell(gw, p);
            continue;
        }
        if (gw->sync_stop || gw->notify_changed || gw->erasures_owed)
            continue;
        struct timespec until = {(time_t)(wake_ms / 1000), (long)(wake_ms % 1000) * 1000000};
        (void)pthread_cond_timedwait(&gw->notify_wake, &gw->sync_lock, &until);
    }
    pthread_mutex_unlock(&gw->sync_lock);
    return NULL;
}

int gateway_notify_start(gateway *gw, ecl_err *err)
{
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&gw->notify_wake, &attr);
    pthread_condattr_destroy(&attr);
    pthread_mutex_lock(&gw->sync_lock);
    gw->notify_changed = 1; /* the first round tells every peer */
    int rc = pthread_create(&gw->notify_thread, NULL, notify_main, gw);
    gw->notify_running = rc == 0;
    pthread_mutex_unlock(&gw->sync_lock);
    if (rc != 0) {
        pthread_cond_destroy(&gw->notify_wake);
        return ecl_fail(err, ECL_E_INTERNAL, "cannot start the change notifier thread");
    }
    return 0;
}

/* Call with sync_stop already set (gateway_sync_stop). */
void gateway_notify_stop(gateway *gw)
{
    if (!gw->notify_running)
        return;
    pthread_mutex_lock(&gw->sync_lock);
    pthread_cond_broadcast(&gw->notify_wake);
    pthread_mutex_unlock(&gw->sync_lock);
    pthread_join(gw->notify_thread, NULL);
    pthread_mutex_lock(&gw->sync_lock);
    gw->notify_running = 0;
    pthread_mutex_unlock(&gw->sync_lock);
    pthread_cond_destroy(&gw->notify_wake);
    while (gw->notify_peers != NULL) {
        notify_peer *next = gw->notify_peers->next;
        free(gw->notify_peers);
        gw->notify_peers = next;
    }
}
