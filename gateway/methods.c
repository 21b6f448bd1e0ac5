/* methods.c - every method of ecluse.v1, who may call it, who serves it.
 *
 * The roles here are the authorisation policy of the protocol: the server
 * checks them before any handler runs. A NULL handler means the method is
 * part of the protocol but not served by this build: callers get
 * UNIMPLEMENTED with that said, never a hang. */
#include "gateway/gateway.h"
#include "proto/ecluse.pb-c.h"
#include "proto/grpc/health/v1/health.pb-c.h"
#include "proto/grpc/reflection/v1/reflection.pb-c.h"

#define ROLES_ALL ECL_ROLES_ANY
#define R         ECL_ROLE_RESEARCHER
#define A         ECL_ROLE_AUDITOR
#define ADM       ECL_ROLE_ADMIN
#define GW        ECL_ROLE_GATEWAY

#define UNARY(svc, name, req, roles, fn)                                                           \
    {                                                                                              \
        "/ecluse.v1." svc "/" name, RPC_UNARY, &ecluse__v1__##req##__descriptor, (roles), (fn)     \
    }
#define STREAM(svc, name, req, roles, fn)                                                          \
    {                                                                                              \
        "/ecluse.v1." svc "/" name, RPC_SERVER_STREAMING, &ecluse__v1__##req##__descriptor,        \
            (roles), (fn)                                                                          \
    }

static const rpc_method methods[] = {
    UNARY("Health", "Check", health_check_request, ROLES_ALL, svc_health_check),

    UNARY("Federation", "GetPeerInfo", peer_info_request, GW | ADM, svc_federation_peer_info),
    STREAM("Federation", "GetCatalog", get_catalog_request, GW, svc_federation_get_catalog),
    UNARY("Federation", "GetKeyRotations", key_rotations_request, GW, svc_federation_key_rotations),
    UNARY("Federation", "AddCheckpoint", add_checkpoint_request, GW, svc_federation_add_checkpoint),
    UNARY("Federation", "GetWitnessedCheckpoints", witness_request, GW | A,
          svc_federation_witnessed),
    UNARY("Federation", "ForwardAccess", forwarded_access_request, GW,
          svc_federation_forward_access),
    STREAM("Federation", "ForwardRead", forwarded_read_request, GW, svc_federation_forward_read),
    UNARY("Federation", "ForwardReceipt", forwarded_receipt_request, GW,
          svc_federation_forward_receipt),
    UNARY("Federation", "NotifyChanged", change_notice, GW, svc_federation_notify_changed),
    UNARY("Federation", "DeliverErasureNotice", signed_erasure_notice, GW,
          svc_federation_deliver_erasure_notice),
    UNARY("Federation", "AckErasureNotice", signed_erasure_ack, GW,
          svc_federation_ack_erasure_notice),

    STREAM("Catalog", "List", catalog_query, R | A | ADM, svc_catalog_list),
    UNARY("Catalog", "Get", get_dataset_request, R | A | ADM, svc_catalog_get),
    UNARY("Catalog", "Refresh", refresh_request, R | ADM, svc_catalog_refresh),

    UNARY("Access", "Request", access_request, R, svc_access_request),
    UNARY("Access", "Check", access_request, R | A | ADM, svc_access_check),

    STREAM("Data", "Read", read_request, R, svc_data_read),
    UNARY("Data", "Receipt", receipt_request, R, svc_data_receipt),

    STREAM("Audit", "Query", audit_query, A, svc_audit_query),
    UNARY("Audit", "Verify", verify_request, A, svc_audit_verify),
    UNARY("Audit", "Head", head_request, A | GW, svc_audit_head),
    UNARY("Audit", "Prove", proof_request, A | GW, svc_audit_proof),
    STREAM("Audit", "Processing", processing_query, A, svc_audit_processing),
    STREAM("Audit", "Recipients", recipients_query, A, svc_audit_recipients),

    STREAM("Notices", "List", notice_query, R | A | ADM, svc_notices_list),
    UNARY("Notices", "Ack", notice_ack_request, R | ADM, svc_notices_ack),
    STREAM("Notices", "Sent", notice_query, A | ADM, svc_notices_sent),

    UNARY("Admin", "AddDataset", add_dataset_request, ADM, svc_admin_add_dataset),
    UNARY("Admin", "RemoveDataset", remove_dataset_request, ADM, svc_admin_remove_dataset),
    STREAM("Admin", "ListDatasets", list_datasets_request, ADM, svc_admin_list_datasets),
    UNARY("Admin", "AddPeer", peer_bundle, ADM, svc_admin_add_peer),
    UNARY("Admin", "RemovePeer", remove_peer_request, ADM, svc_admin_remove_peer),
    STREAM("Admin", "ListPeers", list_peers_request, ADM, svc_admin_list_peers),
    UNARY("Admin", "RotateKey", rotate_key_request, ADM, svc_admin_rotate_key),
    UNARY("Admin", "SignCheckpoint", sign_checkpoint_request, ADM, svc_admin_sign_checkpoint),
    UNARY("Admin", "RecordPki", pki_record, ADM, svc_admin_record_pki),

    /* The standard gRPC protocols, for every caller the server lets in, as
     * ecluse.v1.Health (docs/protocol.md): probes and schema browsers. The
     * two reflection versions are one protocol on the wire, decoded with
     * v1's messages. */
    {"/grpc.health.v1.Health/Check", RPC_UNARY, &grpc__health__v1__health_check_request__descriptor,
     ROLES_ALL, svc_health_std_check},
    {"/grpc.health.v1.Health/Watch", RPC_SERVER_STREAMING,
     &grpc__health__v1__health_check_request__descriptor, ROLES_ALL, svc_health_std_watch},
    {"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", RPC_BIDI_STREAMING,
     &grpc__reflection__v1__server_reflection_request__descriptor, ROLES_ALL, svc_reflection_info},
    {"/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", RPC_BIDI_STREAMING,
     &grpc__reflection__v1__server_reflection_request__descriptor, ROLES_ALL, svc_reflection_info},
    UNARY("Admin", "EraseRows", erase_rows_request, ADM, svc_admin_erase_rows),
};

const rpc_method *gateway_methods(size_t *count)
{
    *count = sizeof(methods) / sizeof(methods[0]);
    return methods;
}
