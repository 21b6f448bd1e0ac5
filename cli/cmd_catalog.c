/* cmd_catalog.c - `ecluse catalog list|search|show|refresh|export`: the federation's datasets. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/dataset_name.h"
#include "cli/options.h"
#include "cli/remote.h"
#include "common/fileio.h"
#include "federation/dcat.h"
#include "site/identity.h"

typedef struct listing_ctx {
    int json;
    size_t count;
    Ecluse__V1__CatalogListing **kept; /* for export */
    size_t kept_count, kept_cap;
} listing_ctx;

static void print_listing(const Ecluse__V1__CatalogListing *l, int json)
{
    char age[32];
    cli_age((long long)time(NULL) - l->fetched_unix, age, sizeof(age));
    int expired = l->expires_unix > 0 && l->expires_unix <= (int64_t)time(NULL);
    if (json) {
        json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:b, s:b}", "id", l->entry->id,
                                "title", l->entry->title, "site", l->site, "country", l->country,
                                "rows", (json_int_t)l->entry->rows, "catalog_version",
                                (json_int_t)l->catalog_version, "fetched_unix",
                                (json_int_t)l->fetched_unix, "local", l->local, "expired", expired);
        char *text = json_dumps(doc, JSON_PRESERVE_ORDER);
        printf("%s\n", text ? text : "{}");
        free(text);
        json_decref(doc);
        return;
    }
    printf("%-28s %-3s %-4s v%-4llu %-14s %s%s\n", l->entry->id, l->site, l->country,
           (unsigned long long)l->catalog_version, l->local ? "local" : age, l->entry->title,
           expired ? "  [catalog expired]" : "");
}

static int on_listing(const ProtobufCMessage *msg, void *ctx, ecl_err *err)
{
    (void)err;
    listing_ctx *c = ctx;
    c->count++;
    print_listing((const Ecluse__V1__CatalogListing *)msg, c->json);
    return 0;
}

static int list_or_search(int argc, char **argv, int search, ecl_err *err)
{
    static const struct option opts[] = {
        CLI_REMOTE_OPTIONS, {"site", required_argument, 0, 's'}, {0, 0, 0, 0}};
    cli_remote r;
    cli_remote_init(&r);
    Ecluse__V1__CatalogQuery q = ECLUSE__V1__CATALOG_QUERY__INIT;
    int c;
    while ((c = cli_getopt(argc, argv, opts, err)) != -1) {
        if (c == 's')
            q.site = optarg;
        else if (c == -2 || !cli_remote_option(&r, c, optarg))
            return -1;
    }
    if (cli_expect_positionals(argc, argv, search, "the search TEXT", err) != 0)
        return -1;
    if (search)
        q.text = argv[cli_optind()];
    if (cli_remote_open(&r, err) != 0)
        return -1;
    listing_ctx lc = {r.json, 0, NULL, 0, 0};
    if (!r.json)
        printf("%-28s %-3s %-4s %-5s %-14s %s\n", "DATASET", "AT", "IN", "CAT", "FRESH", "TITLE");
    int rc = cli_stream(&r, "/ecluse.v1.Catalog/List", &q.base,
                        &ecluse__v1__catalog_listing__descriptor, on_listing, &lc, err);
    cli_remote_close(&r);
    if (rc == 0 && !r.json)
        printf("%zu dataset(s)\n", lc.count);
    return rc;
}

static int run_catalog_list(int argc, char **argv, ecl_err *err)
{
    return list_or_search(argc, argv, 0, err);
}

static int run_catalog_search(int argc, char **argv, ecl_err *err)
{
    return list_or_search(argc, argv, 1, err);
}

/* `catalog show` and `dataset show`: one entry of the federated view. */
int cli_show_dataset(int argc, char **argv, ecl_err *err)
{
    cli_remote r;
    if (cli_remote_parse(argc, argv, &r, 1, "the dataset ID", err) != 0 ||
        cli_remote_open(&r, err) != 0)
        return -1;
    Ecluse__V1__GetDatasetRequest req = ECLUSE__V1__GET_DATASET_REQUEST__INIT;
    char id[CLI_DATASET_ID_MAX];
    int rc = cli_dataset_id(argv[cli_optind()], ecl_client_identity(r.client)->site, id, err);
    req.id = id;
    ProtobufCMessage *resp = NULL;
    if (rc == 0)
        rc = cli_call(&r, "/ecluse.v1.Catalog/Get", &req.base,
                      &ecluse__v1__catalog_listing__descriptor, &resp, err);
    cli_remote_close(&r);
    if (rc != 0)
        return -1;
    const Ecluse__V1__CatalogListing *l = (const Ecluse__V1__CatalogListing *)resp;
    if (!r.json) {
        char age[32];
        cli_age((long long)time(NULL) - l->fetched_unix, age, sizeof(age));
        printf("held by site %s (%s), catalog version %llu, %s\n", l->site, l->country,
               (unsigned long long)l->catalog_version, l->local ? "this site" : age);
    }
    cli_print_entry(stdout, l->entry, r.json);
    protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
}

