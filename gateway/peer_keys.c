/* peer_keys.c - a peer's signing keys, from the one its bundle was added
 * with through every rotation it publishes. */
#include <stdlib.h>
#include <string.h>

#include "federation/key_history.h"
#include "gateway/gateway.h"

int gateway_peer_key_chain(gateway *gw, const fed_peer *peer,
                           unsigned char (**keys)[crypto_sign_PUBLICKEYBYTES], size_t *n,
                           ecl_err *err)
{
    rpc_channel *ch = NULL;
    if (gateway_peer_channel(gw, peer, &ch, err) != 0)
        return -1;
    Ecluse__V1__KeyRotationsRequest req = ECLUSE__V1__KEY_ROTATIONS_REQUEST__INIT;
    req.since_key.data = (uint8_t *)peer->info.signing_key;
    req.since_key.len = crypto_sign_PUBLICKEYBYTES;
    ProtobufCMessage *resp = NULL;
    int rc = rpc_unary(ch, "/ecluse.v1.Federation/GetKeyRotations", &req.base,
                       &ecluse__v1__key_rotation_list__descriptor, &resp,
                       (int)GATEWAY_SETTING(gw, peer_timeout_ms), err);
    rpc_channel_close(ch);
    if (rc != 0)
        return ecl_err_prefix(err, "the key rotations of site '%s'", peer->info.site);
    const Ecluse__V1__KeyRotationList *list = (const Ecluse__V1__KeyRotationList *)resp;
    rc = fed_rotation_keys(peer->info.site, peer->info.signing_key, list->rotations,
                           list->n_rotations, keys, n, err);
    protobuf_c_message_free_unpacked(resp, NULL);
    return rc;
}

int gateway_peer_keys(gateway *gw, const char *site, int history,
                      unsigned char (**keys)[crypto_sign_PUBLICKEYBYTES], size_t *n, ecl_err *err)
{
    fed_peer peer;
    if (fed_state_get_peer(gw->state, site, &peer, err) != 0) {
        if (err->code == ECL_E_NOT_FOUND)
            return ecl_fail(err, ECL_E_DENIED, "site '%s' is not a peer of this site", site);
        return -1;
    }
    int rc = 0;
    if (history) {
        rc = gateway_peer_key_chain(gw, &peer, keys, n, err);
    } else {
        *keys = malloc(crypto_sign_PUBLICKEYBYTES);
        if (*keys == NULL)
            rc = ecl_fail(err, ECL_E_INTERNAL, "out of memory");
        else {
            memcpy((*keys)[0], peer.pinned_key, crypto_sign_PUBLICKEYBYTES);
            *n = 1;
        }
    }
    fed_peer_clear(&peer);
    return rc;
}
