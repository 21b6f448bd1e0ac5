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

/* Length of the valid UTF-8 sequence at `p` (1-4), or 0 if the bytes there
 * are not one: overlong forms, surrogates and code points past U+10FFFF
 * count as invalid, so a log line is always well-formed UTF-8. */
static size_t utf8_sequence(const unsigned char *p)
{
    if (p[0] < 0x80)
        return 1;
    size_t n = p[0] >= 0xC2 && p[0] <= 0xDF   ? 2
               : p[0] >= 0xE0 && p[0] <= 0xEF ? 3
               : p[0] >= 0xF0 && p[0] <= 0xF4 ? 4
                                              : 0;
    for (size_t i = 1; i < n; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0; /* also stops at the terminating NUL */
    if ((p[0] == 0xE0 && p[1] < 0xA0) || (p[0] == 0xED && p[1] > 0x9F) ||
        (p[0] == 0xF0 && p[1] < 0x90) || (p[0] == 0xF4 && p[1] > 0x8F))
        return 0;
    return n;
}

/* A byte that must not reach a terminal or a log reader as it is. */
static int is_control(unsigned char c)
{
    return c < 0x20 || c == 0x7F;
}

static int needs_quotes(const char *value)
{
    if (value[0] == '\0')
        return 1;
    const unsigned char *p = (const unsigned char *)value;
    while (*p != '\0') {
        size_t n = is_control(*p) ? 0 : utf8_sequence(p);
        if (n == 0 || *p == ' ' || *p == '"' || *p == '=' || *p == '\\')
            return 1;
        p += n;
    }
    return 0;
}

/* Values come from callers, peers and requests alike: every control byte and
 * every byte that is not valid UTF-8 is written as \xHH (a newline as \n),
 * here, so that no caller can forget it and no value can forge a line, a
 * field or a terminal escape. */
static void put_value(line_buf *line, const char *value)
{
    if (value == NULL)
        value = "";
    if (!needs_quotes(value)) {
        put_raw(line, value, strlen(value));
        return;
    }
    static const char hex[] = "0123456789abcdef";
    put_raw(line, "\"", 1);
    const unsigned char *p = (const unsigned char *)value;
    while (*p != '\0') {
        size_t n = is_control(*p) ? 0 : utf8_sequence(p);
        if (*p == '"' || *p == '\\') {
            put_raw(line, "\\", 1);
            put_raw(line, (const char *)p, 1);
        } else if (*p == '\n') {
            put_raw(line, "\\n", 2);
        } else if (n == 0) {
            char esc[4] = {'\\', 'x', hex[*p >> 4], hex[*p & 0x0F]};
            put_raw(line, esc, sizeof(esc));
        } else {
            put_raw(line, (const char *)p, n);
            p += n - 1;
        }
        p++;
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
