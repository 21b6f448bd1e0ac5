/* own_catalog.c - this site's signed catalog, re-signed only when needed. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "gateway/gateway.h"

static void drop(shared_catalog *sc)
{
    catalog_free(sc->catalog);
    free(sc);
}

/* A catalog still good to serve: same datasets, same key, under half its
 * validity used (so peers always get one with time left). */
static int still_fresh(gateway *gw, const shared_catalog *sc, uint64_t version, int64_t now)
{
    if (sc == NULL || sc->state_version != version ||
        sc->erase_generation != atomic_load(&gw->erase_generation))
        return 0;
    const Ecluse__V1__CatalogHeader *h = catalog_header(sc->catalog);
    unsigned char current[crypto_sign_PUBLICKEYBYTES];
    signer_public_key(gw->signer, current);
    int same_key = h->signing_key.len == sizeof(current) &&
                   memcmp(h->signing_key.data, current, sizeof(current)) == 0;
    return same_key && now < h->issued_unix + (int64_t)GATEWAY_SETTING(gw, catalog_validity_s) / 2;
}

/* The entry as published, with its version and the rows erased so far
 * (erased.c): the stored entry stays as published, since grants are bound
 * to it (grant.h), and erasure keeps them valid for the rows that remain.
 * An entry never erased keeps both fields unset (version 0 reads as 1), so
 * it is the same bytes as before erasure existed. */
static int with_erasures(gateway *gw, ProtobufCBinaryData *entry, ecl_err *err)
{
    Ecluse__V1__DatasetEntry *e = ecluse__v1__dataset_entry__unpack(NULL, entry->len, entry->data);
    if (e == NULL)
        return ecl_fail(err, ECL_E_INPUT, "a stored dataset entry does not decode");
    store_rowset *rs = NULL;
    uint64_t erasures = 0;
    int rc = gateway_erased(gw, e->id, &rs, &erasures, err);
    if (rc == 0 && erasures > 0) {
        e->version = erasures + 1;
        e->erased_rows = store_rowset_rows_in(rs, 0, e->rows);
        size_t len = ecluse__v1__dataset_entry__get_packed_size(e);
        uint8_t *bytes = malloc(len ? len : 1);
        if (bytes == NULL)
            rc = ecl_fail(err, ECL_E_INTERNAL, "out of memory");
        else {
            ecluse__v1__dataset_entry__pack(e, bytes);
            free(entry->data);
            entry->data = bytes;
            entry->len = len;
        }
    }
    store_rowset_free(rs);
    ecluse__v1__dataset_entry__free_unpacked(e, NULL);
    return rc;
}

static int sign_current(gateway *gw, int64_t now, shared_catalog **out, ecl_err *err)
{
    ProtobufCBinaryData *entries = NULL;
    size_t count = 0;
    uint64_t version = 0;
    /* Read before the entries: an erasure in between re-signs again. */
    uint64_t erase_generation = atomic_load(&gw->erase_generation);
    if (fed_state_list_datasets(gw->state, &entries, &count, &version, err) != 0)
        return -1;
    uint64_t erasures = 0;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < count; i++)
        rc = with_erasures(gw, &entries[i], err);
    /* After the entries: an old <name>.withdrawn.json they put on the trail
     * is counted (erased.c). */
    if (rc == 0)
        rc = gateway_erasures_total(gw, &erasures, err);
    if (rc != 0) {
        fed_state_free_list(entries, count);
        return -1;
    }
    shared_catalog *sc = calloc(1, sizeof(*sc));
    /* Catalog versions start at 1 (an empty catalog): 0 means "none held".
     * Each erasure makes one more (gateway_erasures_total). */
    uint64_t signed_version = version + 1 + erasures;
    rc = sc == NULL ? ecl_fail(err, ECL_E_INTERNAL, "out of memory")
                    : catalog_sign(gw->cfg.site, gw->cfg.country, signed_version, now,
                                   now + GATEWAY_SETTING(gw, catalog_validity_s), entries, count,
                                   gw->signer, &sc->catalog, err);
    fed_state_free_list(entries, count);
    if (rc != 0) {
        free(sc);
        return -1;
    }
    sc->state_version = version;
    sc->erase_generation = erase_generation;
    *out = sc;
    char v[24], n[24];
    snprintf(v, sizeof(v), "%llu", (unsigned long long)signed_version);
    snprintf(n, sizeof(n), "%zu", count);
    ecl_log(ECL_LOG_INFO, "catalog.signed", "site", gw->cfg.site, "version", v, "entries", n, NULL);
    return 0;
}

int gateway_catalog_acquire(gateway *gw, shared_catalog **out, ecl_err *err)
{
    int64_t now = (int64_t)time(NULL);
    uint64_t version = fed_state_catalog_version(gw->state);
    pthread_mutex_lock(&gw->catalog_lock);
    if (!still_fresh(gw, gw->own_catalog, version, now)) {
        shared_catalog *fresh = NULL;
        if (sign_current(gw, now, &fresh, err) != 0) {
            pthread_mutex_unlock(&gw->catalog_lock);
            return -1;
        }
        if (gw->own_catalog != NULL && --gw->own_catalog->refs == 0)
            drop(gw->own_catalog);
        fresh->refs = 1; /* the gateway's own reference */
        gw->own_catalog = fresh;
    }
    gw->own_catalog->refs++;
    *out = gw->own_catalog;
    pthread_mutex_unlock(&gw->catalog_lock);
    return 0;
}

void gateway_catalog_release(gateway *gw, shared_catalog *sc)
{
    if (sc == NULL)
        return;
    pthread_mutex_lock(&gw->catalog_lock);
    int last = --sc->refs == 0;
    pthread_mutex_unlock(&gw->catalog_lock);
    if (last)
        drop(sc);
}
