"""Standard gRPC clients against a real ecluse gateway, over mutual TLS.

health:     grpcio's health stub (generated from the standard health.proto)
            checks SERVING, NOT_FOUND and SERVICE_UNKNOWN; then writes to
            the (nearly full) audit trail until it refuses, and checks that
            Check and a Watch opened before both say NOT_SERVING.
stop:       a Watch sees SERVING, the gateway is sent SIGTERM, the Watch
            sees NOT_SERVING and ends UNAVAILABLE.
reflection: a client written from the reflection proto lists the services
            (v1 and v1alpha), fetches and resolves file descriptors, gets
            NOT_FOUND-style errors, and calls ecluse.v1.Health/Check with
            messages built from the reflected descriptors alone.

Prints "<mode>: ok" and exits 0, or fails with what went wrong.
"""
import argparse
import os
import queue
import signal
import sys
import threading

import grpc

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

ECLUSE_SERVICES = ["ecluse.v1." + s for s in
                   ("Health", "Federation", "Catalog", "Access", "Data", "Audit", "Admin",
                    "Notices")]
STANDARD_SERVICES = ["grpc.health.v1.Health", "grpc.reflection.v1.ServerReflection",
                     "grpc.reflection.v1alpha.ServerReflection"]


def fail(why):
    print("FAIL: " + why, flush=True)
    sys.exit(1)


def expect(cond, why):
    if not cond:
        fail(why)


def channel(args):
    def read(p):
        with open(p, "rb") as f:
            return f.read()
    creds = grpc.ssl_channel_credentials(read(args.ca), read(args.key), read(args.cert))
    return grpc.secure_channel("127.0.0.1:%d" % args.port, creds)


def watch_into(stream, q):
    """Each status the stream sends, then its end: ("end", code)."""
    try:
        for resp in stream:
            q.put(("status", resp.status))
        q.put(("end", grpc.StatusCode.OK))
    except grpc.RpcError as e:
        q.put(("end", e.code()))


def next_event(q, timeout, what):
    try:
        return q.get(timeout=timeout)
    except queue.Empty:
        fail("no %s within %.0f s" % (what, timeout))


def health(args, ch):
    import health_pb2
    import health_pb2_grpc
    import ecluse_pb2
    import ecluse_pb2_grpc
    R = health_pb2.HealthCheckResponse
    stub = health_pb2_grpc.HealthStub(ch)

    def check(service):
        return stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=args.timeout)

    for svc in [""] + ECLUSE_SERVICES + STANDARD_SERVICES:
        expect(check(svc).status == R.SERVING, "Check(%r) is not SERVING" % svc)
    try:
        check("ecluse.v1.NoSuch")
        fail("Check of an unknown service succeeded")
    except grpc.RpcError as e:
        expect(e.code() == grpc.StatusCode.NOT_FOUND, "unknown service: %s" % e.code())
        expect("ecluse.v1.NoSuch" in e.details(), "the NOT_FOUND does not name the service: "
               + e.details())

    unknown = stub.Watch(health_pb2.HealthCheckRequest(service="ecluse.v1.NoSuch"),
                         timeout=args.timeout)
    expect(next(unknown).status == R.SERVICE_UNKNOWN, "Watch of an unknown service")
    unknown.cancel()

    events = queue.Queue()
    watch = stub.Watch(health_pb2.HealthCheckRequest(service=""))
    threading.Thread(target=watch_into, args=(watch, events), daemon=True).start()
    expect(next_event(events, args.timeout, "first Watch status") == ("status", R.SERVING),
           "Watch did not start with SERVING")

    # Audit entries until the trail refuses one: removing a dataset that is
    # not there is refused, and the refusal is written to the trail.
    admin = ecluse_pb2_grpc.AdminStub(ch)
    refused = False
    for _ in range(args.writes):
        try:
            admin.RemoveDataset(ecluse_pb2.RemoveDatasetRequest(id=args.site + "/absent"),
                                timeout=args.timeout)
        except grpc.RpcError:
            pass
        if check("").status == R.NOT_SERVING:
            refused = True
            break
    expect(refused, "Check never said NOT_SERVING while the trail was being filled")
    for svc in ECLUSE_SERVICES:
        expect(check(svc).status == R.NOT_SERVING, "Check(%r) is not NOT_SERVING" % svc)
    got = next_event(events, args.timeout, "Watch change")
    expect(got == ("status", R.NOT_SERVING), "Watch said %r, not NOT_SERVING" % (got,))
    watch.cancel()


