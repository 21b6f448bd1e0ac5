/*
 * log_format_test.c - the gateway's log as journald and log tools read it.
 *
 *   - `ecluse --log-format json gateway`: every line of the log is one JSON
 *     object (parsed here by jansson) with ts, level and event; a request id
 *     holding CR, ESC and DEL comes back exactly from the parsed line, and
 *     no raw control byte is in the file.
 *   - With JOURNAL_STREAM naming the log file's device:inode (as systemd
 *     sets it when stderr is the journal), every line starts with its
 *     level's syslog priority: <6> for info, <3> for the error of a refused
 *     reload; in JSON the rest of each line still parses.
 *   - With JOURNAL_STREAM naming another file, no line has a prefix.
 *   - `--log-format` with another value is a usage error naming the value.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "client/client.h"
#include "proto/ecluse.pb-c.h"
#include "rpc/client.h"
#include "tests/support/harness.h"

#define HOSTILE_ID "fi/x\r\x1b[31mforged\" event=ok\x7f"

static char root[PATH_MAX - 200];

static int has_control_byte(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p != '\0'; p++)
        if ((*p < 0x20 && *p != '\n') || *p == 0x7f)
            return 1;
    return 0;
}

/* Wait (scaled) until the log holds `needle`; fails the test if the gateway
 * exits or the time is up. */
static void wait_for_log(const th_site *s, const char *needle)
{
    double give_up = th_now() + 20.0 * th_time_scale();
    while (th_now() < give_up) {
        if (th_file_contains(s->log, needle))
            return;
        usleep(20 * 1000);
    }
    char *log = th_read(s->log);
    fail_msg("no '%s' in the gateway's log:\n%s", needle, log ? log : "");
}

static void send_hostile_request(const char *researcher)
{
    ecl_client *c = NULL;
    ecl_err err;
    assert_int_equal(ecl_client_open(researcher, NULL, &c, &err), 0);
    Ecluse__V1__AccessRequest req = ECLUSE__V1__ACCESS_REQUEST__INIT;
    req.dataset = HOSTILE_ID;
    req.purpose = "HMB";
    req.lawful_basis = "art6-1-e";
    req.job_country = "FI";
    ProtobufCMessage *resp = NULL;
    int rc = rpc_unary(ecl_client_channel(c), "/ecluse.v1.Access/Check", &req.base,
                       &ecluse__v1__access_decision__descriptor, &resp, 15000, &err);
    if (rc == 0)
        protobuf_c_message_free_unpacked(resp, NULL);
    assert_int_not_equal(rc, 0); /* no such dataset */
    ecl_client_close(c);
}

/* A new site `id` with a researcher identity in `researcher`. */
static void make_site(th_site *s, const char *id, char *researcher, size_t cap)
{
    if (strcmp(id, "fi") == 0)
        th_tmpdir(root, sizeof(root)); /* each test's sites anew */
    th_site_create(s, root, id, "FI");
    th_issue(s, "researcher", "alice", researcher, cap);
}

/* Each line of `log`: `prefix_expected` says whether it must start with
 * "<N>" (N a syslog priority) and `json` whether the rest must be a JSON
 * object; calls `each` with the line's priority (-1 without a prefix) and
 * its object (NULL for logfmt). Returns the number of lines. */
static int check_lines(const char *log, int prefix_expected, int json,
                       void (*each)(int priority, const char *line, json_t *obj, void *ctx),
                       void *ctx)
{
    int count = 0;
    char *copy = strdup(log), *save = NULL;
    assert_non_null(copy);
    for (char *line = strtok_r(copy, "\n", &save); line != NULL;
         line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "==", 2) == 0)
            continue; /* valgrind's own lines, when it runs the gateway */
        int priority = -1, used = 0;
        if (sscanf(line, "<%d>%n", &priority, &used) == 1 && used > 0) {
            if (!prefix_expected)
                fail_msg("a line has a journal prefix though stderr is no journal: %s", line);
        } else if (prefix_expected) {
            fail_msg("a line lacks its <priority> prefix: %s", line);
        }
        json_t *obj = NULL;
        if (json) {
            json_error_t jerr;
            obj = json_loads(line + used, 0, &jerr);
            if (obj == NULL || !json_is_object(obj))
                fail_msg("a log line is not a JSON object (%s): %s", jerr.text, line);
            if (!json_is_string(json_object_get(obj, "ts")) ||
                !json_is_string(json_object_get(obj, "level")) ||
                !json_is_string(json_object_get(obj, "event")))
                fail_msg("a JSON log line lacks ts, level or event: %s", line);
        } else if (strstr(line + used, "ts=") != line + used) {
            fail_msg("a logfmt line does not start with ts=: %s", line);
        }
        if (each != NULL)
            each(priority, line + used, obj, ctx);
        json_decref(obj);
        count++;
    }
    free(copy);
    return count;
}

typedef struct {
    int found_hostile;
} json_seen;

static void find_hostile(int priority, const char *line, json_t *obj, void *ctx)
{
    (void)priority;
    (void)line;
    json_seen *seen = ctx;
    const char *key;
    json_t *value;
    json_object_foreach(obj, key, value)
    {
        if (json_is_string(value) && strstr(json_string_value(value), HOSTILE_ID) != NULL)
            seen->found_hostile = 1;
    }
}

