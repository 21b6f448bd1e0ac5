/*
 * stream_bench.c - Data.Read throughput over mTLS on loopback, next to a
 * plain TLS baseline measured in the same run.
 *
 *   bazel --output_base=... run -c opt //bench/stream:stream_bench [-- --mib N --repeat R]
 *
 * Two real sites (FI, LU) and their gateway processes; a generated dataset
 * of N MiB (default 1024) published at LU. Each measurement moves the whole
 * dataset once (the parallel ones as shards k of n, one stream each):
 *   baseline  the same bytes (LU's file, mmap'd) over one plain OpenSSL
 *             TLS 1.3 mTLS connection between two threads of this process,
 *             4 MiB per SSL_write, with the cipher suite the gRPC client
 *             picks (probed in this run);
 *   direct    an LU researcher reading at LU's gateway with client/read.h
 *             (every chunk digest and the whole digest checked, digest
 *             version 3: BLAKE3), 1, 2 and 4 streams at once; the single
 *             stream three times: hashing on a thread of its own (the
 *             default), on the reading thread, and in digest version 2
 *             (SHA-256);
 *   relayed   an FI researcher reading lu/big through FI's gateway;
 *   SHA-256, BLAKE3  the digests a verifying client computes (versions 2
 *             and 3), on one thread alone.
 * CPU: the machine's busy core-seconds during each measurement (/proc/stat)
 * per byte moved, and the cores that kept busy on average. From the
 * baseline's CPU per byte plus the hash's, the last lines derive the most any
 * verifying stream could reach on this machine's cores.
 * Memory per stream: the peak VmRSS and RssAnon of the gateway processes
 * while the streams run, minus what they held just before, divided by the
 * number of streams. VmRSS counts the pages of the mapped dataset that the
 * serving gateway touched (page cache, shared with every reader of the
 * file); RssAnon is what the gateway itself allocated.
 * Each measurement is taken `repeat` times (default 2); the fastest counts,
 * the memory is the largest seen.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench/stream/cpu.h"
#include "bench/stream/fixture.h"
#include "bench/stream/rss.h"
#include "bench/stream/tls_baseline.h"
#include "client/client.h"
#include "client/read.h"
#include "common/read_digest.h"
#include "gateway/grant.h"
#include "store/dataset.h"

#define MAX_STREAMS 4
#define WRITE_BYTES (4u << 20)

typedef struct result {
    const char *name;
    int streams;
    uint64_t bytes;
    double seconds;
    double cpu_s; /* machine-wide busy core-seconds of the fastest run */
    int sampled;
    double lu_rss, lu_anon, fi_rss, fi_anon; /* MiB per stream */
} result;

/* ---- one stream per thread --------------------------------------------------- */

typedef struct reader {
    const char *identity;
    const Ecluse__V1__Grant *grant;
    uint32_t shard, shards;
    ecl_hashing hashing;
    uint32_t digest_version;
    unsigned char *buf;
    size_t cap;
    pthread_barrier_t *go;
    double start, end;
    uint64_t bytes;
    int rc;
    ecl_err err;
} reader;

static void *read_thread(void *arg)
{
    reader *r = arg;
    ecl_client *c = NULL;
    r->rc = ecl_client_open(r->identity, NULL, &c, &r->err);
    pthread_barrier_wait(r->go);
    if (r->rc != 0)
        return NULL;
    ecl_stream_opts o = ECL_STREAM_OPTS_INIT;
    o.hashing = r->hashing;
    o.digest_version = r->digest_version;
    if (r->shards > 1) {
        o.rows = ECL_ROWS_SHARD;
        o.shard_index = r->shard;
        o.shard_count = r->shards;
    }
    ecl_stream *rd = NULL;
    r->start = th_now();
    r->rc = ecl_stream_open(c, r->grant, &o, &rd, &r->err);
    if (r->rc == 0) {
        r->bytes = ecl_stream_header(rd)->total_bytes;
        r->rc = ecl_stream_into(rd, r->buf, r->cap, &r->err);
        if (r->rc == 0 && ecl_stream_trailer(rd) == NULL)
            r->rc = ecl_fail(&r->err, ECL_E_INTERNAL, "the read ended without a trailer");
    }
    r->end = th_now();
    ecl_stream_close(rd);
    ecl_client_close(c);
    return NULL;
}

