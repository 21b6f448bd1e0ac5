#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "client/pyapi/pyapi.h"
#include "client/pyapi/session_internal.h"
#include "client/read.h"
#include "store/dtype.h"

/* One window: a whole range's rows, filled by the read-ahead thread. */
typedef struct window {
    unsigned char *buf;
    uint64_t bytes, rows;
    int full;
} window;

typedef struct tensor_info {
    char *name, *dtype;
    uint64_t row_bytes;
    uint64_t *row_shape;
    size_t row_ndim;
} tensor_info;

struct eclpy_read {
    ecl_client *client;
    Ecluse__V1__Grant *grant;
    char **tensors;
    size_t n_tensors;
    uint64_t *ranges;
    size_t n_ranges;
    uint64_t window_bytes;
    ecl_stream *first; /* the first range's read, opened by eclpy_read_open */
    tensor_info *info;
    size_t n_info;
    uint64_t row_bytes;

    pthread_t thread;
    int thread_started;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    window win[2];
    size_t fill_next, take_next; /* the window each side uses next */
    int done, failed, cancel;
    ecl_err err; /* the read-ahead's failure */
};

/* ---- the tensors, from the first header -------------------------------- */

static int keep_tensors(eclpy_read *r, const Ecluse__V1__ReadHeader *h, ecl_err *err)
{
    r->info = calloc(h->n_tensors ? h->n_tensors : 1, sizeof(*r->info));
    if (r->info == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    r->n_info = h->n_tensors;
    for (size_t i = 0; i < h->n_tensors; i++) {
        const Ecluse__V1__TensorInfo *t = h->tensors[i];
        tensor_info *k = &r->info[i];
        if (store_dtype_parse(t->dtype) == STORE_DT_INVALID)
            return ecl_fail(err, ECL_E_INPUT,
                            "tensor '%s' of %s has dtype '%s', which this library does not know",
                            t->name, h->dataset, t->dtype);
        if (t->n_shape == 0 || t->shape[0] == 0 || t->byte_size % t->shape[0] != 0)
            return ecl_fail(err, ECL_E_INPUT, "tensor '%s' of %s: no whole rows in its header",
                            t->name, h->dataset);
        k->name = strdup(t->name);
        k->dtype = strdup(t->dtype);
        k->row_ndim = t->n_shape - 1;
        k->row_shape = calloc(k->row_ndim ? k->row_ndim : 1, sizeof(uint64_t));
        if (k->name == NULL || k->dtype == NULL || k->row_shape == NULL)
            return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
        memcpy(k->row_shape, t->shape + 1, k->row_ndim * sizeof(uint64_t));
        k->row_bytes = t->byte_size / t->shape[0];
        r->row_bytes += k->row_bytes;
    }
    return r->row_bytes == 0 ? ecl_fail(err, ECL_E_INPUT, "the read selects no bytes") : 0;
}

/* A later range must bring the same tensors, whole rows, in one window. */
static int check_range(const eclpy_read *r, size_t i, const Ecluse__V1__ReadHeader *h, ecl_err *err)
{
    uint64_t b = r->ranges[2 * i], e = r->ranges[2 * i + 1];
    if (h->n_tensors != r->n_info)
        return ecl_fail(err, ECL_E_INPUT, "rows [%llu, %llu): %zu tensors, the first range had %zu",
                        (unsigned long long)b, (unsigned long long)e, h->n_tensors, r->n_info);
    uint64_t rows = h->tensors[0]->n_shape ? h->tensors[0]->shape[0] : 0;
    for (size_t t = 0; t < h->n_tensors; t++) {
        const Ecluse__V1__TensorInfo *ti = h->tensors[t];
        if (strcmp(ti->name, r->info[t].name) != 0 || strcmp(ti->dtype, r->info[t].dtype) != 0 ||
            ti->n_shape == 0 || ti->shape[0] != rows ||
            ti->byte_size != rows * r->info[t].row_bytes)
            return ecl_fail(err, ECL_E_INPUT,
                            "rows [%llu, %llu): tensor %zu ('%s', %s) differs from the first "
                            "range's ('%s', %s) or has rows of another size",
                            (unsigned long long)b, (unsigned long long)e, t, ti->name, ti->dtype,
                            r->info[t].name, r->info[t].dtype);
    }
    if (h->total_bytes > r->window_bytes)
        return ecl_fail(err, ECL_E_USAGE,
                        "rows [%llu, %llu) take %llu bytes, more than the window of %llu",
                        (unsigned long long)b, (unsigned long long)e,
                        (unsigned long long)h->total_bytes, (unsigned long long)r->window_bytes);
    return 0;
}

static int open_range(eclpy_read *r, size_t i, ecl_stream **out, ecl_err *err)
{
    ecl_stream_opts o = ECL_STREAM_OPTS_INIT;
    o.tensors = (const char *const *)r->tensors;
    o.n_tensors = r->n_tensors;
    o.rows = ECL_ROWS_RANGE;
    o.row_begin = r->ranges[2 * i];
    o.row_end = r->ranges[2 * i + 1];
    if (ecl_stream_open(r->client, r->grant, &o, out, err) != 0)
        return ecl_err_prefix(err, "rows [%llu, %llu)", (unsigned long long)o.row_begin,
                              (unsigned long long)o.row_end);
    return 0;
}

/* ---- the read-ahead thread --------------------------------------------- */

/* Wait for window `w` to be free; 0 if the read was cancelled meanwhile. */
static int wait_free(eclpy_read *r, window *w)
{
    pthread_mutex_lock(&r->lock);
    while (w->full && !r->cancel)
        pthread_cond_wait(&r->changed, &r->lock);
    int go = !r->cancel;
    pthread_mutex_unlock(&r->lock);
    return go;
}

static int read_range(eclpy_read *r, size_t i, ecl_stream *s, ecl_err *err)
{
    const Ecluse__V1__ReadHeader *h = ecl_stream_header(s);
    if (check_range(r, i, h, err) != 0)
        return -1;
    window *w = &r->win[r->fill_next];
    if (!wait_free(r, w))
        return 1;
    if (ecl_stream_into(s, w->buf, r->window_bytes, err) != 0)
        return ecl_err_prefix(err, "rows [%llu, %llu)", (unsigned long long)r->ranges[2 * i],
                              (unsigned long long)r->ranges[2 * i + 1]);
    pthread_mutex_lock(&r->lock);
    w->bytes = h->total_bytes;
    w->rows = h->tensors[0]->shape[0];
    w->full = 1;
    r->fill_next ^= 1;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
    return 0;
}

static void *read_ahead(void *arg)
{
    eclpy_read *r = arg;
    ecl_err err;
    ecl_err_clear(&err);
    int rc = 0;
    for (size_t i = 0; i < r->n_ranges && rc == 0; i++) {
        ecl_stream *s = r->first;
        r->first = NULL;
        if (s == NULL && open_range(r, i, &s, &err) != 0) {
            rc = -1;
            break;
        }
        rc = read_range(r, i, s, &err);
        ecl_stream_close(s);
    }
    pthread_mutex_lock(&r->lock);
    if (rc < 0) {
        r->failed = 1;
        r->err = err;
    }
    r->done = 1;
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
    return NULL;
}

/* ---- the ABI ----------------------------------------------------------- */

static int copy_request(eclpy_read *r, const void *grant, size_t grant_len,
                        const char *const *tensors, size_t n_tensors, const uint64_t *ranges,
                        size_t n_ranges, ecl_err *err)
{
    if (eclpy_grant_decode(grant, grant_len, &r->grant, err) != 0)
        return -1;
    r->tensors = calloc(n_tensors ? n_tensors : 1, sizeof(char *));
    r->ranges = calloc(2 * n_ranges, sizeof(uint64_t));
    if (r->tensors == NULL || r->ranges == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    r->n_tensors = n_tensors;
    for (size_t i = 0; i < n_tensors; i++)
        if ((r->tensors[i] = strdup(tensors[i])) == NULL)
            return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < n_ranges; i++)
        if (ranges[2 * i] >= ranges[2 * i + 1])
            return ecl_fail(err, ECL_E_USAGE, "row range %zu [%llu, %llu) is empty", i,
                            (unsigned long long)ranges[2 * i],
                            (unsigned long long)ranges[2 * i + 1]);
    memcpy(r->ranges, ranges, 2 * n_ranges * sizeof(uint64_t));
    r->n_ranges = n_ranges;
    return 0;
}

static int start(eclpy_read *r, ecl_err *err)
{
    for (int i = 0; i < 2; i++)
        if ((r->win[i].buf = malloc(r->window_bytes)) == NULL)
            return ecl_fail(err, ECL_E_LIMIT, "cannot allocate a window of %llu bytes",
                            (unsigned long long)r->window_bytes);
    if (open_range(r, 0, &r->first, err) != 0 ||
        keep_tensors(r, ecl_stream_header(r->first), err) != 0)
        return -1;
    if (pthread_create(&r->thread, NULL, read_ahead, r) != 0)
        return ecl_fail(err, ECL_E_INTERNAL, "cannot start the read-ahead thread");
    r->thread_started = 1;
    return 0;
}

int eclpy_read_open(eclpy_session *s, const void *grant, size_t grant_len,
                    const char *const *tensors, size_t n_tensors, const uint64_t *ranges,
                    size_t n_ranges, uint64_t window_bytes, eclpy_read **out, char *msg,
                    size_t msg_cap)
{
    ecl_err err;
    ecl_err_clear(&err);
    if (n_ranges == 0 || window_bytes == 0) {
        ecl_fail(&err, ECL_E_USAGE, "a read needs at least one row range and a window (%zu, %llu)",
                 n_ranges, (unsigned long long)window_bytes);
        return eclpy_report(&err, msg, msg_cap);
    }
    eclpy_read *r = calloc(1, sizeof(*r));
    if (r == NULL) {
        ecl_fail(&err, ECL_E_INTERNAL, "out of memory");
        return eclpy_report(&err, msg, msg_cap);
    }
    r->client = eclpy_session_client(s);
    r->window_bytes = window_bytes;
    pthread_mutex_init(&r->lock, NULL);
    pthread_cond_init(&r->changed, NULL);
    if (copy_request(r, grant, grant_len, tensors, n_tensors, ranges, n_ranges, &err) != 0 ||
        start(r, &err) != 0) {
        eclpy_read_close(r);
        return eclpy_report(&err, msg, msg_cap);
    }
    *out = r;
    return 0;
}

size_t eclpy_read_tensor_count(const eclpy_read *r)
{
    return r->n_info;
}

int eclpy_read_tensor(const eclpy_read *r, size_t i, const char **name, const char **dtype,
                      uint64_t *row_bytes, const uint64_t **row_shape, size_t *row_ndim)
{
    if (i >= r->n_info)
        return -ECL_E_USAGE;
    *name = r->info[i].name;
    *dtype = r->info[i].dtype;
    *row_bytes = r->info[i].row_bytes;
    *row_shape = r->info[i].row_shape;
    *row_ndim = r->info[i].row_ndim;
    return 0;
}

uint64_t eclpy_read_row_bytes(const eclpy_read *r)
{
    return r->row_bytes;
}

int64_t eclpy_read_next_window(eclpy_read *r, void *buf, uint64_t cap, uint64_t *rows, char *msg,
                               size_t msg_cap)
{
    ecl_err err;
    ecl_err_clear(&err);
    window *w = &r->win[r->take_next];
    pthread_mutex_lock(&r->lock);
    while (!w->full && !r->done)
        pthread_cond_wait(&r->changed, &r->lock);
    int64_t got = 0;
    if (w->full && w->bytes > cap) {
        got = ecl_fail(&err, ECL_E_USAGE, "the next window has %llu bytes; the buffer holds %llu",
                       (unsigned long long)w->bytes, (unsigned long long)cap);
    } else if (w->full) {
        /* The thread does not touch a full window: copy it outside the lock. */
        pthread_mutex_unlock(&r->lock);
        memcpy(buf, w->buf, w->bytes);
        pthread_mutex_lock(&r->lock);
        got = (int64_t)w->bytes;
        *rows = w->rows;
        w->full = 0;
        r->take_next ^= 1;
        pthread_cond_broadcast(&r->changed);
    } else if (r->failed) {
        err = r->err;
        got = -1;
    }
    pthread_mutex_unlock(&r->lock);
    return got < 0 ? eclpy_report(&err, msg, msg_cap) : got;
}

void eclpy_read_close(eclpy_read *r)
{
    if (r == NULL)
        return;
    if (r->thread_started) {
        pthread_mutex_lock(&r->lock);
        r->cancel = 1;
        pthread_cond_broadcast(&r->changed);
        pthread_mutex_unlock(&r->lock);
        pthread_join(r->thread, NULL);
    }
    ecl_stream_close(r->first);
    for (size_t i = 0; i < r->n_info; i++) {
        free(r->info[i].name);
        free(r->info[i].dtype);
        free(r->info[i].row_shape);
    }
    free(r->info);
    for (size_t i = 0; i < r->n_tensors; i++)
        free(r->tensors[i]);
    free(r->tensors);
    free(r->ranges);
    free(r->win[0].buf);
    free(r->win[1].buf);
    if (r->grant != NULL)
        ecluse__v1__grant__free_unpacked(r->grant, NULL);
    pthread_cond_destroy(&r->changed);
    pthread_mutex_destroy(&r->lock);
    free(r);
}