static int run_catalog_refresh(int argc, char **argv, ecl_err *err)
{
    static const struct option opts[] = {
        CLI_REMOTE_OPTIONS, {"site", required_argument, 0, 's'}, {0, 0, 0, 0}};
    cli_remote r;
    cli_remote_init(&r);
    Ecluse__V1__RefreshRequest req = ECLUSE__V1__REFRESH_REQUEST__INIT;
    int c;
    while ((c = cli_getopt(argc, argv, opts, err)) != -1) {
        if (c == 's')
            req.site = optarg;
        else if (c == -2 || !cli_remote_option(&r, c, optarg))
            return -1;
    }
    if (cli_expect_positionals(argc, argv, 0, "", err) != 0 || cli_remote_open(&r, err) != 0)
        return -1;
    ProtobufCMessage *resp = NULL;
    int rc = cli_call(&r, "/ecluse.v1.Catalog/Refresh", &req.base,
                      &ecluse__v1__refresh_report__descriptor, &resp, err);
    cli_remote_close(&r);
    if (rc != 0)
        return -1;
    const Ecluse__V1__RefreshReport *rep = (const Ecluse__V1__RefreshReport *)resp;
    size_t refused = 0;
    for (size_t i = 0; i < rep->n_peers; i++) {
        const Ecluse__V1__PeerRefresh *p = rep->peers[i];
        if (p->ok)
            printf("%-10s catalog version %llu verified and in use\n", p->site,
                   (unsigned long long)p->version);
        else
            printf("%-10s refused: %s (still using version %llu)\n", p->site, p->error,
                   (unsigned long long)p->version);
        refused += !p->ok;
    }
    if (rep->n_peers == 0)
        printf("no peers to refresh\n");
    protobuf_c_message_free_unpacked(resp, NULL);
    (void)refused; /* a refusal is reported, not an error of this command */
    return 0;
}

