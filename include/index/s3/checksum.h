/* checksum.h -- the additional checksums S3 clients send with a body
 * (x-amz-checksum-crc32, -crc32c, -sha1, -sha256; here as the trailer of
 * an aws-chunked STREAMING-UNSIGNED-PAYLOAD-TRAILER body): computed as
 * the payload goes by, compared as base64 of the big-endian digest. */
#ifndef MKV_CHECKSUM_H
#define MKV_CHECKSUM_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

enum checksum_kind { CHECKSUM_NONE = 0, CHECKSUM_CRC32, CHECKSUM_CRC32C, CHECKSUM_SHA1,
                     CHECKSUM_SHA256 };

struct checksum {
    enum checksum_kind kind;
    uint32_t crc;                 /* CRC32, CRC32C (running, inverted) */
    EVP_MD_CTX *md;               /* SHA1, SHA256 */
};

/* checksum_kind_of -- the kind a header name ("x-amz-checksum-crc32"...,
 * case-insensitive) stands for, or CHECKSUM_NONE. */
enum checksum_kind checksum_kind_of(const char *header);

/* checksum_init -- start one; MKV_ERR when out of memory. */
int checksum_init(struct checksum *c, enum checksum_kind kind);

/* checksum_update -- add p[0..n). */
void checksum_update(struct checksum *c, const void *p, size_t n);

/* checksum_base64 -- finish: the digest as base64 into out (48 bytes). */
void checksum_base64(struct checksum *c, char out[48]);

/* checksum_free -- release (c may be zeroed). */
void checksum_free(struct checksum *c);

#endif
