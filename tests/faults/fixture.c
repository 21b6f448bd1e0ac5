#include "tests/faults/fixture.h"

#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "gateway/grant.h"
#include "site/sitekey.h"
#include "store/writer.h"
#include "tests/support/granted.h"
#include "tests/support/signers.h"

void fx_publish_noise(const th_site *site, const char *admin, const char *work, const char *name,
                      uint64_t side)
{
    char file[PATH_MAX + 64], policy[PATH_MAX + 64], out[8192];
    snprintf(file, sizeof(file), "%s/%s.safetensors", work, name);
    snprintf(policy, sizeof(policy), "%s/%s.json", work, name);
    unsigned char *data = malloc(side * side);
    randombytes_buf(data, side * side);
    uint64_t shape[2] = {side, side};
    store_writer *w = NULL;
    ecl_err err;
    assert_int_equal(store_writer_new(&w, &err), 0);
    assert_int_equal(store_writer_add(w, "x", STORE_DT_U8, 2, shape, data, side * side, &err), 0);
    assert_int_equal(store_writer_write(w, file, &err), 0);
    store_writer_free(w);
    free(data);
    FILE *f = fopen(policy, "w");
    assert_non_null(f);
    fprintf(f,
            "{\"ecluse_policy\": 1, \"dataset\": \"%s/%s\", \"category\": \"anonymous\", "
            "\"purposes\": {\"allowed\": [\"NRES\"]}, \"tensors\": [{\"name\": \"x\"}], "
            "\"minimisation\": {\"default\": {\"tensors\": [\"x\"], \"max_rows\": %llu}}, "
            "\"storage\": {\"max_grant_days\": 1}}\n",
            site->id, name, (unsigned long long)side);
    fclose(f);
    if (th_run(out, sizeof(out), "dataset", "add", name, "--from", file, "--title", name,
               "--description", "test data", "--policy", policy, "--identity", admin, NULL) != 0)
        fail_msg("dataset add %s: %s", name, out);
}

void fx_grant(const th_site *holder, const char *name, const char *req_site, const char *req_name,
              uint64_t rows, int64_t expires_unix, Ecluse__V1__Grant *g)
{
    char path[2 * PATH_MAX], dataset[160], id[33];
    snprintf(path, sizeof(path), "%s/keys/site.key", holder->dir);
    snprintf(dataset, sizeof(dataset), "%s/%s", holder->id, name);
    unsigned char raw[16];
    randombytes_buf(raw, sizeof(raw));
    sodium_bin2hex(id, sizeof(id), raw, sizeof(raw));
    site_key key;
    ecl_err err;
    assert_int_equal(site_key_load(path, &key, &err), 0);
    Ecluse__V1__Identity who = ECLUSE__V1__IDENTITY__INIT;
    who.site = (char *)req_site;
    who.role = "researcher";
    who.name = (char *)req_name;
    char *tensors[] = {"x"};
    Ecluse__V1__GrantBody b = ECLUSE__V1__GRANT_BODY__INIT;
    b.grant_id = id;
    b.dataset = dataset;
    b.requester = &who;
    b.purpose = "GRU";
    b.lawful_basis = "art6-1-e";
    b.job_country = "LU";
    b.transfer_basis = "eea";
    b.tensors = tensors;
    b.n_tensors = 1;
    b.max_rows = rows;
    b.issued_unix = (int64_t)time(NULL) - 10;
    b.expires_unix = expires_unix;
    grant_dataset d;
    tg_dataset(holder->dir, dataset, &d);
    grant_bind_dataset(&b, &d);
    signer *s = ts_signer(&key);
    site_key_wipe(&key);
    assert_int_equal(grant_sign(s, &b, g, &err), 0);
    signer_free(s);
}
