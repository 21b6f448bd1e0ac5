/*
 * signer_test.c - the signer (site/signer.h), in this process and as the
 * real `ecluse signer` process on a socketpair.
 *
 * What is signed verifies under the kind's context and no other; a body
 * that is not the document its kind names is refused; a rotation is signed
 * only towards the key the signer made; and the process, spoken to as an
 * attacker would (a huge length, an unknown kind, a message cut short),
 * stops talking rather than sign.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/note.h"
#include "federation/bundle.h"
#include "proto/ecluse.pb-c.h"
#include "site/signer.h"
#include "site/sitekey.h"
#include "tests/support/harness.h"

extern char **environ;

static char root[PATH_MAX];
static char key_path[PATH_MAX + 32];
static site_key key;

static int setup(void **state)
{
    (void)state;
    th_tmpdir(root, sizeof(root));
    snprintf(key_path, sizeof(key_path), "%s/site.key", root);
    ecl_err err;
    if (site_key_generate(&key, &err) != 0 || site_key_save(&key, key_path, &err) != 0)
        return -1;
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    site_key_wipe(&key);
    return 0;
}

/* A packed GrantBody, malloc'd. */
static uint8_t *grant_body(size_t *len)
{
    Ecluse__V1__GrantBody b = ECLUSE__V1__GRANT_BODY__INIT;
    b.grant_id = "00ff";
    b.dataset = "lu/cohort";
    b.max_rows = 100;
    *len = ecluse__v1__grant_body__get_packed_size(&b);
    uint8_t *p = malloc(*len);
    ecluse__v1__grant_body__pack(&b, p);
    return p;
}

/* What every kind of signer must do with the same key. */
static void check_signs_by_kind(signer *s)
{
    ecl_err err;
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sig[crypto_sign_BYTES];
    signer_public_key(s, pk);
    assert_memory_equal(pk, key.public_key, sizeof(pk));

    size_t len = 0;
    uint8_t *body = grant_body(&len);
    assert_int_equal(signer_sign(s, SIGNER_GRANT, body, len, sig, &err), 0);
    assert_int_equal(site_key_verify(pk, GRANT_SIGNING_CONTEXT, body, len, sig, sizeof(sig), &err),
                     0);
    /* A grant's signature is no catalog's, nor an attestation's. */
    assert_int_equal(
        site_key_verify(pk, CATALOG_SIGNING_CONTEXT, body, len, sig, sizeof(sig), &err), -1);
    assert_int_equal(
        site_key_verify(pk, ATTESTATION_SIGNING_CONTEXT, body, len, sig, sizeof(sig), &err), -1);

    /* Bytes that are no GrantBody (a field 1 with a length past the end). */
    const uint8_t junk[] = {0x0a, 0x7f, 'x'};
    assert_int_equal(signer_sign(s, SIGNER_GRANT, junk, sizeof(junk), sig, &err), -1);
    assert_int_equal(err.code, ECL_E_INPUT);
    assert_non_null(strstr(err.msg, "is not a GrantBody"));

    /* The retired binary checkpoint kind (4) is unknown now. */
    uint8_t ck[83] = {1};
    assert_int_equal(signer_sign(s, (signer_kind)4, ck, sizeof(ck), sig, &err), -1);
    assert_non_null(strstr(err.msg, "kind 4"));

    /* No such kind; a body over the limit. */
    assert_int_equal(signer_sign(s, (signer_kind)42, body, len, sig, &err), -1);
    assert_int_equal(err.code, ECL_E_USAGE);
    uint8_t *big = calloc(1, SIGNER_MAX_PAYLOAD + 1);
    assert_int_equal(signer_sign(s, SIGNER_GRANT, big, SIGNER_MAX_PAYLOAD + 1, sig, &err), -1);
    assert_int_equal(err.code, ECL_E_LIMIT);
    free(big);
    free(body);

    /* The signer still signs after every refusal. */
    body = grant_body(&len);
    assert_int_equal(signer_sign(s, SIGNER_GRANT, body, len, sig, &err), 0);
    free(body);
}

/* A rotation is signed from the current key to the prepared one only; after
 * the commit the new key signs. */