def stop(args, ch):
    import health_pb2
    import health_pb2_grpc
    R = health_pb2.HealthCheckResponse
    stub = health_pb2_grpc.HealthStub(ch)
    events = queue.Queue()
    watch = stub.Watch(health_pb2.HealthCheckRequest(service="ecluse.v1.Data"))
    threading.Thread(target=watch_into, args=(watch, events), daemon=True).start()
    expect(next_event(events, args.timeout, "first Watch status") == ("status", R.SERVING),
           "Watch did not start with SERVING")
    os.kill(args.pid, signal.SIGTERM)
    got = next_event(events, args.timeout, "status at stop")
    expect(got == ("status", R.NOT_SERVING), "Watch said %r at the stop, not NOT_SERVING" % (got,))
    end = next_event(events, args.timeout, "end of the Watch")
    expect(end == ("end", grpc.StatusCode.UNAVAILABLE), "the Watch ended %r" % (end,))


def reflection(args, ch):
    import reflection_pb2 as rp
    import reflection_pb2_grpc

    def session(path):
        """Send each request and return the responses, over one stream."""
        call = ch.stream_stream(path, request_serializer=rp.ServerReflectionRequest.SerializeToString,
                                response_deserializer=rp.ServerReflectionResponse.FromString)
        return lambda reqs: list(call(iter(reqs), timeout=args.timeout))

    v1 = session("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo")
    v1alpha = session("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
    # The generated stub names the same path as the generic v1 call.
    expect(reflection_pb2_grpc.ServerReflectionStub(ch).ServerReflectionInfo._method ==
           b"/grpc.reflection.v1.ServerReflection/ServerReflectionInfo", "stub path")

    everyone = set(ECLUSE_SERVICES + STANDARD_SERVICES)
    for ask in (v1, v1alpha):
        (listed,) = ask([rp.ServerReflectionRequest(host="h", list_services="*")])
        expect(listed.valid_host == "h", "valid_host is not the host asked")
        expect(listed.original_request.list_services == "*", "original_request")
        names = {s.name for s in listed.list_services_response.service}
        expect(names == everyone, "list_services gave %s" % sorted(names))

    def files_of(resp):
        expect(resp.WhichOneof("message_response") == "file_descriptor_response",
               "not a file: %s" % resp)
        out = []
        for raw in resp.file_descriptor_response.file_descriptor_proto:
            fd = descriptor_pb2.FileDescriptorProto()
            fd.ParseFromString(raw)
            out.append(fd)
        return out

    def error_of(resp):
        expect(resp.WhichOneof("message_response") == "error_response", "not an error: %s" % resp)
        return resp.error_response

    got = v1([
        rp.ServerReflectionRequest(file_containing_symbol="ecluse.v1.Health"),
        rp.ServerReflectionRequest(file_containing_symbol="ecluse.v1.Health.Check"),
        rp.ServerReflectionRequest(file_containing_symbol=".ecluse.v1.HealthCheckResponse"),
        rp.ServerReflectionRequest(file_by_filename="grpc/health/v1/health.proto"),
        rp.ServerReflectionRequest(
            file_containing_symbol="grpc.health.v1.HealthCheckResponse.ServingStatus"),
        rp.ServerReflectionRequest(file_containing_symbol="no.such.Symbol"),
        rp.ServerReflectionRequest(file_by_filename="no/such.proto"),
        rp.ServerReflectionRequest(file_containing_extension=rp.ExtensionRequest(
            containing_type="ecluse.v1.HealthCheckRequest", extension_number=100)),
        rp.ServerReflectionRequest(all_extension_numbers_of_type="ecluse.v1.HealthCheckRequest"),
        rp.ServerReflectionRequest(all_extension_numbers_of_type="no.such.Type"),
        rp.ServerReflectionRequest(host="only"),
    ])
    expect(len(got) == 11, "%d responses to 11 requests" % len(got))
    ecluse_files = files_of(got[0])
    expect([f.name for f in ecluse_files] == ["ecluse.proto"], "ecluse.v1.Health's file")
    expect(ecluse_files[0].package == "ecluse.v1", "package of ecluse.proto")
    expect([f.name for f in files_of(got[1])] == ["ecluse.proto"], "a method's file")
    expect([f.name for f in files_of(got[2])] == ["ecluse.proto"], "a message's file")
    health_files = files_of(got[3])
    expect([(f.name, f.package) for f in health_files] ==
           [("grpc/health/v1/health.proto", "grpc.health.v1")], "health.proto by name")
    expect([f.name for f in files_of(got[4])] == ["grpc/health/v1/health.proto"],
           "a nested enum's file")
    for i, what in ((5, "no.such.Symbol"), (6, "no/such.proto"), (7, "100"), (9, "no.such.Type")):
        e = error_of(got[i])
        expect(e.error_code == grpc.StatusCode.NOT_FOUND.value[0],
               "error code %d for %s" % (e.error_code, what))
        expect(what in e.error_message, "the error does not name %s: %s" % (what, e.error_message))
    nums = got[8].all_extension_numbers_response
    expect(nums.base_type_name == "ecluse.v1.HealthCheckRequest" and
           list(nums.extension_number) == [], "all_extension_numbers_of_type: %s" % nums)
    expect(error_of(got[10]).error_code == grpc.StatusCode.INVALID_ARGUMENT.value[0],
           "a request asking nothing")

    # Bytes that are no ServerReflectionRequest end the stream, named.
    raw = ch.stream_stream("/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
                           request_serializer=lambda b: b, response_deserializer=lambda b: b)
    try:
        list(raw(iter([b"\xff\xff\xff"]), timeout=args.timeout))
        fail("a malformed reflection request was answered")
    except grpc.RpcError as e:
        expect(e.code() == grpc.StatusCode.INVALID_ARGUMENT, "malformed: %s" % e.code())
        expect("not a valid grpc.reflection.v1.ServerReflectionRequest" in e.details(),
               "malformed: " + e.details())

    # A working call from the reflected descriptors alone, in a pool of its own.
    pool = descriptor_pool.DescriptorPool()
    for fd in ecluse_files:
        pool.Add(fd)
    method = pool.FindServiceByName("ecluse.v1.Health").FindMethodByName("Check")
    if hasattr(message_factory, "GetMessageClass"):
        make = message_factory.GetMessageClass
    else:
        make = message_factory.MessageFactory(pool).GetPrototype
    Request, Response = make(method.input_type), make(method.output_type)
    call = ch.unary_unary("/ecluse.v1.Health/Check", request_serializer=Request.SerializeToString,
                          response_deserializer=Response.FromString)
    resp = call(Request(), timeout=args.timeout)
    expect(getattr(resp, "site") == args.site, "Health.Check from reflection: %s" % resp)
    expect(getattr(resp, "caller").role == "admin", "the caller: %s" % resp)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["health", "stop", "reflection"])
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--ca", required=True)
    ap.add_argument("--cert", required=True)
    ap.add_argument("--key", required=True)
    ap.add_argument("--site", default="")
    ap.add_argument("--pid", type=int, default=0)
    ap.add_argument("--timeout", type=float, default=30)
    ap.add_argument("--writes", type=int, default=200)
    ap.add_argument("--stubs", action="append", default=[])
    args = ap.parse_args()
    sys.path[:0] = args.stubs
    with channel(args) as ch:
        {"health": health, "stop": stop, "reflection": reflection}[args.mode](args, ch)
    print(args.mode + ": ok", flush=True)


if __name__ == "__main__":
    main()