static int keep_listing(const ProtobufCMessage *msg, void *ctx, ecl_err *err)
{
    listing_ctx *c = ctx;
    if (c->kept_count == c->kept_cap) {
        size_t cap = c->kept_cap ? 2 * c->kept_cap : 64;
        void *p = realloc(c->kept, cap * sizeof(*c->kept));
        if (p == NULL)
            return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
        c->kept = p;
        c->kept_cap = cap;
    }
    /* Keep a copy: the stream frees its messages. */
    size_t len = protobuf_c_message_get_packed_size(msg);
    unsigned char *b = malloc(len ? len : 1);
    if (b == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    protobuf_c_message_pack(msg, b);
    Ecluse__V1__CatalogListing *copy = ecluse__v1__catalog_listing__unpack(NULL, len, b);
    free(b);
    if (copy == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    c->kept[c->kept_count++] = copy;
    return 0;
}

static int run_catalog_export(int argc, char **argv, ecl_err *err)
{
    static const struct option opts[] = {CLI_REMOTE_OPTIONS,
                                         {"format", required_argument, 0, 'f'},
                                         {"site", required_argument, 0, 's'},
                                         {"output", required_argument, 0, 'o'},
                                         {"base-uri", required_argument, 0, 'b'},
                                         {0, 0, 0, 0}};
    cli_remote r;
    cli_remote_init(&r);
    const char *format = NULL, *output = NULL, *base = NULL;
    Ecluse__V1__CatalogQuery q = ECLUSE__V1__CATALOG_QUERY__INIT;
    int c;
    while ((c = cli_getopt(argc, argv, opts, err)) != -1) {
        if (c == 'f')
            format = optarg;
        else if (c == 's')
            q.site = optarg;
        else if (c == 'o')
            output = optarg;
        else if (c == 'b')
            base = optarg;
        else if (c == -2 || !cli_remote_option(&r, c, optarg))
            return -1;
    }
    if (cli_expect_positionals(argc, argv, 0, "", err) != 0)
        return -1;
    if (format == NULL || strcmp(format, "dcat-ap") != 0)
        return ecl_fail(err, ECL_E_USAGE, "--format dcat-ap is required (the one format so far)");
    if (q.site[0] != '\0' && !site_id_is_valid(q.site))
        return ecl_fail(err, ECL_E_USAGE, "--site '%.80s' is not a site id (1-63 of a-z, 0-9, '-')",
                        q.site);
    if (cli_remote_open(&r, err) != 0)
        return -1;
    /* A copy: the identity's own site lives in the client, which is closed
     * before the document is written. */
    char site[ECL_SITE_ID_MAX];
    snprintf(site, sizeof(site), "%s", q.site[0] ? q.site : ecl_client_identity(r.client)->site);
    q.site = site;
    listing_ctx lc = {0, 0, NULL, 0, 0};
    int rc = cli_stream(&r, "/ecluse.v1.Catalog/List", &q.base,
                        &ecluse__v1__catalog_listing__descriptor, keep_listing, &lc, err);
    cli_remote_close(&r);
    char uri[256];
    snprintf(uri, sizeof(uri), "%s/%s", base ? base : "https://ecluse.invalid/sites", site);
    if (rc == 0) {
        const char *country = lc.kept_count > 0 ? lc.kept[0]->country : "";
        json_t *doc = dcat_catalog(site, country, uri, lc.kept, lc.kept_count);
        char *text = json_dumps(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
        json_decref(doc);
        if (text == NULL)
            rc = ecl_fail(err, ECL_E_INTERNAL, "cannot encode the DCAT-AP document");
        else if (output != NULL)
            rc = ecl_write_file(output, text, strlen(text), 0644, ECL_WRITE_REPLACE, err);
        else
            printf("%s\n", text);
        free(text);
    }
    for (size_t i = 0; i < lc.kept_count; i++)
        ecluse__v1__catalog_listing__free_unpacked(lc.kept[i], NULL);
    free(lc.kept);
    return rc;
}

#define REMOTE_HELP                                                                                \
    "  --identity DIR   your identity (default $ECLUSE_IDENTITY)\n"                                \
    "  --gateway H:P    override the gateway named in identity.json\n"
#define JSON_HELP "  --json           print JSON (one object per line for lists)\n"

const cli_command cli_catalog_list = {
    "catalog list",
    "list every dataset of the federation: this site's and its peers'",
    "Usage: ecluse catalog list [--site SITE] [--identity DIR] [--json]\n\n"
    "Shows each dataset with the site and country that hold it, the version of\n"
    "that site's signed catalog, and how fresh it is here.\n\nOptions:\n"
    "  --site SITE      only this site's datasets\n" REMOTE_HELP JSON_HELP
    "\nExample:\n  ecluse catalog list --identity ~/.ecluse/alice\n",
    run_catalog_list,
};

const cli_command cli_catalog_search = {
    "catalog search",
    "find datasets whose id, title, description or keywords match every word",
    "Usage: ecluse catalog search TEXT [--site SITE] [--identity DIR] [--json]\n\nOptions:\n"
    "  --site SITE      only this site's datasets\n" REMOTE_HELP JSON_HELP
    "\nExample:\n  ecluse catalog search 'breast cancer'\n",
    run_catalog_search,
};

const cli_command cli_catalog_show = {
    "catalog show",
    "show a dataset's whole entry, its access policy included",
    "Usage: ecluse catalog show DATASET [--identity DIR] [--json]\n\n"
    "DATASET is NAME for a dataset of your site, SITE/NAME for any "
    "site's.\n\nOptions:\n" REMOTE_HELP JSON_HELP
    "\nExample:\n  ecluse catalog show lu/breast-cancer\n",
    cli_show_dataset,
};

const cli_command cli_catalog_refresh = {
    "catalog refresh",
    "fetch and verify peers' catalogs now",
    "Usage: ecluse catalog refresh [--site SITE] [--identity DIR]\n\n"
    "Asks your gateway to fetch every peer's signed catalog (or one peer's) now,\n"
    "and prints what it accepted or refused, and why. A refused catalog leaves\n"
    "the last good one in use.\n\nOptions:\n  --site SITE      only this peer\n" REMOTE_HELP
    "\nExample:\n  ecluse catalog refresh --site lu\n",
    run_catalog_refresh,
};

const cli_command cli_catalog_export = {
    "catalog export",
    "export a site's catalog as DCAT-AP JSON-LD for European data portals",
    "Usage: ecluse catalog export --format dcat-ap [--site SITE] [-o FILE] [--base-uri URI]\n\n"
    "Writes the datasets of SITE (default: your site) as a dcat:Catalog in JSON-LD,\n"
    "each dataset with its licence, provenance, contact, spatial coverage, access\n"
    "rights (RESTRICTED) and a distribution with BLAKE2b-256 checksums.\n\nOptions:\n"
    "  --format dcat-ap   the format\n  --site SITE        whose catalog\n"
    "  --output FILE      write there instead of stdout\n"
    "  --base-uri URI     base of the URIs minted for the catalog and datasets\n" REMOTE_HELP
    "\nExample:\n  ecluse catalog export --format dcat-ap -o fi-dcat.jsonld\n",
    run_catalog_export,
};
