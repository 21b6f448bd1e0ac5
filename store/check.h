/*
 * check.h - the publishing checks: can a dataset be served as its policy
 * describes it? `ecluse dataset add` refuses to publish, and `ecluse policy
 * check --data` reports, whatever these find (docs/storage.md, "Publishing
 * checks"):
 *
 *   - a tensor the policy declares that the data lacks;
 *   - row-addressed tensors (those with at least one dimension; dimension 0
 *     is the row) of different row counts, or with zero rows;
 *   - a NaN or an infinity in a floating-point tensor (F8_E5M2, F8_E4M3,
 *     F16, BF16, F32, F64), unless allow_nonfinite;
 *   - a negative value in a label tensor of a signed integer dtype (I8, I16,
 *     I32, I64), unless allow_negative_labels. The label tensor is the one
 *     named "labels" or "label" (the name the CSV import gives it).
 *
 * Only the tensors the policy declares are checked: the others are never
 * served. The values are read from the map once, about as fast as a digest.
 */
#ifndef ECLUSE_STORE_CHECK_H
#define ECLUSE_STORE_CHECK_H

#include <stddef.h>

#include "common/err.h"
#include "store/dataset.h"

typedef struct store_publish_rules {
    const char *const *tensors; /* the tensors the policy declares */
    size_t n_tensors;
    const char *source;         /* the file named in messages (the source the
                                   admin gave, not the stored copy) */
    const char *const *files;   /* optional, for .npy imports: the file of */
    const char *const *file_of; /* each tensor name file_of[i] is files[i] */
    size_t n_files;
    int allow_nonfinite;
    int allow_negative_labels;
} store_publish_rules;

/* Called once per problem found with a sentence that names the file, the
 * tensor and the problem ("d.csv: tensor 'features': 3 NaN/Inf values, the
 * first at row 2 ..."). */
typedef void (*store_publish_report)(void *ctx, const char *problem);

/* Run every check on `ds` (the dataset as stored after import). Each problem
 * goes to `report` (may be NULL). Returns 0 when there is none; otherwise -1
 * with ECL_E_INPUT and the first problem in `err`, followed by how many more
 * there are. */
int store_publish_check(const store_dataset *ds, const store_publish_rules *rules,
                        store_publish_report report, void *ctx, ecl_err *err) ECL_WUR;

#endif
