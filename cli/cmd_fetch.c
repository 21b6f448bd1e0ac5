/* cmd_fetch.c - `ecluse fetch`: read what a grant allows into a safetensors
 * file, every chunk and the whole checked, resuming a broken fetch.
 *
 * While it runs, the stream's bytes go to FILE.part, what they are to
 * FILE.part.json (the grant's digest, the selection with the chunk size, the
 * header's tensors), and one record per verified chunk to FILE.part.chunks:
 * its length (8 bytes, little-endian) and its digest (32 bytes, docs/streaming.md),
 * appended after the chunk's bytes. A later fetch with the same grant,
 * selection and chunk size resumes at the end of the last chunk that both
 * files hold in full (a chunk boundary: the gateway accepts no other
 * offset), cutting FILE.part back to it. It re-hashes those chunks from
 * FILE.part, refuses them if they no longer match their records, and gives
 * their digests to the verifier so that the trailer's digest of the whole
 * stream is still checked. At the end the tensors are written as FILE
 * (store/writer.h: atomic) and the three sidecar files removed. */
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "client/client.h"
#include "client/fetch_record.h"
#include "client/read.h"
#include "client/receipt.h"
#include "common/bytes.h"
#include "store/dtype.h"
#include "store/writer.h"

#define MAX_TENSORS 64
#define MAX_CHUNK   (64L << 20) /* --chunk-bytes at most */
#define RECORD      40          /* FILE.part.chunks: u64 LE length, then the digest */

typedef struct fetch {
    const char *identity, *gateway, *grant_path, *out;
    char part[PATH_MAX], state[PATH_MAX], chunks[PATH_MAX];
    uint64_t prefix_chunks; /* records of FILE.part.chunks the resume starts after */
    char *tensor_list;      /* split in place into tensors[] */
    const char *tensor_arg; /* as given */
    const char *tensors[MAX_TENSORS];
    ecl_stream_opts o;
    char selection[1024]; /* what the partial file is of */
    int progress;
    int receipt;          /* ask for the read's receipt (default) */
    long receipt_wait_ms; /* how long the holding site may wait for a cosignature */
} fetch;

static int parse_rows(fetch *f, const char *rows, const char *shard, ecl_err *err)
{
    char *end = NULL;
    if (rows != NULL) {
        f->o.rows = ECL_ROWS_RANGE;
        f->o.row_begin = strtoull(rows, &end, 10);
        if (end == rows || *end != ':')
            return ecl_fail(err, ECL_E_USAGE, "--rows '%s': expected BEGIN:END", rows);
        const char *e = end + 1;
        f->o.row_end = *e == '\0' ? 0 : strtoull(e, &end, 10);
        if (*e != '\0' && *end != '\0')
            return ecl_fail(err, ECL_E_USAGE, "--rows '%s': expected BEGIN:END", rows);
    } else if (shard != NULL) {
        f->o.rows = ECL_ROWS_SHARD;
        unsigned long k = strtoul(shard, &end, 10), n;
        if (end == shard || *end != '/')
            return ecl_fail(err, ECL_E_USAGE, "--shard '%s': expected K/N", shard);
        const char *s = end + 1;
        n = strtoul(s, &end, 10);
        if (end == s || *end != '\0' || n == 0 || k >= n || n > UINT32_MAX)
            return ecl_fail(err, ECL_E_USAGE, "--shard '%s': expected K/N with 0 <= K < N", shard);
        f->o.shard_index = (uint32_t)k;
        f->o.shard_count = (uint32_t)n;
    }
    return 0;
}

