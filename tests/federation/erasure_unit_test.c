/*
 * erasure_unit_test.c - the erasure notice and ack as signed and opened
 * (federation/erasure.h), and the LMDB store that keeps them.
 *
 * Signed by a site's signer (the same code the gateway's signer process
 * runs); opened with a key history, including a notice signed before a
 * rotation; refused for a key not in it, a body changed after signing, a
 * body that names another key, and an ack signature offered as a notice.
 * The store refuses a second notice of an id (a replay) and changes nothing,
 * and keeps what an update makes across a reopen.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "federation/erasure.h"
#include "site/signer.h"
#include "site/sitekey.h"
#include "tests/support/harness.h"

static site_key old_key, new_key, stranger;

static void sign(const site_key *k, signer_kind kind, const ProtobufCMessage *body,
                 ProtobufCBinaryData *bytes, ProtobufCBinaryData *sig)
{
    signer *s = NULL;
    ecl_err err;
    assert_int_equal(signer_local(k, &s, &err), 0);
    assert_int_equal(signer_sign_message(s, kind, body, bytes, sig, &err), 0);
    signer_free(s);
}

/* A notice from "lu" to "de" about rows 1:3, signed by `k`, naming
 * `named` as its key. */
static void make_notice(const site_key *k, const site_key *named,
                        Ecluse__V1__SignedErasureNotice *out, char id[ERASURE_ID_LEN])
{
    Ecluse__V1__RowRange r = ECLUSE__V1__ROW_RANGE__INIT, *rp = &r;
    r.begin = 1;
    r.end = 3;
    Ecluse__V1__ErasedRead read = ECLUSE__V1__ERASED_READ__INIT, *readp = &read;
    read.read_id = "00112233445566778899aabbccddeeff";
    read.reader = "spiffe://de/researcher/res";
    read.rows = &rp;
    read.n_rows = 1;
    Ecluse__V1__ErasureNoticeBody b = ECLUSE__V1__ERASURE_NOTICE_BODY__INIT;
    erasure_notice_id("lu", 42, "de", id);
    b.notice_id = id;
    b.holding_site = "lu";
    b.home_site = "de";
    b.dataset = "lu/iris";
    b.dataset_version = 2;
    b.rows = &rp;
    b.n_rows = 1;
    b.reads = &readp;
    b.n_reads = 1;
    b.obligation = "delete";
    b.issued_unix = 1700000000;
    b.signing_key.data = (uint8_t *)named->public_key;
    b.signing_key.len = crypto_sign_PUBLICKEYBYTES;
    ecluse__v1__signed_erasure_notice__init(out);
    sign(k, SIGNER_ERASURE_NOTICE, &b.base, &out->body, &out->signature);
}

static void clear(Ecluse__V1__SignedErasureNotice *n)
{
    free(n->body.data);
    free(n->signature.data);
}

static int setup(void **state)
{
    (void)state;
    ecl_err err;
    assert_int_equal(site_key_generate(&old_key, &err), 0);
    assert_int_equal(site_key_generate(&new_key, &err), 0);
    assert_int_equal(site_key_generate(&stranger, &err), 0);
    return 0;
}

static void test_ids_come_from_the_erasure(void **state)
{
    (void)state;
    char a[ERASURE_ID_LEN], b[ERASURE_ID_LEN], c[ERASURE_ID_LEN], d[ERASURE_ID_LEN];
    erasure_notice_id("lu", 42, "de", a);
    erasure_notice_id("lu", 42, "de", b);
    erasure_notice_id("lu", 43, "de", c);
    erasure_notice_id("lu", 42, "fi", d);
    assert_int_equal(strlen(a), 32);
    assert_string_equal(a, b);
    assert_string_not_equal(a, c);
    assert_string_not_equal(a, d);
}

static void test_a_notice_opens_with_the_key_history(void **state)
{
    (void)state;
    unsigned char keys[2][crypto_sign_PUBLICKEYBYTES];
    memcpy(keys[0], old_key.public_key, sizeof(keys[0]));
    memcpy(keys[1], new_key.public_key, sizeof(keys[1]));
    Ecluse__V1__SignedErasureNotice n;
    char id[ERASURE_ID_LEN];
    make_notice(&old_key, &old_key, &n, id); /* signed before the rotation */
    Ecluse__V1__ErasureNoticeBody *b = NULL;
    ecl_err err;
    assert_int_equal(erasure_notice_open(&n, (const unsigned char(*)[32])keys, 2, &b, &err), 0);
    assert_string_equal(b->notice_id, id);
    assert_string_equal(b->dataset, "lu/iris");
    assert_int_equal(b->rows[0]->begin, 1);
    assert_int_equal(b->rows[0]->end, 3);
    assert_string_equal(b->reads[0]->reader, "spiffe://de/researcher/res");
    ecluse__v1__erasure_notice_body__free_unpacked(b, NULL);
    /* Only the new key known: the old one's notice does not open. */
    assert_int_equal(erasure_notice_open(&n, (const unsigned char(*)[32])keys + 1, 1, &b, &err),
                     -1);
    assert_int_equal(err.code, ECL_E_CRYPTO);
    assert_non_null(strstr(err.msg, "signature"));
    clear(&n);
}

