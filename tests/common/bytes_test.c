/* The bounded reader (common/bytes.h): every width and byte order against
 * known bytes, varints at their limits, and reads past the end that fail and
 * stay failed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/bytes.h"

static const unsigned char seq[] = {0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08,
                                    0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x0e, 0x0f, 0x10};

static void test_fixed_widths(void **state)
{
    (void)state;
    ecl_rd r;
    uint8_t b;
    uint16_t h;
    uint32_t w;
    uint64_t q;

    ecl_rd_init(&r, seq, sizeof(seq));
    assert_int_equal(ecl_rd_u8(&r, &b), 0);
    assert_int_equal(b, 0x01);
    assert_int_equal(ecl_rd_u16le(&r, &h), 0);
    assert_int_equal(h, 0x0302);
    assert_int_equal(ecl_rd_u16be(&r, &h), 0);
    assert_int_equal(h, 0x0405);
    assert_int_equal(ecl_rd_u32le(&r, &w), 0);
    assert_int_equal(w, 0x09080706u);
    assert_int_equal(ecl_rd_pos(&r), 9);
    assert_int_equal(ecl_rd_left(&r), 7);

    ecl_rd_init(&r, seq, sizeof(seq));
    assert_int_equal(ecl_rd_u32be(&r, &w), 0);
    assert_int_equal(w, 0x01020304u);
    assert_int_equal(ecl_rd_u64le(&r, &q), 0);
    assert_true(q == 0x0c0b0a0908070605ull);

    ecl_rd_init(&r, seq, sizeof(seq));
    assert_int_equal(ecl_rd_u64be(&r, &q), 0);
    assert_true(q == 0x0102030405060708ull);
    assert_int_equal(ecl_rd_u64be(&r, &q), 0);
    assert_true(q == 0x090a0b0c0d0e0f10ull);
    assert_int_equal(ecl_rd_left(&r), 0);
    assert_false(ecl_rd_failed(&r));

    /* High bits survive: no sign extension, no truncation. */
    static const unsigned char ff[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe};
    ecl_rd_init(&r, ff, sizeof(ff));
    assert_int_equal(ecl_rd_u64be(&r, &q), 0);
    assert_true(q == 0xfffffffffffffffeull);
    ecl_rd_init(&r, ff, sizeof(ff));
    assert_int_equal(ecl_rd_u64le(&r, &q), 0);
    assert_true(q == 0xfeffffffffffffffull);
    ecl_rd_init(&r, ff + 4, 4);
    assert_int_equal(ecl_rd_u32be(&r, &w), 0);
    assert_int_equal(w, 0xfffffffeu);
}

static void test_writers_round_trip(void **state)
{
    (void)state;
    unsigned char b[8];
    ecl_rd r;
    uint64_t q;
    uint32_t w;
    uint16_t h;

    ecl_put_u64be(b, 0x0102030405060708ull);
    assert_memory_equal(b, seq, 8);
    ecl_put_u64le(b, 0x0102030405060708ull);
    assert_int_equal(b[0], 0x08);
    assert_int_equal(b[7], 0x01);
    ecl_rd_init(&r, b, 8);
    assert_int_equal(ecl_rd_u64le(&r, &q), 0);
    assert_true(q == 0x0102030405060708ull);
    ecl_put_u32be(b, 0xa1b2c3d4u);
    assert_int_equal(b[0], 0xa1);
    assert_int_equal(b[3], 0xd4);
    ecl_rd_init(&r, b, 4);
    assert_int_equal(ecl_rd_u32be(&r, &w), 0);
    assert_int_equal(w, 0xa1b2c3d4u);
    ecl_put_u16be(b, 0xbeef);
    ecl_rd_init(&r, b, 2);
    assert_int_equal(ecl_rd_u16be(&r, &h), 0);
    assert_int_equal(h, 0xbeef);
}

