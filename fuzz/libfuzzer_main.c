/* libfuzzer_main.c - libFuzzer's entry point for one target, chosen when
 * fuzz/run.sh compiles this file with -DFZ_TARGET=fz_<name>. */
#include "fuzz/fuzz.h"

#ifndef FZ_TARGET
#error "compile with -DFZ_TARGET=fz_<name>"
#endif

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    (void)FZ_TARGET(data, size);
    return 0;
}
