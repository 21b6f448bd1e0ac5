/* cmd_policy.c - `ecluse policy check`: would this policy load, and would
 * `dataset add` publish this data under it? Runs locally; changes nothing. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "policy/policy.h"
#include "store/check.h"
#include "store/csv.h"
#include "store/dataset.h"

typedef struct check_args {
    const char *policy, *data;
    store_csv_opts csv;
    int allow_nonfinite, allow_negative_labels;
} check_args;

static int parse_check(int argc, char **argv, check_args *a, ecl_err *err)
{
    static const struct option opts[] = {
        {"data", required_argument, 0, 'd'},
        {"label-column", required_argument, 0, 'L'},
        {"header", no_argument, 0, 'H'},
        {"skip-lines", required_argument, 0, 's'},
        {"allow-nonfinite", no_argument, 0, 'I'},
        {"allow-negative-labels", no_argument, 0, 'G'},
        {0, 0, 0, 0},
    };
    store_csv_opts_init(&a->csv);
    int c;
    while ((c = cli_getopt(argc, argv, opts, err)) != -1) {
        long n = 0;
        char *end = NULL;
        switch (c) {
        case 'd':
            a->data = optarg;
            break;
        case 'L':
            a->csv.label_index = strtol(optarg, &end, 10);
            a->csv.label = *end == '\0' ? STORE_LABEL_INDEX : STORE_LABEL_NAME;
            a->csv.label_name = optarg;
            break;
        case 'H':
            a->csv.header = 1;
            break;
        case 's':
            if (cli_parse_long("--skip-lines", optarg, 0, 1000000, &n, err) != 0)
                return -1;
            a->csv.skip_lines = (size_t)n;
            break;
        case 'I':
            a->allow_nonfinite = 1;
            break;
        case 'G':
            a->allow_negative_labels = 1;
            break;
        default:
            return -1;
        }
    }
    if (cli_expect_positionals(argc, argv, 1, "the policy FILE", err) != 0)
        return -1;
    a->policy = argv[cli_optind()];
    return 0;
}

static void print_problem(void *ctx, const char *problem)
{
    ++*(size_t *)ctx;
    printf("  problem: %s\n", problem);
}

/* The data as `dataset add` would store it: a .safetensors file as it is, a
 * CSV file imported into a temporary file that is gone when this returns
 * (the open map stays valid). */
static int open_data(const check_args *a, store_dataset **out, ecl_err *err)
{
    const char *dot = strrchr(a->data, '.');
    if (dot != NULL && strcmp(dot, ".safetensors") == 0)
        return store_open(a->data, out, err);
    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX], file[PATH_MAX + 32];
    snprintf(dir, sizeof(dir), "%s/ecluse-policy-check-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (mkdtemp(dir) == NULL)
        return ecl_fail(err, ECL_E_IO, "cannot make a temporary directory in '%s'",
                        tmp && *tmp ? tmp : "/tmp");
    snprintf(file, sizeof(file), "%s/data.safetensors", dir);
    int rc = store_import_csv(a->data, &a->csv, file, out, err);
    unlink(file);
    rmdir(dir);
    return rc;
}

static void describe_data(const char *path, const store_dataset *ds)
{
    printf("data %s:", path);
    for (size_t i = 0; i < store_tensor_count(ds); i++) {
        const store_tensor *t = store_tensor_at(ds, i);
        printf("%s %s %s [", i ? "," : "", t->name, store_dtype_name(t->dtype));
        for (size_t d = 0; d < t->ndim; d++)
            printf("%s%llu", d ? ", " : "", (unsigned long long)t->shape[d]);
        printf("]");
    }
    printf("\n");
}

static int check_data(const check_args *a, const ecl_policy *pol, ecl_err *err)
{
    store_dataset *ds = NULL;
    if (open_data(a, &ds, err) != 0)
        return -1;
    describe_data(a->data, ds);
    const char *names[ECL_POLICY_MAX_TENSORS];
    store_publish_rules r = {0};
    r.n_tensors = ecl_policy_tensor_count(pol);
    for (size_t i = 0; i < r.n_tensors && i < ECL_POLICY_MAX_TENSORS; i++)
        names[i] = ecl_policy_tensor_name(pol, i);
    r.tensors = names;
    r.source = a->data;
    r.allow_nonfinite = a->allow_nonfinite;
    r.allow_negative_labels = a->allow_negative_labels;
    size_t problems = 0;
    ecl_err first;
    if (store_publish_check(ds, &r, print_problem, &problems, &first) != 0) {
        store_unref(ds);
        return ecl_fail(err, first.code,
                        "'dataset add' would refuse %s under %s: %zu problem(s), listed above",
                        a->data, a->policy, problems);
    }
    store_unref(ds);
    printf("the data can be published under this policy\n");
    return 0;
}

static int run_policy_check(int argc, char **argv, ecl_err *err)
{
    check_args a;
    memset(&a, 0, sizeof(a));
    if (parse_check(argc, argv, &a, err) != 0)
        return -1;
    ecl_policy *pol = NULL;
    if (ecl_policy_load_file(a.policy, &pol, err) != 0)
        return -1;
    size_t n = ecl_policy_tensor_count(pol);
    printf("policy %s: valid, for dataset %s; tensors:", a.policy, ecl_policy_dataset(pol));
    for (size_t i = 0; i < n; i++)
        printf("%s %s", i ? "," : "", ecl_policy_tensor_name(pol, i));
    printf("\n");
    int rc = a.data != NULL ? check_data(&a, pol, err) : 0;
    ecl_policy_free(pol);
    return rc;
}

const cli_command cli_policy_check = {
    "policy check",
    "check a policy file, and with --data whether 'dataset add' would publish that data",
    "Usage: ecluse policy check POLICY.json [--data FILE] [options]\n\n"
    "Runs every check the gateway runs when it loads the policy (docs/policy.md,\n"
    "\"Checks at load\"), and with --data the publishing checks of 'dataset add'\n"
    "(docs/storage.md, \"Publishing checks\") against that data: the tensors the\n"
    "policy declares exist, one row count that is not zero, no NaN/Inf in float\n"
    "tensors, no negative integer labels. Prints every problem found. Runs on\n"
    "this machine, needs no identity, and changes nothing. Exits 3 on a problem.\n\n"
    "Options:\n"
    "  --data FILE          .safetensors, or .csv/.csv.gz (as 'dataset add' imports it)\n"
    "  --label-column C     CSV: the label column (name, or index; -1 is the last)\n"
    "  --header             CSV: the first (unskipped) line holds column names\n"
    "  --skip-lines N       CSV: lines to skip first\n"
    "  --allow-nonfinite    as 'dataset add': NaN/Inf in float tensors are not a problem\n"
    "  --allow-negative-labels  as 'dataset add': negative integer labels are not a problem\n"
    "\nExample:\n"
    "  ecluse policy check breast_cancer.json --data breast_cancer.csv \\\n"
    "      --skip-lines 1 --label-column -1\n",
    run_policy_check,
};