typedef struct bench {
    fixture fx;
    store_dataset *ds;
    const unsigned char *data; /* the whole selection: features then labels */
    size_t len;
    unsigned char *sink; /* prefaulted: where every stream reads to */
    size_t row_bytes;
    int repeat;
    int only; /* RUN_* bits */
} bench;

static void keep_mem(double *slot, uint64_t peak_kib, uint64_t idle_kib, int n)
{
    double per = peak_kib > idle_kib ? (double)(peak_kib - idle_kib) / 1024.0 / n : 0.0;
    if (per > *slot)
        *slot = per;
}

/* n streams of `identity` with `grant` at once, shards of the dataset. */
static int run_streams(bench *b, const char *identity, const Ecluse__V1__Grant *grant, int n,
                       ecl_hashing hashing, uint32_t digest_version, result *res, ecl_err *err)
{
    reader rd[MAX_STREAMS];
    pthread_t th[MAX_STREAMS];
    pthread_barrier_t go;
    size_t per = ((size_t)b->fx.rows + (size_t)n - 1) / (size_t)n * b->row_bytes;
    memset(rd, 0, sizeof(rd));
    pthread_barrier_init(&go, NULL, (unsigned)n + 1);
    for (int i = 0; i < n; i++) {
        rd[i] = (reader){.identity = identity,
                         .grant = grant,
                         .shard = (uint32_t)i,
                         .shards = (uint32_t)n,
                         .hashing = hashing,
                         .digest_version = digest_version,
                         .buf = b->sink + (size_t)i * per,
                         .cap = per,
                         .go = &go};
        if (pthread_create(&th[i], NULL, read_thread, &rd[i]) != 0) {
            fprintf(stderr, "stream_bench: cannot start a reader thread\n");
            abort(); /* the barrier would never open; the handlers clean up */
        }
    }
    rss_peak idle_lu, idle_fi, peak_lu, peak_fi;
    rss_sampler *s_lu = NULL, *s_fi = NULL;
    int rc = rss_read(b->fx.lu.s.pid, &idle_lu, err);
    if (rc == 0)
        rc = rss_read(b->fx.fi.s.pid, &idle_fi, err);
    if (rc == 0)
        rc = rss_sampler_start(b->fx.lu.s.pid, 5, &s_lu, err);
    if (rc == 0 && rss_sampler_start(b->fx.fi.s.pid, 5, &s_fi, err) != 0) {
        rss_sampler_stop(s_lu, &peak_lu);
        s_lu = NULL;
        rc = -1;
    }
    cpu_ticks c0 = {0, 0}, c1 = {0, 0};
    if (rc == 0)
        rc = cpu_ticks_read(&c0, err);
    pthread_barrier_wait(&go);
    for (int i = 0; i < n; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&go);
    if (rc == 0)
        rc = cpu_ticks_read(&c1, err);
    if (s_lu != NULL) {
        rss_sampler_stop(s_lu, &peak_lu);
        rss_sampler_stop(s_fi, &peak_fi);
    }
    if (rc != 0)
        return -1;
    double first = rd[0].start, last = rd[0].end;
    uint64_t bytes = 0;
    for (int i = 0; i < n; i++) {
        if (rd[i].rc != 0) {
            *err = rd[i].err;
            return ecl_err_prefix(err, "%s, stream %d of %d", res->name, i + 1, n);
        }
        first = rd[i].start < first ? rd[i].start : first;
        last = rd[i].end > last ? rd[i].end : last;
        bytes += rd[i].bytes;
    }
    if (bytes != b->len)
        return ecl_fail(err, ECL_E_INPUT, "%s: %llu bytes arrived, the dataset has %zu", res->name,
                        (unsigned long long)bytes, b->len);
    /* One stream reads the whole dataset contiguously: it must be the file's bytes. */
    if (n == 1 && memcmp(b->sink, b->data, b->len) != 0)
        return ecl_fail(err, ECL_E_INPUT, "%s: the bytes read differ from LU's file", res->name);
    if (res->seconds == 0 || last - first < res->seconds) {
        res->seconds = last - first;
        res->cpu_s = cpu_busy_seconds(&c0, &c1);
    }
    res->bytes = bytes;
    res->streams = n;
    res->sampled = 1;
    keep_mem(&res->lu_rss, peak_lu.vm_rss_kib, idle_lu.vm_rss_kib, n);
    keep_mem(&res->lu_anon, peak_lu.rss_anon_kib, idle_lu.rss_anon_kib, n);
    keep_mem(&res->fi_rss, peak_fi.vm_rss_kib, idle_fi.vm_rss_kib, n);
    keep_mem(&res->fi_anon, peak_fi.rss_anon_kib, idle_fi.rss_anon_kib, n);
    return 0;
}

