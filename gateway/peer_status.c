/* peer_status.c - each peer's last contact and last error, in words. */
#include "gateway/peer_status.h"

#include <grpc/status.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/x509_vfy.h>

#include "common/log.h"
#include "gateway/gateway.h"

/* A witnessing success is not written again within this many seconds, and
 * a witnessing failure does not probe again while an error of reaching the
 * peer this recent is held. */
#define WITNESS_OK_QUIET_S    10
#define WITNESS_ERROR_QUIET_S 60
/* A probe waits at most this long (a stop waits for the sync thread). */
#define PROBE_TIMEOUT_MAX_MS 2000

static const char *tls_phrase(long verify_error)
{
    switch (verify_error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
        return "TLS: certificate expired";
    case X509_V_ERR_CERT_NOT_YET_VALID:
        return "TLS: certificate not yet valid";
    case X509_V_ERR_CERT_REVOKED:
        return "TLS: certificate revoked";
    default:
        return "TLS: certificate not trusted";
    }
}

/* A catalog the peer sent and we refused (catalog.c's checks). */
static const char *catalog_phrase(const ecl_err *err, char *phrase, size_t cap)
{
    unsigned long long offered, held;
    const char *at = strstr(err->msg, "catalog version ");
    if (at != NULL &&
        sscanf(at, "catalog version %llu is older than version %llu", &offered, &held) == 2)
        snprintf(phrase, cap, "catalog refused: rollback from v%llu to v%llu", held, offered);
    else if (strstr(err->msg, "expired at") != NULL)
        snprintf(phrase, cap, "catalog refused: expired");
    else if (strstr(err->msg, "two catalogs with one version") != NULL)
        snprintf(phrase, cap, "catalog refused: two catalogs with one version");
    else if (err->code == ECL_E_CRYPTO)
        snprintf(phrase, cap, "catalog refused: signature does not verify");
    else
        snprintf(phrase, cap, "catalog refused: malformed");
    return phrase;
}

fed_contact_kind peer_error_describe(const ecl_err *err, const peer_probe *probe, int ever_ok,
                                     char *phrase, size_t phrase_cap, char *detail,
                                     size_t detail_cap)
{
    const char *refused_us = ever_ok ? "removed us" : "has not added us";
    int status = err->remote_status;
    snprintf(detail, detail_cap, "%s", err->msg);
    if (probe != NULL && probe->verdict == PEER_PROBE_UNREACHABLE) {
        snprintf(phrase, phrase_cap, "unreachable");
        snprintf(detail, detail_cap, "%s", probe->detail);
        return FED_CONTACT_REACH;
    }
    if (probe != NULL && probe->verdict == PEER_PROBE_BAD_CERT) {
        snprintf(phrase, phrase_cap, "%s", tls_phrase(probe->verify_error));
        snprintf(detail, detail_cap, "%s", probe->detail);
        return FED_CONTACT_REACH;
    }
    if (probe != NULL && probe->verdict == PEER_PROBE_REFUSED_US) {
        snprintf(phrase, phrase_cap, "%s", refused_us);
        snprintf(detail, detail_cap, "%s", probe->detail);
        return FED_CONTACT_REFUSED_US;
    }
    if (probe != NULL && probe->verdict == PEER_PROBE_UNKNOWN)
        snprintf(detail, detail_cap, "%.300s; a TLS probe: %.200s", err->msg, probe->detail);
    if ((status == GRPC_STATUS_PERMISSION_DENIED || status == GRPC_STATUS_UNAUTHENTICATED) &&
        strstr(err->msg, "is not a peer") != NULL) {
        snprintf(phrase, phrase_cap, "%s", refused_us);
        return FED_CONTACT_REFUSED_US;
    }
    if (status == GRPC_STATUS_PERMISSION_DENIED || status == GRPC_STATUS_UNAUTHENTICATED) {
        snprintf(phrase, phrase_cap, "refused our gateway");
        return FED_CONTACT_REFUSED_US;
    }
    if (status == GRPC_STATUS_UNAVAILABLE || status == GRPC_STATUS_DEADLINE_EXCEEDED) {
        snprintf(phrase, phrase_cap, "unreachable");
        return FED_CONTACT_REACH;
    }
    if (status == GRPC_STATUS_UNIMPLEMENTED) {
        snprintf(phrase, phrase_cap, "not served by its version");
        return FED_CONTACT_CONTENT;
    }
    if (status != 0) {
        snprintf(phrase, phrase_cap, "refused: %s", rpc_status_name(status));
        return FED_CONTACT_CONTENT;
    }
    if (err->code == ECL_E_CRYPTO || err->code == ECL_E_PRECONDITION || err->code == ECL_E_INPUT) {
        catalog_phrase(err, phrase, phrase_cap);
        return FED_CONTACT_CONTENT;
    }
    snprintf(phrase, phrase_cap, "error here");
    return FED_CONTACT_REACH;
}

/* How many rotations from the bundle's key lead to the key held, and to
 * the peer's newest: its rotation chain, verified link by link. */
