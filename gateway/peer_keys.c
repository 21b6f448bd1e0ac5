/* peer_keys.c - a peer's signing keys, from the one its bundle was added
 * with through every rotation it publishes. */
#include <stdlib.h>

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