/* ---- the baseline -------------------------------------------------------------- */

typedef struct probe_arg {
    const char *identity;
} probe_arg;

static void probe_with_grpc(int port, void *arg)
{
    const probe_arg *p = arg;
    char target[32];
    snprintf(target, sizeof(target), "127.0.0.1:%d", port);
    ecl_client *c = NULL;
    ecl_err err;
    if (ecl_client_open(p->identity, target, &c, &err) != 0)
        return;
    ecl_client_set_timeout(c, 3000);
    Ecluse__V1__HealthCheckResponse *h = NULL;
    /* Fails after the handshake: the probe speaks no HTTP/2. */
    if (ecl_client_health(c, &h, &err) == 0)
        protobuf_c_message_free_unpacked(&h->base, NULL);
    ecl_client_close(c);
}

static int run_baseline(bench *b, const char *suite, result *res, tls_baseline_result *tr,
                        ecl_err *err)
{
    char scert[PATH_MAX + 32], skey[PATH_MAX + 32], sca[PATH_MAX + 32];
    char ccert[PATH_MAX + 32], ckey[PATH_MAX + 32], cca[PATH_MAX + 32];
    snprintf(scert, sizeof(scert), "%s/gateway/gateway.crt", b->fx.lu.s.dir);
    snprintf(skey, sizeof(skey), "%s/gateway/gateway.key", b->fx.lu.s.dir);
    snprintf(sca, sizeof(sca), "%s/ca/ca.crt", b->fx.lu.s.dir);
    snprintf(ccert, sizeof(ccert), "%s/cert.pem", b->fx.lu.res);
    snprintf(ckey, sizeof(ckey), "%s/key.pem", b->fx.lu.res);
    snprintf(cca, sizeof(cca), "%s/ca.pem", b->fx.lu.res);
    tls_baseline_opts o = {
        {scert, skey, sca}, {ccert, ckey, cca}, suite, b->data, b->len, WRITE_BYTES, b->sink};
    cpu_ticks c0, c1;
    if (cpu_ticks_read(&c0, err) != 0)
        return -1;
    if (tls_baseline_run(&o, tr, err) != 0)
        return ecl_err_prefix(err, "baseline");
    if (cpu_ticks_read(&c1, err) != 0)
        return -1;
    if (res->seconds == 0 || tr->seconds < res->seconds) {
        res->seconds = tr->seconds;
        res->cpu_s = cpu_busy_seconds(&c0, &c1);
    }
    res->bytes = b->len;
    res->streams = 1;
    return 0;
}

/* The hashing a verifying client cannot skip: every chunk digest of the
 * dataset (4 MiB chunks over its 64 KiB leaves) in digest version
 * `version`, on one thread, with nothing else to do. */
