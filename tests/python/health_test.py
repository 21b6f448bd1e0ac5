"""A standard gRPC client (Debian's python3-grpcio) talks to an ecluse gateway.

The stubs come from proto/ecluse.proto; the gateway and the identities are
real, made by run_python_test.sh. Proves the wire protocol is plain gRPC +
protobuf over mutual TLS, usable without any ecluse code.
"""
import json
import os
import sys
import unittest

import grpc

sys.path.insert(0, os.environ["ECLUSE_PY_STUBS"])
import ecluse_pb2  # noqa: E402
import ecluse_pb2_grpc  # noqa: E402


def identity_files(directory):
    def read(name):
        with open(os.path.join(directory, name), "rb") as f:
            return f.read()

    with open(os.path.join(directory, "identity.json")) as f:
        meta = json.load(f)
    return read("ca.pem"), read("key.pem"), read("cert.pem"), meta


def channel_for(directory, with_client_cert=True):
    ca, key, cert, meta = identity_files(directory)
    if with_client_cert:
        creds = grpc.ssl_channel_credentials(ca, key, cert)
    else:
        creds = grpc.ssl_channel_credentials(ca)
    return grpc.secure_channel(meta["gateway"], creds), meta


class HealthOverMutualTLS(unittest.TestCase):
    def test_researcher_gets_health_and_is_recognised(self):
        channel, meta = channel_for(os.environ["ECLUSE_RESEARCHER"])
        with channel:
            stub = ecluse_pb2_grpc.HealthStub(channel)
            reply = stub.Check(ecluse_pb2.HealthCheckRequest(), timeout=10)
        self.assertEqual(reply.site, meta["site"])
        self.assertEqual(reply.country, os.environ["ECLUSE_COUNTRY"])
        self.assertTrue(reply.version)
        self.assertEqual(reply.caller.role, "researcher")
        self.assertEqual(reply.caller.name, meta["name"])

    def test_auditor_gets_health(self):
        channel, meta = channel_for(os.environ["ECLUSE_AUDITOR"])
        with channel:
            reply = ecluse_pb2_grpc.HealthStub(channel).Check(
                ecluse_pb2.HealthCheckRequest(), timeout=10)
        self.assertEqual(reply.caller.role, "auditor")

    def test_no_client_certificate_is_refused(self):
        channel, _ = channel_for(os.environ["ECLUSE_RESEARCHER"], with_client_cert=False)
        with channel:
            with self.assertRaises(grpc.RpcError) as caught:
                ecluse_pb2_grpc.HealthStub(channel).Check(
                    ecluse_pb2.HealthCheckRequest(), timeout=10)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAVAILABLE)

    def test_wrong_role_is_permission_denied(self):
        channel, _ = channel_for(os.environ["ECLUSE_RESEARCHER"])
        with channel:
            with self.assertRaises(grpc.RpcError) as caught:
                ecluse_pb2_grpc.AdminStub(channel).RemovePeer(
                    ecluse_pb2.RemovePeerRequest(site="lu"), timeout=10)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.PERMISSION_DENIED)
        self.assertIn("/ecluse.v1.Admin/RemovePeer", caught.exception.details())


if __name__ == "__main__":
    unittest.main(verbosity=2)