static void test_refused_notices(void **state)
{
    (void)state;
    const unsigned char(*lu)[32] = (const unsigned char(*)[32])old_key.public_key;
    Ecluse__V1__SignedErasureNotice n;
    char id[ERASURE_ID_LEN];
    Ecluse__V1__ErasureNoticeBody *b = NULL;
    ecl_err err;

    make_notice(&stranger, &stranger, &n, id); /* another site's key */
    assert_int_equal(erasure_notice_open(&n, lu, 1, &b, &err), -1);
    assert_int_equal(err.code, ECL_E_CRYPTO);
    clear(&n);

    make_notice(&old_key, &old_key, &n, id); /* changed after signing */
    n.body.data[n.body.len - 1] ^= 1;
    assert_int_equal(erasure_notice_open(&n, lu, 1, &b, &err), -1);
    assert_int_equal(err.code, ECL_E_CRYPTO);
    clear(&n);

    make_notice(&old_key, &stranger, &n, id); /* names a key that did not sign */
    assert_int_equal(erasure_notice_open(&n, lu, 1, &b, &err), -1);
    assert_int_equal(err.code, ECL_E_INPUT);
    assert_non_null(strstr(err.msg, "another signing key"));
    clear(&n);

    /* An ack's signature is no notice's: the contexts differ. */
    Ecluse__V1__ErasureAckBody a = ECLUSE__V1__ERASURE_ACK_BODY__INIT;
    a.notice_id = id;
    a.signing_key.data = old_key.public_key;
    a.signing_key.len = crypto_sign_PUBLICKEYBYTES;
    Ecluse__V1__SignedErasureAck ack = ECLUSE__V1__SIGNED_ERASURE_ACK__INIT;
    sign(&old_key, SIGNER_ERASURE_ACK, &a.base, &ack.body, &ack.signature);
    Ecluse__V1__ErasureAckBody *opened = NULL;
    assert_int_equal(erasure_ack_open(&ack, lu, 1, &opened, &err), 0);
    ecluse__v1__erasure_ack_body__free_unpacked(opened, NULL);
    n.body = ack.body;
    n.signature = ack.signature;
    assert_int_equal(erasure_notice_open(&n, lu, 1, &b, &err), -1);
    assert_int_equal(err.code, ECL_E_CRYPTO);
    free(ack.body.data);
    free(ack.signature.data);
}

static int mark(Ecluse__V1__ErasureNoticeRecord *rec, void *ctx, ecl_err *err)
{
    (void)ctx;
    (void)err;
    rec->state = "delivered";
    rec->attempts = 3;
    return 0;
}

static void test_the_store_keeps_and_refuses_replays(void **state)
{
    (void)state;
    char dir[PATH_MAX];
    th_tmpdir(dir, sizeof(dir));
    strncat(dir, "/notices", sizeof(dir) - strlen(dir) - 1);
    notice_store *ns = NULL;
    ecl_err err;
    assert_int_equal(notice_store_open(dir, &ns, &err), 0);
    Ecluse__V1__SignedErasureNotice n;
    char id[ERASURE_ID_LEN];
    make_notice(&old_key, &old_key, &n, id);
    Ecluse__V1__ErasureNoticeRecord rec = ECLUSE__V1__ERASURE_NOTICE_RECORD__INIT;
    rec.notice = &n;
    rec.state = "received";
    assert_int_equal(notice_store_add(ns, NOTICE_INBOX, id, &rec, &err), 0);
    rec.state = "tampered";
    assert_int_equal(notice_store_add(ns, NOTICE_INBOX, id, &rec, &err), -1);
    assert_int_equal(err.code, ECL_E_EXISTS);
    assert_int_equal(notice_store_update(ns, NOTICE_OUTBOX, id, mark, NULL, &err), -1);
    assert_int_equal(err.code, ECL_E_NOT_FOUND);
    assert_int_equal(notice_store_update(ns, NOTICE_INBOX, id, mark, NULL, &err), 0);
    int done = 1;
    assert_int_equal(notice_store_erasure_done(ns, 42, &done, &err), 0);
    assert_false(done);
    assert_int_equal(notice_store_mark_erasure(ns, 42, &err), 0);
    notice_store_close(ns);

    assert_int_equal(notice_store_open(dir, &ns, &err), 0);
    assert_int_equal(notice_store_erasure_done(ns, 42, &done, &err), 0);
    assert_true(done);
    Ecluse__V1__ErasureNoticeRecord **list = NULL;
    size_t count = 0;
    assert_int_equal(notice_store_list(ns, NOTICE_INBOX, &list, &count, &err), 0);
    assert_int_equal(count, 1);
    assert_string_equal(list[0]->state, "delivered");
    assert_int_equal(list[0]->attempts, 3);
    assert_memory_equal(list[0]->notice->body.data, n.body.data, n.body.len);
    notice_store_free_list(list, count);
    assert_int_equal(notice_store_list(ns, NOTICE_OUTBOX, &list, &count, &err), 0);
    assert_int_equal(count, 0);
    notice_store_free_list(list, count);
    notice_store_close(ns);
    clear(&n);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ids_come_from_the_erasure),
        cmocka_unit_test(test_a_notice_opens_with_the_key_history),
        cmocka_unit_test(test_refused_notices),
        cmocka_unit_test(test_the_store_keeps_and_refuses_replays),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
