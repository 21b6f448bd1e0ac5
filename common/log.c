#include "common/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096

static int log_level = -1;

void ecl_log_set_level(ecl_log_level level)
{
    log_level = (int)level;
}

static int current_level(void)
{
    if (log_level < 0) {
        const char *env = getenv("ECLUSE_LOG");
        log_level = ECL_LOG_INFO;
        if (env != NULL && strcasecmp(env, "debug") == 0)
            log_level = ECL_LOG_DEBUG;
        else if (env != NULL && strcasecmp(env, "warn") == 0)
            log_level = ECL_LOG_WARN;
        else if (env != NULL && strcasecmp(env, "error") == 0)
            log_level = ECL_LOG_ERROR;
    }
    return log_level;
}

typedef struct {
    char buf[LOG_LINE_MAX];
    size_t len;
} line_buf;

static void put_raw(line_buf *line, const char *s, size_t n)
{
    size_t room = sizeof(line->buf) - 1 - line->len; /* keep one for '\n' */
    if (n > room)
        n = room;
    memcpy(line->buf + line->len, s, n);
    line->len += n;
}

static void put_value(line_buf *line, const char *value)
{
    if (value == NULL)
        value = "";
    int needs_quotes = value[0] == '\0' || strpbrk(value, " \t\"=\\\n") != NULL;
    if (!needs_quotes) {
        put_raw(line, value, strlen(value));
        return;
    }
    put_raw(line, "\"", 1);
    for (const char *p = value; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\')
            put_raw(line, "\\", 1);
        if (*p == '\n')
            put_raw(line, "\\n", 2);
        else
            put_raw(line, p, 1);
    }
    put_raw(line, "\"", 1);
}

static const char *level_name(ecl_log_level level)
{
    static const char *names[] = {"debug", "info", "warn", "error"};
    return (level >= ECL_LOG_DEBUG && level <= ECL_LOG_ERROR) ? names[level] : "info";
}

void ecl_log(ecl_log_level level, const char *event, ...)
{
    if ((int)level < current_level())
        return;
    line_buf line = {.len = 0};
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    char stamp[128];
    snprintf(stamp, sizeof(stamp),
             "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s event=", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000,
             level_name(level));
    put_raw(&line, stamp, strlen(stamp));
    put_value(&line, event);

    va_list ap;
    va_start(ap, event);
    for (;;) {
        const char *key = va_arg(ap, const char *);
        if (key == NULL)
            break;
        const char *value = va_arg(ap, const char *);
        put_raw(&line, " ", 1);
        put_raw(&line, key, strlen(key));
        put_raw(&line, "=", 1);
        put_value(&line, value);
    }
    va_end(ap);
    line.buf[line.len++] = '\n';
    ssize_t ignored = write(STDERR_FILENO, line.buf, line.len);
    (void)ignored;
}