static void check_rotation(signer *s, int with_files)
{
    ecl_err err;
    unsigned char old_pk[crypto_sign_PUBLICKEYBYTES], new_pk[crypto_sign_PUBLICKEYBYTES];
    signer_public_key(s, old_pk);
    unsigned char *rot = NULL;
    size_t rlen = 0;
    /* Nothing prepared: refused. */
    assert_int_equal(rotation_make("lu", s, old_pk, 1, 1000, &rot, &rlen, &err), -1);
    assert_int_equal(err.code, ECL_E_PRECONDITION);

    assert_int_equal(signer_rotate_prepare(s, new_pk, &err), 0);
    assert_memory_not_equal(new_pk, old_pk, sizeof(new_pk));
    /* Towards any other key: refused. */
    site_key stranger;
    assert_int_equal(site_key_generate(&stranger, &err), 0);
    assert_int_equal(rotation_make("lu", s, stranger.public_key, 1, 1000, &rot, &rlen, &err), -1);
    assert_non_null(strstr(err.msg, "does not go from the current key to the prepared one"));
    site_key_wipe(&stranger);

    assert_int_equal(rotation_make("lu", s, new_pk, 1, 1000, &rot, &rlen, &err), 0);
    Ecluse__V1__KeyRotation *r = ecluse__v1__key_rotation__unpack(NULL, rlen, rot);
    assert_non_null(r);
    unsigned char followed[crypto_sign_PUBLICKEYBYTES];
    assert_int_equal(rotation_follow("lu", old_pk, &r, 1, followed, &err), 0);
    assert_memory_equal(followed, new_pk, sizeof(followed));
    ecluse__v1__key_rotation__free_unpacked(r, NULL);
    free(rot);

    assert_int_equal(signer_rotate_commit(s, 1, &err), 0);
    unsigned char now_pk[crypto_sign_PUBLICKEYBYTES], sig[crypto_sign_BYTES];
    signer_public_key(s, now_pk);
    assert_memory_equal(now_pk, new_pk, sizeof(now_pk));
    size_t len = 0;
    uint8_t *body = grant_body(&len);
    assert_int_equal(signer_sign(s, SIGNER_GRANT, body, len, sig, &err), 0);
    assert_int_equal(
        site_key_verify(new_pk, GRANT_SIGNING_CONTEXT, body, len, sig, sizeof(sig), &err), 0);
    free(body);
    /* A second commit has nothing to commit. */
    assert_int_equal(signer_rotate_commit(s, 2, &err), -1);
    assert_int_equal(err.code, ECL_E_PRECONDITION);

    if (with_files) {
        /* The key file now holds the new key; the old one was kept. */
        site_key on_disk;
        char retired[PATH_MAX + 40];
        assert_int_equal(site_key_load(key_path, &on_disk, &err), 0);
        assert_memory_equal(on_disk.public_key, new_pk, sizeof(new_pk));
        snprintf(retired, sizeof(retired), "%s.1", key_path);
        assert_int_equal(site_key_load(retired, &on_disk, &err), 0);
        assert_memory_equal(on_disk.public_key, old_pk, sizeof(old_pk));
        site_key_wipe(&on_disk);
    }
}

static void test_local_signer(void **state)
{
    (void)state;
    signer *s = NULL;
    ecl_err err;
    assert_int_equal(signer_local(&key, &s, &err), 0);
    assert_int_equal(signer_pid(s), 0);
    check_signs_by_kind(s);
    check_rotation(s, 0);
    signer_free(s);
}

/* The C2SP kinds (SIGNER_CHECKPOINT_NOTE, SIGNER_COSIGNATURE) of a signer
 * told it is site "fi": a checkpoint text of its own log and a
 * cosignature/v1 message are signed raw, and what they make verifies as a
 * signed note and a cosignature; anything else is refused and nothing is
 * signed. Then the signer still signs. */