static void test_json_lines_parse_and_carry_control_bytes_escaped(void **state)
{
    (void)state;
    th_site fi;
    char researcher[PATH_MAX];
    make_site(&fi, "fi", researcher, sizeof(researcher));
    char *global[] = {"--log-format", "json", NULL};
    th_gateway_spawn(&fi, global);
    wait_for_log(&fi, "\"event\":\"gateway.ready\"");
    send_hostile_request(researcher);
    assert_int_equal(th_gateway_stop(&fi, NULL), 0);

    char *log = th_read(fi.log);
    assert_non_null(log);
    if (has_control_byte(log))
        fail_msg("the JSON log holds a raw control byte:\n%s", log);
    json_seen seen = {0};
    assert_true(check_lines(log, 0, 1, find_hostile, &seen) >= 3);
    if (!seen.found_hostile)
        fail_msg("no JSON line gives back the refused id, byte for byte:\n%s", log);
    free(log);
}

/* Points JOURNAL_STREAM at `path`'s device:inode (creating it), as systemd
 * does for the stream it hands a service as stderr. */
static void journal_stream_is(const char *path)
{
    FILE *f = fopen(path, "a");
    assert_non_null(f);
    fclose(f);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    char value[64];
    snprintf(value, sizeof(value), "%llu:%llu", (unsigned long long)st.st_dev,
             (unsigned long long)st.st_ino);
    assert_int_equal(setenv("JOURNAL_STREAM", value, 1), 0);
}

typedef struct {
    int info, error, error_priority, info_priority;
} priorities_seen;

static void note_priority(int priority, const char *line, json_t *obj, void *ctx)
{
    priorities_seen *p = ctx;
    const char *level = NULL;
    if (obj != NULL)
        level = json_string_value(json_object_get(obj, "level"));
    else if (strstr(line, " level=info ") != NULL)
        level = "info";
    else if (strstr(line, " level=error ") != NULL)
        level = "error";
    if (level != NULL && strcmp(level, "info") == 0) {
        p->info++;
        if (priority != 6)
            p->info_priority = priority;
    } else if (level != NULL && strcmp(level, "error") == 0) {
        p->error++;
        if (priority != 3)
            p->error_priority = priority;
    }
}

/* A gateway whose reload is refused (a corrupt ecluse.json), so that the
 * log has an error line besides its info lines. */
static void run_with_refused_reload(th_site *s, char *const global[], const char *ready)
{
    th_gateway_spawn(s, global);
    wait_for_log(s, ready);
    char *config = th_read(s->config);
    assert_non_null(config);
    FILE *f = fopen(s->config, "w");
    assert_non_null(f);
    fputs("{\"site\": ", f);
    fclose(f);
    assert_int_equal(kill(s->pid, SIGHUP), 0);
    wait_for_log(s, "reload.failed");
    f = fopen(s->config, "w");
    assert_non_null(f);
    fputs(config, f);
    fclose(f);
    free(config);
    assert_int_equal(th_gateway_stop(s, NULL), 0);
}

static void test_journal_stream_gets_syslog_priorities(void **state)
{
    (void)state;
    th_site fi, lu;
    char researcher[PATH_MAX];
    make_site(&fi, "fi", researcher, sizeof(researcher));
    make_site(&lu, "lu", researcher, sizeof(researcher));

    /* logfmt, stderr the journal stream */
    journal_stream_is(fi.log);
    run_with_refused_reload(&fi, NULL, "event=gateway.ready");
    char *log = th_read(fi.log);
    assert_non_null(log);
    priorities_seen seen = {.error_priority = 3, .info_priority = 6};
    check_lines(log, 1, 0, note_priority, &seen);
    if (seen.info == 0 || seen.error == 0 || seen.info_priority != 6 || seen.error_priority != 3)
        fail_msg("info lines should be <6> and the error line <3>:\n%s", log);
    free(log);

    /* JSON, stderr the journal stream: the prefix, then an object */
    journal_stream_is(lu.log);
    char *global[] = {"--log-format=json", NULL};
    run_with_refused_reload(&lu, global, "\"event\":\"gateway.ready\"");
    log = th_read(lu.log);
    assert_non_null(log);
    priorities_seen json_seen = {.error_priority = 3, .info_priority = 6};
    check_lines(log, 1, 1, note_priority, &json_seen);
    if (json_seen.info == 0 || json_seen.error == 0 || json_seen.info_priority != 6 ||
        json_seen.error_priority != 3)
        fail_msg("info lines should be <6> and the error line <3>:\n%s", log);
    free(log);
    unsetenv("JOURNAL_STREAM");
}

static void test_another_stream_gets_no_prefix(void **state)
{
    (void)state;
    th_site fi;
    char researcher[PATH_MAX], elsewhere[PATH_MAX];
    make_site(&fi, "fi", researcher, sizeof(researcher));
    snprintf(elsewhere, sizeof(elsewhere), "%s/not-the-log", root);
    journal_stream_is(elsewhere);
    th_gateway_start(&fi);
    assert_int_equal(th_gateway_stop(&fi, NULL), 0);
    unsetenv("JOURNAL_STREAM");
    char *log = th_read(fi.log);
    assert_non_null(log);
    assert_true(check_lines(log, 0, 0, NULL, NULL) >= 2);
    free(log);
}

static void test_unknown_log_format_is_a_usage_error(void **state)
{
    (void)state;
    char out[4096];
    assert_int_equal(th_run(out, sizeof(out), "--log-format", "xml", "--version", NULL), 2);
    if (strstr(out, "--log-format") == NULL || strstr(out, "'xml'") == NULL)
        fail_msg("the error does not name the option and its value: %s", out);
    assert_int_equal(th_run(out, sizeof(out), "--log-format", NULL), 2);
}

int main(void)
{
    unsetenv("JOURNAL_STREAM"); /* the test's own runner may be a journal */
    unsetenv("ECLUSE_LOG_FORMAT");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_json_lines_parse_and_carry_control_bytes_escaped),
        cmocka_unit_test(test_journal_stream_gets_syslog_priorities),
        cmocka_unit_test(test_another_stream_gets_no_prefix),
        cmocka_unit_test(test_unknown_log_format_is_a_usage_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
