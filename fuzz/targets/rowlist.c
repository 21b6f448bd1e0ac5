/* rowlist.c - fuzz target: the row lists of Admin.EraseRows and
 * Audit.Recipients (store_rowlist_parse), text from a caller's request.
 * Input: the list's text (cut at its first NUL byte, as a protobuf string
 * reaches the parser). */
#include <stdlib.h>
#include <string.h>

#include "fuzz/fuzz.h"
#include "store/rowlist.h"

int fz_rowlist(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    store_rowset *rs = NULL;
    ecl_err err;
    ecl_err_clear(&err);
    int ok = FZ_CHECK("store_rowlist_parse", store_rowlist_parse(text, &rs, &err), &err,
                      ECL_E_INPUT, ECL_E_LIMIT);
    if (!ok) {
        free(text);
        return 0;
    }
    /* What it accepted, written back and read again, is the same set: the
     * list an erasure names is the list its record shows. */
    static char back[STORE_ROWLIST_MAX_ITEMS * 48];
    store_rowlist_format(rs, back, sizeof(back));
    if (strlen(back) > STORE_ROWLIST_MAX_TEXT) { /* "98,99" is "98:100": it can grow */
        store_rowset_free(rs);
        free(text);
        return 1;
    }
    store_rowset *again = NULL;
    if (store_rowlist_parse(back, &again, &err) != 0)
        fz_fail("rowlist '%.64s' written back as '%.64s' does not parse: %s", text, back, err.msg);
    size_t n = store_rowset_range_count(rs);
    if (store_rowset_range_count(again) != n || store_rowset_rows(again) != store_rowset_rows(rs))
        fz_fail("rowlist '%.64s' written back as '%.64s' is another set", text, back);
    for (size_t i = 0; i < n; i++) {
        uint64_t b1, e1, b2, e2;
        store_rowset_range(rs, i, &b1, &e1);
        store_rowset_range(again, i, &b2, &e2);
        if (b1 != b2 || e1 != e2 || b1 >= e1)
            fz_fail("rowlist '%.64s': range %zu differs once written back", text, i);
    }
    store_rowset_free(again);
    store_rowset_free(rs);
    free(text);
    return 1;
}
