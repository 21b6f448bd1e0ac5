/*
 * st_header.h - (internal) validation of a safetensors file held in memory.
 *
 * Used by store_open() on the mmap'd file; separate so the rules of the
 * format live in one small file.
 */
#ifndef ECLUSE_STORE_ST_HEADER_H
#define ECLUSE_STORE_ST_HEADER_H

#include <jansson.h>

#include "store/dataset.h"

typedef struct st_header {
    json_t *root;          /* the parsed header; owns every name string */
    store_tensor *tensors; /* n entries, sorted by data offset */
    size_t n;
    json_t *metadata; /* borrowed from root; NULL if absent */
    uint64_t header_len;
} st_header;

/* Validate `size` bytes at `file` as safetensors and fill *out, whose tensor
 * data pointers point into `file`. `what` names the file in messages.
 * Errors: ECL_E_INPUT (message names the rule, tensor and offsets),
 * ECL_E_LIMIT (too many dims), ECL_E_INTERNAL (out of memory). */
int st_header_parse(const unsigned char *file, uint64_t size, const char *what, st_header *out,
                    ecl_err *err) ECL_WUR;

void st_header_free(st_header *h);

#endif
