/* rowset.c - fuzz target: withdrawn-rows files (store_rowset_parse), the
 * GDPR Art. 17 erasure lists a site admin writes. */
#include "fuzz/fuzz.h"
#include "store/rowset.h"

int fz_rowset(const uint8_t *data, size_t size)
{
    store_rowset *rs = NULL;
    ecl_err err;
    ecl_err_clear(&err);
    if (!FZ_CHECK("store_rowset_parse",
                  store_rowset_parse((const char *)data, size, "fuzz.json", &rs, &err), &err,
                  ECL_E_INPUT, ECL_E_LIMIT))
        return 0;
    /* The set is normalised: ranges sorted, non-empty, disjoint, not adjacent,
     * and the row count is their sum. */
    size_t n = store_rowset_range_count(rs);
    uint64_t prev_end = 0, total = 0;
    for (size_t i = 0; i < n; i++) {
        uint64_t b, e;
        store_rowset_range(rs, i, &b, &e);
        if (b >= e || (i > 0 && b <= prev_end))
            fz_fail("rowset range %zu [%llu, %llu) after end %llu is not normalised", i,
                    (unsigned long long)b, (unsigned long long)e, (unsigned long long)prev_end);
        if (!store_rowset_contains(rs, b) || !store_rowset_contains(rs, e - 1) ||
            store_rowset_contains(rs, e))
            fz_fail("rowset range %zu [%llu, %llu) disagrees with contains()", i,
                    (unsigned long long)b, (unsigned long long)e);
        total += e - b;
        prev_end = e;
    }
    if (total != store_rowset_rows(rs))
        fz_fail("rowset rows %llu, ranges sum to %llu", (unsigned long long)store_rowset_rows(rs),
                (unsigned long long)total);
    store_rowset_free(rs);
    return 1;
}
