/*
 * log.h - structured logs on stderr, one line per event.
 *
 *   ts=2026-11-21T05:01:02.345Z level=info event=rpc.done method=/ecluse.v1.Health/Check
 *     caller=spiffe://fi/researcher/alice status=OK ms=0.4
 *
 * Values are given as key/value string pairs ending in NULL; a value with a
 * space, a quote, an '=', a backslash, a control character or bytes that are
 * not UTF-8 is written in double quotes with \" and \\ escaped, a newline as
 * \n and every other control byte (0x00-0x1f, 0x7f) or invalid UTF-8 byte as
 * \xHH (CR is \x0d, ESC \x1b). So each line splits unambiguously into
 * key=value fields, and no value from a request or a peer can forge a line
 * or send a terminal escape: callers need not escape anything themselves.
 * Safe to call from any thread; each line is written with one write(2).
 *
 * In JSON (ecl_log_set_format, or ECLUSE_LOG_FORMAT=json) each line is one
 * object, escaped by jansson (control bytes as \u00XX; bytes that are not
 * UTF-8 as the text \xHH):
 *
 *   {"ts":"2026-11-21T05:01:02.345Z","level":"info","event":"rpc.done",...}
 *
 * When stderr is the journal stream systemd names in JOURNAL_STREAM, each
 * line starts with the level's syslog priority, "<7>" debug, "<6>" info,
 * "<4>" warn, "<3>" error, which journald takes as the line's priority.
 */
#ifndef ECLUSE_COMMON_LOG_H
#define ECLUSE_COMMON_LOG_H

typedef enum {
    ECL_LOG_DEBUG = 0,
    ECL_LOG_INFO = 1,
    ECL_LOG_WARN = 2,
    ECL_LOG_ERROR = 3,
} ecl_log_level;

/* Lines below `level` are dropped (default ECL_LOG_INFO; ECLUSE_LOG=debug
 * in the environment lowers it at the first call). */
void ecl_log_set_level(ecl_log_level level);

typedef enum {
    ECL_LOG_LOGFMT = 0,
    ECL_LOG_JSON = 1,
} ecl_log_format;

/* "logfmt" or "json" as an ecl_log_format; -1 for any other name. */
int ecl_log_format_from_name(const char *name);

/* The form of every later line (default ECL_LOG_LOGFMT, or the
 * ECLUSE_LOG_FORMAT environment variable's at the first call). */
void ecl_log_set_format(ecl_log_format format);

/* ecl_log(ECL_LOG_INFO, "gateway.start", "site", "fi", "listen", addr, NULL); */
void ecl_log(ecl_log_level level, const char *event, ...) __attribute__((sentinel));

#endif