static int parse_tensors(fetch *f, const char *list, ecl_err *err)
{
    f->tensor_arg = list;
    f->tensor_list = strdup(list);
    if (f->tensor_list == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    char *save = NULL;
    for (char *t = strtok_r(f->tensor_list, ",", &save); t != NULL;
         t = strtok_r(NULL, ",", &save)) {
        if (f->o.n_tensors == MAX_TENSORS)
            return ecl_fail(err, ECL_E_USAGE, "--tensors: at most %d names", MAX_TENSORS);
        f->tensors[f->o.n_tensors++] = t;
    }
    f->o.tensors = f->tensors;
    return 0;
}

static void describe_selection(fetch *f, const Ecluse__V1__Grant *g)
{
    unsigned char d[32];
    char hex[65];
    crypto_generichash(d, sizeof(d), g->body.data, g->body.len, NULL, 0);
    sodium_bin2hex(hex, sizeof(hex), d, sizeof(d));
    snprintf(f->selection, sizeof(f->selection),
             "grant=%s tensors=%s rows=%d:%llu:%llu shard=%u/%u chunk=%u", hex,
             f->tensor_arg ? f->tensor_arg : "", (int)f->o.rows, (unsigned long long)f->o.row_begin,
             (unsigned long long)f->o.row_end, f->o.shard_index, f->o.shard_count,
             f->o.chunk_bytes);
}

/* How many whole records of FILE.part.chunks describe bytes that FILE.part
 * holds in full, and the bytes they cover: a crash may leave either file
 * ahead of the other, or a record cut short. */
static int whole_chunks(fetch *f, uint64_t part_size, uint64_t *n, uint64_t *bytes, ecl_err *err)
{
    *n = *bytes = 0;
    FILE *in = fopen(f->chunks, "rb");
    if (in == NULL)
        return 0; /* no record: start again from 0 */
    unsigned char rec[RECORD];
    while (fread(rec, 1, sizeof(rec), in) == sizeof(rec)) {
        uint64_t len;
        if (ecl_u64le_at(rec, sizeof(rec), 0, &len) != 0 || len == 0 || len > (uint64_t)MAX_CHUNK ||
            len > part_size - *bytes)
            break;
        *bytes += len;
        (*n)++;
    }
    int bad = ferror(in);
    fclose(in);
    return bad ? ecl_fail(err, ECL_E_IO, "%s: cannot read", f->chunks) : 0;
}

/* Where a previous fetch of the same selection stopped (0 if none): the end
 * of its last whole chunk, FILE.part and FILE.part.chunks cut back to it. */
static int resume_point(fetch *f, ecl_err *err)
{
    struct stat st;
    if (stat(f->part, &st) != 0)
        return 0;
    json_error_t jerr;
    json_t *s = json_load_file(f->state, 0, &jerr);
    const char *sel = json_string_value(json_object_get(s, "selection"));
    int same = sel != NULL && strcmp(sel, f->selection) == 0;
    /* The kept chunks were checked in this digest version (none recorded:
     * a fetch from before version 3, so 2): the resumed read asks for it. */
    json_t *version = json_object_get(s, "digest_version");
    uint32_t kept = version != NULL ? (uint32_t)json_integer_value(version) : 2;
    json_decref(s);
    if (!same)
        return ecl_fail(err, ECL_E_EXISTS,
                        "%s is a partial fetch of another grant, selection or chunk size (see "
                        "%s); remove both to start again",
                        f->part, f->state);
    uint64_t n = 0, bytes = 0;
    if (whole_chunks(f, (uint64_t)st.st_size, &n, &bytes, err) != 0)
        return -1;
    if (truncate(f->part, (off_t)bytes) != 0 ||
        (n > 0 && truncate(f->chunks, (off_t)(n * RECORD)) != 0))
        return ecl_fail(err, ECL_E_IO, "%s: cannot cut it back to its last whole chunk (byte %llu)",
                        f->part, (unsigned long long)bytes);
    f->o.resume_offset = bytes;
    f->prefix_chunks = n;
    if (n > 0)
        f->o.digest_version = kept;
    return 0;
}

static int save_state(fetch *f, const Ecluse__V1__ReadHeader *h, ecl_err *err)
{
    json_t *s = json_pack("{s:s,s:s,s:I,s:s,s:I}", "selection", f->selection, "dataset", h->dataset,
                          "total_bytes", (json_int_t)h->total_bytes, "read_id", h->read_id,
                          "digest_version", (json_int_t)ecl_header_digest_version(h));
    int rc = s != NULL && json_dump_file(s, f->state, JSON_INDENT(2)) == 0
                 ? 0
                 : ecl_fail(err, ECL_E_IO, "%s: cannot write the fetch state", f->state);
    json_decref(s);
    return rc;
}

/* Re-hash the chunks FILE.part holds, check them against their records and
 * give their digests to the verifier, so the trailer's digest of the whole
 * stream is still checked on resume. */
static int feed_prefix(fetch *f, ecl_stream *r, ecl_err *err)
{
    if (f->prefix_chunks == 0)
        return 0;
    FILE *in = fopen(f->part, "rb"), *recs = fopen(f->chunks, "rb");
    unsigned char *buf = malloc((size_t)MAX_CHUNK);
    int rc = in == NULL || recs == NULL
                 ? ecl_fail(err, ECL_E_IO, "%s or %s: cannot read", f->part, f->chunks)
             : buf == NULL ? ecl_fail(err, ECL_E_INTERNAL, "out of memory")
                           : 0;
    uint64_t at = 0;
    for (uint64_t k = 0; rc == 0 && k < f->prefix_chunks; k++) {
        unsigned char rec[RECORD], d[32];
        if (fread(rec, 1, sizeof(rec), recs) != sizeof(rec)) {
            rc = ecl_fail(err, ECL_E_IO, "%s: shorter than it was", f->chunks);
            break;
        }
        uint64_t len64;
        if (ecl_u64le_at(rec, sizeof(rec), 0, &len64) != 0 || len64 > (uint64_t)MAX_CHUNK) {
            rc = ecl_fail(err, ECL_E_IO, "%s: changed since it was read", f->chunks);
            break; /* whole_chunks saw at most MAX_CHUNK: another process wrote to it */
        }
        size_t len = (size_t)len64;
        if (fread(buf, 1, len, in) != len) {
            rc = ecl_fail(err, ECL_E_IO, "%s: shorter than it was", f->part);
            break;
        }
        if (ecl_stream_prefix_digest(r, buf, len, d, err) != 0) {
            rc = -1;
            break;
        }
        if (sodium_memcmp(d, rec + 8, sizeof(d)) != 0)
            rc = ecl_fail(err, ECL_E_CRYPTO,
                          "%s: chunk %llu (bytes %llu to %llu) no longer matches the digest "
                          "recorded when it arrived; remove %s and %s to start again",
                          f->part, (unsigned long long)k, (unsigned long long)at,
                          (unsigned long long)(at + len), f->part, f->chunks);
        else
            rc = ecl_stream_prefix_chunk(r, d, len, err);
        at += len;
    }
    if (in != NULL)
        fclose(in);
    if (recs != NULL)
        fclose(recs);
    free(buf);
    return rc;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void show_progress(uint64_t done, uint64_t total, uint64_t fresh, double t0, int last)
{
    double pct = total ? 100.0 * (double)done / (double)total : 100.0;
    double rate = (double)fresh / (now_s() - t0 + 1e-9) / (1 << 20);
    int bar = (int)(pct / 5);
    char marks[21];
    for (int i = 0; i < 20; i++)
        marks[i] = i < bar ? '#' : '-';
    marks[20] = '\0';
    printf("\r[%s] %5.1f%%  %.1f of %.1f MiB  %.1f MiB/s%s", marks, pct, (double)done / (1 << 20),
           (double)total / (1 << 20), rate, last ? "\n" : "");
    fflush(stdout);
}

static int receive(fetch *f, ecl_stream *r, ecl_err *err)
{
    FILE *part = fopen(f->part, "ab");
    /* A fresh fetch starts a fresh record of chunks. */
    FILE *recs = fopen(f->chunks, f->prefix_chunks ? "ab" : "wb");
    if (part == NULL || recs == NULL) {
        if (part != NULL)
            fclose(part);
        if (recs != NULL)
            fclose(recs);
        return ecl_fail(err, ECL_E_IO, "%s or %s: cannot open for writing", f->part, f->chunks);
    }
    const Ecluse__V1__ReadHeader *h = ecl_stream_header(r);
    ecl_stream_chunk c;
    int n;
    double t0 = now_s(), shown = 0;
    uint64_t fresh = 0;
    while ((n = ecl_stream_next(r, &c, err)) == 1) {
        unsigned char rec[RECORD];
        ecl_put_u64le(rec, (uint64_t)c.len);
        memcpy(rec + 8, c.digest, 32);
        /* The bytes first: a record never runs ahead of what it describes
         * once both are flushed, and resume_point copes with the rest. */
        if (fwrite(c.data, 1, c.len, part) != c.len ||
            fwrite(rec, 1, sizeof(rec), recs) != sizeof(rec)) {
            n = ecl_fail(err, ECL_E_IO, "%s: write failed", f->part);
            break;
        }
        fresh += c.len;
        if (f->progress && now_s() - shown > 0.2) {
            shown = now_s();
            show_progress(c.stream_offset + c.len, h->total_bytes, fresh, t0, 0);
        }
    }
    if (fclose(part) != 0 && n == 0)
        n = ecl_fail(err, ECL_E_IO, "%s: write failed", f->part);
    if (fclose(recs) != 0 && n == 0)
        n = ecl_fail(err, ECL_E_IO, "%s: write failed", f->chunks);
    if (f->progress && n == 0)
        show_progress(h->total_bytes, h->total_bytes, fresh, t0, 1);
    if (n != 0)
        return ecl_err_prefix(err,
                              "fetch stopped at byte %llu (run the same command again to "
                              "resume)",
                              (unsigned long long)ecl_stream_position(r));
    return 0;
}

/* The stream is every tensor's bytes one after another: write them out. */
static int write_output(fetch *f, const Ecluse__V1__ReadHeader *h, ecl_err *err)
{
    int fd = open(f->part, O_RDONLY);
    if (fd < 0)
        return ecl_fail(err, ECL_E_IO, "%s: cannot open", f->part);
    size_t total = (size_t)h->total_bytes;
    unsigned char *map =
        total ? mmap(NULL, total, PROT_READ, MAP_PRIVATE, fd, 0) : (unsigned char *)"";
    close(fd);
    if (map == MAP_FAILED)
        return ecl_fail(err, ECL_E_IO, "%s: cannot map", f->part);
    store_writer *w = NULL;
    int rc = store_writer_new(&w, err);
    uint64_t at = 0;
    for (size_t i = 0; rc == 0 && i < h->n_tensors; i++) {
        const Ecluse__V1__TensorInfo *t = h->tensors[i];
        store_dtype dt = store_dtype_parse(t->dtype);
        rc = store_writer_add(w, t->name, dt, t->n_shape, t->shape, map + at, t->byte_size, err);
        at += t->byte_size;
    }
    if (rc == 0)
        rc = store_writer_meta(w, STORE_META_DATASET, h->dataset, err);
    if (rc == 0)
        rc = store_writer_write(w, f->out, err);
    store_writer_free(w);
    if (total)
        munmap(map, total);
    return rc;
}

/* The read's receipt, beside the data as FILE.receipt.json. The data is
 * verified and written whatever happens here: a receipt that cannot be had
 * yet is said, and can be asked for again. */
static void keep_receipt(const fetch *f, ecl_client *client, const Ecluse__V1__ReadHeader *h,
                         const Ecluse__V1__ReadTrailer *t)
{
    char path[PATH_MAX + 16];
    snprintf(path, sizeof(path), "%s.receipt.json", f->out);
    Ecluse__V1__ReadReceipt *r = NULL;
    ecl_err err;
    if (ecl_receipt_get(client, h->dataset, h->read_id, t->audit_seq, (unsigned)f->receipt_wait_ms,
                        &r, &err) != 0 ||
        ecl_receipt_save(path, r, &err) != 0) {
        fprintf(stderr, "ecluse fetch: warning: no receipt of read %s: %s\n", h->read_id, err.msg);
    } else
        printf("receipt: %s (entry %llu of site %s's audit trail)\n", path,
               (unsigned long long)r->seq, r->site);
    if (r != NULL)
        protobuf_c_message_free_unpacked(&r->base, NULL);
}

/* The record of what was written (client/fetch_record.h), so that rows
 * withdrawn later can be found and removed. The data is written whatever
 * happens here: a record that cannot be kept is a warning naming why. */
static void keep_record(const fetch *f, const Ecluse__V1__Grant *g, const Ecluse__V1__ReadHeader *h)
{
    char dir[PATH_MAX];
    ecl_fetch_record rec;
    ecl_err err;
    if (ecl_fetch_records_dir(dir, sizeof(dir), &err) != 0 ||
        ecl_fetch_record_of_read(g, h, f->out, &rec, &err) != 0) {
        fprintf(stderr, "ecluse fetch: warning: no fetch record of read %s: %s\n", h->read_id,
                err.msg);
        return;
    }
    if (ecl_fetch_record_save(dir, &rec, &err) != 0)
        fprintf(stderr, "ecluse fetch: warning: no fetch record of read %s: %s\n", h->read_id,
                err.msg);
    else
        printf("record: %s/%s.json\n", dir, rec.read_id);
    ecl_fetch_record_clear(&rec);
}

static int run_fetch(int argc, char **argv, ecl_err *err)
{
    static const struct option opts[] = {
        {"grant", required_argument, 0, 'G'},        {"tensors", required_argument, 0, 't'},
        {"rows", required_argument, 0, 'r'},         {"shard", required_argument, 0, 's'},
        {"chunk-bytes", required_argument, 0, 'c'},  {"output", required_argument, 0, 'o'},
        {"identity", required_argument, 0, 'i'},     {"gateway", required_argument, 0, 'g'},
        {"no-progress", no_argument, 0, 'n'},        {"no-receipt", no_argument, 0, 'R'},
        {"receipt-wait", required_argument, 0, 'W'}, {0, 0, 0, 0},
    };
    /* The options are long ones; -o is the one short form people expect. */
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], "-o") == 0)
            argv[i] = (char *)"--output";
    fetch f;
    memset(&f, 0, sizeof(f));
    ecl_stream_opts init = ECL_STREAM_OPTS_INIT;
    f.o = init;
    f.identity = ecl_client_default_identity();
    f.progress = isatty(STDOUT_FILENO);
    f.receipt = 1;
    f.receipt_wait_ms = 10000;
    const char *rows = NULL, *shard = NULL, *tensors = NULL;
    long chunk = 0;
    int c, rc = 0;
    while ((c = cli_getopt(argc, argv, opts, err)) != -1) {
        if (c == 'G')
            f.grant_path = optarg;
        else if (c == 't')
            tensors = optarg;
        else if (c == 'r')
            rows = optarg;
        else if (c == 's')
            shard = optarg;
        else if (c == 'c') {
            if (cli_parse_long("--chunk-bytes", optarg, 1, MAX_CHUNK, &chunk, err) != 0)
                return -1;
        } else if (c == 'o')
            f.out = optarg;
        else if (c == 'i')
            f.identity = optarg;
        else if (c == 'g')
            f.gateway = optarg;
        else if (c == 'n')
            f.progress = 0;
        else if (c == 'R')
            f.receipt = 0;
        else if (c == 'W') {
            if (cli_parse_long("--receipt-wait", optarg, 1, 30000, &f.receipt_wait_ms, err) != 0)
                return -1;
        } else
            return -1;
    }
    if (cli_expect_positionals(argc, argv, 0, "", err) != 0)
        return -1;
    if (f.grant_path == NULL || f.out == NULL)
        return ecl_fail(err, ECL_E_USAGE, "fetch needs --grant FILE and -o FILE.safetensors");
    if (rows != NULL && shard != NULL)
        return ecl_fail(err, ECL_E_USAGE, "--rows and --shard do not go together");
    f.o.chunk_bytes = (uint32_t)chunk;
    snprintf(f.part, sizeof(f.part), "%s.part", f.out);
    snprintf(f.state, sizeof(f.state), "%s.part.json", f.out);
    snprintf(f.chunks, sizeof(f.chunks), "%s.part.chunks", f.out);
    if (parse_rows(&f, rows, shard, err) != 0 ||
        (tensors != NULL && parse_tensors(&f, tensors, err) != 0)) {
        free(f.tensor_list);
        return -1;
    }
    Ecluse__V1__Grant *g = NULL;
    if (client_grant_load(f.grant_path, &g, err) != 0) {
        free(f.tensor_list);
        return -1;
    }
    describe_selection(&f, g);
    ecl_client *client = NULL;
    ecl_stream *r = NULL;
    rc = resume_point(&f, err);
    if (rc == 0)
        rc = ecl_client_open(f.identity, f.gateway, &client, err);
    if (rc == 0)
        rc = ecl_stream_open(client, g, &f.o, &r, err);
    if (rc == 0)
        rc = save_state(&f, ecl_stream_header(r), err);
    if (rc == 0)
        rc = feed_prefix(&f, r, err);
    if (rc == 0)
        rc = receive(&f, r, err);
    if (rc == 0)
        rc = write_output(&f, ecl_stream_header(r), err);
    if (rc == 0) {
        const Ecluse__V1__ReadHeader *h = ecl_stream_header(r);
        const Ecluse__V1__ReadTrailer *t = ecl_stream_trailer(r);
        char hex[65];
        sodium_bin2hex(hex, sizeof(hex), t->digest.data, t->digest.len);
        printf("fetched %s: %zu tensor(s), %llu bytes%s into %s\n", h->dataset, h->n_tensors,
               (unsigned long long)h->total_bytes, f.o.resume_offset ? " (resumed)" : "", f.out);
        printf("digest (version %u, %s of the chunk digests): %s; read %s, audit entry %llu\n",
               ecl_header_digest_version(h),
               ecl_header_digest_version(h) == 3 ? "BLAKE3" : "SHA-256", hex, h->read_id,
               (unsigned long long)t->audit_seq);
        remove(f.part);
        remove(f.state);
        remove(f.chunks);
        keep_record(&f, g, h);
        if (f.receipt)
            keep_receipt(&f, client, h, t);
    }
    ecl_stream_close(r);
    ecl_client_close(client);
    ecluse__v1__grant__free_unpacked(g, NULL);
    free(f.tensor_list);
    return rc;
}

