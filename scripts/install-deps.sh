#!/bin/bash
# Installs the Debian 12 packages ecluse builds, tests and runs with, if any
# are missing. Idempotent: with everything present it does nothing.
set -euo pipefail

packages=(
    # build
    bazel-bootstrap gcc libc6-dev
    # gRPC C core, protobuf-c, and the code generators
    libgrpc-dev protobuf-c-compiler libprotobuf-c-dev protobuf-compiler protobuf-compiler-grpc
    # crypto, storage, formats
    libssl-dev libsodium-dev liblmdb-dev lmdb-utils libjansson-dev zlib1g-dev
    # BLAKE3's reference C sources (the read digests v3, third_party/blake3)
    librust-blake3-dev
    # tests
    libcmocka-dev python3 python3-grpcio python3-protobuf python3-numpy python3-lmdb python3-nacl python3-torch
    # fuzzing (clang's libFuzzer and sanitizers) and memory checking
    clang libclang-rt-14-dev valgrind
    # DCAT-AP checks (tests/standards): the npm SHACL validator, rdflib
    # (npm: below, as some nodejs builds carry it and conflict with Debian's)
    nodejs python3-rdflib
    # operations: sd_notify (libsystemd), systemd-analyze for the unit's test, groff for man pages
    libsystemd-dev systemd groff-base
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done

# Debian's nodejs leaves npm to its own package; NodeSource's includes it and
# conflicts with that package.
if ! command -v npm >/dev/null 2>&1; then
    missing+=(npm)
fi

if ((${#missing[@]} == 0)); then
    echo "ecluse: all build and test dependencies are installed"
    exit 0
fi
if [[ $(id -u) -ne 0 ]]; then
    echo "ecluse: missing Debian packages: ${missing[*]}" >&2
    echo "ecluse: run this as root (or install them with sudo apt-get install)" >&2
    exit 1
fi
echo "ecluse: installing ${missing[*]}"
apt-get update -q
DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${missing[@]}"
