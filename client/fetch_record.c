/* fetch_record.c - the records `ecluse fetch` keeps of what it wrote. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "client/fetch_record.h"
#include "common/fileio.h"

#define RECORD_VERSION 1
#define RECORD_MAX     (16u << 20) /* a record is small; this bounds a bad one */

int ecl_fetch_records_dir(char *out, size_t cap, ecl_err *err)
{
    const char *state = getenv("XDG_STATE_HOME"), *home = getenv("HOME");
    int n;
    if (state != NULL && state[0] == '/')
        n = snprintf(out, cap, "%s/ecluse/fetches", state);
    else if (home != NULL && home[0] == '/')
        n = snprintf(out, cap, "%s/.local/state/ecluse/fetches", home);
    else
        return ecl_fail(err, ECL_E_USAGE,
                        "no place for fetch records: set XDG_STATE_HOME or HOME to an absolute "
                        "directory");
    if (n < 0 || (size_t)n >= cap)
        return ecl_fail(err, ECL_E_LIMIT, "fetch records directory: path too long");
    return 0;
}

int ecl_fetch_read_id_valid(const char *id)
{
    size_t n = strlen(id);
    if (n == 0 || n >= ECL_HEX_DIGEST)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (!((id[i] >= '0' && id[i] <= '9') || (id[i] >= 'a' && id[i] <= 'z') ||
              (id[i] >= 'A' && id[i] <= 'Z') || id[i] == '-' || id[i] == '_'))
            return 0;
    return 1;
}

static int record_path(const char *dir, const char *read_id, char *out, size_t cap, ecl_err *err)
{
    if (!ecl_fetch_read_id_valid(read_id))
        return ecl_fail(err, ECL_E_USAGE,
                        "'%s' is not a read id (1 to 64 letters, digits, '-' or '_')", read_id);
    int n = snprintf(out, cap, "%s/%s.json", dir, read_id);
    return n < 0 || (size_t)n >= cap ? ecl_fail(err, ECL_E_LIMIT, "%s: path too long", dir) : 0;
}

static json_t *ranges_json(const ecl_row_range *r, size_t n)
{
    json_t *a = json_array();
    for (size_t i = 0; a != NULL && i < n; i++)
        if (json_array_append_new(
                a, json_pack("[II]", (json_int_t)r[i].begin, (json_int_t)r[i].end)) != 0) {
            json_decref(a);
            return NULL;
        }
    return a;
}

