/*
 * proto/descriptor_set.h - the FileDescriptorSet of every .proto the gateway
 * serves (ecluse.proto, grpc/health/v1, grpc/reflection/v1 and v1alpha, with
 * their imports), as protoc emitted it at build time (proto/BUILD). Server
 * reflection answers from these bytes; nothing here is written by hand.
 */
#ifndef ECLUSE_PROTO_DESCRIPTOR_SET_H
#define ECLUSE_PROTO_DESCRIPTOR_SET_H

#include <stddef.h>

extern const unsigned char ecl_descriptor_set[];
extern const size_t ecl_descriptor_set_len;

#endif
