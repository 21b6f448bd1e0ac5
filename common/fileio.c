#include "common/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int ecl_read_file(const char *path, size_t max_bytes, char **out, size_t *len, ecl_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return ecl_fail(err, errno == ENOENT ? ECL_E_NOT_FOUND : ECL_E_IO, "%s: cannot open: %s",
                        path, strerror(errno));
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return ecl_fail(err, ECL_E_IO, "%s: not a regular file", path);
    }
    if ((size_t)st.st_size > max_bytes) {
        close(fd);
        return ecl_fail(err, ECL_E_LIMIT, "%s: %lld bytes is larger than the %zu allowed", path,
                        (long long)st.st_size, max_bytes);
    }
    size_t size = (size_t)st.st_size;
    char *buf = malloc(size + 1);
    if (buf == NULL) {
        close(fd);
        return ecl_fail(err, ECL_E_INTERNAL, "%s: out of memory", path);
    }
    size_t got = 0;
    while (got < size) {
        ssize_t n = read(fd, buf + got, size - got);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int saved = errno;
            free(buf);
            close(fd);
            return ecl_fail(err, ECL_E_IO, "%s: read failed: %s", path,
                            n == 0 ? "file shrank while reading" : strerror(saved));
        }
        got += (size_t)n;
    }
    close(fd);
    buf[size] = '\0';
    *out = buf;
    *len = size;
    return 0;
}

static int write_all(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

static int fsync_dir_of(const char *path)
{
    char dir[4096];
    if (ecl_path_dirname(dir, sizeof(dir), path, NULL) != 0)
        return -1;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

int ecl_write_file(const char *path, const void *data, size_t len, mode_t mode, int flags,
                   ecl_err *err)
{
    if ((flags & ECL_WRITE_EXCLUSIVE) && ecl_path_exists(path))
        return ecl_fail(err, ECL_E_EXISTS, "%s: already exists; refusing to overwrite it", path);
    char tmp[4096];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid()) >= (int)sizeof(tmp))
        return ecl_fail(err, ECL_E_LIMIT, "%s: path too long", path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0)
        return ecl_fail(err, ECL_E_IO, "%s: cannot create: %s", path, strerror(errno));
    /* open() applies the umask; the mode asked for is the mode wanted. */
    if (fchmod(fd, mode) != 0 || write_all(fd, data, len) != 0 || fsync(fd) != 0) {
        int saved = errno;
        close(fd);
        unlink(tmp);
        return ecl_fail(err, ECL_E_IO, "%s: write failed: %s", path, strerror(saved));
    }
    close(fd);
    if (flags & ECL_WRITE_EXCLUSIVE) {
        /* link() fails if the target appeared meanwhile: no silent replace. */
        if (link(tmp, path) != 0) {
            int saved = errno;
            unlink(tmp);
            return ecl_fail(err, saved == EEXIST ? ECL_E_EXISTS : ECL_E_IO, "%s: cannot create: %s",
                            path, strerror(saved));
        }
        unlink(tmp);
    } else if (rename(tmp, path) != 0) {
        int saved = errno;
        unlink(tmp);
        return ecl_fail(err, ECL_E_IO, "%s: cannot replace: %s", path, strerror(saved));
    }
    fsync_dir_of(path);
    return 0;
}

int ecl_mkdirs(const char *path, mode_t mode, ecl_err *err)
{
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0 || n >= sizeof(buf))
        return ecl_fail(err, ECL_E_USAGE, "bad directory path '%s'", path);
    memcpy(buf, path, n + 1);
    for (char *p = buf + 1; *p != '\0'; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(buf, mode) != 0 && errno != EEXIST)
            return ecl_fail(err, ECL_E_IO, "%s: cannot create directory: %s", buf, strerror(errno));
        *p = '/';
    }
    if (mkdir(buf, mode) != 0 && errno != EEXIST)
        return ecl_fail(err, ECL_E_IO, "%s: cannot create directory: %s", buf, strerror(errno));
    struct stat st;
    if (stat(buf, &st) != 0 || !S_ISDIR(st.st_mode))
        return ecl_fail(err, ECL_E_IO, "%s: exists and is not a directory", buf);
    return 0;
}

int ecl_path_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

int ecl_path_join(char *out, size_t cap, const char *dir, const char *name, ecl_err *err)
{
    int n =
        name[0] == '/' ? snprintf(out, cap, "%s", name) : snprintf(out, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap)
        return ecl_fail(err, ECL_E_LIMIT, "path too long: %s/%s", dir, name);
    return 0;
}

int ecl_path_dirname(char *out, size_t cap, const char *path, ecl_err *err)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return ecl_path_join(out, cap, ".", "", err) == 0 ? (out[1] = '\0', 0) : -1;
    size_t n = slash == path ? 1 : (size_t)(slash - path);
    if (n >= cap)
        return ecl_fail(err, ECL_E_LIMIT, "path too long: %s", path);
    memcpy(out, path, n);
    out[n] = '\0';
    return 0;
}
