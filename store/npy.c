#include "store/npy.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/bytes.h"
#include "store/writer.h"

/* A cursor over the header text, a Python dict literal. */
typedef struct lex {
    const char *start, *s, *end;
    const char *what;
    ecl_err *err;
} lex;

static void skip_ws(lex *l)
{
    while (l->s < l->end && (*l->s == ' ' || *l->s == '\t' || *l->s == '\n' || *l->s == '\r'))
        l->s++;
}

static int expect(lex *l, char c)
{
    skip_ws(l);
    if (l->s >= l->end || *l->s != c)
        return ecl_fail(l->err, ECL_E_INPUT, "%s: header: expected '%c' at header offset %ld",
                        l->what, c, (long)(l->s - l->start));
    l->s++;
    return 0;
}

/* A quoted Python string without escapes (numpy writes none) into out. */
static int string_lit(lex *l, char *out, size_t cap)
{
    skip_ws(l);
    if (l->s >= l->end || (*l->s != '\'' && *l->s != '"'))
        return ecl_fail(l->err, ECL_E_INPUT, "%s: header: expected a quoted string", l->what);
    char q = *l->s++;
    size_t n = 0;
    while (l->s < l->end && *l->s != q) {
        if (*l->s == '\\' || n + 1 >= cap)
            return ecl_fail(l->err, ECL_E_INPUT, "%s: header: string too long or escaped", l->what);
        out[n++] = *l->s++;
    }
    if (l->s >= l->end)
        return ecl_fail(l->err, ECL_E_INPUT, "%s: header: unterminated string", l->what);
    l->s++;
    out[n] = '\0';
    return 0;
}

static int bool_lit(lex *l, int *out)
{
    skip_ws(l);
    size_t left = (size_t)(l->end - l->s);
    if (left >= 4 && memcmp(l->s, "True", 4) == 0) {
        l->s += 4, *out = 1;
        return 0;
    }
    if (left >= 5 && memcmp(l->s, "False", 5) == 0) {
        l->s += 5, *out = 0;
        return 0;
    }
    return ecl_fail(l->err, ECL_E_INPUT, "%s: header: fortran_order is not True or False", l->what);
}

/* (a, b, ...) with an optional trailing comma; () is a scalar. */
static int shape_lit(lex *l, store_npy_info *out)
{
    if (expect(l, '(') != 0)
        return ecl_err_prefix(l->err, "shape");
    out->ndim = 0;
    for (;;) {
        skip_ws(l);
        if (l->s < l->end && *l->s == ')') {
            l->s++;
            return 0;
        }
        if (out->ndim == STORE_MAX_DIMS)
            return ecl_fail(l->err, ECL_E_LIMIT, "%s: header: more than %d dimensions", l->what,
                            STORE_MAX_DIMS);
        if (l->s >= l->end || !isdigit((unsigned char)*l->s))
            return ecl_fail(l->err, ECL_E_INPUT,
                            "%s: header: shape[%zu] is not a non-negative integer", l->what,
                            out->ndim);
        uint64_t v = 0;
        while (l->s < l->end && isdigit((unsigned char)*l->s)) {
            unsigned d = (unsigned)(*l->s++ - '0');
            if (v > (UINT64_MAX - d) / 10)
                return ecl_fail(l->err, ECL_E_INPUT, "%s: header: shape[%zu] too large", l->what,
                                out->ndim);
            v = v * 10 + d;
        }
        if (l->s < l->end && *l->s == 'L') /* Python 2 long */
            l->s++;
        out->shape[out->ndim++] = v;
        skip_ws(l);
        if (l->s < l->end && *l->s == ',')
            l->s++;
        else if (l->s < l->end && *l->s != ')')
            return ecl_fail(l->err, ECL_E_INPUT, "%s: header: shape: expected ',' or ')'", l->what);
    }
}