static int key_generations(gateway *gw, const fed_peer *peer, uint64_t *held, uint64_t *newest,
                           ecl_err *err)
{
    unsigned char(*keys)[crypto_sign_PUBLICKEYBYTES] = NULL;
    size_t n = 0;
    if (gateway_peer_key_chain(gw, peer, &keys, &n, err) != 0)
        return -1;
    size_t i = 0;
    while (i < n && memcmp(keys[i], peer->pinned_key, crypto_sign_PUBLICKEYBYTES) != 0)
        i++;
    free(keys);
    if (i == n)
        return ecl_fail(err, ECL_E_CRYPTO,
                        "the key held for '%s' is not on the rotation chain it sends",
                        peer->info.site);
    *held = i;
    *newest = n - 1;
    return 0;
}

static void contact_ok(gateway *gw, const fed_peer *peer, peer_contact_what what, int64_t now)
{
    const fed_peer_contact *c = &peer->contact;
    if (what == PEER_CONTACT_WITNESS && c->error_kind == FED_CONTACT_NONE &&
        now - c->ok_unix < WITNESS_OK_QUIET_S)
        return;
    ecl_err err;
    fed_contact_kind clears =
        what == PEER_CONTACT_PULL ? FED_CONTACT_CONTENT : FED_CONTACT_REFUSED_US;
    uint64_t held = 0, newest = 0;
    int rc = fed_state_contact_ok(gw->state, peer->info.site, now, clears, &err);
    /* The pull may have pinned a rotated key: read the peer as it is now. */
    fed_peer fresh;
    if (rc == 0 && what == PEER_CONTACT_PULL &&
        fed_state_get_peer(gw->state, peer->info.site, &fresh, &err) == 0) {
        if (key_generations(gw, &fresh, &held, &newest, &err) == 0)
            rc = fed_state_contact_generations(gw->state, peer->info.site, held, newest, &err);
        else
            rc = -1;
        fed_peer_clear(&fresh);
    }
    if (rc != 0)
        ecl_log(ECL_LOG_WARN, "peer.status_unnoted", "site", peer->info.site, "error", err.msg,
                NULL);
}

static void contact_failed(gateway *gw, const fed_peer *peer, peer_contact_what what,
                           const ecl_err *why, int64_t now)
{
    const fed_peer_contact *c = &peer->contact;
    if (what == PEER_CONTACT_WITNESS &&
        (why->remote_status == 0 ||
         ((c->error_kind == FED_CONTACT_REACH || c->error_kind == FED_CONTACT_REFUSED_US) &&
          now - c->error_unix < WITNESS_ERROR_QUIET_S)))
        return; /* a refusal of its own (witness.c records it), or known already */
    peer_probe probe;
    int probed = why->remote_status == GRPC_STATUS_UNAVAILABLE;
    if (probed) {
        unsigned timeout = GATEWAY_SETTING(gw, peer_timeout_ms);
        peer_probe_tls(
            gw, peer, timeout < PROBE_TIMEOUT_MAX_MS ? (int)timeout : PROBE_TIMEOUT_MAX_MS, &probe);
    }
    char phrase[FED_CONTACT_PHRASE_MAX], detail[FED_CONTACT_DETAIL_MAX];
    fed_contact_kind kind = peer_error_describe(why, probed ? &probe : NULL, c->ok_unix != 0,
                                                phrase, sizeof(phrase), detail, sizeof(detail));
    ecl_err err;
    if (fed_state_contact_failed(gw->state, peer->info.site, now, kind, phrase, detail, &err) != 0)
        ecl_log(ECL_LOG_WARN, "peer.status_unnoted", "site", peer->info.site, "error", err.msg,
                NULL);
    else if (c->error_kind != kind || strcmp(c->error_phrase, phrase) != 0)
        ecl_log(ECL_LOG_WARN, "peer.status", "site", peer->info.site, "error", phrase, "detail",
                detail, NULL);
}

void gateway_peer_contact(gateway *gw, const fed_peer *peer, peer_contact_what what,
                          const ecl_err *err)
{
    int64_t now = (int64_t)time(NULL);
    if (err != NULL && atomic_load(&gw->stopping))
        return; /* a call the stop cancelled says nothing of the peer */
    if (err == NULL)
        contact_ok(gw, peer, what, now);
    else
        contact_failed(gw, peer, what, err, now);
}

void gateway_peer_heard_from(gateway *gw, const ecl_identity *caller)
{
    if (caller->role != ECL_ROLE_GATEWAY || strcmp(caller->site, gw->cfg.site) == 0)
        return;
    int first = 0;
    ecl_err err;
    if (fed_state_contact_recheck(gw->state, caller->site, FED_CONTACT_REFUSED_US, &first, &err) !=
            0 ||
        !first)
        return;
    ecl_log(ECL_LOG_INFO, "peer.recheck", "site", caller->site, "why",
            "it called us, so it has added us: pulling from it now", NULL);
    pthread_mutex_lock(&gw->sync_lock);
    gw->sync_kick = 1;
    pthread_cond_broadcast(&gw->sync_wake);
    pthread_mutex_unlock(&gw->sync_lock);
}
