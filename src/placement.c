/* placement.c -- pymkv's placement: md5-ranked volumes, md5/base64 paths. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "placement.h"

/* md5_2 -- md5(a || b) into out[16]. */
static void md5_2(const void *a, size_t alen, const void *b, size_t blen,
                  unsigned char out[16]) {
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned int len = 16;

    /* Allocation failure here is not recoverable in a meaningful way. */
    if (ctx == NULL || !EVP_DigestInit_ex(ctx, EVP_md5(), NULL) ||
        !EVP_DigestUpdate(ctx, a, alen) || !EVP_DigestUpdate(ctx, b, blen) ||
        !EVP_DigestFinal_ex(ctx, out, &len)) {
        fprintf(stderr, "placement: md5 failed\n");
        abort();
    }
    EVP_MD_CTX_free(ctx);
}

int placement_volume(char *const *volumes, int n, const char *key,
                     size_t keylen) {
    unsigned char best[16], score[16];
    int i, besti = 0;

    md5_2(volumes[0], strlen(volumes[0]), key, keylen, best);
    for (i = 1; i < n; i++) {
        md5_2(volumes[i], strlen(volumes[i]), key, keylen, score);
        if (memcmp(score, best, 16) > 0) {
            memcpy(best, score, 16);
            besti = i;
        }
    }
    return besti;
}

int placement_path(const char *key, size_t keylen, char *out, char *err) {
    unsigned char digest[16];
    int n, seg = 0;
    char *p;

    md5_2(key, keylen, "", 0, digest);
    n = snprintf(out, PLACEMENT_PATH_MAX, "/%02x/%02x/", digest[0], digest[1]);
    n += EVP_EncodeBlock((unsigned char *)out + n, (const unsigned char *)key,
                         (int)keylen);
    for (p = out + 7; *p; p++) {
        seg = (*p == '/') ? 0 : seg + 1;
        if (seg > PLACEMENT_NAME_MAX) {
            mkv_seterr(err, "the key's on-disk name would exceed %d bytes",
                       PLACEMENT_NAME_MAX);
            return MKV_ERR;
        }
    }
    return n;
}