static int varint_of(const unsigned char *p, size_t n, uint64_t *v, size_t *used)
{
    ecl_rd r;
    ecl_rd_init(&r, p, n);
    int rc = ecl_rd_varint(&r, v);
    *used = ecl_rd_pos(&r);
    return rc;
}

static void test_varints(void **state)
{
    (void)state;
    uint64_t v;
    size_t used;

    static const unsigned char one[] = {0x2a, 0xff};
    assert_int_equal(varint_of(one, sizeof(one), &v, &used), 0);
    assert_true(v == 42);
    assert_int_equal(used, 1);

    static const unsigned char two[] = {0xac, 0x02}; /* 300, protobuf's example */
    assert_int_equal(varint_of(two, sizeof(two), &v, &used), 0);
    assert_true(v == 300);
    assert_int_equal(used, 2);

    /* Non-minimal, as protobuf accepts it. */
    static const unsigned char zero2[] = {0x80, 0x00};
    assert_int_equal(varint_of(zero2, sizeof(zero2), &v, &used), 0);
    assert_true(v == 0);
    assert_int_equal(used, 2);

    /* 10 bytes: UINT64_MAX and 1 << 63. */
    static const unsigned char max[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal(varint_of(max, sizeof(max), &v, &used), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(used, 10);
    static const unsigned char top[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    assert_int_equal(varint_of(top, sizeof(top), &v, &used), 0);
    assert_true(v == (uint64_t)1 << 63);

    /* The 10th byte may hold bit 63 only. */
    static const unsigned char over[] = {0xff, 0xff, 0xff, 0xff, 0xff,
                                         0xff, 0xff, 0xff, 0xff, 0x02};
    assert_int_equal(varint_of(over, sizeof(over), &v, &used), -1);
    assert_true(v == 0);
    assert_int_equal(used, 0);

    /* 11 bytes: the 10th still continues. */
    static const unsigned char eleven[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
                                           0x80, 0x80, 0x80, 0x80, 0x00};
    assert_int_equal(varint_of(eleven, sizeof(eleven), &v, &used), -1);
    assert_int_equal(used, 0);

    /* Cut short: the last byte still says "more". */
    assert_int_equal(varint_of(two, 1, &v, &used), -1);
    assert_int_equal(varint_of(two, 0, &v, &used), -1);

    /* Several in a row, and the reader moves past each. */
    static const unsigned char row[] = {0x08, 0x96, 0x01, 0x7f};
    ecl_rd r;
    ecl_rd_init(&r, row, sizeof(row));
    assert_int_equal(ecl_rd_varint(&r, &v), 0);
    assert_true(v == 8);
    assert_int_equal(ecl_rd_varint(&r, &v), 0);
    assert_true(v == 150);
    assert_int_equal(ecl_rd_varint(&r, &v), 0);
    assert_true(v == 127);
    assert_int_equal(ecl_rd_left(&r), 0);
    assert_int_equal(ecl_rd_varint(&r, &v), -1);
}

static void test_past_the_end_sticks(void **state)
{
    (void)state;
    ecl_rd r;
    uint32_t w = 7;
    uint8_t b = 7;
    uint64_t v = 7;
    const unsigned char *p = seq;

    ecl_rd_init(&r, seq, 3);
    assert_int_equal(ecl_rd_u32le(&r, &w), -1);
    assert_int_equal(w, 0);
    assert_true(ecl_rd_failed(&r));
    assert_int_equal(ecl_rd_pos(&r), 0); /* where the failed read began */
    assert_int_equal(ecl_rd_left(&r), 0);
    /* Bytes that would fit now fail too. */
    assert_int_equal(ecl_rd_u8(&r, &b), -1);
    assert_int_equal(b, 0);
    assert_int_equal(ecl_rd_take(&r, 0, &p), -1);
    assert_null(p);
    assert_int_equal(ecl_rd_varint(&r, &v), -1);
    assert_int_equal(ecl_rd_skip(&r, 0), -1);
    assert_int_equal(ecl_rd_pos(&r), 0);

    /* Many reads, one check. */
    uint16_t h;
    ecl_rd_init(&r, seq, 5);
    int rc = ecl_rd_u16be(&r, &h) | ecl_rd_u32be(&r, &w) | ecl_rd_u8(&r, &b);
    assert_int_equal(rc, -1);
    assert_int_equal(h, 0x0102);
    assert_int_equal(w, 0);
    assert_int_equal(b, 0); /* a byte was left, but the reader had failed */
    assert_int_equal(ecl_rd_pos(&r), 2);

    /* A length from the input beyond any size_t of the data. */
    ecl_rd_init(&r, seq, sizeof(seq));
    assert_int_equal(ecl_rd_take(&r, UINT64_MAX, &p), -1);
    ecl_rd_init(&r, seq, sizeof(seq));
    assert_int_equal(ecl_rd_skip(&r, sizeof(seq) + 1), -1);

    /* Marked failed by the parser. */
    ecl_rd_init(&r, seq, sizeof(seq));
    assert_int_equal(ecl_rd_fail(&r), -1);
    assert_int_equal(ecl_rd_u8(&r, &b), -1);
}

static void test_take_and_exact(void **state)
{
    (void)state;
    ecl_rd r;
    const unsigned char *p = NULL;
    uint64_t q;

    ecl_rd_init(&r, seq, sizeof(seq));
    assert_int_equal(ecl_rd_take(&r, 0, &p), 0);
    assert_ptr_equal(p, seq);
    assert_int_equal(ecl_rd_pos(&r), 0);
    assert_int_equal(ecl_rd_skip(&r, 3), 0);
    assert_int_equal(ecl_rd_take(&r, 13, &p), 0); /* exactly what is left */
    assert_ptr_equal(p, seq + 3);
    assert_int_equal(ecl_rd_left(&r), 0);
    assert_int_equal(ecl_rd_take(&r, 0, &p), 0); /* at the end: still fine */
    assert_ptr_equal(p, seq + sizeof(seq));
    assert_false(ecl_rd_failed(&r));

    /* Empty and NULL data. */
    ecl_rd_init(&r, NULL, 0);
    assert_int_equal(ecl_rd_left(&r), 0);
    assert_int_equal(ecl_rd_take(&r, 0, &p), 0);
    assert_int_equal(ecl_rd_u8(&r, &(uint8_t){0}), -1);

    /* Exactly 8 bytes for a u64, 7 are not enough. */
    ecl_rd_init(&r, seq, 8);
    assert_int_equal(ecl_rd_u64le(&r, &q), 0);
    assert_true(q == 0x0807060504030201ull);
    ecl_rd_init(&r, seq, 7);
    assert_int_equal(ecl_rd_u64le(&r, &q), -1);

    /* copy */
    unsigned char out[4] = {0};
    ecl_rd_init(&r, seq, 6);
    assert_int_equal(ecl_rd_copy(&r, out, 4), 0);
    assert_memory_equal(out, seq, 4);
    memset(out, 0xaa, sizeof(out));
    assert_int_equal(ecl_rd_copy(&r, out, 4), -1);
    assert_int_equal(out[0], 0xaa); /* not written */

    /* At an offset of a fixed layout. */
    assert_int_equal(ecl_u64be_at(seq, sizeof(seq), 8, &q), 0);
    assert_true(q == 0x090a0b0c0d0e0f10ull);
    assert_int_equal(ecl_u64le_at(seq, sizeof(seq), 1, &q), 0);
    assert_true(q == 0x0908070605040302ull);
    assert_int_equal(ecl_u64be_at(seq, sizeof(seq), 9, &q), -1);
    assert_true(q == 0);
    assert_int_equal(ecl_u64be_at(seq, 4, SIZE_MAX, &q), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixed_widths),   cmocka_unit_test(test_writers_round_trip),
        cmocka_unit_test(test_varints),        cmocka_unit_test(test_past_the_end_sticks),
        cmocka_unit_test(test_take_and_exact),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
