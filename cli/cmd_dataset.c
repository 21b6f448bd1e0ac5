/* cmd_dataset.c - `ecluse dataset add|list|show|remove`: a site's datasets. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/dataset_name.h"
#include "cli/options.h"
#include "cli/remote.h"
#include "common/fileio.h"

#define MAX_KEYWORDS 32
#define MAX_NPY      16

typedef struct add_args {
    Ecluse__V1__AddDatasetRequest req;
    Ecluse__V1__DatasetEntry meta;
    char *keywords[MAX_KEYWORDS];
    char *npy_paths[MAX_NPY], *npy_names[MAX_NPY];
    char source[PATH_MAX], labels[PATH_MAX];
    const char *policy_path;
    char *keyword_text;
} add_args;

static int absolute(const char *path, char *out, const char *what, ecl_err *err)
{
    if (realpath(path, out) == NULL)
        return ecl_fail(err, ECL_E_NOT_FOUND, "%s '%s' does not exist", what, path);
    return 0;
}

static int split_keywords(add_args *a, const char *text, ecl_err *err)
{
    if ((a->keyword_text = strdup(text)) == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    char *save = NULL;
    for (char *w = strtok_r(a->keyword_text, ",", &save); w != NULL;
         w = strtok_r(NULL, ",", &save)) {
        if (a->meta.n_keywords == MAX_KEYWORDS)
            return ecl_fail(err, ECL_E_USAGE, "at most %d keywords", MAX_KEYWORDS);
        a->keywords[a->meta.n_keywords++] = w;
    }
    a->meta.keywords = a->keywords;
    return 0;
}

/* --npy NAME=PATH, repeatable */
static int add_npy(add_args *a, const char *spec, ecl_err *err)
{
    const char *eq = strchr(spec, '=');
    if (eq == NULL || eq == spec || a->req.n_npy_paths == MAX_NPY)
        return ecl_fail(err, ECL_E_USAGE, "--npy takes TENSOR=FILE (at most %d), not '%s'", MAX_NPY,
                        spec);
    char path[PATH_MAX];
    if (absolute(eq + 1, path, "npy file", err) != 0)
        return -1;
    size_t i = a->req.n_npy_paths++;
    a->req.n_npy_names++;
    a->npy_names[i] = strndup(spec, (size_t)(eq - spec));
    a->npy_paths[i] = strdup(path);
    if (a->npy_names[i] == NULL || a->npy_paths[i] == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    return 0;
}

static int parse_add(int argc, char **argv, cli_remote *r, add_args *a, ecl_err *err)
{
    static const struct option opts[] = {
        CLI_REMOTE_OPTIONS,
        {"from", required_argument, 0, 'F'},
        {"format", required_argument, 0, 'f'},
        {"npy", required_argument, 0, 'N'},
        {"title", required_argument, 0, 't'},
        {"description", required_argument, 0, 'd'},
        {"licence", required_argument, 0, 'l'},
        {"provenance", required_argument, 0, 'p'},
        {"collected-for", required_argument, 0, 'c'},
        {"contact", required_argument, 0, 'C'},
        {"keywords", required_argument, 0, 'k'},
        {"policy", required_argument, 0, 'P'},
        {"label-column", required_argument, 0, 'L'},
        {"labels-file", required_argument, 0, 'B'},
        {"header", no_argument, 0, 'H'},
        {"skip-lines", required_argument, 0, 's'},
        {"delimiter", required_argument, 0, 'D'},
        {"allow-nonfinite", no_argument, 0, 'I'},
        {"allow-negative-labels", no_argument, 0, 'G'},
        {0, 0, 0, 0},
    };
    int c;
    long skip = 0;
    while ((c = cli_getopt(argc, argv, opts, err)) != -1) {
        int rc = 0;
        switch (c) {
        case 'F':
            rc = absolute(optarg, a->source, "source file", err);
            a->req.source_path = a->source;
            break;
        case 'f':
            a->req.source_format = optarg;
            break;
        case 'N':
            rc = add_npy(a, optarg, err);
            break;
        case 't':
            a->meta.title = optarg;
            break;
        case 'd':
            a->meta.description = optarg;
            break;
        case 'l':
            a->meta.licence = optarg;
            break;
        case 'p':
            a->meta.provenance = optarg;
            break;
        case 'c':
            a->meta.collection_purpose = optarg;
            break;
        case 'C':
            a->meta.contact = optarg;
            break;
        case 'k':
            rc = split_keywords(a, optarg, err);
            break;
        case 'P':
            a->policy_path = optarg;
            break;
        case 'L':
            a->req.csv_label_column = optarg;
            break;
        case 'B':
            rc = absolute(optarg, a->labels, "labels file", err);
            a->req.csv_labels_path = a->labels;
            break;
        case 'H':
            a->req.csv_has_header = 1;
            break;
        case 's':
            rc = cli_parse_long("--skip-lines", optarg, 0, 1000000, &skip, err);
            a->req.csv_skip_lines = (uint32_t)skip;
            break;
        case 'D':
            a->req.csv_delimiter = optarg;
            break;
        case 'I':
            a->req.allow_nonfinite = 1;
            break;
        case 'G':
            a->req.allow_negative_labels = 1;
            break;
        default:
            rc = c == -2 || !cli_remote_option(r, c, optarg) ? -1 : 0;
        }
        if (rc != 0)
            return -1;
    }
    if (cli_expect_positionals(argc, argv, 1, "the dataset NAME", err) != 0)
        return -1;
    a->req.name = argv[cli_optind()];
    if (a->req.n_npy_paths > 0) {
        a->req.source_format = "npy";
        a->req.npy_paths = a->npy_paths;
        a->req.npy_names = a->npy_names;
        a->req.source_path = a->npy_paths[0];
    }
    if (a->req.source_path[0] == '\0')
        return ecl_fail(err, ECL_E_USAGE, "--from FILE (or --npy TENSOR=FILE) is required");
    if (a->req.source_format[0] == '\0') {
        const char *dot = strrchr(a->req.source_path, '.');
        a->req.source_format = dot && strcmp(dot, ".safetensors") == 0 ? "safetensors" : "csv";
    }
    if (a->meta.title[0] == '\0' || a->policy_path == NULL)
        return ecl_fail(err, ECL_E_USAGE, "--title and --policy FILE are required");
    /* A catalog entry without one says nothing to a portal (DCAT-AP requires
     * dct:description); an empty one would be published as "". */
    if (a->meta.description[0] == '\0')
        return ecl_fail(err, ECL_E_USAGE,
                        "--description TEXT is required: what the data is, for the catalog and "
                        "its DCAT-AP export");
    return 0;
}

static void free_add(add_args *a)
{
    free((char *)a->req.policy_json);
    free(a->keyword_text);
    for (size_t i = 0; i < a->req.n_npy_paths; i++) {
        free(a->npy_paths[i]);
        free(a->npy_names[i]);
    }
}

static int run_dataset_add(int argc, char **argv, ecl_err *err)
{
    cli_remote r;
    cli_remote_init(&r);
    add_args a;
    memset(&a, 0, sizeof(a));
    ecluse__v1__add_dataset_request__init(&a.req);
    ecluse__v1__dataset_entry__init(&a.meta);
    a.req.metadata = &a.meta;
    char *policy = NULL;
    size_t policy_len = 0;
    int rc = parse_add(argc, argv, &r, &a, err);
    if (rc == 0)
        rc = ecl_read_file(a.policy_path, 1 << 20, &policy, &policy_len, err);
    a.req.policy_json = policy;
    char name[ECL_NAME_MAX];
    if (rc == 0 && (rc = cli_remote_open(&r, err)) == 0) {
        rc = cli_own_dataset_name("dataset add", a.req.name, ecl_client_identity(r.client)->site,
                                  name, err);
        a.req.name = name;
    }
    if (rc == 0) {
        ProtobufCMessage *resp = NULL;
        rc = cli_call(&r, "/ecluse.v1.Admin/AddDataset", &a.req.base,
                      &ecluse__v1__dataset_entry__descriptor, &resp, err);
        if (rc == 0) {
            if (!r.json) /* --json: the entry alone, one JSON line */
                printf("Published dataset:\n");
            cli_print_entry(stdout, (const Ecluse__V1__DatasetEntry *)resp, r.json);
            protobuf_c_message_free_unpacked(resp, NULL);
        }
    }
    cli_remote_close(&r);
    free_add(&a);
    return rc;
}

typedef struct list_ctx {
    int json;
    size_t count;
} list_ctx;

static int print_dataset(const ProtobufCMessage *msg, void *ctx, ecl_err *err)
{
    (void)err;
    list_ctx *l = ctx;
    const Ecluse__V1__DatasetEntry *e = (const Ecluse__V1__DatasetEntry *)msg;
    l->count++;
    if (l->json)
        cli_print_entry(stdout, e, 1);
    else
        printf("%-32s %8llu rows  %s\n", e->id, (unsigned long long)e->rows, e->title);
    return 0;
}

static int run_dataset_list(int argc, char **argv, ecl_err *err)
{
    cli_remote r;
    if (cli_remote_parse(argc, argv, &r, 0, "", err) != 0 || cli_remote_open(&r, err) != 0)
        return -1;
    Ecluse__V1__ListDatasetsRequest req = ECLUSE__V1__LIST_DATASETS_REQUEST__INIT;
    list_ctx l = {r.json, 0};
    int rc = cli_stream(&r, "/ecluse.v1.Admin/ListDatasets", &req.base,
                        &ecluse__v1__dataset_entry__descriptor, print_dataset, &l, err);
    cli_remote_close(&r);
    if (rc == 0 && !l.json)
        printf("%zu dataset(s)\n", l.count);
    return rc;
}

static int run_dataset_remove(int argc, char **argv, ecl_err *err)
{
    cli_remote r;
    if (cli_remote_parse(argc, argv, &r, 1, "the dataset ID", err) != 0 ||
        cli_remote_open(&r, err) != 0)
        return -1;
    Ecluse__V1__RemoveDatasetRequest req = ECLUSE__V1__REMOVE_DATASET_REQUEST__INIT;
    const char *site = ecl_client_identity(r.client)->site;
    char name[ECL_NAME_MAX], id[CLI_DATASET_ID_MAX];
    int rc = cli_own_dataset_name("dataset remove", argv[cli_optind()], site, name, err);
    ProtobufCMessage *resp = NULL;
    if (rc == 0) {
        snprintf(id, sizeof(id), "%s/%s", site, name);
        req.id = id;
        rc = cli_call(&r, "/ecluse.v1.Admin/RemoveDataset", &req.base,
                      &ecluse__v1__remove_dataset_response__descriptor, &resp, err);
    }
    cli_remote_close(&r);
    if (rc != 0)
        return -1;
    printf("Removed %s; the site's catalog is now version %llu.\n", req.id,
           (unsigned long long)((Ecluse__V1__RemoveDatasetResponse *)resp)->catalog_version);
    protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
}

#define REMOTE_HELP                                                                                \
    "  --identity DIR   an admin identity of this site (default $ECLUSE_IDENTITY)\n"               \
    "  --gateway H:P    override the gateway named in identity.json\n"
#define JSON_HELP "  --json           print JSON (one object per line)\n"

const cli_command cli_dataset_add = {
    "dataset add",
    "publish a dataset: import its data, describe it, attach its access policy",
    "Usage: ecluse dataset add NAME --from FILE --title T --description D --policy POLICY.json\n"
    "       [options]\n\n"
    "Imports the data on the gateway's host into the site's tensor store\n"
    "(safetensors), computes each tensor's BLAKE2b-256 digest, and publishes the\n"
    "entry <site>/NAME in the site's signed catalog, with its policy in full.\n"
    "NAME may also be given as <your site>/NAME; another site's is refused.\n\n"
    "Source:\n"
    "  --from FILE          .safetensors, or .csv/.csv.gz (numeric columns become a\n"
    "                       float32 'features' tensor)\n"
    "  --format F           safetensors | csv | npy (default from the file name)\n"
    "  --npy TENSOR=FILE    a .npy file as tensor TENSOR (repeatable)\n"
    "  --label-column C     CSV: the label column (name, or index; -1 is the last):\n"
    "                       an int64 'labels' tensor\n"
    "  --labels-file FILE   CSV: labels from a separate one-column file\n"
    "  --header             CSV: the first (unskipped) line holds column names\n"
    "  --skip-lines N       CSV: lines to skip first\n"
    "  --delimiter D        CSV: ',' (default), ';', '\\t' or 'whitespace'\n"
    "Description (DCAT-AP):\n"
    "  --title T  --description D (both required)  --licence SPDX-or-URL\n"
    "  --provenance P\n"
    "  --collected-for PURPOSE  --contact EMAIL  --keywords a,b,c\n"
    "  --policy FILE        the access policy (docs/policy.md)\n"
    "Publishing checks (docs/storage.md): refused unless the data can be served:\n"
    "  every tensor the policy declares exists; one row count, not zero; no\n"
    "  NaN/Inf in float tensors; no negative integer labels. To publish anyway:\n"
    "  --allow-nonfinite    NaN/Inf values in float tensors\n"
    "  --allow-negative-labels  negative values in an integer 'labels' tensor\n" REMOTE_HELP
        JSON_HELP "\nExample:\n"
    "  ecluse dataset add breast-cancer --from /srv/data/breast_cancer.csv \\\n"
    "      --skip-lines 1 --label-column -1 --title 'Wisconsin breast cancer' \\\n"
    "      --description 'Fine-needle aspirates of breast masses, with the diagnosis' \\\n"
    "      --licence CC-BY-4.0 --policy health-research.json\n",
    run_dataset_add,
};

const cli_command cli_dataset_list = {
    "dataset list",
    "list this site's datasets",
    "Usage: ecluse dataset list [--identity DIR] [--json]\n\nOptions:\n" REMOTE_HELP JSON_HELP
    "\nExample:\n  ecluse dataset list\n",
    run_dataset_list,
};

const cli_command cli_dataset_show = {
    "dataset show",
    "show a dataset's whole entry, policy included",
    "Usage: ecluse dataset show DATASET [--identity DIR] [--json]\n\n"
    "DATASET is NAME for a dataset of your site, SITE/NAME for any "
    "site's.\n\nOptions:\n" REMOTE_HELP JSON_HELP "\nExample:\n  ecluse dataset show fi/digits\n",
    cli_show_dataset,
};

const cli_command cli_dataset_remove = {
    "dataset remove",
    "withdraw a dataset from the site and its catalog",
    "Usage: ecluse dataset remove NAME [--identity DIR]\n\n"
    "NAME is a dataset of your site, as NAME or <your site>/NAME (as for\n"
    "'dataset add'); another site's is refused.\n\nOptions:\n" REMOTE_HELP
    "\nExample:\n  ecluse dataset remove digits\n",
    run_dataset_remove,
};
