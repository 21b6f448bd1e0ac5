/* bytes.c - the slow path of the bounded reader (bytes.h). */
#include "common/bytes.h"

int ecl_rd_varint_long(ecl_rd *r, uint64_t *v)
{
    *v = 0;
    if (r->failed)
        return -1;
    const unsigned char *p = r->p;
    uint64_t x = 0;
    for (unsigned i = 0; i < ECL_VARINT_MAX && p < r->end; i++, p++) {
        uint64_t b = *p;
        /* The 10th byte holds bit 63 only: anything more is past UINT64_MAX,
         * and a continuation bit there would make an 11th byte. */
        if (i == ECL_VARINT_MAX - 1 && b > 1)
            return ecl_rd_fail(r);
        x |= (b & 0x7f) << (7 * i);
        if (b < 0x80) {
            r->p = p + 1;
            *v = x;
            return 0;
        }
    }
    return ecl_rd_fail(r); /* ends past the data, or not within 10 bytes */
}
