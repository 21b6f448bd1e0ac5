/* fetch_records.c - remove withdrawn rows from what a read wrote. */
#include <limits.h>

#include "cli/fetch_records.h"
#include "client/fetch_record.h"

int fetch_records_apply_erasure(const char *read_id, const ecl_row_range *ranges, size_t n,
                                ecl_erase_result *res, ecl_err *err)
{
    ecl_erase_result ignored;
    char dir[PATH_MAX];
    ecl_fetch_record rec;
    if (ecl_fetch_records_dir(dir, sizeof(dir), err) != 0 ||
        ecl_fetch_record_load(dir, read_id, &rec, err) != 0)
        return -1;
    int rc = ecl_erase_rows(dir, &rec, ranges, n, res != NULL ? res : &ignored, err);
    if (rc != 0)
        ecl_err_prefix(err, "read %s", read_id);
    ecl_fetch_record_clear(&rec);
    return rc;
}