static void check_note_kinds(signer *s)
{
    ecl_err err = {0};
    unsigned char pk[crypto_sign_PUBLICKEYBYTES], sig[crypto_sign_BYTES];
    signer_public_key(s, pk);
    uint8_t root[32];
    for (unsigned i = 0; i < sizeof(root); i++)
        root[i] = (uint8_t)(3 * i + 1);
    char origin[64], note[1024], msg[ECL_COSIG_MESSAGE_MAX];
    size_t text_len = 0, len = 0, mlen = 0;
    assert_int_equal(ecl_audit_origin("fi", origin, sizeof(origin), &err), 0);
    assert_int_equal(
        ecl_checkpoint_format(origin, 12345, root, note, sizeof(note), &text_len, &err), 0);

    /* the site's checkpoint: signed over the text as it is */
    assert_int_equal(signer_sign(s, SIGNER_CHECKPOINT_NOTE, note, text_len, sig, &err), 0);
    assert_int_equal(crypto_sign_verify_detached(sig, (const unsigned char *)note, text_len, pk),
                     0);
    len = text_len;
    assert_int_equal(
        ecl_note_append_signature(note, sizeof(note), &len, text_len, origin, pk, sig, &err), 0);
    assert_int_equal(ecl_note_verify(note, len, origin, pk, NULL, &err), 0);
    /* a raw signature is no context-prefixed one */
    assert_int_equal(
        site_key_verify(pk, CATALOG_SIGNING_CONTEXT, note, text_len, sig, sizeof(sig), &err), -1);

    /* as a witness: the cosignature/v1 message of the checkpoint */
    char wname[64];
    assert_int_equal(ecl_witness_name("fi", wname, sizeof(wname), &err), 0);
    assert_int_equal(ecl_cosig_message(note, text_len, 1712345678u, msg, sizeof(msg), &mlen, &err),
                     0);
    assert_int_equal(signer_sign(s, SIGNER_COSIGNATURE, msg, mlen, sig, &err), 0);
    assert_int_equal(ecl_note_append_cosignature(note, sizeof(note), &len, text_len, wname, pk,
                                                 1712345678u, sig, &err),
                     0);
    uint64_t t = 0;
    assert_int_equal(ecl_cosig_verify(note, len, wname, pk, &t, &err), 0);
    assert_true(t == 1712345678u);

    /* refused: not a checkpoint, another site's log, a cosignature message
     * as a checkpoint, a checkpoint as a cosignature message */
    static const char not_ckpt[] = "ecluse/audit/fi\n12\nnot base64\n";
    assert_int_equal(signer_sign(s, SIGNER_CHECKPOINT_NOTE, not_ckpt, strlen(not_ckpt), sig, &err),
                     -1);
    assert_int_equal(err.code, ECL_E_INPUT);
    assert_non_null(strstr(err.msg, "not a checkpoint: checkpoint line 3"));
    char other[256];
    size_t olen = 0;
    assert_int_equal(
        ecl_checkpoint_format("ecluse/audit/lu", 1, root, other, sizeof(other), &olen, &err), 0);
    assert_int_equal(signer_sign(s, SIGNER_CHECKPOINT_NOTE, other, olen, sig, &err), -1);
    assert_int_equal(err.code, ECL_E_INPUT);
    assert_non_null(strstr(err.msg, "origin 'ecluse/audit/lu' is not this site's log"));
    assert_int_equal(signer_sign(s, SIGNER_CHECKPOINT_NOTE, msg, mlen, sig, &err), -1);
    assert_int_equal(err.code, ECL_E_INPUT);
    assert_int_equal(signer_sign(s, SIGNER_COSIGNATURE, note, text_len, sig, &err), -1);
    assert_int_equal(err.code, ECL_E_INPUT);
    assert_non_null(strstr(err.msg, "not a cosignature/v1 message"));
    /* malformed cosignature messages */
    char bad[ECL_COSIG_MESSAGE_MAX];
    int n = snprintf(bad, sizeof(bad), "cosignature/v1\ntime 0042\n%.*s", (int)text_len, note);
    assert_int_equal(signer_sign(s, SIGNER_COSIGNATURE, bad, (size_t)n, sig, &err), -1);
    assert_non_null(strstr(err.msg, "time '0042' has a leading zero"));
    n = snprintf(bad, sizeof(bad), "cosignature/v1\ntime 42\n%.*sextra\n\n", (int)text_len, note);
    assert_int_equal(signer_sign(s, SIGNER_COSIGNATURE, bad, (size_t)n, sig, &err), -1);
    assert_non_null(strstr(err.msg, "checkpoint line 5 is empty"));
    n = snprintf(bad, sizeof(bad), "cosignature/v1\ntime 42\n%.*s", (int)text_len - 1, note);
    assert_int_equal(signer_sign(s, SIGNER_COSIGNATURE, bad, (size_t)n, sig, &err), -1);
    assert_non_null(strstr(err.msg, "does not end in a newline"));
    /* a context-prefixed message (its NUL) is no note */
    char prefixed[64];
    n = snprintf(prefixed, sizeof(prefixed), "%s", GRANT_SIGNING_CONTEXT);
    prefixed[n] = '\0';
    memcpy(prefixed + n + 1, "x\n1\n", 4);
    assert_int_equal(signer_sign(s, SIGNER_CHECKPOINT_NOTE, prefixed, (size_t)n + 5, sig, &err),
                     -1);
    assert_non_null(strstr(err.msg, "control character 0x00"));

    /* still signs */
    assert_int_equal(signer_sign(s, SIGNER_CHECKPOINT_NOTE, note, text_len, sig, &err), 0);

    /* the whole note in one call, then a witness's line added to it */
    char made[SIGNER_NOTE_MAX + 256], wline[SIGNER_NOTE_MAX];
    size_t made_len = 0, made_text = 0, wlen = 0;
    assert_int_equal(
        signer_checkpoint_note(s, 12345, root, made, SIGNER_NOTE_MAX, &made_len, &made_text, &err),
        0);
    assert_int_equal(made_text, text_len);
    assert_memory_equal(made, note, text_len);
    assert_int_equal(ecl_note_verify(made, made_len, origin, pk, NULL, &err), 0);
    assert_int_equal(signer_checkpoint_note(s, 1, root, made, 40, &made_len, &made_text, &err), -1);
    assert_int_equal(err.code, ECL_E_LIMIT);
    assert_int_equal(
        signer_checkpoint_note(s, 12345, root, made, sizeof(made), &made_len, &made_text, &err), 0);
    assert_int_equal(
        signer_cosignature_line(s, made, made_text, 1712345679u, wline, sizeof(wline), &wlen, &err),
        0);
    assert_true(wlen > 4 && memcmp(wline, "\xE2\x80\x94 ecluse/witness/fi ", 22) == 0);
    assert_int_equal(wline[wlen - 1], '\n');
    memcpy(made + made_len, wline, wlen);
    made_len += wlen;
    assert_int_equal(ecl_cosig_verify(made, made_len, wname, pk, &t, &err), 0);
    assert_true(t == 1712345679u);
    assert_int_equal(ecl_note_verify(made, made_len, origin, pk, NULL, &err), 0);
    /* a cosignature of what is no checkpoint is not made */
    assert_int_equal(signer_cosignature_line(s, not_ckpt, strlen(not_ckpt), 1, wline, sizeof(wline),
                                             &wlen, &err),
                     -1);
    assert_int_equal(err.code, ECL_E_INPUT);
}

