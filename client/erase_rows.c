/* erase_rows.c - remove source rows from a fetched file (see erase_rows.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client/erase_rows.h"
#include "store/dataset.h"
#include "store/writer.h"

/* The rows to remove, normal, and the rows the file keeps (source rows). */
typedef struct plan {
    ecl_row_range *erase, *keep;
    size_t n_erase, n_keep;
} plan;

static void plan_free(plan *p)
{
    free(p->erase);
    free(p->keep);
}

static int plan_make(const ecl_fetch_record *rec, const ecl_row_range *erase, size_t n, plan *p,
                     ecl_erase_result *res, ecl_err *err)
{
    memset(p, 0, sizeof(*p));
    if (n == 0)
        return ecl_fail(err, ECL_E_USAGE, "no rows to remove");
    for (size_t i = 0; i < n; i++)
        if (erase[i].end <= erase[i].begin)
            return ecl_fail(err, ECL_E_USAGE, "row range %llu:%llu is empty",
                            (unsigned long long)erase[i].begin, (unsigned long long)erase[i].end);
    if ((p->erase = calloc(n, sizeof(*p->erase))) == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    memcpy(p->erase, erase, n * sizeof(*erase));
    p->n_erase = ecl_row_ranges_normalise(p->erase, n);
    res->removed = ecl_row_ranges_common(rec->rows, rec->n_rows, p->erase, p->n_erase);
    res->absent = ecl_row_ranges_rows(p->erase, p->n_erase) - res->removed;
    if (ecl_row_ranges_subtract(rec->rows, rec->n_rows, p->erase, p->n_erase, &p->keep, &p->n_keep,
                                err) != 0)
        return -1;
    res->left = ecl_row_ranges_rows(p->keep, p->n_keep);
    return 0;
}

/* The file as mapped must be the one hashed, and its hash the record's. */
static int check_file(const ecl_fetch_record *rec, store_dataset *ds, ecl_err *err)
{
    char hex[ECL_HEX_DIGEST];
    int fd = -1;
    if (ecl_file_sha256(rec->file, hex, &fd, err) != 0)
        return -1;
    struct stat st;
    int same = fstat(fd, &st) == 0;
    close(fd);
    const store_stamp *s = store_file_stamp(ds);
    same = same && s->dev == (uint64_t)st.st_dev && s->ino == (uint64_t)st.st_ino &&
           s->size == (uint64_t)st.st_size &&
           s->mtime_ns == (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
    if (!same)
        return ecl_fail(err, ECL_E_IO, "%s: changed while it was being read; try again", rec->file);
    if (strcmp(hex, rec->sha256) != 0)
        return ecl_fail(err, ECL_E_CRYPTO,
                        "%s: the file changed since the fetch (SHA-256 %.16s..., the record of "
                        "read %s says %.16s...); refusing to rewrite it",
                        rec->file, hex, rec->read_id, rec->sha256);
    uint64_t rows = ecl_row_ranges_rows(rec->rows, rec->n_rows);
    for (size_t i = 0; i < store_tensor_count(ds); i++) {
        const store_tensor *t = store_tensor_at(ds, i);
        if (t->ndim == 0 || t->shape[0] != rows)
            return ecl_fail(err, ECL_E_INPUT,
                            "%s: tensor '%s' has %llu rows, the record of read %s says %llu; "
                            "refusing to rewrite it",
                            rec->file, t->name, t->ndim ? (unsigned long long)t->shape[0] : 0ULL,
                            rec->read_id, (unsigned long long)rows);
    }
    return 0;
}

/* Copy the kept rows of tensor t into a new buffer and add it to w. */
static int add_kept(store_writer *w, const store_tensor *t, const ecl_fetch_record *rec,
                    const plan *p, unsigned char **bufs, size_t k, ecl_err *err)
{
    uint64_t rows = t->shape[0], row_bytes = rows ? t->byte_size / rows : 0;
    uint64_t left = ecl_row_ranges_rows(p->keep, p->n_keep);
    uint64_t bytes = left * row_bytes;
    unsigned char *out = malloc(bytes > 0 ? (size_t)bytes : 1);
    if (out == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory for tensor '%s'", t->name);
    bufs[k] = out;
    /* Walk the file's rows (the record's ranges) and the kept ranges
     * together; each kept range lies inside one of the record's. */
    uint64_t at = 0, file_row = 0;
    size_t j = 0;
    for (size_t i = 0; i < rec->n_rows; i++) {
        const ecl_row_range *r = &rec->rows[i];
        for (; j < p->n_keep && p->keep[j].begin < r->end; j++) {
            uint64_t lo = p->keep[j].begin, hi = p->keep[j].end < r->end ? p->keep[j].end : r->end;
            size_t len = (size_t)((hi - lo) * row_bytes);
            memcpy(out + at, t->data + (file_row + lo - r->begin) * row_bytes, len);
            at += len;
        }
        file_row += r->end - r->begin;
    }
    uint64_t shape[STORE_MAX_DIMS];
    memcpy(shape, t->shape, t->ndim * sizeof(uint64_t));
    shape[0] = left;
    return store_writer_add(w, t->name, t->dtype, t->ndim, shape, bytes > 0 ? out : NULL, bytes,
                            err);
}

static int write_kept(const ecl_fetch_record *rec, store_dataset *ds, const plan *p,
                      const char *tmp, ecl_err *err)
{
    size_t nt = store_tensor_count(ds);
    unsigned char **bufs = calloc(nt ? nt : 1, sizeof(*bufs));
    store_writer *w = NULL;
    int rc =
        bufs == NULL ? ecl_fail(err, ECL_E_INTERNAL, "out of memory") : store_writer_new(&w, err);
    for (size_t i = 0; rc == 0 && i < nt; i++)
        rc = add_kept(w, store_tensor_at(ds, i), rec, p, bufs, i, err);
    for (size_t i = 0; rc == 0 && i < store_metadata_count(ds); i++) {
        const char *k, *v;
        store_metadata_at(ds, i, &k, &v);
        rc = store_writer_meta(w, k, v, err);
    }
    if (rc == 0)
        rc = store_writer_write(w, tmp, err);
    store_writer_free(w);
    for (size_t i = 0; bufs != NULL && i < nt; i++)
        free(bufs[i]);
    free(bufs);
    return rc;
}

static int fsync_dir(const char *file, ecl_err *err)
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", file);
    char *slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
    int fd = open(slash != NULL ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd >= 0 && fsync(fd) == 0 ? 0 : -1;
    if (fd >= 0)
        close(fd);
    return rc == 0 ? 0 : ecl_fail(err, ECL_E_IO, "%s: cannot sync its directory", file);
}

/* Step 5: the record says what the file now is. */
static int settle(const char *records_dir, ecl_fetch_record *rec, ecl_err *err)
{
    ecl_row_range *rows = NULL, *erased = NULL;
    size_t n_rows = 0, n_erased = 0;
    if (ecl_row_ranges_subtract(rec->rows, rec->n_rows, rec->pending_erase, rec->n_pending_erase,
                                &rows, &n_rows, err) != 0)
        return -1;
    if (ecl_row_ranges_union(rec->erased, rec->n_erased, rec->pending_erase, rec->n_pending_erase,
                             &erased, &n_erased, err) != 0) {
        free(rows);
        return -1;
    }
    free(rec->rows);
    free(rec->erased);
    free(rec->pending_erase);
    rec->rows = rows;
    rec->n_rows = n_rows;
    rec->erased = erased;
    rec->n_erased = n_erased;
    memcpy(rec->sha256, rec->pending_sha256, sizeof(rec->sha256));
    rec->pending_sha256[0] = '\0';
    rec->pending_erase = NULL;
    rec->n_pending_erase = 0;
    rec->updated_unix = (int64_t)time(NULL);
    return ecl_fetch_record_save(records_dir, rec, err);
}

/* A removal a crash interrupted: finish it or forget it (erase_rows.h). */
static int settle_pending(const char *records_dir, ecl_fetch_record *rec, ecl_err *err)
{
    if (rec->pending_sha256[0] == '\0')
        return 0;
    char hex[ECL_HEX_DIGEST], tmp[PATH_MAX + 16];
    if (ecl_file_sha256(rec->file, hex, NULL, err) != 0)
        return -1;
    if (strcmp(hex, rec->pending_sha256) == 0)
        return settle(records_dir, rec, err);
    snprintf(tmp, sizeof(tmp), "%s.erasing", rec->file);
    if (unlink(tmp) != 0 && errno != ENOENT)
        return ecl_fail(err, ECL_E_IO, "%s: cannot remove an unfinished rewrite: %s", tmp,
                        strerror(errno));
    rec->pending_sha256[0] = '\0';
    free(rec->pending_erase);
    rec->pending_erase = NULL;
    rec->n_pending_erase = 0;
    return ecl_fetch_record_save(records_dir, rec, err);
}

static int rewrite(const char *records_dir, ecl_fetch_record *rec, store_dataset *ds, plan *p,
                   ecl_err *err)
{
    char tmp[PATH_MAX + 16];
    snprintf(tmp, sizeof(tmp), "%s.erasing", rec->file);
    if (write_kept(rec, ds, p, tmp, err) != 0 ||
        ecl_file_sha256(tmp, rec->pending_sha256, NULL, err) != 0) {
        unlink(tmp);
        rec->pending_sha256[0] = '\0';
        return -1;
    }
    rec->pending_erase = p->erase; /* the record owns them from here */
    rec->n_pending_erase = p->n_erase;
    p->erase = NULL;
    if (ecl_fetch_record_save(records_dir, rec, err) != 0) {
        unlink(tmp);
        return ecl_err_prefix(err, "the fetch record (the file is unchanged)");
    }
    if (rename(tmp, rec->file) != 0) {
        int saved = errno;
        unlink(tmp);
        return ecl_fail(err, ECL_E_IO, "%s: cannot replace it: %s", rec->file, strerror(saved));
    }
    if (fsync_dir(rec->file, err) != 0)
        return -1;
    return settle(records_dir, rec, err);
}

int ecl_erase_rows(const char *records_dir, ecl_fetch_record *rec, const ecl_row_range *erase,
                   size_t n, ecl_erase_result *res, ecl_err *err)
{
    memset(res, 0, sizeof(*res));
    if (settle_pending(records_dir, rec, err) != 0)
        return -1;
    plan p;
    int rc = plan_make(rec, erase, n, &p, res, err);
    store_dataset *ds = NULL;
    if (rc == 0 && res->removed == 0) {
        plan_free(&p);
        return 0; /* none of these rows is in the file */
    }
    if (rc == 0 && (rc = store_open(rec->file, &ds, err)) != 0 &&
        (err->code == ECL_E_INPUT || err->code == ECL_E_LIMIT))
        ecl_err_prefix(err, "not a valid safetensors file, left as it is");
    if (rc == 0)
        rc = check_file(rec, ds, err);
    if (rc == 0)
        rc = rewrite(records_dir, rec, ds, &p, err);
    store_unref(ds);
    plan_free(&p);
    return rc;
}
