/* fuzz_key.c -- libFuzzer target: any bytes as a URL path through
 * key_decode, the key through placement_path and back through
 * placement_unname; and any bytes as an on-volume name through
 * placement_unname (rebuild reads names from volumes).
 *
 * Each result is checked against the contracts in key.h and placement.h,
 * restated here independently (a second decoder, our own base64 and
 * segment rule), not against the code under test. Any mismatch aborts,
 * which libFuzzer reports as a crash with the input saved. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "key.h"
#include "check.h"
#include "placement.h"


static int hex(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    c |= 0x20;
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

/* ref_decode -- key.h's rules, one unit at a time: the first problem met
 * left to right decides the status. */
static enum key_status ref_decode(const uint8_t *in, size_t len,
                                  uint8_t *out, size_t *outlen) {
    size_t n = 0;

    if (len == 0 || in[0] != '/') return KEY_BAD_START;
    for (size_t i = 0; i < len;) {
        int byte;
        if (in[i] != '%') {
            byte = in[i++];
        } else if (i + 2 < len && hex(in[i + 1]) >= 0 && hex(in[i + 2]) >= 0) {
            byte = hex(in[i + 1]) * 16 + hex(in[i + 2]);
            i += 3;
        } else {
            return KEY_BAD_ESCAPE;
        }
        if (byte == 0) return KEY_NUL;
        if (n == MKV_KEY_MAX) return KEY_TOO_LONG;
        out[n++] = (uint8_t)byte;
    }
    *outlen = n;
    return KEY_OK;
}

static const char B64[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* b64 -- standard padded base64 of in[0..len) into out; its length. */
static size_t b64(const uint8_t *in, size_t len, char *out) {
    size_t o = 0;
    for (size_t i = 0; i < len; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < len) v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < len) v |= in[i + 2];
        out[o++] = B64[v >> 18 & 63];
        out[o++] = B64[v >> 12 & 63];
        out[o++] = i + 1 < len ? B64[v >> 6 & 63] : '=';
        out[o++] = i + 2 < len ? B64[v & 63] : '=';
    }
    return o;
}

/* want_path -- placement.h's path for key, built from its contract. */
static size_t want_path(const uint8_t *key, size_t len, char *out) {
    static char name[4 * (MKV_KEY_MAX + 2) / 3 + 4];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen;
    size_t nlen, o, start;

    CHECK(EVP_Digest(key, len, md, &mdlen, EVP_md5(), NULL) == 1);
    o = (size_t)sprintf(out, "/%02x/%02x/", md[0], md[1]);
    nlen = b64(key, len, name);
    start = 0;
    for (size_t i = 0; i <= nlen; i++) {
        size_t seg;
        if (i < nlen && name[i] != '/') continue;
        seg = i - start;
        if (seg == 0) out[o++] = '-';
        while (seg > PLACEMENT_NAME_MAX) {
            memcpy(out + o, name + start, PLACEMENT_NAME_MAX - 1);
            o += PLACEMENT_NAME_MAX - 1;
            out[o++] = '-';
            out[o++] = '/';
            start += PLACEMENT_NAME_MAX - 1;
            seg -= PLACEMENT_NAME_MAX - 1;
        }
        memcpy(out + o, name + start, seg);
        o += seg;
        if (i < nlen) out[o++] = '/';
        start = i + 1;
    }
    out[o] = '\0';
    return o;
}

/* check_path -- placement_path and placement_unname agree with the
 * contract for a valid key. Buffers are exactly the documented sizes, on
 * the heap, so ASan sees a write one byte past them. */
static void check_path(const uint8_t *key, size_t len) {
    static char want[PLACEMENT_PATH_MAX + 2 * MKV_KEY_MAX];
    char *path = malloc(PLACEMENT_PATH_MAX), *back = malloc(MKV_KEY_MAX);
    char err[MKV_ERRLEN];
    size_t wlen, backlen = 0;
    int n, flat = -1;

    CHECK(path != NULL && back != NULL);
    n = placement_path((const char *)key, len, 0, path);
    wlen = want_path(key, len, want);
    CHECK(n >= 0 && (size_t)n == wlen && n < PLACEMENT_PATH_MAX);
    CHECK(strlen(path) == (size_t)n && memcmp(path, want, wlen) == 0);
    /* Every segment of the name can be a file name. */
    for (const char *p = path + 7, *s = p;; p++) {
        if (*p == '/' || *p == '\0') {
            CHECK(p - s >= 1 && p - s <= PLACEMENT_NAME_MAX);
            if (*p == '\0') break;
            s = p + 1;
        }
    }
    CHECK(placement_unname(path + 7, (size_t)n - 7, hex((unsigned char)path[1]) * 16 +
                               hex((unsigned char)path[2]),
                           hex((unsigned char)path[4]) * 16 + hex((unsigned char)path[5]),
                           back, &backlen, &flat, err) == MKV_OK);
    CHECK(backlen == len && memcmp(back, key, len) == 0 && flat == 0);
    /* The flat form: no '_' unless the forms differ, and it comes back. */
    n = placement_path((const char *)key, len, 1, path);
    CHECK(n > 7 && n < PLACEMENT_PATH_MAX && strlen(path) == (size_t)n);
    CHECK((memchr(path, '_', (size_t)n) != NULL) == placement_nests((const char *)key, len));
    CHECK(placement_unname(path + 7, (size_t)n - 7, -1, -1, back, &backlen, &flat, err) ==
          MKV_OK);
    CHECK(backlen == len && memcmp(back, key, len) == 0 &&
          flat == placement_nests((const char *)key, len));
    free(path);
    free(back);
}

/* check_unname -- arbitrary bytes as a name: no crash, and a name it
 * accepts is exactly the name of the key it returns. */
static void check_unname(const uint8_t *data, size_t size) {
    char *out = malloc(MKV_KEY_MAX), *path = malloc(PLACEMENT_PATH_MAX);
    char err[MKV_ERRLEN];
    size_t outlen = 0;
    int n, flat = -1;

    CHECK(out != NULL && path != NULL);
    if (placement_unname((const char *)data, size, -1, -1, out, &outlen, &flat, err) == MKV_OK) {
        CHECK(outlen <= MKV_KEY_MAX && (flat == 0 || flat == 1));
        n = placement_path(out, outlen, flat, path);
        CHECK((size_t)n == size + 7 && memcmp(path + 7, data, size) == 0);
    } else {
        CHECK(memchr(err, '\0', sizeof(err)) != NULL && err[0] != '\0');
    }
    free(out);
    free(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static uint8_t want[MKV_KEY_MAX];
    /* A copy of exactly size bytes: a read past the end is caught. */
    char *raw = malloc(size ? size : 1), *key = malloc(MKV_KEY_MAX);
    size_t keylen = 0, wantlen = 0;
    enum key_status st, ref;

    CHECK(raw != NULL && key != NULL);
    memcpy(raw, data, size);
    st = key_decode(raw, size, key, &keylen);
    ref = ref_decode(data, size, want, &wantlen);
    CHECK(st == ref);
    CHECK(key_status_text(st) != NULL);
    if (st == KEY_OK) {
        CHECK(keylen == wantlen && memcmp(key, want, keylen) == 0);
        CHECK(keylen >= 1 && key[0] == '/' && memchr(key, 0, keylen) == NULL);
        check_path((const uint8_t *)key, keylen);
    }
    check_unname(data, size);
    free(raw);
    free(key);
    return 0;
}