static int parse_descr(const char *d, const char *what, store_dtype *out, ecl_err *err)
{
    size_t len = strlen(d);
    if (len < 2 || strchr("<>|=", d[0]) == NULL)
        return ecl_fail(err, ECL_E_INPUT, "%s: unsupported dtype '%s'", what, d);
    char kind = d[1];
    long size = strtol(d + 2, NULL, 10);
    if (kind == 'O')
        return ecl_fail(err, ECL_E_INPUT, "%s: object dtype '%s' cannot be stored as tensors", what,
                        d);
    if (d[0] == '>' && size > 1)
        return ecl_fail(err, ECL_E_INPUT,
                        "%s: big-endian dtype '%s' not supported (convert with "
                        "arr.astype(arr.dtype.newbyteorder('<')))",
                        what, d);
    static const struct {
        char kind;
        long size;
        store_dtype dt;
    } map[] = {
        {'b', 1, STORE_DT_BOOL}, {'i', 1, STORE_DT_I8},  {'u', 1, STORE_DT_U8},
        {'i', 2, STORE_DT_I16},  {'u', 2, STORE_DT_U16}, {'f', 2, STORE_DT_F16},
        {'i', 4, STORE_DT_I32},  {'u', 4, STORE_DT_U32}, {'f', 4, STORE_DT_F32},
        {'i', 8, STORE_DT_I64},  {'u', 8, STORE_DT_U64}, {'f', 8, STORE_DT_F64},
    };
    char digits[8];
    snprintf(digits, sizeof(digits), "%ld", size);
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (map[i].kind == kind && map[i].size == size && strcmp(d + 2, digits) == 0) {
            *out = map[i].dt;
            return 0;
        }
    return ecl_fail(err, ECL_E_INPUT, "%s: unsupported dtype '%s'", what, d);
}

/* The dict: exactly the keys descr, fortran_order and shape. */
static int parse_dict(lex *l, store_npy_info *out)
{
    int seen[3] = {0, 0, 0}, fortran = 0;
    char key[32], descr[64];
    if (expect(l, '{') != 0)
        return -1;
    for (;;) {
        skip_ws(l);
        if (l->s < l->end && *l->s == '}') {
            l->s++;
            break;
        }
        skip_ws(l);
        if (l->s < l->end && *l->s == '[')
            return ecl_fail(l->err, ECL_E_INPUT, "%s: structured dtype not supported", l->what);
        if (string_lit(l, key, sizeof(key)) != 0 || expect(l, ':') != 0)
            return -1;
        int k = strcmp(key, "descr") == 0           ? 0
                : strcmp(key, "fortran_order") == 0 ? 1
                : strcmp(key, "shape") == 0         ? 2
                                                    : -1;
        if (k < 0 || seen[k])
            return ecl_fail(l->err, ECL_E_INPUT, "%s: header: %s key '%s'", l->what,
                            k < 0 ? "unexpected" : "repeated", key);
        seen[k] = 1;
        skip_ws(l);
        if (k == 0 && l->s < l->end && *l->s == '[')
            return ecl_fail(l->err, ECL_E_INPUT, "%s: structured dtype not supported", l->what);
        int rc = k == 0   ? string_lit(l, descr, sizeof(descr))
                 : k == 1 ? bool_lit(l, &fortran)
                          : shape_lit(l, out);
        if (rc != 0)
            return -1;
        skip_ws(l);
        if (l->s < l->end && *l->s == ',')
            l->s++;
    }
    if (!seen[0] || !seen[1] || !seen[2])
        return ecl_fail(l->err, ECL_E_INPUT, "%s: header: missing key '%s'", l->what,
                        !seen[0]   ? "descr"
                        : !seen[1] ? "fortran_order"
                                   : "shape");
    if (parse_descr(descr, l->what, &out->dtype, l->err) != 0)
        return -1;
    if (fortran)
        return ecl_fail(l->err, ECL_E_INPUT,
                        "%s: fortran_order True is not supported: save a C-ordered array "
                        "(numpy.ascontiguousarray)",
                        l->what);
    return 0;
}

static int check_data(store_npy_info *o, uint64_t len, const char *what, ecl_err *err)
{
    uint64_t want = store_dtype_size(o->dtype);
    for (size_t d = 0; d < o->ndim; d++) {
        if (o->shape[d] == 0) {
            want = 0;
            break;
        }
        if (want > UINT64_MAX / o->shape[d])
            return ecl_fail(err, ECL_E_INPUT, "%s: shape's byte size overflows", what);
        want *= o->shape[d];
    }
    uint64_t have = len - o->data_offset;
    if (have < want)
        return ecl_fail(err, ECL_E_INPUT,
                        "%s: truncated data: shape needs %llu bytes from offset %llu, file has "
                        "%llu",
                        what, (unsigned long long)want, (unsigned long long)o->data_offset,
                        (unsigned long long)have);
    if (have > want)
        return ecl_fail(err, ECL_E_INPUT, "%s: %llu unexpected bytes after the data (offset %llu)",
                        what, (unsigned long long)(have - want),
                        (unsigned long long)(o->data_offset + want));
    o->byte_size = want;
    return 0;
}

