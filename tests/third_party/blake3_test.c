/* The Bazel-built BLAKE3 (@blake3, Debian's reference C code) against
 * BLAKE3's published test vectors: every case, in the three modes, the
 * extended output and its 32-byte prefix, fed whole and in uneven pieces
 * (so the SIMD paths over many 1 KiB chunks and the buffered partial chunk
 * are both taken). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "blake3.h"

#include "tests/third_party/blake3_vectors.inc"

#define XOF_BYTES 131
#define KEY       "whats the Elvish word for friend"
#define CONTEXT   "BLAKE3 2019-12-27 16:29:52 test vectors context"

static unsigned char *input_of(size_t len)
{
    unsigned char *in = malloc(len ? len : 1);
    assert_non_null(in);
    for (size_t i = 0; i < len; i++)
        in[i] = (unsigned char)(i % 251);
    return in;
}

static void unhex(const char *hex, unsigned char out[XOF_BYTES])
{
    size_t n = 0;
    assert_int_equal(sodium_hex2bin(out, XOF_BYTES, hex, strlen(hex), NULL, &n, NULL), 0);
    assert_int_equal(n, XOF_BYTES);
}

/* Feed `in` whole (step 0) or in pieces of `step` bytes, then check the
 * extended output and the default 32-byte one against `want_hex`. */
static void check(blake3_hasher *fresh, const unsigned char *in, size_t len, size_t step,
                  const char *want_hex)
{
    blake3_hasher h = *fresh;
    if (step == 0)
        blake3_hasher_update(&h, in, len);
    else
        for (size_t at = 0; at < len; at += step)
            blake3_hasher_update(&h, in + at, len - at < step ? len - at : step);
    unsigned char want[XOF_BYTES], got[XOF_BYTES], short_out[BLAKE3_OUT_LEN];
    unhex(want_hex, want);
    blake3_hasher_finalize(&h, got, sizeof(got));
    assert_memory_equal(got, want, XOF_BYTES);
    blake3_hasher_finalize(&h, short_out, sizeof(short_out));
    assert_memory_equal(short_out, want, BLAKE3_OUT_LEN);
}

static void test_published_vectors(void **state)
{
    (void)state;
    assert_int_equal(strlen(KEY), BLAKE3_KEY_LEN);
    static const size_t steps[] = {0, 1, 63, 1000, 4097};
    for (size_t c = 0; c < sizeof(b3_cases) / sizeof(b3_cases[0]); c++) {
        const struct b3_case *v = &b3_cases[c];
        unsigned char *in = input_of(v->len);
        blake3_hasher plain, keyed, derive;
        blake3_hasher_init(&plain);
        blake3_hasher_init_keyed(&keyed, (const uint8_t *)KEY);
        blake3_hasher_init_derive_key(&derive, CONTEXT);
        for (size_t s = 0; s < sizeof(steps) / sizeof(steps[0]); s++) {
            if (steps[s] == 1 && v->len > 8192)
                continue; /* byte by byte only where it is quick under valgrind */
            check(&plain, in, v->len, steps[s], v->hash);
            check(&keyed, in, v->len, steps[s], v->keyed);
            check(&derive, in, v->len, steps[s], v->derive);
        }
        free(in);
    }
}

/* A changed input byte changes the digest: the vectors are not passed by a
 * hasher that ignores its input. */
static void test_one_byte_changes_the_digest(void **state)
{
    (void)state;
    unsigned char *in = input_of(102400);
    unsigned char a[BLAKE3_OUT_LEN], b[BLAKE3_OUT_LEN];
    blake3_hasher h;
    blake3_hasher_init(&h);
    blake3_hasher_update(&h, in, 102400);
    blake3_hasher_finalize(&h, a, sizeof(a));
    in[70000] ^= 1;
    blake3_hasher_init(&h);
    blake3_hasher_update(&h, in, 102400);
    blake3_hasher_finalize(&h, b, sizeof(b));
    assert_memory_not_equal(a, b, sizeof(a));
    free(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_published_vectors),
        cmocka_unit_test(test_one_byte_changes_the_digest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
