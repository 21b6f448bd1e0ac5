#include "cli/remote.h"

#include "cli/options.h"

#include <jansson.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

void cli_remote_init(cli_remote *r)
{
    memset(r, 0, sizeof(*r));
    r->identity = ecl_client_default_identity();
}

int cli_remote_option(cli_remote *r, int c, const char *arg)
{
    switch (c) {
    case 'i':
        r->identity = arg;
        return 1;
    case 'g':
        r->gateway = arg;
        return 1;
    case 'j':
        r->json = 1;
        return 1;
    default:
        return 0;
    }
}

int cli_remote_parse(int argc, char **argv, cli_remote *r, int want, const char *what, ecl_err *err)
{
    static const struct option remote_only[] = {CLI_REMOTE_OPTIONS, {0, 0, 0, 0}};
    cli_remote_init(r);
    int c;
    while ((c = cli_getopt(argc, argv, remote_only, err)) != -1)
        if (c == -2 || !cli_remote_option(r, c, optarg))
            return -1;
    return cli_expect_positionals(argc, argv, want, what, err);
}

int cli_remote_open(cli_remote *r, ecl_err *err)
{
    return ecl_client_open(r->identity, r->gateway, &r->client, err);
}

void cli_remote_close(cli_remote *r)
{
    ecl_client_close(r->client);
    r->client = NULL;
}

int cli_call(cli_remote *r, const char *method, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *resp_type, ProtobufCMessage **resp, ecl_err *err)
{
    /* Refreshing peers can take a peer timeout per peer: allow for it. */
    return rpc_unary(ecl_client_channel(r->client), method, req, resp_type, resp, 120000, err);
}

int cli_stream(cli_remote *r, const char *method, const ProtobufCMessage *req,
               const ProtobufCMessageDescriptor *type,
               int (*each)(const ProtobufCMessage *msg, void *ctx, ecl_err *err), void *ctx,
               ecl_err *err)
{
    rpc_stream *st = NULL;
    if (rpc_stream_open(ecl_client_channel(r->client), method, req, 120000, &st, err) != 0)
        return -1;
    int rc;
    for (;;) {
        ProtobufCMessage *msg = NULL;
        rc = rpc_stream_next(st, type, &msg, err);
        if (rc <= 0)
            break;
        rc = each(msg, ctx, err);
        protobuf_c_message_free_unpacked(msg, NULL);
        if (rc != 0)
            break;
    }
    rpc_stream_close(st);
    return rc;
}

void cli_age(long long seconds, char *buf, size_t cap)
{
    if (seconds < 0)
        seconds = 0;
    if (seconds < 120)
        snprintf(buf, cap, "%lld s ago", seconds);
    else if (seconds < 7200)
        snprintf(buf, cap, "%lld min ago", seconds / 60);
    else if (seconds < 172800)
        snprintf(buf, cap, "%lld h ago", seconds / 3600);
    else
        snprintf(buf, cap, "%lld days ago", seconds / 86400);
}

static json_t *entry_json(const Ecluse__V1__DatasetEntry *e)
{
    json_t *tensors = json_array();
    for (size_t i = 0; i < e->n_tensors; i++) {
        const Ecluse__V1__TensorInfo *t = e->tensors[i];
        json_t *shape = json_array();
        for (size_t k = 0; k < t->n_shape; k++)
            json_array_append_new(shape, json_integer((json_int_t)t->shape[k]));
        char hex[2 * 64 + 1] = "";
        if (t->digest.len <= 64)
            sodium_bin2hex(hex, sizeof(hex), t->digest.data, t->digest.len);
        json_array_append_new(tensors, json_pack("{s:s, s:s, s:o, s:I, s:s}", "name", t->name,
                                                 "dtype", t->dtype, "shape", shape, "byte_size",
                                                 (json_int_t)t->byte_size, "blake2b_256", hex));
    }
    json_t *keywords = json_array();
    for (size_t k = 0; k < e->n_keywords; k++)
        json_array_append_new(keywords, json_string(e->keywords[k]));
    json_t *policy = json_loads(e->policy_json, 0, NULL);
    return json_pack("{s:s, s:s, s:s, s:I, s:o, s:s, s:s, s:s, s:s, s:o, s:o, s:I, s:I}", "id",
                     e->id, "title", e->title, "description", e->description, "rows",
                     (json_int_t)e->rows, "tensors", tensors, "licence", e->licence, "provenance",
                     e->provenance, "collection_purpose", e->collection_purpose, "contact",
                     e->contact, "keywords", keywords, "policy", policy ? policy : json_null(),
                     "issued_unix", (json_int_t)e->issued_unix, "modified_unix",
                     (json_int_t)e->modified_unix);
}

/* The entry's version: 0 on the wire is a dataset never erased, version 1. */
static uint64_t entry_version(const Ecluse__V1__DatasetEntry *e)
{
    return e->version > 0 ? e->version : 1;
}

void cli_print_entry(FILE *out, const Ecluse__V1__DatasetEntry *e, int json)
{
    if (json) {
        json_t *doc = entry_json(e);
        json_object_set_new(doc, "version", json_integer((json_int_t)entry_version(e)));
        json_object_set_new(doc, "erased_rows", json_integer((json_int_t)e->erased_rows));
        /* One line: a list of entries is one object per line. */
        char *text = json_dumps(doc, JSON_COMPACT | JSON_PRESERVE_ORDER);
        fprintf(out, "%s\n", text ? text : "{}");
        free(text);
        json_decref(doc);
        return;
    }
    fprintf(out, "%s\n  %s\n", e->id, e->title);
    if (e->description[0])
        fprintf(out, "  %s\n", e->description);
    fprintf(out, "  rows:        %llu\n", (unsigned long long)e->rows);
    fprintf(out, "  version:     %llu", (unsigned long long)entry_version(e));
    if (e->erased_rows > 0)
        fprintf(out, " (%llu rows erased, GDPR Art. 17)", (unsigned long long)e->erased_rows);
    fprintf(out, "\n");
    for (size_t i = 0; i < e->n_tensors; i++) {
        const Ecluse__V1__TensorInfo *t = e->tensors[i];
        fprintf(out, "  tensor:      %s %s [", t->name, t->dtype);
        for (size_t k = 0; k < t->n_shape; k++)
            fprintf(out, "%s%llu", k ? ", " : "", (unsigned long long)t->shape[k]);
        fprintf(out, "] %llu bytes\n", (unsigned long long)t->byte_size);
    }
    fprintf(out, "  licence:     %s\n  provenance:  %s\n  collected for: %s\n  contact:     %s\n",
            e->licence, e->provenance, e->collection_purpose, e->contact);
    if (e->n_keywords > 0) {
        fprintf(out, "  keywords:   ");
        for (size_t k = 0; k < e->n_keywords; k++)
            fprintf(out, " %s", e->keywords[k]);
        fprintf(out, "\n");
    }
    json_t *policy = json_loads(e->policy_json, 0, NULL);
    char *pretty = policy ? json_dumps(policy, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    fprintf(out, "  access policy:\n");
    char *rest = NULL;
    for (char *line = pretty ? strtok_r(pretty, "\n", &rest) : NULL; line;
         line = strtok_r(NULL, "\n", &rest))
        fprintf(out, "    %s\n", line);
    free(pretty);
    json_decref(policy);
}
