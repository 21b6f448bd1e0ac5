/* cmd_fetches.c - `ecluse fetches`: what `ecluse fetch` wrote, and
 * `ecluse fetches erase-rows`: take withdrawn rows out of it. */
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/fetch_records.h"
#include "cli/options.h"
#include "client/fetch_record.h"

typedef struct listing {
    int json;
    size_t shown, bad;
} listing;

static void utc(int64_t t, char *out, size_t cap)
{
    time_t s = (time_t)t;
    struct tm tm;
    if (gmtime_r(&s, &tm) == NULL || strftime(out, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(out, cap, "%lld", (long long)t);
}

static int show_one(const char *path, const ecl_fetch_record *r, const ecl_err *bad, void *arg)
{
    listing *l = arg;
    if (r == NULL) {
        fprintf(stderr, "ecluse fetches: warning: %s\n", bad->msg);
        l->bad++;
        return 0;
    }
    l->shown++;
    if (l->json) {
        /* One record per line, as stored (docs/cli.md, "--json"). */
        json_error_t jerr;
        json_t *o = json_load_file(path, 0, &jerr);
        char *text = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) : NULL;
        if (text != NULL)
            printf("%s\n", text);
        free(text);
        json_decref(o);
        return 0;
    }
    char when[32], rows[256], erased[256];
    utc(r->fetched_unix, when, sizeof(when));
    ecl_row_ranges_format(r->rows, r->n_rows, rows, sizeof(rows));
    ecl_row_ranges_format(r->erased, r->n_erased, erased, sizeof(erased));
    printf("%s  %s  %s  rows %s (%llu)%s%s%s\n    %s  sha256 %.16s...\n", r->read_id, when,
           r->dataset, r->n_rows ? rows : "none",
           (unsigned long long)ecl_row_ranges_rows(r->rows, r->n_rows),
           r->n_erased ? "  erased " : "", r->n_erased ? erased : "",
           r->pending_sha256[0] ? "  (a removal was interrupted)" : "", r->file, r->sha256);
    return 0;
}

static int run_list(int argc, char **argv, ecl_err *err)
{
    static const struct option opts[] = {{"json", no_argument, 0, 'j'}, {0, 0, 0, 0}};
    listing l = {0, 0, 0};
    int c;
    while ((c = cli_getopt(argc, argv, opts, err)) != -1) {
        if (c == 'j')
            l.json = 1;
        else
            return -1;
    }
    char dir[PATH_MAX];
    if (cli_expect_positionals(argc, argv, 0, "", err) != 0 ||
        ecl_fetch_records_dir(dir, sizeof(dir), err) != 0)
        return -1;
    int rc = ecl_fetch_records_each(dir, show_one, &l, err);
    if (rc == 0 && !l.json && l.shown == 0)
        printf("no fetch records in %s\n", dir);
    return rc;
}

static int run_erase_rows(int argc, char **argv, ecl_err *err)
{
    static const struct option opts[] = {{"rows", required_argument, 0, 'r'}, {0, 0, 0, 0}};
    const char *rows = NULL;
    int c;
    while ((c = cli_getopt(argc, argv, opts, err)) != -1) {
        if (c == 'r')
            rows = optarg;
        else
            return -1;
    }
    if (cli_expect_positionals(argc, argv, 1, "READ_ID", err) != 0)
        return -1;
    if (rows == NULL)
        return ecl_fail(err, ECL_E_USAGE, "fetches erase-rows needs --rows A:B[,C,...]");
    const char *read_id = argv[cli_optind()];
    ecl_row_range *r = NULL;
    size_t n = 0;
    ecl_erase_result res;
    if (ecl_row_ranges_parse(rows, "--rows", &r, &n, err) != 0)
        return -1;
    int rc = fetch_records_apply_erasure(read_id, r, n, &res, err);
    free(r);
    if (rc != 0)
        return -1;
    if (res.removed == 0)
        printf("read %s: none of the rows %s is in its file: nothing to do\n", read_id, rows);
    else
        printf("read %s: removed %llu row(s); %llu left in the file\n", read_id,
               (unsigned long long)res.removed, (unsigned long long)res.left);
    if (res.removed != 0 && res.absent != 0)
        printf("read %s: %llu of the rows asked for were not in the file (nothing to do for "
               "them)\n",
               read_id, (unsigned long long)res.absent);
    return 0;
}

const cli_command cli_fetches = {
    "fetches",
    "list what `ecluse fetch` wrote: read, dataset, source rows, file",
    "Usage: ecluse fetches [--json]\n"
    "\n"
    "Lists the records `ecluse fetch` keeps of the files it wrote, one per read,\n"
    "from $XDG_STATE_HOME/ecluse/fetches (else ~/.local/state/ecluse/fetches):\n"
    "the read id, when, the dataset, the source rows the file holds, rows\n"
    "removed since, the file and its SHA-256. --json prints the records as\n"
    "they are stored (docs/cli.md, \"Fetch records\"). A record that cannot be\n"
    "read is a warning naming the file; the others are listed.\n",
    run_list,
};

const cli_command cli_fetches_erase_rows = {
    "fetches erase-rows",
    "remove source rows from a fetched file in place (an erasure notice)",
    "Usage: ecluse fetches erase-rows READ_ID --rows A:B[,C,...]\n"
    "\n"
    "Removes the given SOURCE rows (A:B is rows A to B-1, C is row C) from the\n"
    "safetensors file that read READ_ID wrote (see `ecluse fetches`), as an\n"
    "erasure notice asks (GDPR Art. 17(2)). The result is byte for byte what a\n"
    "fetch of the remaining rows writes. Rows the file does not hold are fine:\n"
    "there is nothing to do for them, and it says so.\n"
    "\n"
    "It refuses, leaving the file untouched, when the file changed since the\n"
    "fetch (its SHA-256 is not the record's: exit 10), is not valid\n"
    "safetensors or its tensors do not have the record's row count (exit 3),\n"
    "or is gone (exit 5). The new file is written beside the old one as\n"
    "FILE.erasing, synced, and renamed over it; the record is updated (new\n"
    "SHA-256, rows, \"erased\"). A run cut short is finished by the next one.\n"
    "\n"
    "Options:\n"
    "  --rows A:B,C,...   the source rows to remove\n",
    run_erase_rows,
};