static json_t *record_json(const ecl_fetch_record *r)
{
    json_t *tensors = json_array();
    for (size_t i = 0; tensors != NULL && i < r->n_tensors; i++)
        json_array_append_new(tensors, json_string(r->tensors[i]));
    json_t *o = json_pack(
        "{s:i,s:s,s:s,s:s,s:s,s:I,s:s,s:o*,s:o*,s:s,s:s,s:I,s:o*,s:I}", "ecluse_fetch_record",
        RECORD_VERSION, "read_id", r->read_id, "grant_id", r->grant_id, "grant_digest",
        r->grant_digest, "dataset", r->dataset, "dataset_published_unix",
        (json_int_t)r->dataset_published_unix, "dataset_entry_digest", r->dataset_entry_digest,
        "rows", ranges_json(r->rows, r->n_rows), "tensors", tensors, "file", r->file, "sha256",
        r->sha256, "fetched_unix", (json_int_t)r->fetched_unix, "erased",
        ranges_json(r->erased, r->n_erased), "updated_unix", (json_int_t)r->updated_unix);
    if (o != NULL && r->pending_sha256[0] != '\0' &&
        json_object_set_new(o, "pending",
                            json_pack("{s:s,s:o*}", "sha256", r->pending_sha256, "erase",
                                      ranges_json(r->pending_erase, r->n_pending_erase))) != 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

int ecl_fetch_record_save(const char *dir, const ecl_fetch_record *r, ecl_err *err)
{
    char path[PATH_MAX + 80];
    if (record_path(dir, r->read_id, path, sizeof(path), err) != 0 ||
        ecl_mkdirs(dir, 0700, err) != 0)
        return -1;
    json_t *o = record_json(r);
    char *text = o != NULL ? json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(o);
    if (text == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "%s: out of memory", path);
    int rc = ecl_write_file(path, text, strlen(text), 0600, ECL_WRITE_REPLACE, err);
    free(text);
    return rc;
}

static int copy_str(json_t *o, const char *key, char *out, size_t cap, int hex_len,
                    const char *path, ecl_err *err)
{
    const char *s = json_string_value(json_object_get(o, key));
    size_t n = s != NULL ? strlen(s) : 0;
    if (s == NULL || n >= cap || (hex_len > 0 && n != (size_t)hex_len))
        return ecl_fail(err, ECL_E_INPUT, "%s: \"%s\" is missing or not a %s", path, key,
                        hex_len > 0 ? "hex digest" : "string of a sensible length");
    for (size_t i = 0; hex_len > 0 && i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return ecl_fail(err, ECL_E_INPUT, "%s: \"%s\" is not lowercase hex", path, key);
    memcpy(out, s, n + 1);
    return 0;
}

/* A list of [begin, end] pairs that must already be normal. */
static int load_ranges(json_t *a, const char *key, const char *path, ecl_row_range **out, size_t *n,
                       ecl_err *err)
{
    *out = NULL;
    *n = 0;
    if (!json_is_array(a))
        return ecl_fail(err, ECL_E_INPUT, "%s: \"%s\" is not a list of [begin, end]", path, key);
    size_t len = json_array_size(a);
    ecl_row_range *r = calloc(len ? len : 1, sizeof(*r));
    if (r == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < len; i++) {
        json_t *p = json_array_get(a, i), *b = json_array_get(p, 0), *e = json_array_get(p, 1);
        if (json_array_size(p) != 2 || !json_is_integer(b) || !json_is_integer(e) ||
            json_integer_value(b) < 0 || json_integer_value(e) <= json_integer_value(b) ||
            (i > 0 && (uint64_t)json_integer_value(b) <= r[i - 1].end)) {
            free(r);
            return ecl_fail(err, ECL_E_INPUT,
                            "%s: \"%s\"[%zu] is not a [begin, end] range after the one before "
                            "it",
                            path, key, i);
        }
        r[i].begin = (uint64_t)json_integer_value(b);
        r[i].end = (uint64_t)json_integer_value(e);
    }
    *out = r;
    *n = len;
    return 0;
}

static int load_tensors(json_t *a, const char *path, ecl_fetch_record *r, ecl_err *err)
{
    if (!json_is_array(a))
        return ecl_fail(err, ECL_E_INPUT, "%s: \"tensors\" is not a list of names", path);
    r->tensors = calloc(json_array_size(a) + 1, sizeof(char *));
    if (r->tensors == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < json_array_size(a); i++) {
        const char *s = json_string_value(json_array_get(a, i));
        if (s == NULL)
            return ecl_fail(err, ECL_E_INPUT, "%s: \"tensors\"[%zu] is not a name", path, i);
        if ((r->tensors[i] = strdup(s)) == NULL)
            return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
        r->n_tensors++;
    }
    return 0;
}

static int int_field(json_t *o, const char *key, int64_t *out, const char *path, ecl_err *err)
{
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v))
        return ecl_fail(err, ECL_E_INPUT, "%s: \"%s\" is missing or not an integer", path, key);
    *out = (int64_t)json_integer_value(v);
    return 0;
}

static int parse_record(json_t *o, const char *path, ecl_fetch_record *r, ecl_err *err)
{
    json_t *v = json_object_get(o, "ecluse_fetch_record");
    if (!json_is_integer(v) || json_integer_value(v) != RECORD_VERSION)
        return ecl_fail(err, ECL_E_INPUT, "%s: not a fetch record of version %d", path,
                        RECORD_VERSION);
    json_t *pending = json_object_get(o, "pending");
    if (copy_str(o, "read_id", r->read_id, sizeof(r->read_id), 0, path, err) != 0 ||
        copy_str(o, "grant_id", r->grant_id, sizeof(r->grant_id), 0, path, err) != 0 ||
        copy_str(o, "grant_digest", r->grant_digest, sizeof(r->grant_digest), 64, path, err) != 0 ||
        copy_str(o, "dataset", r->dataset, sizeof(r->dataset), 0, path, err) != 0 ||
        int_field(o, "dataset_published_unix", &r->dataset_published_unix, path, err) != 0 ||
        copy_str(o, "dataset_entry_digest", r->dataset_entry_digest,
                 sizeof(r->dataset_entry_digest), 64, path, err) != 0 ||
        copy_str(o, "file", r->file, sizeof(r->file), 0, path, err) != 0 ||
        copy_str(o, "sha256", r->sha256, sizeof(r->sha256), 64, path, err) != 0 ||
        int_field(o, "fetched_unix", &r->fetched_unix, path, err) != 0 ||
        int_field(o, "updated_unix", &r->updated_unix, path, err) != 0 ||
        load_ranges(json_object_get(o, "rows"), "rows", path, &r->rows, &r->n_rows, err) != 0 ||
        load_ranges(json_object_get(o, "erased"), "erased", path, &r->erased, &r->n_erased, err) !=
            0 ||
        load_tensors(json_object_get(o, "tensors"), path, r, err) != 0)
        return -1;
    if (!ecl_fetch_read_id_valid(r->read_id) || r->file[0] != '/')
        return ecl_fail(err, ECL_E_INPUT, "%s: \"read_id\" or \"file\" (absolute) is not valid",
                        path);
    if (pending != NULL && (copy_str(pending, "sha256", r->pending_sha256,
                                     sizeof(r->pending_sha256), 64, path, err) != 0 ||
                            load_ranges(json_object_get(pending, "erase"), "pending.erase", path,
                                        &r->pending_erase, &r->n_pending_erase, err) != 0))
        return -1;
    return 0;
}

int ecl_fetch_record_load_file(const char *path, ecl_fetch_record *out, ecl_err *err)
{
    memset(out, 0, sizeof(*out));
    char *text = NULL;
    size_t len = 0;
    if (ecl_read_file(path, RECORD_MAX, &text, &len, err) != 0)
        return -1;
    json_error_t jerr;
    json_t *o = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    int rc = o == NULL || !json_is_object(o)
                 ? ecl_fail(err, ECL_E_INPUT, "%s: not a JSON object (%s, line %d)", path,
                            o == NULL ? jerr.text : "another type", jerr.line)
                 : parse_record(o, path, out, err);
    json_decref(o);
    if (rc != 0)
        ecl_fetch_record_clear(out);
    return rc;
}

int ecl_fetch_record_load(const char *dir, const char *read_id, ecl_fetch_record *out, ecl_err *err)
{
    memset(out, 0, sizeof(*out));
    char path[PATH_MAX + 80];
    if (record_path(dir, read_id, path, sizeof(path), err) != 0)
        return -1;
    if (!ecl_path_exists(path))
        return ecl_fail(err, ECL_E_NOT_FOUND, "no fetch record of read %s (looked for %s)", read_id,
                        path);
    if (ecl_fetch_record_load_file(path, out, err) != 0)
        return -1;
    if (strcmp(out->read_id, read_id) != 0) {
        ecl_fetch_record_clear(out);
        return ecl_fail(err, ECL_E_INPUT, "%s: records read %s, not %s", path, out->read_id,
                        read_id);
    }
    return 0;
}

void ecl_fetch_record_clear(ecl_fetch_record *r)
{
    for (size_t i = 0; r->tensors != NULL && i < r->n_tensors; i++)
        free(r->tensors[i]);
    free(r->tensors);
    free(r->rows);
    free(r->erased);
    free(r->pending_erase);
    memset(r, 0, sizeof(*r));
}

static int json_name(const char *name)
{
    size_t n = strlen(name);
    return n > 5 && strcmp(name + n - 5, ".json") == 0 && name[0] != '.';
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int ecl_fetch_records_each(const char *dir, ecl_fetch_record_fn fn, void *arg, ecl_err *err)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return errno == ENOENT
                   ? 0
                   : ecl_fail(err, ECL_E_IO, "%s: cannot read: %s", dir, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    int rc = 0;
    for (struct dirent *e = readdir(d); rc == 0 && e != NULL; e = readdir(d)) {
        if (!json_name(e->d_name))
            continue;
        if (n == cap) {
            char **more = realloc(names, (cap = cap ? 2 * cap : 16) * sizeof(*names));
            if (more == NULL) {
                rc = ecl_fail(err, ECL_E_INTERNAL, "out of memory");
                break;
            }
            names = more;
        }
        if ((names[n] = strdup(e->d_name)) == NULL)
            rc = ecl_fail(err, ECL_E_INTERNAL, "out of memory");
        else
            n++;
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof(*names), by_name);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        char path[PATH_MAX + 300];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        ecl_fetch_record r;
        ecl_err bad;
        if (ecl_fetch_record_load_file(path, &r, &bad) != 0)
            rc = fn(path, NULL, &bad, arg);
        else {
            rc = fn(path, &r, NULL, arg);
            ecl_fetch_record_clear(&r);
        }
    }
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    return rc;
}

int ecl_file_sha256(const char *path, char hex[ECL_HEX_DIGEST], int *fd_out, ecl_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ecl_fail(err, errno == ENOENT ? ECL_E_NOT_FOUND : ECL_E_IO, "%s: cannot open: %s",
                        path, strerror(errno));
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    unsigned char buf[1 << 16], d[crypto_hash_sha256_BYTES];
    ssize_t got;
    while ((got = read(fd, buf, sizeof(buf))) > 0 || (got < 0 && errno == EINTR))
        if (got > 0)
            crypto_hash_sha256_update(&st, buf, (unsigned long long)got);
    if (got < 0) {
        int saved = errno;
        close(fd);
        return ecl_fail(err, ECL_E_IO, "%s: cannot read: %s", path, strerror(saved));
    }
    crypto_hash_sha256_final(&st, d);
    sodium_bin2hex(hex, ECL_HEX_DIGEST, d, sizeof(d));
    if (fd_out != NULL)
        *fd_out = fd;
    else
        close(fd);
    return 0;
}

static int set_str(char *out, size_t cap, const char *what, const char *s, ecl_err *err)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n >= cap)
        return ecl_fail(err, ECL_E_INPUT, "fetch record: %s is too long (%zu bytes)", what, n);
    memcpy(out, s != NULL ? s : "", n + 1);
    return 0;
}

