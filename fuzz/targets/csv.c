/* csv.c - fuzz target: CSV import (store_csv_read), written to a temporary
 * file as `ecluse dataset import` reads one.
 *
 * Input: an options byte, then the file. Options: bits 0-1 the delimiter
 * (',' ';' '\t' or runs of blanks), bit 2 a header line, bits 3-4 the label
 * (none, last column, first column, the column named "label"), bits 5-6 the
 * number of lines skipped. */
#include <limits.h>
#include <math.h>

#include "fuzz/fuzz.h"
#include "store/csv.h"

int fz_csv(const uint8_t *data, size_t size)
{
    fz_reader r = {data, size};
    uint8_t o = fz_u8(&r);
    store_csv_opts opts;
    store_csv_opts_init(&opts);
    static const char delims[] = {',', ';', '\t', 0};
    opts.delimiter = delims[o & 3];
    opts.header = (o >> 2) & 1;
    switch ((o >> 3) & 3) {
    case 1:
        opts.label = STORE_LABEL_INDEX;
        opts.label_index = -1;
        break;
    case 2:
        opts.label = STORE_LABEL_INDEX;
        opts.label_index = 0;
        break;
    case 3:
        opts.label = STORE_LABEL_NAME;
        opts.label_name = "label";
        break;
    }
    opts.skip_lines = (o >> 5) & 3;
    char path[PATH_MAX];
    fz_write_temp("table.csv", r.p, r.left, path);
    store_table t;
    ecl_err err;
    ecl_err_clear(&err);
    if (!FZ_CHECK("store_csv_read", store_csv_read(path, &opts, &t, &err), &err, ECL_E_INPUT,
                  ECL_E_USAGE, ECL_E_LIMIT))
        return 0;
    if (t.rows == 0)
        fz_fail("CSV accepted with no data rows");
    if ((opts.label != STORE_LABEL_NONE) != (t.labels != NULL))
        fz_fail("CSV labels %s though the options %s them", t.labels ? "read" : "missing",
                opts.label ? "ask for" : "do not ask for");
    if (opts.header != (t.names != NULL))
        fz_fail("CSV header names do not follow the header option");
    volatile float sum = 0; /* touch every cell: ASan checks the sizes */
    for (uint64_t i = 0; i < t.rows * t.cols; i++)
        sum += isnan(t.features[i]) ? 0.0f : 1.0f;
    for (uint64_t i = 0; t.labels && i < t.rows; i++)
        sum += (float)(t.labels[i] & 1);
    for (uint64_t i = 0; t.names && i < t.cols; i++)
        if (t.names[i] == NULL)
            fz_fail("CSV column %llu has no name", (unsigned long long)i);
    (void)sum;
    store_table_free(&t);
    return 1;
}
