#!/bin/bash
# fuzz/run.sh [SECONDS] [TARGET...] - build every fuzz target of ecluse with
# clang (libFuzzer + ASan + UBSan) straight from the project's sources, run
# each for SECONDS (default 10), one after the other, and report.
#
#   bash fuzz/run.sh            # every target, 10 s each
#   bash fuzz/run.sh 600 csv    # a longer run of one target
#
# Each target starts from its seeds (fuzz/corpus/<target>/) and the inputs
# that once broke it (fuzz/regressions/<target>/); what it learns is kept in
# $ECLUSE_FUZZ_OUT/corpus/<target>/ (default /tmp/ecluse-fuzz), so later runs
# go on from there. A crash, leak, timeout or broken promise stops that
# target; its input is saved as $ECLUSE_FUZZ_OUT/crashes/<target>/crash-*
# (copy it into fuzz/regressions/<target>/ once fixed: it becomes a test).
#
# Prints one line per target and ends with "fuzz: N passed, M failed".
# Exit status: 0 if every target passed, 1 otherwise, 2 if the build failed.
set -uo pipefail
cd "$(dirname "$0")/.."

seconds="${1:-10}"
shift || true
[[ "$seconds" =~ ^[0-9]+$ && "$seconds" -ge 1 ]] || { echo "usage: fuzz/run.sh [SECONDS] [TARGET...]" >&2; exit 2; }
out="${ECLUSE_FUZZ_OUT:-/tmp/ecluse-fuzz}"
cc="${CC_FUZZ:-clang}"
mkdir -p "$out/gen/proto" "$out/obj" "$out/bin" "$out/corpus" "$out/crashes" "$out/logs"

all_targets=$(sed -n 's/^    {"\([a-z_]*\)", fz_[a-z_]*},$/\1/p' fuzz/harness.c)
targets="${*:-$all_targets}"

# ---- build -------------------------------------------------------------------
# BLAKE3 (read digests v3) from Debian's librust-blake3-dev, as
# third_party/blake3 builds it for Bazel.
b3=/usr/share/cargo/registry/blake3-1.3.1/c
flags=(-std=c11 -D_GNU_SOURCE -g -O1 -fno-omit-frame-pointer -Wall -Wextra
       -fsanitize=address,undefined -fno-sanitize-recover=undefined
       -I. -I"$out/gen" -I"$b3")
# gRPC only for the client library's objects (client/read.c holds the
# stream verifier next to the calls); no target makes a call.
libs=(-llmdb -lsodium -ljansson -lgrpc -lgpr -lssl -lcrypto -lprotobuf-c -lz -lm -lpthread)

# An object is rebuilt when its source or any header it included (clang's
# dependency file) is newer, or when this script changed.
stale() {
    local obj="$1" dep
    [[ -e "$obj" && -e "$obj.d" && ! "$0" -nt "$obj" ]] || return 0
    for dep in $(sed -e 's/^[^:]*://' -e 's/\\$//' "$obj.d"); do
        [[ "$dep" -nt "$obj" ]] && return 0
    done
    return 1
}

build() {
    protoc-c --proto_path=proto --c_out="$out/gen/proto" proto/ecluse.proto || return 1
    # The standard health and reflection requests (rpc_request), included as
    # proto/grpc/... the way proto/BUILD rewrites them.
    protoc-c --proto_path=proto --c_out="$out/gen/proto" grpc/health/v1/health.proto \
        grpc/reflection/v1/reflection.proto || return 1
    sed -i 's,^#include "grpc/,#include "proto/grpc/,' "$out/gen/proto/grpc/health/v1/health.pb-c.c" \
        "$out/gen/proto/grpc/reflection/v1/reflection.pb-c.c" || return 1
    local srcs=(common/bytes.c common/err.c common/fileio.c common/log.c common/merkle.c common/note.c
                common/read_digest.c "$out/gen/proto/ecluse.pb-c.c"
                "$out/gen/proto/grpc/health/v1/health.pb-c.c"
                "$out/gen/proto/grpc/reflection/v1/reflection.pb-c.c"
                federation/bundle.c federation/catalog.c
                site/*.c gateway/grant.c gateway/attestation.c gateway/relay_scan.c
                rpc/*.c client/*.c
                store/*.c policy/*.c audit/*.c fuzz/harness.c fuzz/targets/*.c
                "$b3"/blake3.c "$b3"/blake3_dispatch.c "$b3"/blake3_portable.c
                "$b3"/blake3_sse2_x86-64_unix.S "$b3"/blake3_sse41_x86-64_unix.S
                "$b3"/blake3_avx2_x86-64_unix.S "$b3"/blake3_avx512_x86-64_unix.S)
    local objs=() src obj
    for src in "${srcs[@]}"; do
        obj="$out/obj/$(echo "${src#"$out/gen/"}" | sed "s|^$b3/|blake3/|" | tr / _).o"
        objs+=("$obj")
        if stale "$obj"; then
            "$cc" "${flags[@]}" -fsanitize=fuzzer-no-link -MMD -MF "$obj.d" -c "$src" -o "$obj" ||
                return 1
        fi
    done
    rm -f "$out/libecluse_fuzz.a"
    ar rcs "$out/libecluse_fuzz.a" "${objs[@]}" || return 1
    local t
    for t in $targets; do
        "$cc" "${flags[@]}" -fsanitize=fuzzer -DFZ_TARGET="fz_$t" fuzz/libfuzzer_main.c \
            "$out/libecluse_fuzz.a" "${libs[@]}" -o "$out/bin/fuzz_$t" || return 1
    done
}

if ! build >"$out/logs/build.log" 2>&1; then
    cat "$out/logs/build.log"
    echo "fuzz: build failed"
    echo "fuzz: 0 passed, $(echo $targets | wc -w) failed"
    exit 2
fi

# ---- run ---------------------------------------------------------------------
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:symbolize=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
passed=0
failed=0
for t in $targets; do
    mkdir -p "$out/corpus/$t" "$out/crashes/$t" fuzz/corpus/"$t" fuzz/regressions/"$t"
    log="$out/logs/$t.log"
    "$out/bin/fuzz_$t" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
        -malloc_limit_mb=1024 -max_len=65536 -print_final_stats=1 \
        -artifact_prefix="$out/crashes/$t/" \
        "$out/corpus/$t" "fuzz/corpus/$t" "fuzz/regressions/$t" >"$log" 2>&1
    rc=$?
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
    corpus=$(ls "$out/corpus/$t" | wc -l)
    if [[ $rc -eq 0 ]]; then
        passed=$((passed + 1))
        echo "fuzz $t: ok runs=${runs:-0} cov=${cov:-0} ft=${ft:-0} corpus=$corpus"
    else
        failed=$((failed + 1))
        art=$(grep -o "Test unit written to [^ ]*" "$log" | tail -1 | sed 's/Test unit written to //')
        why=$(grep -m1 -oE 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer|UndefinedBehaviorSanitizer)[^(]*|runtime error: .*|broken promise: .*' "$log")
        echo "fuzz $t: FAILED (exit $rc) runs=${runs:-0} cov=${cov:-0} ${why:-see $log} input=${art:-none} log=$log"
    fi
done
echo "fuzz: $passed passed, $failed failed"
[[ $failed -eq 0 ]]
