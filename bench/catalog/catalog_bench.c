/*
 * catalog_bench.c - signing and verifying catalogs of 1k, 10k, 100k entries.
 *
 * Baselines, measured in the same run on the same bytes:
 *   - hash: one BLAKE2b pass over the entries (the least any digest costs);
 *   - decode: protobuf-c decoding every entry once (what any check of the
 *     entries' ids costs).
 * A verify that costs about hash + decode has no overhead of its own.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "federation/catalog.h"

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static const char *policy =
    "{\"category\": \"special\", \"special_category\": \"health\", \"lawful_bases\": "
    "[\"art6-1-e+art9-2-j\"], \"purposes\": {\"allowed\": [\"HMB\", \"DS-C50\"], "
    "\"modifiers\": [\"NPU\", \"IRB\"]}, \"max_rows\": 10000, \"retention_days\": 365}";

static ProtobufCBinaryData *make_entries(size_t n, size_t *bytes)
{
    ProtobufCBinaryData *list = calloc(n, sizeof(*list));
    *bytes = 0;
    uint8_t digest[32] = {1, 2, 3};
    uint64_t shape[2] = {569, 30};
    for (size_t i = 0; i < n; i++) {
        char id[64];
        snprintf(id, sizeof(id), "lu/dataset-%07zu", i);
        Ecluse__V1__TensorInfo t = ECLUSE__V1__TENSOR_INFO__INIT;
        t.name = "features";
        t.dtype = "F32";
        t.n_shape = 2;
        t.shape = shape;
        t.byte_size = 569 * 30 * 4;
        t.digest.data = digest;
        t.digest.len = sizeof(digest);
        Ecluse__V1__TensorInfo *tp = &t;
        Ecluse__V1__DatasetEntry e = ECLUSE__V1__DATASET_ENTRY__INIT;
        e.id = id;
        e.title = "Diagnostic features of fine-needle aspirates";
        e.description = "Thirty real-valued features per sample, one label.";
        e.licence = "CC-BY-4.0";
        e.provenance = "UCI ML repository";
        e.contact = "data@lu.example";
        e.policy_json = (char *)policy;
        e.n_tensors = 1;
        e.tensors = &tp;
        e.rows = 569;
        list[i].len = ecluse__v1__dataset_entry__get_packed_size(&e);
        list[i].data = malloc(list[i].len);
        ecluse__v1__dataset_entry__pack(&e, list[i].data);
        *bytes += list[i].len;
    }
    return list;
}

int main(void)
{
    site_key key;
    ecl_err err;
    signer *key_signer = NULL;
    if (site_key_generate(&key, &err) != 0 || signer_local(&key, &key_signer, &err) != 0)
        return 1;
    printf("%-8s %9s %10s %10s %10s %10s %9s\n", "entries", "MB", "sign ms", "verify ms", "hash ms",
           "decode ms", "verify/(hash+decode)");
    size_t sizes[] = {1000, 10000, 100000};
    for (size_t s = 0; s < 3; s++) {
        size_t n = sizes[s], bytes = 0;
        ProtobufCBinaryData *e = make_entries(n, &bytes);
        int64_t t0 = (int64_t)time(NULL);

        double a = now_s();
        unsigned char digest[32];
        catalog_entries_digest(e, n, digest);
        double hash = now_s() - a;

        a = now_s();
        for (size_t i = 0; i < n; i++) {
            Ecluse__V1__DatasetEntry *d =
                ecluse__v1__dataset_entry__unpack(NULL, e[i].len, e[i].data);
            ecluse__v1__dataset_entry__free_unpacked(d, NULL);
        }
        double decode = now_s() - a;

        catalog *c = NULL;
        a = now_s();
        if (catalog_sign("lu", "LU", 1, t0, t0 + 86400, e, n, key_signer, &c, &err) != 0) {
            fprintf(stderr, "sign: %s\n", err.msg);
            return 1;
        }
        double sign = now_s() - a;

        ProtobufCBinaryData h = catalog_header_bytes(c), sig = catalog_signature(c);
        catalog_expect ex = {"lu", key.public_key, 0, NULL, t0};
        catalog *v = NULL;
        a = now_s();
        if (catalog_verify(h.data, h.len, sig.data, sig.len, e, n, &ex, &v, &err) != 0) {
            fprintf(stderr, "verify: %s\n", err.msg);
            return 1;
        }
        double verify = now_s() - a;
        printf("%-8zu %9.1f %10.1f %10.1f %10.1f %10.1f %9.2f\n", n, (double)bytes / 1e6,
               sign * 1e3, verify * 1e3, hash * 1e3, decode * 1e3, verify / (hash + decode));
        catalog_free(v);
        catalog_free(c);
        for (size_t i = 0; i < n; i++)
            free(e[i].data);
        free(e);
    }
    signer_free(key_signer);
    site_key_wipe(&key);
    return 0;
}