static int run_hash_reference(bench *b, uint32_t version, result *res, ecl_err *err)
{
    read_hasher *h = NULL;
    if (read_hasher_new(&h, version, err) != 0)
        return -1;
    cpu_ticks c0, c1;
    if (cpu_ticks_read(&c0, err) != 0) {
        read_hasher_free(h);
        return -1;
    }
    unsigned char d[READ_DIGEST_BYTES];
    double t0 = th_now();
    for (size_t at = 0; at < b->len; at += WRITE_BYTES) {
        size_t n = b->len - at < WRITE_BYTES ? b->len - at : WRITE_BYTES;
        read_hasher_chunk(h, b->data + at, n, at, NULL, d);
        read_hasher_add(h, d);
    }
    double t = th_now() - t0;
    read_hasher_free(h);
    if (cpu_ticks_read(&c1, err) != 0)
        return -1;
    if (res->seconds == 0 || t < res->seconds) {
        res->seconds = t;
        res->cpu_s = cpu_busy_seconds(&c0, &c1);
    }
    res->bytes = b->len;
    res->streams = 1;
    return 0;
}

/* ---- the run ---------------------------------------------------------------------- */

static double mbps(const result *r)
{
    return r->seconds > 0 ? (double)r->bytes / r->seconds / 1e6 : 0.0;
}

/* Machine CPU time per byte moved, all cores together. */
static double ns_per_byte(const result *r)
{
    return r->bytes > 0 ? r->cpu_s * 1e9 / (double)r->bytes : 0.0;
}

/* What no verifying stream can beat here: the baseline's CPU work per byte
 * plus the client's hashing, spread over every core with no overhead. */
static void print_ceiling(const result *base, const result *hash, const char *what,
                          const result *stream)
{
    double work = ns_per_byte(base) + hash->seconds * 1e9 / (double)hash->bytes;
    if (base->seconds == 0 || hash->seconds == 0 || work <= 0)
        return;
    double ceiling = cpu_count() * 1e3 / work;
    printf("ceiling for verified streams on this machine: %d cores / (%.2f ns/B baseline CPU + "
           "%.2f ns/B %s) = %.0f MB/s = %.2f x base",
           cpu_count(), ns_per_byte(base), hash->seconds * 1e9 / (double)hash->bytes, what, ceiling,
           ceiling / mbps(base));
    if (stream->seconds > 0)
        printf("; %s reaches %.2f of it", stream->name, mbps(stream) / ceiling);
    printf("\n");
}

static void print_table(const result *rs, size_t n, const char *cipher, const bench *b)
{
    double base = mbps(&rs[0]);
    printf("\nData.Read over mTLS on loopback, %.1f MiB per measurement, best of %d; "
           "baseline cipher %s\n",
           (double)b->len / 1048576.0, b->repeat, cipher);
    printf("%-32s %7s %7s %7s %6s %8s %6s %11s %11s %11s %11s\n", "measurement", "streams", "MB/s",
           "s", "x base", "CPU ns/B", "cores", "LU RSS/str", "LU anon/str", "FI RSS/str",
           "FI anon/str");
    for (size_t i = 0; i < n; i++) {
        const result *r = &rs[i];
        if (r->seconds == 0)
            continue; /* not run (--only) */
        printf("%-32s %7d %7.0f %7.3f %6.2f %8.2f %6.2f", r->name, r->streams, mbps(r), r->seconds,
               base > 0 ? mbps(r) / base : 0.0, ns_per_byte(r), r->cpu_s / r->seconds);
        if (r->sampled)
            printf(" %9.1f Mi %9.1f Mi %9.1f Mi %9.1f Mi\n", r->lu_rss, r->lu_anon, r->fi_rss,
                   r->fi_anon);
        else
            printf(" %11s %11s %11s %11s\n", "-", "-", "-", "-");
    }
}

/* Which measurements run: all by default; --only NAME keeps one (for profiling). */
enum { RUN_BASELINE = 1, RUN_DIRECT = 2, RUN_SHARDS = 4, RUN_RELAYED = 8, RUN_ALL = 15 };

