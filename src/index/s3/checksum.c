/* checksum.c -- S3's additional checksums (checksum.h): table-driven
 * CRC32 (zlib's) and CRC32C (Castagnoli), SHA-1 and SHA-256 by OpenSSL. */
#include <string.h>
#include <strings.h>

#include "checksum.h"
#include "mkv.h"

static uint32_t crc_table[2][256];
static int crc_ready;

/* tables -- both reflected CRC tables, once (the loops may race here
 * harmlessly: they write the same values). */
static void tables(void) {
    static const uint32_t poly[2] = {0xedb88320u, 0x82f63b78u};
    if (crc_ready) return;
    for (int t = 0; t < 2; t++)
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++) c = c & 1 ? poly[t] ^ (c >> 1) : c >> 1;
            crc_table[t][i] = c;
        }
    crc_ready = 1;
}

enum checksum_kind checksum_kind_of(const char *h) {
    if (strcasecmp(h, "x-amz-checksum-crc32") == 0) return CHECKSUM_CRC32;
    if (strcasecmp(h, "x-amz-checksum-crc32c") == 0) return CHECKSUM_CRC32C;
    if (strcasecmp(h, "x-amz-checksum-sha1") == 0) return CHECKSUM_SHA1;
    if (strcasecmp(h, "x-amz-checksum-sha256") == 0) return CHECKSUM_SHA256;
    return CHECKSUM_NONE;
}

int checksum_init(struct checksum *c, enum checksum_kind kind) {
    memset(c, 0, sizeof(*c));
    c->kind = kind;
    c->crc = 0xffffffffu;
    tables();
    if (kind == CHECKSUM_SHA1 || kind == CHECKSUM_SHA256) {
        c->md = EVP_MD_CTX_new();
        if (c->md == NULL ||
            !EVP_DigestInit_ex(c->md, kind == CHECKSUM_SHA1 ? EVP_sha1() : EVP_sha256(), NULL))
            return MKV_ERR;
    }
    return MKV_OK;
}

void checksum_update(struct checksum *c, const void *p, size_t n) {
    const unsigned char *b = p;
    if (c->md) {
        EVP_DigestUpdate(c->md, p, n);
    } else if (c->kind == CHECKSUM_CRC32 || c->kind == CHECKSUM_CRC32C) {
        const uint32_t *t = crc_table[c->kind == CHECKSUM_CRC32C];
        uint32_t crc = c->crc;
        for (size_t i = 0; i < n; i++) crc = t[(crc ^ b[i]) & 0xff] ^ (crc >> 8);
        c->crc = crc;
    }
}

void checksum_base64(struct checksum *c, char out[48]) {
    unsigned char d[32];
    unsigned int n = 0;
    if (c->md) {
        EVP_DigestFinal_ex(c->md, d, &n);
    } else {
        uint32_t v = c->crc ^ 0xffffffffu;
        d[0] = (unsigned char)(v >> 24);
        d[1] = (unsigned char)(v >> 16);
        d[2] = (unsigned char)(v >> 8);
        d[3] = (unsigned char)v;
        n = 4;
    }
    EVP_EncodeBlock((unsigned char *)out, d, (int)n);
}

void checksum_free(struct checksum *c) {
    EVP_MD_CTX_free(c->md);
    c->md = NULL;
}
