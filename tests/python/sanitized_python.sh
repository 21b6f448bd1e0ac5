# Sourced by the shell tests whose python3 loads libecluse_client.so. In the
# sanitizer build (ECLUSE_SANITIZED=1) the library is instrumented, and its
# runtime must come first in a python3 that is not: "${py_env[@]}" before
# /usr/bin/python3 preloads it, with no leak report (python3's own would
# fail it) and no quarantine of freed memory (the loader's memory test
# measures what is held). Elsewhere py_env is empty.
py_env=()
if [[ "${ECLUSE_SANITIZED:-}" == 1 ]]; then
    py_env=(env "LD_PRELOAD=$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
        "ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:quarantine_size_mb=0")
fi
