#include "client/client.h"

#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "rpc/rpc.h"
#include "site/keyfile.h"
#include "site/pki.h"

#define PEM_MAX (256 * 1024)

struct ecl_client {
    ecl_identity identity;
    char gateway[256];
    char *ca_pem, *cert_pem, *key_pem;
    rpc_channel *channel;
    int timeout_ms;
};

static pthread_mutex_t library_lock = PTHREAD_MUTEX_INITIALIZER;
static int library_users;

const char *ecl_client_default_identity(void)
{
    const char *env = getenv("ECLUSE_IDENTITY");
    return env != NULL && env[0] != '\0' ? env : NULL;
}

static int read_in(const char *dir, const char *name, char **out, ecl_err *err)
{
    char path[PATH_MAX];
    size_t len = 0;
    if (ecl_path_join(path, sizeof(path), dir, name, err) != 0 ||
        ecl_read_file(path, PEM_MAX, out, &len, err) != 0)
        return -1;
    return 0;
}

/* key.pem: refused if group or others can read it; held in guarded memory
 * (free with keyfile_free). */
static int read_key(const char *dir, char **out, ecl_err *err)
{
    char path[PATH_MAX];
    size_t len = 0;
    if (ecl_path_join(path, sizeof(path), dir, "key.pem", err) != 0 ||
        keyfile_read(path, PEM_MAX, out, &len, err) != 0)
        return -1;
    return 0;
}

/* identity.json: the gateway endpoint (the identity itself comes from the
 * certificate, which is what the gateway will believe). */
static int read_endpoint(const char *dir, char *out, size_t cap, ecl_err *err)
{
    char *text = NULL;
    if (read_in(dir, "identity.json", &text, err) != 0)
        return -1;
    json_error_t jerr;
    json_t *doc = json_loads(text, 0, &jerr);
    free(text);
    if (doc == NULL)
        return ecl_fail(err, ECL_E_INPUT, "%s/identity.json: line %d: %s", dir, jerr.line,
                        jerr.text);
    const char *gw = json_string_value(json_object_get(doc, "gateway"));
    int rc = 0;
    if (gw == NULL || gw[0] == '\0' || strlen(gw) >= cap)
        rc = ecl_fail(err, ECL_E_INPUT, "%s/identity.json: field 'gateway' (host:port) is missing",
                      dir);
    else
        snprintf(out, cap, "%s", gw);
    json_decref(doc);
    return rc;
}

static int check_identity(ecl_client *c, const char *dir, ecl_err *err)
{
    char cert_path[PATH_MAX], key_path[PATH_MAX], ca_path[PATH_MAX];
    if (ecl_path_join(cert_path, sizeof(cert_path), dir, "cert.pem", err) != 0 ||
        ecl_path_join(key_path, sizeof(key_path), dir, "key.pem", err) != 0 ||
        ecl_path_join(ca_path, sizeof(ca_path), dir, "ca.pem", err) != 0 ||
        pki_check_identity_files(cert_path, key_path, ca_path, NULL, err) != 0)
        return -1;
    X509 *cert = NULL;
    char spiffe[ECL_SPIFFE_MAX];
    int rc = pki_cert_from_pem(c->cert_pem, strlen(c->cert_pem), &cert, err);
    if (rc == 0)
        rc = pki_cert_spiffe(cert, spiffe, sizeof(spiffe), err);
    X509_free(cert);
    if (rc == 0)
        rc = identity_parse_spiffe(spiffe, &c->identity, err);
    return rc;
}

int ecl_client_open(const char *dir, const char *gateway, ecl_client **out, ecl_err *err)
{
    if (dir == NULL)
        return ecl_fail(err, ECL_E_USAGE,
                        "no identity: pass --identity DIR or set ECLUSE_IDENTITY "
                        "(a directory made by 'ecluse pki issue')");
    ecl_client *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    c->timeout_ms = 15000;
    if (read_in(dir, "ca.pem", &c->ca_pem, err) != 0 ||
        read_in(dir, "cert.pem", &c->cert_pem, err) != 0 || read_key(dir, &c->key_pem, err) != 0 ||
        check_identity(c, dir, err) != 0)
        goto fail;
    if (gateway != NULL)
        snprintf(c->gateway, sizeof(c->gateway), "%s", gateway);
    else if (read_endpoint(dir, c->gateway, sizeof(c->gateway), err) != 0)
        goto fail;

    pthread_mutex_lock(&library_lock);
    if (library_users++ == 0)
        rpc_library_init(0);
    pthread_mutex_unlock(&library_lock);

    char expect[ECL_SPIFFE_MAX];
    snprintf(expect, sizeof(expect), "spiffe://%s/gateway", c->identity.site);
    rpc_channel_options opts = {c->gateway, c->ca_pem, c->cert_pem, c->key_pem, expect, 0};
    if (rpc_channel_open(&opts, &c->channel, err) != 0) {
        ecl_client_close(c);
        return -1;
    }
    *out = c;
    return 0;
fail:
    free(c->ca_pem);
    free(c->cert_pem);
    keyfile_free(c->key_pem);
    free(c);
    return -1;
}

void ecl_client_close(ecl_client *c)
{
    if (c == NULL)
        return;
    rpc_channel_close(c->channel);
    free(c->ca_pem);
    free(c->cert_pem);
    keyfile_free(c->key_pem);
    free(c);
    pthread_mutex_lock(&library_lock);
    if (--library_users == 0)
        rpc_library_shutdown();
    pthread_mutex_unlock(&library_lock);
}

const ecl_identity *ecl_client_identity(const ecl_client *c)
{
    return &c->identity;
}

const char *ecl_client_gateway(const ecl_client *c)
{
    return c->gateway;
}

rpc_channel *ecl_client_channel(ecl_client *c)
{
    return c->channel;
}

void ecl_client_set_timeout(ecl_client *c, int timeout_ms)
{
    c->timeout_ms = timeout_ms;
}

int ecl_client_timeout(const ecl_client *c)
{
    return c->timeout_ms;
}

int ecl_client_health(ecl_client *c, Ecluse__V1__HealthCheckResponse **out, ecl_err *err)
{
    Ecluse__V1__HealthCheckRequest req = ECLUSE__V1__HEALTH_CHECK_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    if (rpc_unary(c->channel, "/ecluse.v1.Health/Check", &req.base,
                  &ecluse__v1__health_check_response__descriptor, &resp, c->timeout_ms, err) != 0)
        return -1;
    *out = (Ecluse__V1__HealthCheckResponse *)resp;
    return 0;
}
