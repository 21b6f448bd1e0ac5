/* relay_scan.c - the framing of a relayed ReadMessage (relay_scan.h). The
 * peer's bytes are outside input: read through the bounded reader. */
#include "gateway/relay_scan.h"

#include "common/bytes.h"

#define WIRE_VARINT    0
#define WIRE_LENGTH    2
#define KIND_CHUNK     3
#define CHUNK_DATA_TAG 15

int relay_scan_message(const unsigned char *p, size_t len, int *kind, uint64_t *data_len)
{
    ecl_rd r;
    ecl_rd_init(&r, p, len);
    uint64_t key, n;
    if (ecl_rd_varint(&r, &key) != 0 || (key & 7) != WIRE_LENGTH || ecl_rd_varint(&r, &n) != 0 ||
        n != ecl_rd_left(&r) || (key >> 3) > 0x1fffffff)
        return -1;
    *kind = (int)(key >> 3);
    *data_len = 0;
    if (*kind != KIND_CHUNK)
        return 0;
    while (ecl_rd_left(&r) > 0) {
        if (ecl_rd_varint(&r, &key) != 0)
            return -1;
        if ((key & 7) == WIRE_VARINT) {
            if (ecl_rd_varint(&r, &n) != 0)
                return -1;
        } else if ((key & 7) == WIRE_LENGTH) {
            if (ecl_rd_varint(&r, &n) != 0 || ecl_rd_skip(&r, n) != 0)
                return -1;
            if ((key >> 3) == CHUNK_DATA_TAG)
                *data_len = n;
        } else
            return -1;
    }
    return 0;
}

int relay_scan_head(const unsigned char *head, size_t head_len, uint64_t total, int *kind,
                    uint64_t *data_len, uint64_t *data_at)
{
    ecl_rd r;
    ecl_rd_init(&r, head, head_len < total ? head_len : (size_t)total);
    uint64_t key, n;
    if (ecl_rd_varint(&r, &key) != 0 || (key & 7) != WIRE_LENGTH || ecl_rd_varint(&r, &n) != 0 ||
        (key >> 3) > 0x1fffffff)
        return -1;
    uint64_t used = ecl_rd_pos(&r);
    if (n != total - used)
        return -1;
    *kind = (int)(key >> 3);
    *data_len = *data_at = 0;
    if (*kind != KIND_CHUNK)
        return 0;
    for (;;) {
        if (ecl_rd_varint(&r, &key) != 0)
            return -1;
        if ((key & 7) == WIRE_VARINT) {
            if (ecl_rd_varint(&r, &n) != 0)
                return -1;
        } else if ((key & 7) == WIRE_LENGTH) {
            if (ecl_rd_varint(&r, &n) != 0)
                return -1;
            if ((key >> 3) == CHUNK_DATA_TAG) {
                *data_at = ecl_rd_pos(&r);
                *data_len = n;
                return *data_at + n == total ? 0 : -1;
            }
            if (ecl_rd_skip(&r, n) != 0)
                return -1;
        } else
            return -1;
    }
}
