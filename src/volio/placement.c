/* placement.c -- md5-ranked replicas, subvolumes, and on-volume paths. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "placement.h"

/* The md5 context is per thread and made once, so the hot path allocates
 * nothing; the key's destructor frees it when the thread ends. */
static pthread_key_t md5_key;
static pthread_once_t md5_once = PTHREAD_ONCE_INIT;

static void md5_free(void *ctx) { EVP_MD_CTX_free(ctx); }
static void md5_key_init(void) { pthread_key_create(&md5_key, md5_free); }

/* md5_2 -- md5(a || b) into out[16]. */
static void md5_2(const void *a, size_t alen, const void *b, size_t blen,
                  unsigned char out[16]) {
    EVP_MD_CTX *ctx;
    unsigned int len = 16;

    pthread_once(&md5_once, md5_key_init);
    ctx = pthread_getspecific(md5_key);
    if (ctx == NULL && (ctx = EVP_MD_CTX_new()) != NULL)
        pthread_setspecific(md5_key, ctx);
    if (ctx == NULL || !EVP_DigestInit_ex(ctx, EVP_md5(), NULL) ||
        !EVP_DigestUpdate(ctx, a, alen) || !EVP_DigestUpdate(ctx, b, blen) ||
        !EVP_DigestFinal_ex(ctx, out, &len)) {
        /* Only allocation can fail here; nothing sensible can go on. */
        fputs("placement: md5 failed\n", stderr);
        abort();
    }
}

void placement_rank(char *const *volumes, int n, const char *key,
                    size_t keylen, int *ranks) {
    unsigned char score[PLACEMENT_MAX_VOLUMES][16];
    int i, j;

    /* Insertion sort, best first; stable, so the first listed wins ties. */
    for (i = 0; i < n; i++) {
        md5_2(volumes[i], strlen(volumes[i]), key, keylen, score[i]);
        for (j = i; j > 0 && memcmp(score[ranks[j - 1]], score[i], 16) < 0; j--)
            ranks[j] = ranks[j - 1];
        ranks[j] = i;
    }
}

int placement_volume(char *const *volumes, int n, const char *key,
                     size_t keylen) {
    int ranks[PLACEMENT_MAX_VOLUMES];
    placement_rank(volumes, n, key, keylen, ranks);
    return ranks[0];
}

void placement_replicas(char *const *volumes, int n, int replicas,
                        int subvolumes, const char *key, size_t keylen,
                        char out[][PLACEMENT_VOLUME_MAX + 8]) {
    int ranks[PLACEMENT_MAX_VOLUMES];
    unsigned char s[16];

    placement_rank(volumes, n, key, keylen, ranks);
    for (int i = 0; i < replicas; i++) {
        const char *v = volumes[ranks[i]];
        if (subvolumes <= 1) {
            snprintf(out[i], PLACEMENT_VOLUME_MAX + 8, "%s", v);
        } else {
            unsigned long low;
            md5_2(v, strlen(v), key, keylen, s);
            low = (unsigned long)s[12] << 24 | (unsigned long)s[13] << 16 |
                  (unsigned long)s[14] << 8 | s[15];
            snprintf(out[i], PLACEMENT_VOLUME_MAX + 8, "%s/sv%02X", v,
                     (unsigned)(low % (unsigned long)subvolumes));
        }
    }
}

/* put_segment -- append one '/'-free base64 segment as storable names. */
static size_t put_segment(char *o, const char *seg, size_t len) {
    size_t n = 0;
    if (len == 0) {
        o[n++] = '-';
        return n;
    }
    while (len > PLACEMENT_NAME_MAX) {
        memcpy(o + n, seg, PLACEMENT_NAME_MAX - 1);
        n += PLACEMENT_NAME_MAX - 1;
        o[n++] = '-';
        o[n++] = '/';
        seg += PLACEMENT_NAME_MAX - 1;
        len -= PLACEMENT_NAME_MAX - 1;
    }
    memcpy(o + n, seg, len);
    return n + len;
}

int placement_nests(const char *key, size_t keylen) {
    char b64[PLACEMENT_B64_MAX + 1];
    int blen = EVP_EncodeBlock((unsigned char *)b64, (const unsigned char *)key, (int)keylen);
    return memchr(b64, '/', (size_t)blen) != NULL;
}

