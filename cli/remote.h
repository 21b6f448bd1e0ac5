/*
 * remote.h - what client subcommands share: finding the identity, opening
 * the client, and printing catalog entries for people.
 */
#ifndef ECLUSE_CLI_REMOTE_H
#define ECLUSE_CLI_REMOTE_H

#include <stdio.h>

#include "client/client.h"
#include "common/err.h"

/* The options every client command takes. */
#define CLI_REMOTE_OPTIONS                                                                         \
    {"identity", required_argument, 0, 'i'}, {"gateway", required_argument, 0, 'g'},               \
    {                                                                                              \
        "json", no_argument, 0, 'j'                                                                \
    }

typedef struct cli_remote {
    const char *identity;
    const char *gateway;
    int json;
    ecl_client *client;
} cli_remote;

void cli_remote_init(cli_remote *r);

/* 1 if option `c` was one of the remote options (and was taken). */
int cli_remote_option(cli_remote *r, int c, const char *arg);

/* For commands that take only the remote options: parse them, then expect
 * exactly `want` positional arguments (`what` names them in the error). */
int cli_remote_parse(int argc, char **argv, cli_remote *r, int want, const char *what,
                     ecl_err *err) ECL_WUR;

int cli_remote_open(cli_remote *r, ecl_err *err) ECL_WUR;
void cli_remote_close(cli_remote *r);

/* Unary and streaming calls through the client's channel. */
int cli_call(cli_remote *r, const char *method, const ProtobufCMessage *req,
             const ProtobufCMessageDescriptor *resp_type, ProtobufCMessage **resp,
             ecl_err *err) ECL_WUR;

/* Calls `each` for every message of a server stream; stops at its first -1. */
int cli_stream(cli_remote *r, const char *method, const ProtobufCMessage *req,
               const ProtobufCMessageDescriptor *type,
               int (*each)(const ProtobufCMessage *msg, void *ctx, ecl_err *err), void *ctx,
               ecl_err *err) ECL_WUR;

/* `ecluse catalog show ID` (also `dataset show`): the whole entry of any
 * dataset of the federation, with where it is held. */
int cli_show_dataset(int argc, char **argv, ecl_err *err) ECL_WUR;

/* A dataset entry, in full, for a person (or as JSON). */
void cli_print_entry(FILE *out, const Ecluse__V1__DatasetEntry *e, int json);

/* "3 min ago", "2 h ago" */
void cli_age(long long seconds, char *buf, size_t cap);

#endif