int store_npy_parse(const unsigned char *buf, uint64_t len, const char *what, store_npy_info *out,
                    ecl_err *err)
{
    memset(out, 0, sizeof(*out));
    ecl_rd r;
    ecl_rd_init(&r, buf, (size_t)len);
    const unsigned char *magic;
    uint8_t major, minor;
    if (len < 10 || ecl_rd_take(&r, 6, &magic) != 0 || memcmp(magic, "\x93NUMPY", 6) != 0)
        return ecl_fail(err, ECL_E_INPUT, "%s: bad magic: not a .npy file (expected \\x93NUMPY)",
                        what);
    if ((ecl_rd_u8(&r, &major) | ecl_rd_u8(&r, &minor)) != 0 || major < 1 || major > 3 ||
        minor != 0)
        return ecl_fail(err, ECL_E_INPUT, "%s: unsupported .npy version %u.%u (1.0 to 3.0 known)",
                        what, major, minor);
    /* Version 1 has a u16le header length, 2 and 3 a u32le. */
    uint16_t h16;
    uint32_t h32;
    int rc = major == 1 ? ecl_rd_u16le(&r, &h16) : ecl_rd_u32le(&r, &h32);
    if (rc != 0)
        return ecl_fail(err, ECL_E_INPUT, "%s: truncated before the header length", what);
    uint64_t hlen = major == 1 ? h16 : h32;
    uint64_t pre = ecl_rd_pos(&r);
    const unsigned char *header;
    if (ecl_rd_take(&r, hlen, &header) != 0)
        return ecl_fail(err, ECL_E_INPUT,
                        "%s: header length %llu goes beyond the end of the file (%llu bytes)", what,
                        (unsigned long long)hlen, (unsigned long long)len);
    const char *h = (const char *)header;
    if (hlen == 0 || h[hlen - 1] != '\n')
        return ecl_fail(err, ECL_E_INPUT, "%s: header does not end with a newline", what);
    lex l = {h, h, h + hlen, what, err};
    if (parse_dict(&l, out) != 0)
        return -1;
    skip_ws(&l);
    if (l.s != l.end)
        return ecl_fail(err, ECL_E_INPUT, "%s: header: unexpected text after the dict", what);
    out->data_offset = pre + hlen;
    return check_data(out, len, what, err);
}

typedef struct mapped {
    unsigned char *p;
    uint64_t len;
} mapped;

static int map_npy(const char *path, mapped *m, ecl_err *err)
{
    static unsigned char empty[1];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0)
        return ecl_fail(err, errno == ENOENT ? ECL_E_NOT_FOUND : ECL_E_IO, "%s: cannot open: %s",
                        path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ecl_fail(err, ECL_E_IO, "%s: not a regular file", path);
    }
    m->len = (uint64_t)st.st_size;
    m->p = empty;
    if (m->len > 0) {
        void *p = mmap(NULL, (size_t)m->len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            close(fd);
            return ecl_fail(err, ECL_E_IO, "%s: cannot mmap: %s", path, strerror(errno));
        }
        m->p = p;
    }
    close(fd);
    return 0;
}

static void unmap_all(mapped *m, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (m[i].len > 0)
            munmap(m[i].p, (size_t)m[i].len);
    free(m);
}

static int add_all(store_writer *w, size_t n, const char *const *paths, const char *const *names,
                   mapped *m, size_t *mapped_n, ecl_err *err)
{
    for (size_t i = 0; i < n; i++) {
        store_npy_info info;
        if (map_npy(paths[i], &m[i], err) != 0)
            return -1;
        (*mapped_n)++;
        if (store_npy_parse(m[i].p, m[i].len, paths[i], &info, err) != 0 ||
            store_writer_add(w, names[i], info.dtype, info.ndim, info.shape,
                             m[i].p + info.data_offset, info.byte_size, err) != 0)
            return -1;
    }
    return 0;
}

int store_import_npy(size_t n, const char *const *paths, const char *const *names, const char *dst,
                     store_dataset **out, ecl_err *err)
{
    store_writer *w;
    mapped *m = calloc(n ? n : 1, sizeof(*m));
    if (m == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    if (store_writer_new(&w, err) != 0) {
        free(m);
        return -1;
    }
    size_t mapped_n = 0;
    int rc = add_all(w, n, paths, names, m, &mapped_n, err);
    if (rc == 0)
        rc = store_writer_write(w, dst, err);
    store_writer_free(w);
    unmap_all(m, mapped_n);
    if (rc == 0 && out != NULL)
        rc = store_open(dst, out, err);
    return rc;
}