int placement_path(const char *key, size_t keylen, int flat, char *out) {
    unsigned char digest[16];
    char b64[PLACEMENT_B64_MAX + 1];
    size_t n, start, i, blen;

    md5_2(key, keylen, "", 0, digest);
    n = (size_t)snprintf(out, PLACEMENT_PATH_MAX, "/%02x/%02x/", digest[0],
                         digest[1]);
    blen = (size_t)EVP_EncodeBlock((unsigned char *)b64,
                                   (const unsigned char *)key, (int)keylen);
    for (i = 0; flat && i < blen; i++)
        if (b64[i] == '/') b64[i] = '_';
    for (start = 0, i = 0; i <= blen; i++) {
        if (i < blen && b64[i] != '/') continue;
        n += put_segment(out + n, b64 + start, i - start);
        if (i < blen) out[n++] = '/';
        start = i + 1;
    }
    out[n] = '\0';
    return (int)n;
}

static int b64val(unsigned char c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

/* b64_decode -- strict padded standard base64; MKV_ERR if malformed. */
static int b64_decode(const char *in, size_t len, char *out, size_t cap,
                      size_t *outlen) {
    size_t i, o = 0;
    if (len == 0 || len % 4 != 0) return MKV_ERR;
    for (i = 0; i < len; i += 4) {
        int v[4], pad = 0;
        for (int j = 0; j < 4; j++) {
            unsigned char c = (unsigned char)in[i + j];
            if (c == '=' && i + 4 == len && j >= 2) {
                v[j] = 0;
                pad++;
            } else if (pad || (v[j] = b64val(c)) < 0) {
                return MKV_ERR;
            }
        }
        if (o + 3 - (size_t)pad > cap) return MKV_ERR;
        out[o++] = (char)(v[0] << 2 | v[1] >> 4);
        if (pad < 2) out[o++] = (char)((v[1] & 15) << 4 | v[2] >> 2);
        if (pad < 1) out[o++] = (char)((v[2] & 3) << 6 | v[3]);
        /* Canonical only: the bits padding drops must be zero. */
        if ((pad == 2 && (v[1] & 15)) || (pad == 1 && (v[2] & 3))) return MKV_ERR;
    }
    *outlen = o;
    return MKV_OK;
}

int placement_unname(const char *name, size_t namelen, int xx, int yy,
                     char *out, size_t *outlen, int *flat, char *err) {
    char b64[PLACEMENT_B64_MAX + 1], check[PLACEMENT_PATH_MAX];
    unsigned char digest[16];
    size_t i = 0, n = 0;

    /* Undo the segment rules: "-" is empty, a 255-byte piece ending in
     * '-' joins the next one. */
    while (i <= namelen) {
        size_t j = i;
        while (j < namelen && name[j] != '/') j++;
        if (j - i == 1 && name[i] == '-') {
            /* empty segment */
        } else if (j - i == PLACEMENT_NAME_MAX && name[j - 1] == '-' && j < namelen) {
            if (n + j - i - 1 > PLACEMENT_B64_MAX) goto bad;
            memcpy(b64 + n, name + i, j - i - 1);
            n += j - i - 1;
            i = j + 1;
            continue; /* no '/' */
        } else {
            if (j == i || n + j - i > PLACEMENT_B64_MAX) goto bad;
            memcpy(b64 + n, name + i, j - i);
            n += j - i;
        }
        if (j < namelen) {
            if (n + 1 > PLACEMENT_B64_MAX) goto bad;
            b64[n++] = '/';
        }
        i = j + 1;
    }
    /* A '_' is the flat form's '/'. */
    *flat = memchr(b64, '_', n) != NULL;
    for (i = 0; *flat && i < n; i++)
        if (b64[i] == '_') b64[i] = '/';
    if (b64_decode(b64, n, out, MKV_KEY_MAX, outlen) != MKV_OK) goto bad;
    /* Only names placement_path writes: re-encode and compare. */
    if ((size_t)placement_path(out, *outlen, *flat, check) != 7 + namelen ||
        memcmp(check + 7, name, namelen) != 0)
        goto bad;
    if (xx >= 0) {
        md5_2(out, *outlen, "", 0, digest);
        if (digest[0] != xx || digest[1] != yy) {
            mkv_seterr(err, "name is in the wrong directory for its key");
            return MKV_ERR;
        }
    }
    return MKV_OK;
bad:
    mkv_seterr(err, "not a key's name: '%.*s'", (int)(namelen > 80 ? 80 : namelen),
               name);
    return MKV_ERR;
}
