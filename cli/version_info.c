/* version_info.c - `ecluse --version`. */
#include "cli/version_info.h"

#include <grpc/grpc.h>
#include <lmdb.h>
#include <openssl/crypto.h>
#include <protobuf-c/protobuf-c.h>
#include <sodium.h>

#include "cli/build_info.h"
#include "common/version.h"

void cli_print_version(FILE *out)
{
    fprintf(out, "ecluse %s\n", ECLUSE_VERSION);
    fprintf(out, "commit:     %s\n", ECLUSE_BUILD_COMMIT);
    fprintf(out, "built:      %s\n", ECLUSE_BUILD_DATE);
    fprintf(out, "gRPC core:  %s\n", grpc_version_string());
    fprintf(out, "OpenSSL:    %s\n", OpenSSL_version(OPENSSL_VERSION));
    fprintf(out, "LMDB:       %s\n", mdb_version(NULL, NULL, NULL));
    fprintf(out, "libsodium:  %s\n", sodium_version_string());
    fprintf(out, "protobuf-c: %s\n", protobuf_c_version());
}
