/* rpc_request.c - fuzz target: every request message of ecluse.v1 (and of
 * grpc.health.v1 and grpc.reflection.v1, which ecluse also serves) as the
 * gateway decodes it (rpc_server.c: protobuf_c_message_unpack with the
 * method's request descriptor from gateway/methods.c), and the responses a
 * gateway decodes from its peers (gateway/sync.c, gateway/witness.c,
 * gateway/svc_checkpoint.c).
 *
 * Input: a selector byte (which message type, modulo the number of types),
 * then the message bytes. A message that decodes must encode to bytes that
 * decode and encode again to the same bytes, and every string field must be
 * NUL-terminated (the handlers use them as C strings). */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "proto/ecluse.pb-c.h"
#include "proto/grpc/health/v1/health.pb-c.h"
#include "proto/grpc/reflection/v1/reflection.pb-c.h"

static const ProtobufCMessageDescriptor *const descriptors[] = {
    /* requests, in the order of gateway/methods.c */
    &ecluse__v1__health_check_request__descriptor,
    &ecluse__v1__peer_info_request__descriptor,
    &ecluse__v1__get_catalog_request__descriptor,
    &ecluse__v1__key_rotations_request__descriptor,
    &ecluse__v1__add_checkpoint_request__descriptor,
    &ecluse__v1__witness_request__descriptor,
    &ecluse__v1__forwarded_access_request__descriptor,
    &ecluse__v1__forwarded_read_request__descriptor,
    &ecluse__v1__forwarded_receipt_request__descriptor,
    &ecluse__v1__catalog_query__descriptor,
    &ecluse__v1__get_dataset_request__descriptor,
    &ecluse__v1__refresh_request__descriptor,
    &ecluse__v1__access_request__descriptor,
    &ecluse__v1__read_request__descriptor,
    &ecluse__v1__receipt_request__descriptor,
    &ecluse__v1__audit_query__descriptor,
    &ecluse__v1__verify_request__descriptor,
    &ecluse__v1__head_request__descriptor,
    &ecluse__v1__proof_request__descriptor,
    &ecluse__v1__processing_query__descriptor,
    &ecluse__v1__add_dataset_request__descriptor,
    &ecluse__v1__remove_dataset_request__descriptor,
    &ecluse__v1__list_datasets_request__descriptor,
    &ecluse__v1__peer_bundle__descriptor,
    &ecluse__v1__remove_peer_request__descriptor,
    &ecluse__v1__list_peers_request__descriptor,
    &ecluse__v1__rotate_key_request__descriptor,
    &ecluse__v1__sign_checkpoint_request__descriptor,
    &ecluse__v1__pki_record__descriptor,
    /* responses a gateway decodes from peers */
    &ecluse__v1__catalog_part__descriptor,
    &ecluse__v1__key_rotation_list__descriptor,
    &ecluse__v1__add_checkpoint_response__descriptor,
    &ecluse__v1__checkpoint_list__descriptor,
    &ecluse__v1__read_receipt__descriptor,
    /* added later, at the end so earlier seeds keep their selector byte */
    &ecluse__v1__change_notice__descriptor,
    &ecluse__v1__change_notice_reply__descriptor,
    /* erasure (issue 19) */
    &ecluse__v1__erase_rows_request__descriptor,
    &ecluse__v1__recipients_query__descriptor,
    /* erasure notices (docs/erasure-notices.md) */
    &ecluse__v1__signed_erasure_notice__descriptor,
    &ecluse__v1__signed_erasure_ack__descriptor,
    &ecluse__v1__erasure_notice_reply__descriptor,
    &ecluse__v1__notice_query__descriptor,
    &ecluse__v1__notice_ack_request__descriptor,
    /* the standard services (grpc.health.v1, grpc.reflection.v1 and v1alpha) */
    &grpc__health__v1__health_check_request__descriptor,
    &grpc__reflection__v1__server_reflection_request__descriptor,
};