static int of_header(const Ecluse__V1__ReadHeader *h, ecl_fetch_record *r, ecl_err *err)
{
    r->rows = calloc(h->n_row_ranges ? h->n_row_ranges : 1, sizeof(*r->rows));
    r->tensors = calloc(h->n_tensors ? h->n_tensors : 1, sizeof(char *));
    if (r->rows == NULL || r->tensors == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    for (size_t i = 0; i < h->n_row_ranges; i++) {
        const Ecluse__V1__RowRange *x = h->row_ranges[i];
        if (x->end <= x->begin || (i > 0 && x->begin < h->row_ranges[i - 1]->end))
            return ecl_fail(err, ECL_E_INPUT,
                            "read header: row range %zu [%llu, %llu) is empty or out of order", i,
                            (unsigned long long)x->begin, (unsigned long long)x->end);
        r->rows[i] = (ecl_row_range){x->begin, x->end};
    }
    r->n_rows = ecl_row_ranges_normalise(r->rows, h->n_row_ranges);
    for (; r->n_tensors < h->n_tensors; r->n_tensors++)
        if ((r->tensors[r->n_tensors] = strdup(h->tensors[r->n_tensors]->name)) == NULL)
            return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    r->erased = calloc(1, sizeof(*r->erased));
    return r->erased == NULL ? ecl_fail(err, ECL_E_INTERNAL, "out of memory") : 0;
}

int ecl_fetch_record_of_read(const Ecluse__V1__Grant *g, const Ecluse__V1__ReadHeader *h,
                             const char *file, ecl_fetch_record *out, ecl_err *err)
{
    memset(out, 0, sizeof(*out));
    Ecluse__V1__GrantBody *b = ecluse__v1__grant_body__unpack(NULL, g->body.len, g->body.data);
    if (b == NULL)
        return ecl_fail(err, ECL_E_INPUT, "the grant's body does not decode");
    unsigned char d[32];
    crypto_generichash(d, sizeof(d), g->body.data, g->body.len, NULL, 0);
    sodium_bin2hex(out->grant_digest, sizeof(out->grant_digest), d, sizeof(d));
    if (b->dataset_entry_digest.len == 32)
        sodium_bin2hex(out->dataset_entry_digest, sizeof(out->dataset_entry_digest),
                       b->dataset_entry_digest.data, 32);
    else
        memset(out->dataset_entry_digest, '0', 64); /* a grant of before digests: none */
    out->dataset_published_unix = b->dataset_published_unix;
    out->fetched_unix = out->updated_unix = (int64_t)time(NULL);
    int rc = set_str(out->grant_id, sizeof(out->grant_id), "grant id", b->grant_id, err);
    ecluse__v1__grant_body__free_unpacked(b, NULL);
    if (rc == 0)
        rc = set_str(out->read_id, sizeof(out->read_id), "read id", h->read_id, err);
    if (rc == 0)
        rc = set_str(out->dataset, sizeof(out->dataset), "dataset", h->dataset, err);
    if (rc == 0 && realpath(file, out->file) == NULL)
        rc = ecl_fail(err, ECL_E_IO, "%s: cannot resolve its path: %s", file, strerror(errno));
    if (rc == 0)
        rc = of_header(h, out, err);
    if (rc == 0)
        rc = ecl_file_sha256(out->file, out->sha256, NULL, err);
    if (rc != 0)
        ecl_fetch_record_clear(out);
    return rc;
}
