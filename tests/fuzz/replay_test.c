/* replay_test.c - every seed and every saved crash input of every fuzz
 * target, replayed through the same entry points libFuzzer drives
 * (fuzz/fuzz.h), built with the normal toolchain and sanitizer config.
 *
 * For each target: every file in fuzz/corpus/<target>/ and
 * fuzz/regressions/<target>/ is run; a crash or a broken promise aborts
 * (the harness checks error categories, messages and what an accepted input
 * must satisfy). A file named "ok-*" must be accepted and "bad-*" refused;
 * each target must have at least one of each among its seeds, so that a
 * harness that refuses everything, or accepts everything, fails here. */
#include <dirent.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/fileio.h"
#include "fuzz/fuzz.h"
#include "gateway/gateway.h"

#define REPLAY_MAX_INPUT (1u << 20)

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Replay every file of `dir` (may not exist for regressions); counts the
 * accepted/refused named seeds. Returns the number of files. */
static size_t replay_dir(const fz_target *t, const char *dir, size_t *ok_seen, size_t *bad_seen)
{
    DIR *d = opendir(dir);
    if (d == NULL)
        return 0;
    char *names[4096];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        assert_true(n < sizeof(names) / sizeof(names[0]));
        names[n] = strdup(e->d_name);
        assert_non_null(names[n]);
        n++;
    }
    closedir(d);
    qsort(names, n, sizeof(names[0]), by_name);
    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX], *data = NULL;
        size_t len = 0;
        ecl_err err;
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (ecl_read_file(path, REPLAY_MAX_INPUT, &data, &len, &err) != 0)
            fail_msg("%s: %s", path, err.msg);
        fprintf(stderr, "replay %s\n", path); /* names the input if it aborts */
        int got = t->fn((const uint8_t *)data, len);
        free(data);
        if (strncmp(names[i], "ok-", 3) == 0) {
            if (got != 1)
                fail_msg("%s: refused, but its name says it is valid", path);
            (*ok_seen)++;
        } else if (strncmp(names[i], "bad-", 4) == 0) {
            if (got != 0)
                fail_msg("%s: accepted, but its name says it is invalid", path);
            (*bad_seen)++;
        }
        free(names[i]);
    }
    return n;
}

/* The target named by the test's state, from the harness's table. */
static const fz_target *target_named(const char *name)
{
    size_t n;
    const fz_target *all = fz_targets(&n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(all[i].name, name) == 0)
            return &all[i];
    fail_msg("no fuzz target '%s'", name);
    return NULL;
}

static void replay_target(void **state)
{
    const fz_target *t = target_named(*state);
    char dir[PATH_MAX];
    size_t ok = 0, bad = 0, files = 0;
    snprintf(dir, sizeof(dir), "fuzz/corpus/%s", t->name);
    files += replay_dir(t, dir, &ok, &bad);
    if (ok == 0 || bad == 0)
        fail_msg("%s: the seed corpus needs an ok-* and a bad-* seed (has %zu and %zu)", t->name,
                 ok, bad);
    snprintf(dir, sizeof(dir), "fuzz/regressions/%s", t->name);
    files += replay_dir(t, dir, &ok, &bad);
    print_message("%s: %zu inputs replayed (%zu ok-*, %zu bad-*)\n", t->name, files, ok, bad);
}

/* The fuzzed message list covers every request type the gateway decodes. */
static void rpc_list_covers_methods(void **state)
{
    (void)state;
    size_t nm, nd;
    const rpc_method *m = gateway_methods(&nm);
    const ProtobufCMessageDescriptor *const *d = fz_rpc_descriptors(&nd);
    assert_true(nm > 0);
    for (size_t i = 0; i < nm; i++) {
        int found = 0;
        for (size_t k = 0; k < nd && !found; k++)
            found = d[k] == m[i].request_type;
        if (!found)
            fail_msg("%s: request type %s is not in fuzz/targets/rpc_request.c", m[i].path,
                     m[i].request_type->name);
    }
}

#define REPLAY(name)                                                                               \
    {                                                                                              \
#name, replay_target, NULL, NULL, (void *)#name                                            \
    }

static const struct CMUnitTest tests[] = {
    REPLAY(rpc_request),
    REPLAY(catalog),
    REPLAY(catalog_blob),
    REPLAY(bundle),
    REPLAY(rotation),
    REPLAY(config),
    REPLAY(identity),
    REPLAY(pem),
    REPLAY(grant),
    REPLAY(policy),
    REPLAY(transfer_rules),
    REPLAY(sccs),
    REPLAY(safetensors),
    REPLAY(npy),
    REPLAY(csv),
    REPLAY(rowset),
    REPLAY(rowlist),
    REPLAY(checkpoint),
    REPLAY(relay_scan),
    REPLAY(verifier),
    REPLAY(grant_file),
    REPLAY(attestation),
    REPLAY(fetch_record),
    cmocka_unit_test(rpc_list_covers_methods),
};

int main(void)
{
    /* Every target of the harness has its replay above: none is skipped. */
    size_t n;
    (void)fz_targets(&n);
    if (n + 1 != sizeof(tests) / sizeof(tests[0])) {
        fprintf(stderr, "replay_test: %zu fuzz targets, %zu replays listed\n", n,
                sizeof(tests) / sizeof(tests[0]) - 1);
        return 1;
    }
    return cmocka_run_group_tests_name("fuzz_replay", tests, NULL, NULL);
}
