/* keyfile.c - private key files: their mode checked, their bytes guarded
 * (see keyfile.h). */
#include "site/keyfile.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int keyfile_check_mode(const char *path, mode_t mode, ecl_err *err)
{
    if ((mode & 077) == 0)
        return 0;
    return ecl_fail(err, ECL_E_INPUT,
                    "%s: private key is %s by group or others (mode %04o); chmod 600 it", path,
                    (mode & 044) != 0 ? "readable" : "accessible", (unsigned)(mode & 07777));
}

/* All `size` bytes of `fd` into `buf`. */
static int read_all(int fd, char *buf, size_t size, const char *path, ecl_err *err)
{
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return ecl_fail(err, ECL_E_IO, "%s: read failed: %s", path,
                            n == 0 ? "file shrank while reading" : strerror(errno));
        got += (size_t)n;
    }
    return 0;
}

/* The open key file's size, once its type and mode are checked. */
static int checked_size(int fd, const char *path, size_t max_bytes, size_t *size, ecl_err *err)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return ecl_fail(err, ECL_E_IO, "%s: not a regular file", path);
    if (keyfile_check_mode(path, st.st_mode, err) != 0)
        return -1;
    if ((size_t)st.st_size > max_bytes)
        return ecl_fail(err, ECL_E_LIMIT, "%s: %lld bytes is larger than the %zu allowed", path,
                        (long long)st.st_size, max_bytes);
    *size = (size_t)st.st_size;
    return 0;
}

int keyfile_read(const char *path, size_t max_bytes, char **out, size_t *len, ecl_err *err)
{
    if (sodium_init() < 0)
        return ecl_fail(err, ECL_E_INTERNAL, "libsodium failed to initialise");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ecl_fail(err, errno == ENOENT ? ECL_E_NOT_FOUND : ECL_E_IO, "%s: cannot open: %s",
                        path, strerror(errno));
    size_t size = 0;
    char *buf = NULL;
    int rc = checked_size(fd, path, max_bytes, &size, err);
    if (rc == 0 && (buf = sodium_malloc(size + 1)) == NULL)
        rc = ecl_fail(err, ECL_E_INTERNAL, "%s: out of memory for the key", path);
    if (rc == 0)
        rc = read_all(fd, buf, size, path, err);
    close(fd);
    if (rc != 0) {
        keyfile_free(buf);
        return -1;
    }
    buf[size] = '\0';
    *out = buf;
    *len = size;
    return 0;
}

void keyfile_free(char *buf)
{
    if (buf != NULL)
        sodium_free(buf); /* zeroes it first */
}