static void test_local_signer_notes(void **state)
{
    (void)state;
    signer *s = NULL;
    ecl_err err;
    assert_int_equal(signer_local_site(&key, "fi", &s, &err), 0);
    check_note_kinds(s);
    signer_free(s);

    /* a signer not told its site signs no checkpoint note */
    assert_int_equal(signer_local(&key, &s, &err), 0);
    char text[256];
    size_t len = 0;
    uint8_t root[32] = {0};
    unsigned char sig[crypto_sign_BYTES];
    assert_int_equal(
        ecl_checkpoint_format("ecluse/audit/fi", 1, root, text, sizeof(text), &len, &err), 0);
    assert_int_equal(signer_sign(s, SIGNER_CHECKPOINT_NOTE, text, len, sig, &err), -1);
    assert_int_equal(err.code, ECL_E_PRECONDITION);
    assert_non_null(strstr(err.msg, "no site id was given"));
    char note[SIGNER_NOTE_MAX];
    size_t note_len = 0, note_text = 0;
    assert_int_equal(
        signer_checkpoint_note(s, 1, root, note, sizeof(note), &note_len, &note_text, &err), -1);
    assert_int_equal(err.code, ECL_E_PRECONDITION);
    assert_int_equal(signer_cosignature_line(s, text, len, 1, note, sizeof(note), &note_len, &err),
                     -1);
    assert_int_equal(err.code, ECL_E_PRECONDITION);
    signer_free(s);

    /* a site id that makes no origin */
    assert_int_equal(signer_local_site(&key, "f i", &s, &err), -1);
    assert_int_equal(err.code, ECL_E_INPUT);
}

