#include "tests/store/testutil.h"

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

void tu_tmpdir(char *out, size_t cap)
{
    const char *base = getenv("TEST_TMPDIR");
    int n = snprintf(out, cap, "%s/storeXXXXXX", base && *base ? base : "/tmp");
    assert_true(n > 0 && (size_t)n < cap);
    assert_non_null(mkdtemp(out));
}

char *tu_path(char *out, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(out, cap, "%s/%s", dir, name);
    assert_true(n > 0 && (size_t)n < cap);
    return out;
}

void tu_write(const char *path, const void *data, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    if (len > 0)
        assert_int_equal(fwrite(data, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

void tu_write_st(const char *path, const char *header, const void *data, size_t len)
{
    size_t hl = strlen(header);
    unsigned char *buf = malloc(8 + hl + len + 1);
    assert_non_null(buf);
    for (int i = 0; i < 8; i++)
        buf[i] = (unsigned char)((uint64_t)hl >> (8 * i));
    memcpy(buf + 8, header, hl);
    if (len > 0)
        memcpy(buf + 8 + hl, data, len);
    tu_write(path, buf, 8 + hl + len);
    free(buf);
}

void tu_assert_err(int rc, const ecl_err *err, ecl_code want, const char *needle, const char *file,
                   int line)
{
    if (rc != -1 || err->code != want || strstr(err->msg, needle) == NULL) {
        print_error("%s:%d: want rc -1, code %s, message containing \"%s\"; got rc %d, code %s, "
                    "message \"%s\"\n",
                    file, line, ecl_code_name(want), needle, rc, ecl_code_name(err->code),
                    err->msg);
        fail();
    }
}

void tu_ok(int rc, const ecl_err *err, const char *file, int line)
{
    if (rc != 0) {
        print_error("%s:%d: unexpected failure (%s): %s\n", file, line, ecl_code_name(err->code),
                    err->msg);
        fail();
    }
}

size_t tu_count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
            n++;
    closedir(d);
    return n;
}
