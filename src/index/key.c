/* key.c -- strict percent-decoding of URL paths into keys. */
#include <string.h>

#include "key.h"

static int hexval(unsigned char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

enum key_status key_decode(const char *raw, size_t rawlen, char *out,
                           size_t *outlen) {
    if (rawlen == 0 || raw[0] != '/') return KEY_BAD_START;
    return key_unescape(raw, rawlen, out, MKV_KEY_MAX, outlen);
}

enum key_status key_unescape(const char *raw, size_t rawlen, char *out,
                             size_t cap, size_t *outlen) {
    size_t i = 0, n = 0;

    while (i < rawlen) {
        unsigned char c = (unsigned char)raw[i];
        if (c == '%') {
            int hi, lo;
            if (i + 2 >= rawlen) return KEY_BAD_ESCAPE;
            hi = hexval((unsigned char)raw[i + 1]);
            lo = hexval((unsigned char)raw[i + 2]);
            if (hi < 0 || lo < 0) return KEY_BAD_ESCAPE;
            c = (unsigned char)(hi << 4 | lo);
            if (c == 0) return KEY_NUL;
            i += 3;
        } else {
            if (c == 0) return KEY_NUL;
            i++;
        }
        if (n == cap) return KEY_TOO_LONG;
        out[n++] = (char)c;
    }
    *outlen = n;
    return KEY_OK;
}

const char *key_status_text(enum key_status st) {
    switch (st) {
    case KEY_OK: return "ok";
    case KEY_BAD_START: return "the key must begin with '/'";
    case KEY_BAD_ESCAPE: return "malformed percent-escape in the key";
    case KEY_NUL: return "a key may not contain a NUL byte (%00)";
    case KEY_TOO_LONG: return "the key is longer than 1024 bytes";
    }
    return "bad key";
}

int key_reserved(const char *key, size_t keylen) {
    size_t n = sizeof(KEY_RESERVED) - 1;
    return keylen >= n && memcmp(key, KEY_RESERVED, n) == 0;
}
