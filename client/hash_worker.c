/* hash_worker.c - chunk digests on a thread of their own (see hash_worker.h). */
#include "client/hash_worker.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

typedef struct hash_job {
    rpc_message *m; /* owned until hashed */
    size_t at, len;
    uint64_t source_offset;
    unsigned char digest[READ_DIGEST_BYTES];
} hash_job;

/* Jobs are numbered in submission order; job k lives in slot k % DEPTH.
 * submitted and taken move only on the caller's thread, hashed only on the
 * worker's; all three change under `lock`. */
struct hash_worker {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t work; /* a job was submitted, or stop */
    pthread_cond_t done; /* a job was hashed */
    hash_job jobs[HASH_WORKER_DEPTH];
    uint64_t submitted, hashed, taken;
    int stop;
    read_hasher *h;
};

static void update(const unsigned char *p, size_t n, void *h)
{
    read_hasher_chunk_update(h, p, n);
}

static void *work(void *arg)
{
    hash_worker *w = arg;
    pthread_mutex_lock(&w->lock);
    for (;;) {
        while (!w->stop && w->hashed == w->submitted)
            pthread_cond_wait(&w->work, &w->lock);
        if (w->stop)
            break;
        /* The slot stays ours until hashed moves past it: the caller only
         * reuses slots it has taken. */
        hash_job *j = &w->jobs[w->hashed % HASH_WORKER_DEPTH];
        pthread_mutex_unlock(&w->lock);
        unsigned char d[READ_DIGEST_BYTES];
        read_hasher_chunk_begin(w->h, j->source_offset);
        rpc_message_each(j->m, j->at, j->len, update, w->h);
        read_hasher_chunk_end(w->h, d);
        rpc_message_free(j->m);
        j->m = NULL;
        pthread_mutex_lock(&w->lock);
        memcpy(j->digest, d, sizeof(d));
        w->hashed++;
        pthread_cond_signal(&w->done);
    }
    pthread_mutex_unlock(&w->lock);
    return NULL;
}

int hash_worker_start(hash_worker **out, uint32_t version, ecl_err *err)
{
    hash_worker *w = calloc(1, sizeof(*w));
    if (w == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    if (read_hasher_new(&w->h, version, err) != 0) {
        free(w);
        return -1;
    }
    pthread_mutex_init(&w->lock, NULL);
    pthread_cond_init(&w->work, NULL);
    pthread_cond_init(&w->done, NULL);
    if (pthread_create(&w->thread, NULL, work, w) != 0) {
        pthread_cond_destroy(&w->done);
        pthread_cond_destroy(&w->work);
        pthread_mutex_destroy(&w->lock);
        read_hasher_free(w->h);
        free(w);
        return ecl_fail(err, ECL_E_INTERNAL, "cannot start a hashing thread");
    }
    *out = w;
    return 0;
}

void hash_worker_submit(hash_worker *w, rpc_message *m, size_t at, size_t len,
                        uint64_t source_offset)
{
    /* The caller takes before it submits a full queue's worth. */
    if (w->submitted - w->taken >= HASH_WORKER_DEPTH)
        abort();
    pthread_mutex_lock(&w->lock);
    hash_job *j = &w->jobs[w->submitted % HASH_WORKER_DEPTH];
    j->m = m;
    j->at = at;
    j->len = len;
    j->source_offset = source_offset;
    w->submitted++;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->lock);
}

size_t hash_worker_outstanding(const hash_worker *w)
{
    return (size_t)(w->submitted - w->taken);
}

int hash_worker_take(hash_worker *w, int wait, unsigned char digest[READ_DIGEST_BYTES])
{
    if (w->taken == w->submitted)
        return 0;
    pthread_mutex_lock(&w->lock);
    while (wait && w->hashed == w->taken)
        pthread_cond_wait(&w->done, &w->lock);
    int got = w->hashed > w->taken;
    if (got) {
        memcpy(digest, w->jobs[w->taken % HASH_WORKER_DEPTH].digest, READ_DIGEST_BYTES);
        w->taken++;
    }
    pthread_mutex_unlock(&w->lock);
    return got;
}

void hash_worker_stop(hash_worker *w)
{
    if (w == NULL)
        return;
    pthread_mutex_lock(&w->lock);
    w->stop = 1;
    pthread_cond_signal(&w->work);
    pthread_mutex_unlock(&w->lock);
    pthread_join(w->thread, NULL);
    for (uint64_t k = w->hashed; k < w->submitted; k++)
        rpc_message_free(w->jobs[k % HASH_WORKER_DEPTH].m);
    pthread_cond_destroy(&w->done);
    pthread_cond_destroy(&w->work);
    pthread_mutex_destroy(&w->lock);
    read_hasher_free(w->h);
    free(w);
}
