#include "store/text.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static int grow(char **buf, size_t *cap, size_t need, const char *path, ecl_err *err)
{
    if (need <= *cap)
        return 0;
    if (need > STORE_TEXT_MAX + 1)
        return ecl_fail(err, ECL_E_LIMIT, "%s: more than %zu bytes of text", path,
                        (size_t)STORE_TEXT_MAX);
    size_t c = *cap ? *cap : 1 << 16;
    while (c < need)
        c *= 2;
    char *b = realloc(*buf, c);
    if (b == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "%s: out of memory", path);
    *buf = b;
    *cap = c;
    return 0;
}

static int read_all(gzFile g, const char *path, char **buf, size_t *len, ecl_err *err)
{
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (grow(buf, &cap, *len + (1 << 16) + 1, path, err) != 0)
            return -1;
        int n = gzread(g, *buf + *len, 1 << 16);
        int zerr;
        const char *msg = gzerror(g, &zerr);
        if (n < 0 || (zerr != Z_OK && zerr != Z_STREAM_END)) {
            /* zlib names the descriptor ("<fd:3>: ..."); the path says more. */
            const char *why = strstr(msg, ">: ");
            why = why ? why + 3 : msg;
            return ecl_fail(err, zerr == Z_ERRNO ? ECL_E_IO : ECL_E_INPUT,
                            "%s: corrupt or truncated gzip data after %zu bytes: %s", path,
                            *len + (size_t)(n > 0 ? n : 0),
                            zerr == Z_ERRNO ? strerror(errno) : why);
        }
        if (n == 0)
            return 0;
        *len += (size_t)n;
    }
}

int store_text_read(const char *path, char **out, size_t *len, ecl_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ecl_fail(err, errno == ENOENT ? ECL_E_NOT_FOUND : ECL_E_IO, "%s: cannot open: %s",
                        path, strerror(errno));
    gzFile g = gzdopen(fd, "rb");
    if (g == NULL) {
        close(fd);
        return ecl_fail(err, ECL_E_INTERNAL, "%s: cannot start zlib", path);
    }
    char *buf = NULL;
    int rc = read_all(g, path, &buf, len, err);
    gzclose(g);
    if (rc == 0) {
        char *nul = memchr(buf, '\0', *len);
        if (nul != NULL)
            rc = ecl_fail(err, ECL_E_INPUT, "%s: NUL byte at offset %zu: not a text file", path,
                          (size_t)(nul - buf));
    }
    if (rc != 0) {
        free(buf);
        return -1;
    }
    buf[*len] = '\0';
    *out = buf;
    return 0;
}
