#include "common/log.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define LOG_LINE_MAX 4096

static int log_level = -1;
static int log_format = -1;
static int journal_stream = -1;

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

int ecl_log_format_from_name(const char *name)
{
    if (name != NULL && strcmp(name, "logfmt") == 0)
        return ECL_LOG_LOGFMT;
    if (name != NULL && strcmp(name, "json") == 0)
        return ECL_LOG_JSON;
    return -1;
}

void ecl_log_set_format(ecl_log_format format)
{
    log_format = (int)format;
}

static int current_format(void)
{
    if (log_format < 0) {
        int from_env = ecl_log_format_from_name(getenv("ECLUSE_LOG_FORMAT"));
        log_format = from_env < 0 ? ECL_LOG_LOGFMT : from_env;
    }
    return log_format;
}

/* systemd hands a service's stderr to journald as a stream and says so in
 * JOURNAL_STREAM ("device:inode" of that stream): only then does a "<N>"
 * prefix mean a priority rather than three bytes of text. */
static int stderr_is_journal(void)
{
    if (journal_stream < 0) {
        const char *env = getenv("JOURNAL_STREAM");
        struct stat st;
        unsigned long long dev = 0, ino = 0;
        int n = -1;
        journal_stream = env != NULL && fstat(STDERR_FILENO, &st) == 0 &&
                         sscanf(env, "%llu:%llu%n", &dev, &ino, &n) == 2 && env[n] == '\0' &&
                         dev == (unsigned long long)st.st_dev &&
                         ino == (unsigned long long)st.st_ino;
    }
    return journal_stream;
}

/* The syslog priority of a level (sd-daemon.h's SD_DEBUG ... SD_ERR). */
static int syslog_priority(ecl_log_level level)
{
    static const int priorities[] = {7, 6, 4, 3};
    return (level >= ECL_LOG_DEBUG && level <= ECL_LOG_ERROR) ? priorities[level] : 6;
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

static void put_prefix(line_buf *line, ecl_log_level level)
{
    if (!stderr_is_journal())
        return;
    char prefix[8];
    snprintf(prefix, sizeof(prefix), "<%d>", syslog_priority(level));
    put_raw(line, prefix, strlen(prefix));
}

static void format_time(char *out, size_t cap)
{
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    struct tm tm;
    gmtime_r(&now.tv_sec, &tm);
    snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
             tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000);
}

static void write_line(line_buf *line)
{
    line->buf[line->len++] = '\n';
    ssize_t ignored = write(STDERR_FILENO, line->buf, line->len);
    (void)ignored;
}

static void log_logfmt(ecl_log_level level, const char *event, va_list ap)
{
    line_buf line = {.len = 0};
    put_prefix(&line, level);
    char ts[96], head[160];
    format_time(ts, sizeof(ts));
    snprintf(head, sizeof(head), "ts=%s level=%s event=", ts, level_name(level));
    put_raw(&line, head, strlen(head));
    put_value(&line, event);
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
    write_line(&line);
}

/* A JSON string for a value: jansson escapes quotes and control bytes, but
 * takes only valid UTF-8, so each byte that is not is written as the text
 * \xHH first, as in logfmt. NULL when out of memory. */
static json_t *json_value(const char *value)
{
    if (value == NULL)
        value = "";
    size_t len = strlen(value);
    char *clean = malloc(4 * len + 1);
    if (clean == NULL)
        return NULL;
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)value; *p != '\0';) {
        size_t seq = utf8_sequence(p);
        if (seq == 0) {
            clean[n++] = '\\';
            clean[n++] = 'x';
            clean[n++] = hex[*p >> 4];
            clean[n++] = hex[*p & 0x0F];
            p++;
        } else {
            memcpy(clean + n, p, seq);
            n += seq;
            p += seq;
        }
    }
    json_t *s = json_stringn(clean, n);
    free(clean);
    return s;
}

/* `text` with each DEL byte (0x7f) as \u007f, which JSON reads back as the
 * same character; frees `text`, returns NULL when out of memory. */
static char *escape_del(char *text)
{
    size_t dels = 0, len = 0;
    for (; text[len] != '\0'; len++)
        dels += text[len] == 0x7f;
    if (dels == 0)
        return text;
    char *out = malloc(len + 5 * dels + 1);
    size_t n = 0;
    for (size_t i = 0; out != NULL && i < len; i++) {
        if (text[i] == 0x7f) {
            memcpy(out + n, "\\u007f", 6);
            n += 6;
        } else {
            out[n++] = text[i];
        }
    }
    if (out != NULL)
        out[n] = '\0';
    free(text);
    return out;
}

/* One JSON object per line; 0 if it could not be built (out of memory). */
static int log_json(ecl_log_level level, const char *event, va_list ap)
{
    char ts[96];
    format_time(ts, sizeof(ts));
    json_t *obj = json_object();
    int ok = obj != NULL && json_object_set_new(obj, "ts", json_string(ts)) == 0 &&
             json_object_set_new(obj, "level", json_string(level_name(level))) == 0 &&
             json_object_set_new(obj, "event", json_value(event)) == 0;
    while (ok) {
        const char *key = va_arg(ap, const char *);
        if (key == NULL)
            break;
        const char *value = va_arg(ap, const char *);
        json_t *k = json_value(key); /* keys are the code's, but keep them UTF-8 too */
        ok = k != NULL && json_object_set_new(obj, json_string_value(k), json_value(value)) == 0;
        json_decref(k);
    }
    char *text = ok ? json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
    json_decref(obj);
    if (text == NULL)
        return 0;
    /* JSON leaves DEL as it is; a terminal or log reader should not get it. */
    text = escape_del(text);
    if (text == NULL)
        return 0;
    line_buf line = {.len = 0};
    put_prefix(&line, level);
    size_t len = strlen(text);
    if (line.len + len + 1 <= sizeof(line.buf)) {
        put_raw(&line, text, len);
        write_line(&line);
    } else {
        /* Too long for the buffer: still one write, never a cut object. */
        char *whole = malloc(line.len + len + 1);
        if (whole != NULL) {
            memcpy(whole, line.buf, line.len);
            memcpy(whole + line.len, text, len);
            whole[line.len + len] = '\n';
            ssize_t ignored = write(STDERR_FILENO, whole, line.len + len + 1);
            (void)ignored;
        }
        free(whole);
    }
    free(text);
    return 1;
}

void ecl_log(ecl_log_level level, const char *event, ...)
{
    if ((int)level < current_level())
        return;
    va_list ap;
    va_start(ap, event);
    int done = 0;
    if (current_format() == ECL_LOG_JSON) {
        va_list copy;
        va_copy(copy, ap);
        done = log_json(level, event, copy);
        va_end(copy);
    }
    if (!done)
        log_logfmt(level, event, ap); /* logfmt, or JSON that found no memory */
    va_end(ap);
}