static int events;
static void count_event(void *ctx, const char *event, const char *detail)
{
    (void)ctx;
    (void)event;
    (void)detail;
    events++;
}

static void test_signer_process(void **state)
{
    (void)state;
    signer *s = NULL;
    ecl_err err;
    assert_int_equal(signer_spawn(th_ecluse(), key_path, count_event, NULL, &s, &err), 0);
    assert_true(signer_pid(s) > 0);
    check_signs_by_kind(s);
    /* A local signer takes a given next key; a process never does. */
    assert_int_equal(signer_local_stage(s, &key, &err), -1);
    assert_int_equal(err.code, ECL_E_USAGE);
    check_rotation(s, 1);
    assert_int_equal(events, 0);

    /* Killed: the request that finds it gone is refused, the next is served
     * by a new process. */
    pid_t first = signer_pid(s);
    kill(first, SIGKILL);
    size_t len = 0;
    uint8_t *body = grant_body(&len);
    unsigned char sig[crypto_sign_BYTES];
    assert_int_equal(signer_sign(s, SIGNER_GRANT, body, len, sig, &err), -1);
    assert_int_equal(err.code, ECL_E_UNAVAILABLE);
    assert_non_null(strstr(err.msg, "killed by signal 9"));
    assert_non_null(strstr(err.msg, "nothing was signed"));
    assert_int_equal(events, 2); /* died, restarted */
    assert_true(signer_pid(s) > 0 && signer_pid(s) != first);
    assert_int_equal(signer_sign(s, SIGNER_GRANT, body, len, sig, &err), 0);
    free(body);
    signer_free(s);
}

/* The same through `ecluse signer --site fi`, also after a restart (the
 * new process must be told its site again). */
static void test_signer_process_notes(void **state)
{
    (void)state;
    signer *s = NULL;
    ecl_err err;
    assert_int_equal(signer_spawn_site(th_ecluse(), key_path, "fi", NULL, NULL, &s, &err), 0);
    check_note_kinds(s);
    pid_t first = signer_pid(s);
    kill(first, SIGKILL);
    char text[256];
    size_t len = 0;
    uint8_t root[32] = {0};
    unsigned char sig[crypto_sign_BYTES];
    assert_int_equal(
        ecl_checkpoint_format("ecluse/audit/fi", 1, root, text, sizeof(text), &len, &err), 0);
    assert_int_equal(signer_sign(s, SIGNER_CHECKPOINT_NOTE, text, len, sig, &err), -1);
    assert_int_equal(err.code, ECL_E_UNAVAILABLE);
    assert_true(signer_pid(s) > 0 && signer_pid(s) != first);
    check_note_kinds(s);
    signer_free(s);
    assert_int_equal(signer_spawn_site(th_ecluse(), key_path, "a+b", NULL, NULL, &s, &err), -1);
    assert_int_equal(err.code, ECL_E_INPUT);
}

static void test_signer_refuses_a_bad_key_file(void **state)
{
    (void)state;
    signer *s = NULL;
    ecl_err err;
    char bad[PATH_MAX + 32];
    snprintf(bad, sizeof(bad), "%s/not-a.key", root);
    FILE *f = fopen(bad, "w");
    fputs("ecluse-ed25519-secret-key-v1\nAAAA\n", f);
    fclose(f);
    chmod(bad, 0600);
    assert_int_equal(signer_spawn(th_ecluse(), bad, NULL, NULL, &s, &err), -1);
    assert_int_equal(err.code, ECL_E_INPUT);
    assert_non_null(strstr(err.msg, bad));
    assert_non_null(strstr(err.msg, "key is not 64 bytes"));
    snprintf(bad, sizeof(bad), "%s/missing.key", root);
    assert_int_equal(signer_spawn(th_ecluse(), bad, NULL, NULL, &s, &err), -1);
    assert_int_equal(err.code, ECL_E_NOT_FOUND);
    assert_non_null(strstr(err.msg, "missing.key"));
}