const cli_command cli_fetch = {
    "fetch",
    "read what a grant allows into a safetensors file, checked and resumable",
    "Usage: ecluse fetch --grant GRANT_FILE -o FILE.safetensors [--tensors A,B]\n"
    "                    [--rows BEGIN:END | --shard K/N] [--chunk-bytes N]\n"
    "                    [--identity DIR] [--gateway HOST:PORT] [--no-progress]\n"
    "\n"
    "Streams the dataset named by the grant (from `ecluse access request ...\n"
    "--save-grant FILE`) through your home gateway, which relays it from the\n"
    "holding site when that is another site. Every chunk's digest and the\n"
    "trailer's digest of the whole stream are checked; the result is written as a\n"
    "safetensors file only when everything verified. A progress bar with the\n"
    "throughput is shown when stdout is a terminal.\n"
    "\n"
    "Then it asks for the read's receipt (docs/audit-format.md, \"Read receipts\"):\n"
    "the holding site's audit entry of the read, with its inclusion proof in a\n"
    "checkpoint cosigned by that site's peers, written as FILE.receipt.json.\n"
    "`ecluse audit receipt verify` checks it offline.\n"
    "\n"
    "A broken fetch leaves FILE.safetensors.part, .part.json and .part.chunks;\n"
    "the same command (same --chunk-bytes) resumes after the last whole chunk.\n"
    "\n"
    "What was written is recorded in $XDG_STATE_HOME/ecluse/fetches/READ_ID.json\n"
    "(the grant, the read, the source rows, the file and its SHA-256): see\n"
    "`ecluse fetches` and `ecluse fetches erase-rows`.\n"
    "\n"
    "Options:\n"
    "  --grant FILE        the grant file (first line ecluse-grant-v1)\n"
    "  -o, --output FILE   the safetensors file to write\n"
    "  --tensors A,B       only these tensors (default: all the grant allows)\n"
    "  --rows BEGIN:END    source rows [BEGIN, END); END empty = to the last\n"
    "  --shard K/N         shard K of N (0 <= K < N), for data-parallel jobs\n"
    "  --chunk-bytes N     chunk size asked of the gateway (default 4 MiB)\n"
    "  --identity DIR      your identity directory (default $ECLUSE_IDENTITY)\n"
    "  --gateway HOST:PORT override the gateway of your identity\n"
    "  --no-receipt        do not ask for the read's receipt\n"
    "  --receipt-wait MS   how long the holding site may wait for a cosigned\n"
    "                      checkpoint (default 10000, at most 30000)\n"
    "  --no-progress       no progress bar even on a terminal\n"
    "\n"
    "Example:\n"
    "  ecluse fetch --grant lu-bc.grant --shard 0/4 -o bc-0.safetensors\n",
    run_fetch,
};
