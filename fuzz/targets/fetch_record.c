/* fetch_record.c - fuzz target: the fetch records `ecluse fetch` keeps
 * (client/fetch_record.h, ecl_fetch_record_load_file) and the row lists of
 * `ecluse fetches erase-rows --rows` (ecl_row_ranges_parse). The first
 * byte chooses: even, a record file; odd, a --rows text. An accepted
 * record has normal row lists and survives a save and a load unchanged; an
 * accepted row list is normal and parses back from its own text. */
#include <stdlib.h>
#include <string.h>

#include "client/fetch_record.h"
#include "client/row_ranges.h"
#include "fuzz/fuzz.h"

static void check_normal(const char *what, const ecl_row_range *r, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (r[i].begin >= r[i].end || (i > 0 && r[i].begin <= r[i - 1].end))
            fz_fail("%s: range %zu [%llu, %llu) is empty, out of order or touches the one "
                    "before",
                    what, i, (unsigned long long)r[i].begin, (unsigned long long)r[i].end);
}

static int same_ranges(const ecl_row_range *a, size_t na, const ecl_row_range *b, size_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof(*a)) == 0);
}

static int fuzz_record(const uint8_t *data, size_t size)
{
    char path[PATH_MAX], saved[PATH_MAX + 80];
    fz_write_temp("record.json", data, size, path);
    ecl_fetch_record r, back;
    ecl_err err;
    ecl_err_clear(&err);
    if (!FZ_CHECK("ecl_fetch_record_load_file", ecl_fetch_record_load_file(path, &r, &err), &err,
                  ECL_E_INPUT, ECL_E_LIMIT))
        return 0;
    check_normal("rows", r.rows, r.n_rows);
    check_normal("erased", r.erased, r.n_erased);
    check_normal("pending.erase", r.pending_erase, r.n_pending_erase);
    if (ecl_fetch_record_save(fz_temp_dir(), &r, &err) != 0)
        fz_fail("an accepted record cannot be saved: %s", err.msg);
    snprintf(saved, sizeof(saved), "%s/%s.json", fz_temp_dir(), r.read_id);
    if (ecl_fetch_record_load_file(saved, &back, &err) != 0)
        fz_fail("a saved record does not load: %s", err.msg);
    if (strcmp(r.read_id, back.read_id) != 0 || strcmp(r.file, back.file) != 0 ||
        strcmp(r.sha256, back.sha256) != 0 || strcmp(r.pending_sha256, back.pending_sha256) != 0 ||
        r.n_tensors != back.n_tensors || !same_ranges(r.rows, r.n_rows, back.rows, back.n_rows) ||
        !same_ranges(r.erased, r.n_erased, back.erased, back.n_erased))
        fz_fail("record of read %s changed in a save and a load", r.read_id);
    ecl_fetch_record_clear(&r);
    ecl_fetch_record_clear(&back);
    return 1;
}

static int fuzz_rows(const uint8_t *data, size_t size)
{
    char *text = fz_strndup(data, size), again[4096];
    ecl_row_range *r = NULL, *r2 = NULL;
    size_t n = 0, n2 = 0;
    ecl_err err;
    ecl_err_clear(&err);
    if (!FZ_CHECK("ecl_row_ranges_parse", ecl_row_ranges_parse(text, "--rows", &r, &n, &err), &err,
                  ECL_E_USAGE)) {
        free(text);
        return 0;
    }
    check_normal("--rows", r, n);
    if (ecl_row_ranges_rows(r, n) < ecl_row_ranges_common(r, n, r, n))
        fz_fail("--rows: a list has fewer rows than it shares with itself");
    ecl_row_ranges_format(r, n, again, sizeof(again));
    if (strstr(again, "...") == NULL) {
        if (ecl_row_ranges_parse(again, "--rows", &r2, &n2, &err) != 0)
            fz_fail("'%s' (from '%s') does not parse: %s", again, text, err.msg);
        if (!same_ranges(r, n, r2, n2))
            fz_fail("'%s' parses to another list than '%s'", again, text);
    }
    free(r);
    free(r2);
    free(text);
    return 1;
}

int fz_fetch_record(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    return data[0] % 2 == 0 ? fuzz_record(data + 1, size - 1) : fuzz_rows(data + 1, size - 1);
}