static int parse_only(const char *name, int *only)
{
    static const struct {
        const char *name;
        int bit;
    } names[] = {{"baseline", RUN_BASELINE},
                 {"direct", RUN_DIRECT},
                 {"shards", RUN_SHARDS},
                 {"relayed", RUN_RELAYED}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(name, names[i].name) == 0) {
            *only = names[i].bit;
            return 0;
        }
    return -1;
}

static int parse_args(int argc, char **argv, uint64_t *mib, int *repeat, int *only)
{
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        char ok[] = "";
        if (i + 1 < argc && strcmp(argv[i], "--mib") == 0)
            *mib = strtoull(argv[++i], &end, 10);
        else if (i + 1 < argc && strcmp(argv[i], "--repeat") == 0)
            *repeat = (int)strtol(argv[++i], &end, 10);
        else if (i + 1 < argc && strcmp(argv[i], "--only") == 0 && parse_only(argv[++i], only) == 0)
            end = ok;
        if (end == NULL || *end != '\0' || *mib < 16 || *mib > 8192 || *repeat < 1 ||
            *repeat > 10) {
            fprintf(stderr, "usage: stream_bench [--mib 16..8192] [--repeat 1..10] "
                            "[--only baseline|direct|shards|relayed]\n");
            return -1;
        }
    }
    return 0;
}

