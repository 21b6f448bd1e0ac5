/* store_bench - how fast imports, plans and digests run (a few seconds).
 *
 *   bazel run -c opt //bench/store:store_bench -- [DIR]
 *
 * DIR (default /tmp) receives a 64 MiB dataset, removed at the end. Prints
 * one line per measurement. The CSV figure needs examples/data (run from
 * the workspace root or through bazel run). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/csv.h"
#include "store/plan.h"
#include "store/writer.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int die(const ecl_err *err)
{
    fprintf(stderr, "store_bench: %s\n", err->msg);
    return 1;
}

/* Walk a plan; with hash, BLAKE2b every chunk as the gateway does. */
static int walk(store_dataset *ds, const store_plan_opts *o, int hash, const char *what)
{
    ecl_err err;
    store_plan *p;
    double t0 = now();
    if (store_plan_new(ds, o, &p, &err) != 0)
        return die(&err);
    store_chunk c;
    uint64_t bytes = 0, chunks = 0;
    unsigned char d[32], x = 0;
    while (store_plan_next(p, &c)) {
        if (hash) {
            crypto_generichash(d, 32, c.data, c.len, NULL, 0);
            x ^= d[0];
        } else {
            x ^= c.data[c.len - 1]; /* touch the data */
        }
        bytes += c.len;
        chunks++;
    }
    double s = now() - t0;
    /* Without hashing only one byte per chunk is read: the figure is the
     * plan's own cost per chunk, not the disk's. */
    printf("%-44s %8.1f MiB %6llu chunks %8.2f ms %8.0f ns/chunk%s", what, bytes / 1048576.0,
           (unsigned long long)chunks, s * 1e3, s * 1e9 / (double)chunks, x == 255 ? " " : "");
    if (hash)
        printf(" %6.0f MiB/s", bytes / 1048576.0 / s);
    printf("\n");
    store_plan_free(p);
    return 0;
}

static int bench_csv(void)
{
    store_csv_opts o;
    store_csv_opts_init(&o);
    o.label = STORE_LABEL_INDEX;
    o.label_index = -1;
    store_table t;
    ecl_err err;
    double t0 = now();
    if (store_csv_read("examples/data/digits.csv.gz", &o, &t, &err) != 0) {
        printf("csv: skipped (%s)\n", err.msg);
        return 0;
    }
    double s = now() - t0;
    printf("%-44s %8llu rows %8.3f s %8.0f rows/s\n", "csv read digits.csv.gz (gzip, 65 cols)",
           (unsigned long long)t.rows, s, t.rows / s);
    store_table_free(&t);
    return 0;
}

int main(int argc, char **argv)
{
    const char *dir = argc > 1 ? argv[1] : "/tmp";
    char path[4096];
    snprintf(path, sizeof(path), "%s/store_bench.%ld.safetensors", dir, (long)getpid());
    const uint64_t rows = 262144, cols = 64;
    float *x = malloc(rows * cols * sizeof(float));
    int64_t *y = malloc(rows * sizeof(int64_t));
    if (x == NULL || y == NULL || sodium_init() < 0)
        return 1;
    for (uint64_t i = 0; i < rows * cols; i++)
        x[i] = (float)(i % 1000);
    for (uint64_t i = 0; i < rows; i++)
        y[i] = (int64_t)(i % 10);
    ecl_err err;
    store_writer *w;
    uint64_t sx[2] = {rows, cols}, sy[1] = {rows};
    double t0 = now();
    if (store_writer_new(&w, &err) != 0 ||
        store_writer_add(w, "features", STORE_DT_F32, 2, sx, x, rows * cols * 4, &err) != 0 ||
        store_writer_add(w, "labels", STORE_DT_I64, 1, sy, y, rows * 8, &err) != 0 ||
        store_writer_write(w, path, &err) != 0)
        return die(&err);
    double s = now() - t0;
    printf("%-44s %8.1f MiB %8.3f s %8.0f MiB/s\n", "write + digest + fsync + rename",
           (rows * cols * 4 + rows * 8) / 1048576.0, s,
           (rows * cols * 4 + rows * 8) / 1048576.0 / s);
    store_writer_free(w);
    free(x);
    free(y);
    store_dataset *ds;
    t0 = now();
    if (store_open(path, &ds, &err) != 0)
        return die(&err);
    printf("%-44s %8.3f ms\n", "open (mmap + validate header)", (now() - t0) * 1e3);

    store_plan_opts o;
    memset(&o, 0, sizeof(o));
    o.chunk_bytes = 4 << 20;
    int rc = walk(ds, &o, 0, "plan all, 4 MiB chunks");
    o.chunk_bytes = 64 << 10;
    rc |= walk(ds, &o, 0, "plan all, 64 KiB chunks");
    o.chunk_bytes = 4 << 20;
    rc |= walk(ds, &o, 1, "plan all, 4 MiB chunks + BLAKE2b per chunk");
    store_rowset *wd;
    if (store_rowset_new(&wd, &err) != 0)
        return die(&err);
    for (uint64_t r = 0; r < rows; r += 97) /* ~2700 withdrawn rows */
        if (store_rowset_add(wd, r, r + 1, &err) != 0)
            return die(&err);
    o.withdrawn = wd;
    o.chunk_bytes = 1 << 20;
    rc |= walk(ds, &o, 0, "plan all minus 2703 withdrawn rows, 1 MiB");
    o.rows = STORE_ROWS_SHARD;
    o.shard_index = 3;
    o.shard_count = 8;
    rc |= walk(ds, &o, 0, "plan shard 3/8 minus withdrawn, 1 MiB");
    o.rows = STORE_ROWS_ALL;
    store_plan *p;
    t0 = now();
    int n = 0;
    for (uint64_t off = 0; off < 60u << 20; off += 1u << 20, n++) {
        o.resume_offset = off;
        if (store_plan_new(ds, &o, &p, &err) != 0)
            return die(&err);
        store_plan_free(p);
    }
    printf("%-44s %8.1f us per resume\n", "plan_new with resume (withdrawn set)",
           (now() - t0) * 1e6 / n);
    store_rowset_free(wd);
    store_unref(ds);
    unlink(path);
    return rc | bench_csv();
}