const ProtobufCMessageDescriptor *const *fz_rpc_descriptors(size_t *count)
{
    *count = sizeof(descriptors) / sizeof(descriptors[0]);
    return descriptors;
}

/* Every string in `m` (and the messages it holds) is terminated. */
static void check_strings(const ProtobufCMessage *m, int depth)
{
    if (depth > 64)
        fz_fail("%s nested deeper than 64", m->descriptor->name);
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
            *(const uint32_t *)((const char *)m + f->quantifier_offset) != f->id)
            continue; /* another member of the oneof holds the storage */
        const char *base = (const char *)m + f->offset;
        size_t n = 1;
        const void *const *items = (const void *const *)base;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            n = *(const size_t *)((const char *)m + f->quantifier_offset);
            items = *(const void *const *const *)base;
        }
        if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        for (size_t k = 0; k < n; k++) {
            const void *v = items[k];
            if (v == NULL) {
                if (f->type == PROTOBUF_C_TYPE_STRING || f->label == PROTOBUF_C_LABEL_REPEATED)
                    fz_fail("%s.%s[%zu] is NULL", d->name, f->name, k);
                continue;
            }
            if (f->type == PROTOBUF_C_TYPE_STRING)
                (void)strlen(v); /* ASan: terminated inside its allocation */
            else
                check_strings(v, depth + 1);
        }
    }
}

/* 1 if `m` or a message inside it kept unknown fields. protobuf-c keeps them
 * as read and writes them back in a canonical form it does not always read
 * again (a field number 0 written as a two-byte tag): the gateway ignores
 * them, so the round trip is checked only for messages without any. */
static int has_unknown(const ProtobufCMessage *m)
{
    if (m->n_unknown_fields != 0)
        return 1;
    const ProtobufCMessageDescriptor *d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        if (f->type != PROTOBUF_C_TYPE_MESSAGE ||
            ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
             *(const uint32_t *)((const char *)m + f->quantifier_offset) != f->id))
            continue;
        const char *base = (const char *)m + f->offset;
        size_t n = 1;
        const ProtobufCMessage *const *items = (const ProtobufCMessage *const *)base;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            n = *(const size_t *)((const char *)m + f->quantifier_offset);
            items = *(const ProtobufCMessage *const *const *)base;
        }
        for (size_t k = 0; k < n; k++)
            if (items[k] != NULL && has_unknown(items[k]))
                return 1;
    }
    return 0;
}

int fz_rpc_request(const uint8_t *data, size_t size)
{
    fz_reader r = {data, size};
    size_t count;
    const ProtobufCMessageDescriptor *const *all = fz_rpc_descriptors(&count);
    const ProtobufCMessageDescriptor *d = all[fz_u8(&r) % count];
    ProtobufCMessage *m = protobuf_c_message_unpack(d, NULL, r.left, r.p);
    if (m == NULL)
        return 0;
    check_strings(m, 0);
    if (has_unknown(m)) {
        protobuf_c_message_free_unpacked(m, NULL);
        return 1;
    }
    size_t n1 = protobuf_c_message_get_packed_size(m);
    uint8_t *b1 = malloc(n1 + 1);
    if (b1 == NULL)
        fz_fail("out of memory");
    if (protobuf_c_message_pack(m, b1) != n1)
        fz_fail("%s packs to another size than it said", d->name);
    ProtobufCMessage *m2 = protobuf_c_message_unpack(d, NULL, n1, b1);
    if (m2 == NULL)
        fz_fail("%s decoded, but its re-encoding does not", d->name);
    size_t n2 = protobuf_c_message_get_packed_size(m2);
    uint8_t *b2 = malloc(n2 + 1);
    if (b2 == NULL)
        fz_fail("out of memory");
    if (protobuf_c_message_pack(m2, b2) != n2 || n2 != n1 || memcmp(b1, b2, n1) != 0)
        fz_fail("%s: re-encoding is not stable", d->name);
    free(b1);
    free(b2);
    protobuf_c_message_free_unpacked(m2, NULL);
    protobuf_c_message_free_unpacked(m, NULL);
    return 1;
}
