/*
 * federation_e2e_test.c - three sites on loopback, peered both ways.
 *
 * FI, LU and DE each have their own CA, keys and gateway process. Admins
 * exchange bundles with the CLI; researchers see the federation through
 * their home gateway. Then what goes wrong in real life: a peer removed, a
 * certificate from one peer's CA claiming another's gateway, a key rotated,
 * a site restored from an old backup (rollback), a key replaced without a
 * rotation. Each is refused, and the last good catalog stays in use.
 */
#include <grpc/status.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "proto/ecluse.pb-c.h"
#include "rpc/client.h"
#include "rpc/server.h"
#include "site/pki.h"
#include "site/sitekey.h"
#include "tests/support/harness.h"

#define OUT_MAX (64 * 1024)

typedef struct site {
    th_site s;
    char admin[PATH_MAX], researcher[PATH_MAX], bundle[PATH_MAX + 16];
} site;

static char root[PATH_MAX - 200];
static site fi, lu, de;
static char out[OUT_MAX];
static int library_ready; /* rpc_library_init ran: teardown must shut it down */

static void make_site(site *x, const char *id, const char *country)
{
    th_site_create(&x->s, root, id, country);
    th_issue(&x->s, "admin", "adm", x->admin, sizeof(x->admin));
    th_issue(&x->s, "researcher", "res", x->researcher, sizeof(x->researcher));
    th_gateway_start(&x->s);
}

static void must(int rc, const char *what)
{
    if (rc != 0)
        fail_msg("%s failed (%d):\n%s", what, rc, out);
}

static void export_bundle(site *x)
{
    th_export_bundle(&x->s, x->admin, x->bundle, sizeof(x->bundle));
}