static int open_source(bench *b, ecl_err *err)
{
    if (store_open(b->fx.dataset_path, &b->ds, err) != 0)
        return -1;
    size_t fi = 0, li = 0;
    if (store_tensor_find(b->ds, "features", &fi, err) != 0 ||
        store_tensor_find(b->ds, "labels", &li, err) != 0)
        return -1;
    const store_tensor *f = store_tensor_at(b->ds, fi), *l = store_tensor_at(b->ds, li);
    if (l->data != f->data + f->byte_size)
        return ecl_fail(err, ECL_E_INPUT, "%s: labels do not follow features", b->fx.dataset_path);
    b->data = f->data;
    b->len = (size_t)(f->byte_size + l->byte_size);
    b->row_bytes = FIXTURE_COLS + 8;
    /* Room for every shard layout used, touched now so no run pays page faults. */
    size_t cap = ((size_t)b->fx.rows + MAX_STREAMS) * b->row_bytes;
    b->sink = malloc(cap);
    if (b->sink == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory for %zu bytes", cap);
    memset(b->sink, 0xa5, cap);
    return 0;
}

static int run_all(bench *b, result *rs, char *cipher, size_t cap, ecl_err *err)
{
    probe_arg pa = {b->fx.lu.res};
    tls_files lu_gw;
    char cert[PATH_MAX + 32], key[PATH_MAX + 32];
    snprintf(cert, sizeof(cert), "%s/gateway/gateway.crt", b->fx.lu.s.dir);
    snprintf(key, sizeof(key), "%s/gateway/gateway.key", b->fx.lu.s.dir);
    lu_gw = (tls_files){cert, key, NULL};
    if (tls_probe_cipher(&lu_gw, probe_with_grpc, &pa, cipher, cap, err) != 0)
        return ecl_err_prefix(err, "probing the gRPC client's cipher suite");
    fprintf(stderr, "stream_bench: the gRPC client picks %s\n", cipher);

    Ecluse__V1__Grant g_lu = ECLUSE__V1__GRANT__INIT, g_fi = ECLUSE__V1__GRANT__INIT;
    if (fixture_grant(&b->fx, "lu", &g_lu, err) != 0 ||
        fixture_grant(&b->fx, "fi", &g_fi, err) != 0)
        return -1;
    int rc = 0;
    tls_baseline_result tr;
    for (int rep = 0; rep < b->repeat && rc == 0; rep++) {
        fprintf(stderr, "stream_bench: round %d of %d\n", rep + 1, b->repeat);
        if (b->only & RUN_BASELINE) {
            rc = run_baseline(b, cipher, &rs[0], &tr, err);
            if (rc == 0 && strcmp(tr.cipher, cipher) != 0)
                rc = ecl_fail(err, ECL_E_INTERNAL, "the baseline negotiated %s, not %s", tr.cipher,
                              cipher);
        }
        if (rc == 0 && (b->only & RUN_BASELINE))
            rc = run_hash_reference(b, READ_DIGEST_V2, &rs[6], err);
        if (rc == 0 && (b->only & RUN_BASELINE))
            rc = run_hash_reference(b, READ_DIGEST_V3, &rs[8], err);
        if (rc == 0 && (b->only & RUN_DIRECT))
            rc = run_streams(b, b->fx.lu.res, &g_lu, 1, ECL_HASH_AUTO, 0, &rs[1], err);
        if (rc == 0 && (b->only & RUN_DIRECT))
            rc = run_streams(b, b->fx.lu.res, &g_lu, 1, ECL_HASH_INLINE, 0, &rs[2], err);
        if (rc == 0 && (b->only & RUN_DIRECT))
            rc = run_streams(b, b->fx.lu.res, &g_lu, 1, ECL_HASH_AUTO, READ_DIGEST_V2, &rs[7], err);
        for (int i = 1; i <= 2 && rc == 0; i++)
            if (b->only & RUN_SHARDS)
                rc = run_streams(b, b->fx.lu.res, &g_lu, 2 << (i - 1), ECL_HASH_AUTO, 0, &rs[2 + i],
                                 err);
        if (rc == 0 && (b->only & RUN_RELAYED))
            rc = run_streams(b, b->fx.fi.res, &g_fi, 1, ECL_HASH_AUTO, 0, &rs[5], err);
    }
    grant_clear(&g_lu);
    grant_clear(&g_fi);
    return rc;
}

int main(int argc, char **argv)
{
    uint64_t mib = 1024;
    int repeat = 2, only = RUN_ALL;
    if (parse_args(argc, argv, &mib, &repeat, &only) != 0)
        return 2;
    setvbuf(stdout, NULL, _IOLBF, 0);
    bench b;
    memset(&b, 0, sizeof(b));
    b.repeat = repeat;
    b.only = only;
    ecl_err err;
    ecl_err_clear(&err);
    result rs[9] = {{.name = "baseline: plain TLS 1.3"},
                    {.name = "direct (LU res at LU)"},
                    {.name = "direct, hashing inline"},
                    {.name = "direct, 2 shards at once"},
                    {.name = "direct, 4 shards at once"},
                    {.name = "relayed (FI res via FI->LU)"},
                    {.name = "reference: SHA-256 only, 1 thread"},
                    {.name = "direct, digest v2 (SHA-256)"},
                    {.name = "reference: BLAKE3 only, 1 thread"}};
    char cipher[64] = "";
    double t0 = th_now();
    int rc = fixture_setup(&b.fx, mib * (1u << 20) / FIXTURE_COLS, &err);
    if (rc == 0)
        rc = open_source(&b, &err);
    if (rc == 0)
        rc = run_all(&b, rs, cipher, sizeof(cipher), &err);
    if (rc == 0) {
        print_table(rs, 9, cipher, &b);
        print_ceiling(&rs[0], &rs[8], "BLAKE3 (v3)", &rs[1]);
        print_ceiling(&rs[0], &rs[6], "SHA-256 (v2)", &rs[7]);
        if (rs[1].seconds > 0 && rs[5].seconds > 0)
            printf("relayed / direct: %.2f\n", mbps(&rs[5]) / mbps(&rs[1]));
    } else
        fprintf(stderr, "stream_bench: %s (%s)\n", err.msg, ecl_code_name(err.code));
    free(b.sink);
    store_unref(b.ds);
    ecl_err terr;
    if (fixture_teardown(&b.fx, &terr) != 0) {
        fprintf(stderr, "stream_bench: teardown: %s\n", terr.msg);
        rc = -1;
    }
    fprintf(stderr, "stream_bench: %.0f s in all\n", th_now() - t0);
    return rc == 0 ? 0 : 1;
}