/* ---- the process, spoken to directly ----------------------------------- */

typedef struct raw_signer {
    int fd;
    pid_t pid;
} raw_signer;

static void raw_start(raw_signer *r)
{
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    int child = fcntl(sv[1], F_DUPFD_CLOEXEC, 10);
    close(sv[1]);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, child, 3);
    char *argv[] = {(char *)th_ecluse(), "signer", "--fd", "3", "--key", key_path, NULL};
    assert_int_equal(posix_spawn(&r->pid, th_ecluse(), &fa, NULL, argv, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    close(child);
    r->fd = sv[0];
    uint32_t head[2];
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    assert_int_equal(read(r->fd, head, sizeof(head)), sizeof(head));
    assert_int_equal(head[0], 0);
    assert_int_equal(head[1], sizeof(pk));
    assert_int_equal(read(r->fd, pk, sizeof(pk)), sizeof(pk));
    site_key on_disk; /* rotated by an earlier test: whatever the file holds now */
    ecl_err err;
    assert_int_equal(site_key_load(key_path, &on_disk, &err), 0);
    assert_memory_equal(pk, on_disk.public_key, sizeof(pk));
    site_key_wipe(&on_disk);
}

/* After `what` the signer must close the socket (read returns 0) and exit. */
static void raw_expect_hangup(raw_signer *r, const char *what)
{
    unsigned char b[16];
    ssize_t n = read(r->fd, b, sizeof(b));
    if (n != 0)
        fail_msg("%s: the signer answered (%zd bytes) instead of hanging up", what, n);
    int status = 0;
    assert_int_equal(waitpid(r->pid, &status, 0), r->pid);
    assert_true(WIFEXITED(status));
    close(r->fd);
}

static void test_signer_hangs_up_on_a_hostile_peer(void **state)
{
    (void)state;
    raw_signer r;

    /* A length over the limit: not read, not answered. */
    raw_start(&r);
    uint32_t huge[2] = {SIGNER_GRANT, 1u << 30};
    assert_int_equal(write(r.fd, huge, sizeof(huge)), sizeof(huge));
    raw_expect_hangup(&r, "a 1 GiB length");

    /* A kind the signer does not have. */
    raw_start(&r);
    uint32_t unknown[2] = {77, 0};
    assert_int_equal(write(r.fd, unknown, sizeof(unknown)), sizeof(unknown));
    raw_expect_hangup(&r, "an unknown kind");

    /* A message cut short by its sender. */
    raw_start(&r);
    uint32_t cut[2] = {SIGNER_GRANT, 100};
    assert_int_equal(write(r.fd, cut, sizeof(cut)), sizeof(cut));
    assert_int_equal(write(r.fd, "abc", 3), 3);
    shutdown(r.fd, SHUT_WR);
    raw_expect_hangup(&r, "a message cut short");

    /* A commit that is not 8 bytes is an error answered, not a crash. */
    raw_start(&r);
    uint32_t commit[2] = {101, 3};
    assert_int_equal(write(r.fd, commit, sizeof(commit)), sizeof(commit));
    assert_int_equal(write(r.fd, "abc", 3), 3);
    uint32_t head[2];
    assert_int_equal(read(r.fd, head, sizeof(head)), sizeof(head));
    assert_int_equal(head[0], ECL_E_INPUT);
    char msg[512] = {0};
    assert_true(head[1] < sizeof(msg));
    assert_int_equal(read(r.fd, msg, head[1]), (ssize_t)head[1]);
    assert_non_null(strstr(msg, "a commit carries 8 bytes, not 3"));
    shutdown(r.fd, SHUT_WR); /* the gateway's normal stop */
    raw_expect_hangup(&r, "the end of the conversation");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_local_signer),
        cmocka_unit_test(test_signer_process),
        cmocka_unit_test(test_local_signer_notes),
        cmocka_unit_test(test_signer_process_notes),
        cmocka_unit_test(test_signer_refuses_a_bad_key_file),
        cmocka_unit_test(test_signer_hangs_up_on_a_hostile_peer),
    };
    return cmocka_run_group_tests_name("signer", tests, setup, teardown);
}