static void add_peer(site *at, const site *peer)
{
    must(th_peer_add(out, sizeof(out), peer->bundle, at->admin), "peer add");
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void publish(site *x, const char *name, const char *title)
{
    char csv[PATH_MAX + 64], policy[PATH_MAX + 64];
    snprintf(csv, sizeof(csv), "%s/%s-%s.csv", root, x->s.id, name);
    snprintf(policy, sizeof(policy), "%s/policy.json", root);
    write_file(csv, "5.1,3.5,1.4,0\n4.9,3.0,1.4,0\n6.3,3.3,6.0,2\n5.8,2.7,5.1,2\n");
    char text[1024];
    snprintf(text, sizeof(text),
             "{\"ecluse_policy\": 1, \"dataset\": \"%s/%s\", \"category\": \"anonymous\", "
             "\"purposes\": {\"allowed\": [\"NRES\"]}, \"tensors\": [{\"name\": \"features\"}, "
             "{\"name\": \"labels\"}], \"minimisation\": {\"default\": {\"tensors\": "
             "[\"features\", \"labels\"], \"max_rows\": 4}}, \"storage\": {\"max_grant_days\": "
             "30}}\n",
             x->s.id, name);
    write_file(policy, text);
    must(th_run(out, sizeof(out), "dataset", "add", name, "--from", csv, "--label-column", "-1",
                "--title", title, "--description", "test data", "--licence", "CC-BY-4.0",
                "--keywords", "test,federation", "--policy", policy, "--identity", x->admin, NULL),
         "dataset add");
}

static void refresh(site *x)
{
    must(th_run(out, sizeof(out), "catalog", "refresh", "--identity", x->researcher, NULL),
         "catalog refresh");
}

/* The federated list as `x`'s researcher sees it. */
static const char *listing(site *x)
{
    must(th_run(out, sizeof(out), "catalog", "list", "--identity", x->researcher, NULL),
         "catalog list");
    return out;
}

static int setup(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    make_site(&fi, "fi", "FI");
    make_site(&lu, "lu", "LU");
    make_site(&de, "de", "DE");
    site *all[] = {&fi, &lu, &de};
    for (int i = 0; i < 3; i++)
        export_bundle(all[i]);
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            if (i != j)
                add_peer(all[i], all[j]);
    publish(&fi, "iris-fi", "Iris measurements at FI");
    publish(&lu, "iris-lu", "Iris measurements at LU");
    publish(&de, "iris-de", "Iris measurements at DE");
    rpc_library_init(0);
    library_ready = 1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (library_ready)
        rpc_library_shutdown();
    site *all[] = {&fi, &lu, &de};
    int bad = 0;
    for (int i = 0; i < 3; i++)
        if (all[i]->s.pid != 0 && th_gateway_stop(&all[i]->s, NULL) != 0)
            bad = 1;
    return bad ? -1 : 0;
}

static void test_each_site_sees_the_others_datasets(void **state)
{
    (void)state;
    site *all[] = {&fi, &lu, &de};
    for (int i = 0; i < 3; i++) {
        refresh(all[i]);
        const char *list = listing(all[i]);
        assert_non_null(strstr(list, "fi/iris-fi"));
        assert_non_null(strstr(list, "lu/iris-lu"));
        assert_non_null(strstr(list, "de/iris-de"));
        assert_non_null(strstr(list, "3 dataset(s)"));
    }
    /* The whole entry, policy included, as seen from another site. */
    must(th_run(out, sizeof(out), "catalog", "show", "lu/iris-lu", "--identity", fi.researcher,
                NULL),
         "catalog show");
    assert_non_null(strstr(out, "held by site lu (LU)"));
    assert_non_null(strstr(out, "\"category\": \"anonymous\""));
    assert_non_null(strstr(out, "\"dataset\": \"lu/iris-lu\""));
    assert_non_null(strstr(out, "tensor:      features F32 [4, 3]"));
}

static void test_a_dataset_added_at_lu_appears_at_fi_after_refresh(void **state)
{
    (void)state;
    publish(&lu, "iris-lu-2", "Second LU dataset");
    refresh(&fi);
    assert_non_null(strstr(listing(&fi), "lu/iris-lu-2"));
    must(th_run(out, sizeof(out), "catalog", "search", "second", "--identity", fi.researcher, NULL),
         "catalog search");
    assert_non_null(strstr(out, "lu/iris-lu-2"));
    assert_non_null(strstr(out, "1 dataset(s)"));
}

/* Call Federation/GetCatalog on FI as a gateway with the given cert/key. */
static int get_catalog_as(const char *cert_path, const char *key_path, ecl_err *err)
{
    char fi_ca[2 * PATH_MAX];
    snprintf(fi_ca, sizeof(fi_ca), "%s/ca/ca.crt", fi.s.dir);
    char *ca = th_read(fi_ca), *cert = th_read(cert_path), *key = th_read(key_path);
    char target[64];
    snprintf(target, sizeof(target), "127.0.0.1:%d", fi.s.port);
    rpc_channel_options o = {target, ca, cert, key, "spiffe://fi/gateway", 0};
    rpc_channel *ch = NULL;
    assert_int_equal(rpc_channel_open(&o, &ch, err), 0);
    Ecluse__V1__GetCatalogRequest req = ECLUSE__V1__GET_CATALOG_REQUEST__INIT;
    rpc_stream *st = NULL;
    int rc = rpc_stream_open(ch, "/ecluse.v1.Federation/GetCatalog", &req.base, 5000, &st, err);
    while (rc == 0) {
        ProtobufCMessage *msg = NULL;
        int n = rpc_stream_next(st, &ecluse__v1__catalog_part__descriptor, &msg, err);
        if (n <= 0) {
            rc = n;
            break;
        }
        protobuf_c_message_free_unpacked(msg, NULL);
    }
    rpc_stream_close(st);
    rpc_channel_close(ch);
    free(ca);
    free(cert);
    free(key);
    return rc;
}

static void test_a_peer_ca_cannot_vouch_for_another_sites_gateway(void **state)
{
    (void)state;
    char cert[2 * PATH_MAX], key[2 * PATH_MAX];
    ecl_err err;
    /* LU's real gateway certificate: accepted. */
    snprintf(cert, sizeof(cert), "%s/gateway/gateway.crt", lu.s.dir);
    snprintf(key, sizeof(key), "%s/gateway/gateway.key", lu.s.dir);
    assert_int_equal(get_catalog_as(cert, key, &err), 0);

    /* LU's CA issues a certificate claiming to be DE's gateway. */
    char ca_cert[2 * PATH_MAX], ca_key[2 * PATH_MAX];
    snprintf(ca_cert, sizeof(ca_cert), "%s/ca/ca.crt", lu.s.dir);
    snprintf(ca_key, sizeof(ca_key), "%s/ca/ca.key", lu.s.dir);
    X509 *ca = NULL, *forged = NULL;
    EVP_PKEY *cak = NULL, *fk = NULL;
    assert_int_equal(pki_load_cert(ca_cert, &ca, &err), 0);
    assert_int_equal(pki_load_key(ca_key, &cak, &err), 0);
    pki_leaf_request req = {"spiffe://de/gateway", NULL, 0, 1};
    assert_int_equal(pki_issue(ca, cak, &req, &forged, &fk, &err), 0);
    snprintf(cert, sizeof(cert), "%s/forged-de.crt", root);
    snprintf(key, sizeof(key), "%s/forged-de.key", root);
    assert_int_equal(pki_write_cert(cert, forged, &err), 0);
    assert_int_equal(pki_write_key(key, fk, &err), 0);
    assert_int_equal(get_catalog_as(cert, key, &err), -1);
    assert_int_equal(err.remote_status, GRPC_STATUS_UNAUTHENTICATED);
    assert_non_null(strstr(err.msg, "spiffe://de/gateway was not issued by site 'de''s CA"));
    X509_free(ca);
    X509_free(forged);
    EVP_PKEY_free(cak);
    EVP_PKEY_free(fk);
}

static void test_key_rotation_keeps_the_federation_working(void **state)
{
    (void)state;
    must(th_run(out, sizeof(out), "key", "rotate", "--identity", lu.admin, NULL), "key rotate");
    assert_non_null(strstr(out, "Rotation 1 of site lu"));
    publish(&lu, "after-rotation", "Signed with LU's new key");
    refresh(&fi);
    assert_non_null(strstr(out, "lu         catalog version"));
    assert_null(strstr(out, "lu         refused"));
    assert_non_null(strstr(listing(&fi), "lu/after-rotation"));
    assert_true(th_file_contains(fi.s.log, "event=peer.key_rotated site=lu"));
    /* Twice: the chain is followed from the newly pinned key too. */
    must(th_run(out, sizeof(out), "key", "rotate", "--identity", lu.admin, NULL), "key rotate 2");
    publish(&lu, "after-rotation-2", "Signed with LU's third key");
    refresh(&fi);
    assert_non_null(strstr(listing(&fi), "lu/after-rotation-2"));
}

static void copy_tree(const char *from, const char *to)
{
    char cmd[8 * PATH_MAX];
    assert_true(snprintf(cmd, sizeof(cmd), "rm -rf '%s' && cp -a '%s' '%s'", to, from, to) <
                (int)sizeof(cmd));
    assert_int_equal(system(cmd), 0);
}

static void test_a_site_restored_from_an_old_backup_is_refused_as_rollback(void **state)
{
    (void)state;
    char state_dir[2 * PATH_MAX], backup[2 * PATH_MAX];
    snprintf(state_dir, sizeof(state_dir), "%s/data/state", lu.s.dir);
    snprintf(backup, sizeof(backup), "%s/lu-state-backup", root);
    assert_int_equal(th_gateway_stop(&lu.s, NULL), 0);
    copy_tree(state_dir, backup); /* the backup: catalog as it is now */
    th_gateway_start(&lu.s);
    publish(&lu, "newest", "Published after the backup");
    refresh(&fi);
    assert_non_null(strstr(listing(&fi), "lu/newest"));

    /* LU's admin restores the old backup: its catalog version goes back. */
    assert_int_equal(th_gateway_stop(&lu.s, NULL), 0);
    copy_tree(backup, state_dir);
    th_gateway_start(&lu.s);
    refresh(&fi);
    assert_non_null(strstr(out, "lu         refused:"));
    assert_non_null(strstr(out, "rollback refused"));
    /* FI still shows what it verified last. */
    assert_non_null(strstr(listing(&fi), "lu/newest"));
    assert_true(th_file_contains(fi.s.log, "event=catalog.refused site=lu"));
}

static void test_a_key_replaced_without_rotation_is_refused(void **state)
{
    (void)state;
    char key_path[2 * PATH_MAX], pub_path[2 * PATH_MAX + 8];
    snprintf(key_path, sizeof(key_path), "%s/keys/site.key", de.s.dir);
    snprintf(pub_path, sizeof(pub_path), "%s.pub", key_path);
    assert_int_equal(th_gateway_stop(&de.s, NULL), 0);
    assert_int_equal(unlink(key_path), 0);
    assert_int_equal(unlink(pub_path), 0);
    site_key k;
    ecl_err err;
    assert_int_equal(site_key_generate(&k, &err), 0);
    assert_int_equal(site_key_save(&k, key_path, &err), 0);
    site_key_wipe(&k);
    th_gateway_start(&de.s);
    refresh(&fi);
    assert_non_null(strstr(out, "de         refused:"));
    assert_non_null(strstr(out, "not signed by its pinned key"));
    assert_non_null(strstr(listing(&fi), "de/iris-de")); /* the last good one */
}

static void test_removing_a_peer_hides_it_and_refuses_its_gateway(void **state)
{
    (void)state;
    must(th_run(out, sizeof(out), "peer", "remove", "de", "--identity", fi.admin, NULL),
         "peer remove");
    assert_null(strstr(listing(&fi), "de/iris-de"));
    /* DE's gateway asking FI for its catalog is now refused, at once. */
    refresh(&de);
    assert_non_null(strstr(out, "fi         refused:"));
    /* Refused at the TLS handshake (DE's CA left FI's trust set) or, on a
     * connection made before, by the peer check: either way, nothing served. */
    assert_true(strstr(out, "site 'de' is not a peer of this gateway") != NULL ||
                strstr(out, "refused the TLS connection") != NULL);
    must(th_run(out, sizeof(out), "peer", "list", "--identity", fi.admin, NULL), "peer list");
    assert_null(strstr(out, "de "));
    assert_non_null(strstr(out, "lu "));
}

static void test_bad_bundles_are_refused(void **state)
{
    (void)state;
    char bad[PATH_MAX + 16];
    snprintf(bad, sizeof(bad), "%s/bad.peer", root);
    write_file(bad, "not a bundle\n");
    assert_int_equal(th_run(out, sizeof(out), "peer", "add", bad, "--identity", fi.admin, NULL), 3);
    assert_non_null(strstr(out, "ecluse-peer-bundle-v1"));
    /* One flipped character in the base64 of a real bundle. */
    char *text = th_read(lu.bundle);
    text[60] = text[60] == 'A' ? 'B' : 'A';
    write_file(bad, text);
    free(text);
    int rc = th_run(out, sizeof(out), "peer", "add", bad, "--identity", fi.admin, NULL);
    assert_true(rc == 3 || rc == 10);
    /* Its own bundle, and a wrong fingerprint. */
    assert_int_equal(th_peer_add(out, sizeof(out), fi.bundle, fi.admin), 3);
    assert_non_null(strstr(out, "does not peer with itself"));
    assert_int_equal(th_run(out, sizeof(out), "peer", "add", lu.bundle, "--identity", fi.admin,
                            "--expect-fingerprint", "0000-0000", NULL),
                     10);
    assert_non_null(strstr(out, "not adding this peer"));
    /* A researcher is not an admin. */
    assert_int_equal(th_peer_add(out, sizeof(out), lu.bundle, fi.researcher), 7);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_site_sees_the_others_datasets),
        cmocka_unit_test(test_a_dataset_added_at_lu_appears_at_fi_after_refresh),
        cmocka_unit_test(test_a_peer_ca_cannot_vouch_for_another_sites_gateway),
        cmocka_unit_test(test_key_rotation_keeps_the_federation_working),
        cmocka_unit_test(test_a_site_restored_from_an_old_backup_is_refused_as_rollback),
        cmocka_unit_test(test_a_key_replaced_without_rotation_is_refused),
        cmocka_unit_test(test_removing_a_peer_hides_it_and_refuses_its_gateway),
        cmocka_unit_test(test_bad_bundles_are_refused),
    };
    return cmocka_run_group_tests_name("federation e2e", tests, setup, teardown);
}
