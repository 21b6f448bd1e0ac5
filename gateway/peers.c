/* peers.c - the gateway's view of its peers, kept in step with the state. */
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "gateway/gateway.h"
#include "site/pki.h"

static void cache_clear(peer_cache *pc)
{
    for (size_t i = 0; i < pc->count; i++)
        X509_free(pc->cas != NULL ? pc->cas[i] : NULL);
    free(pc->cas);
    fed_state_free_peers(pc->peers, pc->count);
    free(pc->trust_pem);
    memset(pc, 0, sizeof(*pc));
}

static int build_trust_pem(gateway *gw, peer_cache *pc, ecl_err *err)
{
    size_t total = strlen(gw->ca_pem) + 1;
    for (size_t i = 0; i < pc->count; i++)
        total += strlen(pc->peers[i].info.ca_pem) + 1;
    pc->trust_pem = malloc(total);
    if (pc->trust_pem == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    size_t at = strlen(gw->ca_pem);
    memcpy(pc->trust_pem, gw->ca_pem, at);
    for (size_t i = 0; i < pc->count; i++) {
        size_t n = strlen(pc->peers[i].info.ca_pem);
        memcpy(pc->trust_pem + at, pc->peers[i].info.ca_pem, n);
        at += n;
    }
    pc->trust_pem[at] = '\0';
    return 0;
}

int gateway_peers_current(gateway *gw, ecl_err *err)
{
    uint64_t generation = fed_state_trust_generation(gw->state);
    if (gw->peers.loaded && gw->peers.generation == generation)
        return 0;
    peer_cache fresh = {0};
    fresh.generation = generation;
    if (fed_state_list_peers(gw->state, &fresh.peers, &fresh.count, err) != 0)
        return -1;
    fresh.cas = calloc(fresh.count ? fresh.count : 1, sizeof(X509 *));
    if (fresh.cas == NULL) {
        cache_clear(&fresh);
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    }
    for (size_t i = 0; i < fresh.count; i++) {
        const char *pem = fresh.peers[i].info.ca_pem;
        if (pki_cert_from_pem(pem, strlen(pem), &fresh.cas[i], err) != 0) {
            cache_clear(&fresh);
            return -1;
        }
    }
    if (build_trust_pem(gw, &fresh, err) != 0) {
        cache_clear(&fresh);
        return -1;
    }
    fresh.loaded = 1;
    cache_clear(&gw->peers);
    gw->peers = fresh;
    return 0;
}

/* Each stream on a peer channel takes in at most this much ahead of the
 * gateway reading it: a relayed read (read_relay.c) then holds this, the
 * message being read and the one being passed on, not the tens of MiB gRPC's
 * window grows to on a fast link (docs/streaming.md, "Relay memory"). */
#define PEER_WINDOW_BYTES (1u << 20)

int gateway_peer_channel(gateway *gw, const fed_peer *peer, rpc_channel **out, ecl_err *err)
{
    char expect[ECL_SPIFFE_MAX];
    snprintf(expect, sizeof(expect), "spiffe://%s/gateway", peer->info.site);
    /* The pair in use now: a channel made after a reload presents the renewed
     * certificate (gRPC copies the PEMs, so the reference ends here). */
    gateway_tls *tls = gateway_tls_acquire(gw);
    rpc_channel_options o = {
        peer->info.endpoint,      peer->info.ca_pem, tls->cert_pem, tls->key_pem, expect,
        gw->cfg.max_message_bytes};
    int rc = rpc_channel_open_window(&o, PEER_WINDOW_BYTES, out, err);
    gateway_tls_release(gw, tls);
    if (rc == 0)
        rpc_channel_give_up_at(*out, &gw->peer_calls_give_up_at);
    return rc;
}

void gateway_peers_free(gateway *gw)
{
    cache_clear(&gw->peers);
}
