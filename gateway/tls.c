/* tls.c - the gateway's own certificate and key, shared by the threads that
 * present them: the TLS server (new connections) and the channels to peers.
 *
 * The pair is one immutable object, replaced whole on reload (reload.c):
 * a reader takes a reference under tls_lock and may use the pair as long as
 * it holds it, so a connection never sees the certificate of one generation
 * with the key of another, and the old pair is freed by its last user. */
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "common/fileio.h"
#include "gateway/gateway.h"
#include "site/keyfile.h"
#include "site/pki.h"

#define PEM_MAX (256 * 1024)

/* A copy handed to gRPC is ordinary heap: wiped before it is freed. */
static void free_pem_secret(char *pem)
{
    if (pem != NULL) {
        OPENSSL_cleanse(pem, strlen(pem));
        free(pem);
    }
}

static void tls_free(gateway_tls *t)
{
    if (t == NULL)
        return;
    free(t->cert_pem);
    keyfile_free(t->key_pem);
    free(t);
}

static int read_pair(const gateway_config *cfg, char **cert, char **key, ecl_err *err)
{
    size_t len;
    *cert = *key = NULL;
    if (ecl_read_file(cfg->tls_cert, PEM_MAX, cert, &len, err) != 0)
        return -1;
    /* The key goes to guarded memory, and a key others can read is refused
     * before a byte of it is read (site/keyfile.h). */
    if (keyfile_read(cfg->tls_key, PEM_MAX, key, &len, err) != 0) {
        free(*cert);
        *cert = NULL;
        return -1;
    }
    return 0;
}

/* The files are checked by path (gateway_config_check_files), so the pair
 * read must be the pair checked: a renewal replaces the key and then the
 * certificate, and a read between the two would pair a new key with the old
 * certificate. Read, check, read again, and take it only if nothing moved. */
int gateway_tls_load(const gateway_config *cfg, gateway_tls **out, ecl_err *err)
{
    char *cert = NULL, *key = NULL, *cert2 = NULL, *key2 = NULL;
    *out = NULL;
    if (read_pair(cfg, &cert, &key, err) != 0)
        return -1;
    int rc = gateway_config_check_files(cfg, err);
    if (rc == 0)
        rc = read_pair(cfg, &cert2, &key2, err);
    if (rc == 0 && (strcmp(cert, cert2) != 0 || strcmp(key, key2) != 0))
        rc = ecl_fail(err, ECL_E_UNAVAILABLE,
                      "%s and %s changed while they were being read (a renewal in progress?): "
                      "try again",
                      cfg->tls_cert, cfg->tls_key);
    free(cert2);
    keyfile_free(key2);
    gateway_tls *t = rc == 0 ? calloc(1, sizeof(*t)) : NULL;
    if (rc == 0 && t == NULL)
        rc = ecl_fail(err, ECL_E_INTERNAL, "out of memory");
    if (rc != 0) {
        free(cert);
        keyfile_free(key);
        return -1;
    }
    t->cert_pem = cert;
    t->key_pem = key;
    t->refs = 1;
    *out = t;
    return 0;
}

gateway_tls *gateway_tls_acquire(gateway *gw)
{
    pthread_mutex_lock(&gw->tls_lock);
    gateway_tls *t = gw->tls;
    t->refs++;
    pthread_mutex_unlock(&gw->tls_lock);
    return t;
}

void gateway_tls_release(gateway *gw, gateway_tls *t)
{
    if (t == NULL)
        return;
    pthread_mutex_lock(&gw->tls_lock);
    int last = --t->refs == 0;
    pthread_mutex_unlock(&gw->tls_lock);
    if (last)
        tls_free(t);
}

void gateway_tls_replace(gateway *gw, gateway_tls *fresh)
{
    pthread_mutex_lock(&gw->tls_lock);
    gateway_tls *old = gw->tls;
    fresh->generation = old != NULL ? old->generation + 1 : 1;
    gw->tls = fresh;
    pthread_mutex_unlock(&gw->tls_lock);
    gateway_tls_release(gw, old);
}

int gateway_tls_same(const gateway_tls *a, const gateway_tls *b)
{
    return strcmp(a->cert_pem, b->cert_pem) == 0 && strcmp(a->key_pem, b->key_pem) == 0;
}

int gateway_identity(void *ctx, char **cert_pem, char **key_pem, uint64_t *generation)
{
    gateway *gw = ctx;
    gateway_tls *t = gateway_tls_acquire(gw);
    *cert_pem = strdup(t->cert_pem);
    *key_pem = strdup(t->key_pem);
    *generation = t->generation;
    gateway_tls_release(gw, t);
    if (*cert_pem == NULL || *key_pem == NULL) {
        free(*cert_pem);
        free_pem_secret(*key_pem);
        *cert_pem = *key_pem = NULL;
        return -1;
    }
    return 0;
}
