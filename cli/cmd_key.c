/* cmd_key.c - `ecluse key rotate`: roll the site's signing key. */
#include <stdio.h>

#include "cli/cli.h"
#include "cli/options.h"
#include "cli/remote.h"
#include "site/sitekey.h"

static int run_key_rotate(int argc, char **argv, ecl_err *err)
{
    cli_remote r;
    if (cli_remote_parse(argc, argv, &r, 0, "", err) != 0 || cli_remote_open(&r, err) != 0)
        return -1;
    Ecluse__V1__RotateKeyRequest req = ECLUSE__V1__ROTATE_KEY_REQUEST__INIT;
    ProtobufCMessage *resp = NULL;
    int rc = cli_call(&r, "/ecluse.v1.Admin/RotateKey", &req.base,
                      &ecluse__v1__key_rotation__descriptor, &resp, err);
    cli_remote_close(&r);
    if (rc != 0)
        return -1;
    const Ecluse__V1__KeyRotation *rot = (const Ecluse__V1__KeyRotation *)resp;
    Ecluse__V1__KeyRotationBody *b =
        ecluse__v1__key_rotation_body__unpack(NULL, rot->body.len, rot->body.data);
    if (b != NULL) {
        char old_fp[48], new_fp[48];
        site_key_fingerprint(b->old_key.data, b->old_key.len, old_fp, sizeof(old_fp));
        site_key_fingerprint(b->new_key.data, b->new_key.len, new_fp, sizeof(new_fp));
        printf("Rotation %llu of site %s: key %s -> %s, signed by the old key.\n"
               "Peers follow it at their next catalog fetch; no re-peering is needed.\n",
               (unsigned long long)b->sequence, b->site, old_fp, new_fp);
        ecluse__v1__key_rotation_body__free_unpacked(b, NULL);
    }
    protobuf_c_message_free_unpacked(resp, NULL);
    return 0;
}

const cli_command cli_key_rotate = {
    "key rotate",
    "roll the site's Ed25519 signing key (peers follow without re-peering)",
    "Usage: ecluse key rotate [--identity DIR]\n\n"
    "Makes a new signing key, signs its announcement with the old key, and from\n"
    "then on signs catalogs with the new one. The old key file is kept as\n"
    "site.key.<N>. Peers fetch the rotation chain when a catalog is signed by a\n"
    "key they have not pinned, and accept it only if the chain leads there.\n\n"
    "Options:\n  --identity DIR   an admin identity of this site\n"
    "\nExample:\n  ecluse key rotate --identity ~/.ecluse/admin-fi\n",
    run_key_rotate,
};
