/* s3meta.c -- the S3 endpoint's own GDBM file (s3meta.h). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gdbm.h>

#include "buf.h"
#include "s3meta.h"

static GDBM_FILE meta_db;
static pthread_mutex_t meta_mu = PTHREAD_MUTEX_INITIALIZER;

/* mkkey -- tag byte + name into out (MKV_KEY_MAX + 2 bytes). */
static datum mkkey(char *out, char tag, const char *name, size_t n) {
    datum d;
    out[0] = tag;
    memcpy(out + 1, name, n);
    d.dptr = out;
    d.dsize = (int)(n + 1);
    return d;
}

int s3meta_open(const char *path, char *err) {
    errno = 0;
    meta_db = gdbm_open(path, 0, GDBM_WRCREAT, 0644, NULL);
    if (meta_db == NULL) {
        mkv_seterr(err, "cannot open %s: %s%s%s", path, gdbm_strerror(gdbm_errno),
                   errno ? ": " : "", errno ? strerror(errno) : "");
        return MKV_ERR;
    }
    return MKV_OK;
}

void s3meta_close(void) {
    pthread_mutex_lock(&meta_mu);
    if (meta_db) {
        gdbm_sync(meta_db);
        gdbm_close(meta_db);
        meta_db = NULL;
    }
    pthread_mutex_unlock(&meta_mu);
}

/* do_store -- key -> value[0..n); mu held. */
static int do_store(datum k, const char *v, size_t n, char *err) {
    datum d;
    d.dptr = (char *)v;
    d.dsize = (int)n;
    if (gdbm_store(meta_db, k, d, GDBM_REPLACE) != 0) {
        mkv_seterr(err, "S3 metadata write: %s", gdbm_db_strerror(meta_db));
        return MKV_ERR;
    }
    return MKV_OK;
}

/* do_fetch -- the value, NUL-terminated (free it), or NULL: *rc 0 when
 * absent, MKV_ERR on an error; mu held. */
static char *do_fetch(datum k, int *rc, char *err) {
    datum v = gdbm_fetch(meta_db, k);
    char *s;
    if (v.dptr == NULL) {
        *rc = gdbm_errno == GDBM_ITEM_NOT_FOUND ? 0 : MKV_ERR;
        if (*rc) mkv_seterr(err, "S3 metadata read: %s", gdbm_db_strerror(meta_db));
        return NULL;
    }
    s = realloc(v.dptr, (size_t)v.dsize + 1);
    if (s == NULL) {
        free(v.dptr);
        *rc = MKV_ERR;
        mkv_seterr(err, "out of memory");
        return NULL;
    }
    s[v.dsize] = '\0';
    *rc = 1;
    return s;
}

int s3meta_bucket_get(const char *name, time_t *created, char *err) {
    char kb[MKV_KEY_MAX + 2], *v, *end;
    int rc;
    long long t;
    pthread_mutex_lock(&meta_mu);
    v = do_fetch(mkkey(kb, 'b', name, strlen(name)), &rc, err);
    pthread_mutex_unlock(&meta_mu);
    if (v == NULL) return rc;
    t = strtoll(v, &end, 10);
    rc = *end != '\0' || t < 0;
    free(v);
    if (rc) {
        mkv_seterr(err, "S3 metadata: a malformed bucket record for %s", name);
        return MKV_ERR;
    }
    *created = (time_t)t;
    return 1;
}

int s3meta_bucket_put(const char *name, time_t created, char *err) {
    char kb[MKV_KEY_MAX + 2], v[32];
    int rc, n = snprintf(v, sizeof(v), "%lld", (long long)created);
    pthread_mutex_lock(&meta_mu);
    rc = do_store(mkkey(kb, 'b', name, strlen(name)), v, (size_t)n, err);
    if (rc == MKV_OK) gdbm_sync(meta_db);
    pthread_mutex_unlock(&meta_mu);
    return rc;
}

int s3meta_bucket_delete(const char *name, char *err) {
    char kb[MKV_KEY_MAX + 2];
    int rc;
    pthread_mutex_lock(&meta_mu);
    rc = gdbm_delete(meta_db, mkkey(kb, 'b', name, strlen(name)));
    if (rc != 0 && gdbm_errno != GDBM_ITEM_NOT_FOUND) {
        mkv_seterr(err, "S3 metadata delete: %s", gdbm_db_strerror(meta_db));
        rc = MKV_ERR;
    } else {
        gdbm_sync(meta_db);
        rc = MKV_OK;
    }
    pthread_mutex_unlock(&meta_mu);
    return rc;
}

struct named {
    char name[S3META_BUCKET_MAX + 1];
    time_t created;
};

static int named_cmp(const void *a, const void *b) {
    return strcmp(((const struct named *)a)->name, ((const struct named *)b)->name);
}

int s3meta_bucket_list(void (*fn)(const char *name, time_t created, void *arg),
                       void *arg, char *err) {
    struct named *all = NULL;
    size_t n = 0, cap = 0;
    datum k;

    pthread_mutex_lock(&meta_mu);
    for (k = gdbm_firstkey(meta_db); k.dptr != NULL;) {
        datum next;
        if (k.dsize >= 2 && k.dsize <= S3META_BUCKET_MAX + 1 && k.dptr[0] == 'b') {
            datum v = gdbm_fetch(meta_db, k);
            if (n == cap) {
                struct named *a2 = realloc(all, (cap = cap ? 2 * cap : 64) * sizeof(*a2));
                if (a2 == NULL) {
                    free(v.dptr);
                    free(k.dptr);
                    free(all);
                    pthread_mutex_unlock(&meta_mu);
                    mkv_seterr(err, "out of memory");
                    return MKV_ERR;
                }
                all = a2;
            }
            memcpy(all[n].name, k.dptr + 1, (size_t)k.dsize - 1);
            all[n].name[k.dsize - 1] = '\0';
            all[n].created = 0;
            if (v.dptr && v.dsize > 0 && v.dsize < 24) {
                char t[24];
                memcpy(t, v.dptr, (size_t)v.dsize);
                t[v.dsize] = '\0';
                all[n].created = (time_t)strtoll(t, NULL, 10);
            }
            free(v.dptr);
            n++;
        }
        next = gdbm_nextkey(meta_db, k);
        free(k.dptr);
        k = next;
    }
    pthread_mutex_unlock(&meta_mu);
    if (n > 0) qsort(all, n, sizeof(*all), named_cmp);
    for (size_t i = 0; i < n; i++) fn(all[i].name, all[i].created, arg);
    free(all);
    return MKV_OK;
}

/* encode_upload -- u's record into b. */
static void encode_upload(struct buf *b, const struct s3meta_upload *u) {
    static const char hex[] = "0123456789abcdef";
    buf_addf(b, "T %lld\nB %s\nK ", (long long)u->created, u->bucket);
    for (size_t i = 0; i < u->keylen; i++) {
        char h[2] = {hex[(unsigned char)u->key[i] >> 4], hex[(unsigned char)u->key[i] & 15]};
        buf_add(b, h, 2);
    }
    buf_add(b, "\n", 1);
    for (int i = 0; i < u->nparts; i++)
        buf_addf(b, "P %d %lld %s\n", u->parts[i].number, (long long)u->parts[i].size,
                 u->parts[i].md5);
}

static int hexval(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1;
}

static int md5_ok(const char *s) {
    if (strlen(s) != 32) return 0;
    for (int i = 0; i < 32; i++)
        if (hexval(s[i]) < 0) return 0;
    return 1;
}

/* decode_upload -- parse v into u (parts malloc'd). MKV_ERR if bad. */
static int decode_upload(char *v, struct s3meta_upload *u) {
    char *line, *save = NULL;
    int seen = 0, cap = 0;

    memset(u, 0, sizeof(*u));
    for (line = strtok_r(v, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (line[0] == 'T' && line[1] == ' ') {
            u->created = (time_t)strtoll(line + 2, NULL, 10);
            seen |= 1;
        } else if (line[0] == 'B' && line[1] == ' ' && strlen(line + 2) <= S3META_BUCKET_MAX) {
            strcpy(u->bucket, line + 2);
            seen |= 2;
        } else if (line[0] == 'K' && line[1] == ' ') {
            size_t n = strlen(line + 2);
            if (n % 2 || n / 2 > MKV_KEY_MAX) goto bad;
            for (size_t i = 0; i < n / 2; i++) {
                int hi = hexval(line[2 + 2 * i]), lo = hexval(line[3 + 2 * i]);
                if (hi < 0 || lo < 0) goto bad;
                u->key[i] = (char)(hi << 4 | lo);
            }
            u->keylen = n / 2;
            seen |= 4;
        } else if (line[0] == 'P' && line[1] == ' ') {
            struct s3meta_part p;
            long long size;
            if (sscanf(line + 2, "%d %lld %32s", &p.number, &size, p.md5) != 3 ||
                p.number < 1 || p.number > S3META_PARTS_MAX || size < 0 || !md5_ok(p.md5))
                goto bad;
            p.size = size;
            if (u->nparts == cap) {
                struct s3meta_part *p2 =
                    realloc(u->parts, (size_t)(cap = cap ? 2 * cap : 16) * sizeof(*p2));
                if (p2 == NULL) goto bad;
                u->parts = p2;
            }
            u->parts[u->nparts++] = p;
        } else {
            goto bad;
        }
    }
    if (seen == 7) return MKV_OK;
bad:
    s3meta_upload_free(u);
    return MKV_ERR;
}

void s3meta_upload_free(struct s3meta_upload *u) {
    free(u->parts);
    u->parts = NULL;
    u->nparts = 0;
}

/* do_upload_put -- mu held. */
static int do_upload_put(const char *id, const struct s3meta_upload *u, char *err) {
    char kb[MKV_KEY_MAX + 2];
    struct buf b = {0};
    int rc;
    encode_upload(&b, u);
    if (b.failed) {
        mkv_seterr(err, "out of memory");
        buf_free(&b);
        return MKV_ERR;
    }
    rc = do_store(mkkey(kb, 'u', id, strlen(id)), b.p, b.len, err);
    buf_free(&b);
    return rc;
}

int s3meta_upload_put(const char *id, const struct s3meta_upload *u, char *err) {
    int rc;
    pthread_mutex_lock(&meta_mu);
    rc = do_upload_put(id, u, err);
    pthread_mutex_unlock(&meta_mu);
    return rc;
}

/* do_upload_get -- mu held. */
static int do_upload_get(const char *id, struct s3meta_upload *u, char *err) {
    char kb[MKV_KEY_MAX + 2], *v;
    int rc;
    v = do_fetch(mkkey(kb, 'u', id, strlen(id)), &rc, err);
    if (v == NULL) return rc;
    rc = decode_upload(v, u) == MKV_OK ? 1 : MKV_ERR;
    if (rc == MKV_ERR) mkv_seterr(err, "S3 metadata: a malformed upload record %s", id);
    free(v);
    return rc;
}

int s3meta_upload_get(const char *id, struct s3meta_upload *u, char *err) {
    int rc;
    pthread_mutex_lock(&meta_mu);
    rc = do_upload_get(id, u, err);
    pthread_mutex_unlock(&meta_mu);
    return rc;
}

int s3meta_upload_delete(const char *id, char *err) {
    char kb[MKV_KEY_MAX + 2];
    int rc;
    pthread_mutex_lock(&meta_mu);
    rc = gdbm_delete(meta_db, mkkey(kb, 'u', id, strlen(id)));
    if (rc != 0 && gdbm_errno != GDBM_ITEM_NOT_FOUND) {
        mkv_seterr(err, "S3 metadata delete: %s", gdbm_db_strerror(meta_db));
        rc = MKV_ERR;
    } else {
        rc = MKV_OK;
    }
    pthread_mutex_unlock(&meta_mu);
    return rc;
}

int s3meta_part_set(const char *id, const struct s3meta_part *p, char *err) {
    struct s3meta_upload u;
    int rc, i;

    pthread_mutex_lock(&meta_mu);
    rc = do_upload_get(id, &u, err);
    if (rc != 1) {
        pthread_mutex_unlock(&meta_mu);
        return rc;
    }
    for (i = 0; i < u.nparts && u.parts[i].number < p->number; i++)
        ;
    if (i < u.nparts && u.parts[i].number == p->number) {
        u.parts[i] = *p;
    } else {
        struct s3meta_part *p2 = realloc(u.parts, (size_t)(u.nparts + 1) * sizeof(*p2));
        if (p2 == NULL) {
            s3meta_upload_free(&u);
            pthread_mutex_unlock(&meta_mu);
            mkv_seterr(err, "out of memory");
            return MKV_ERR;
        }
        u.parts = p2;
        memmove(u.parts + i + 1, u.parts + i, (size_t)(u.nparts - i) * sizeof(*p2));
        u.parts[i] = *p;
        u.nparts++;
    }
    rc = do_upload_put(id, &u, err) == MKV_OK ? 1 : MKV_ERR;
    s3meta_upload_free(&u);
    pthread_mutex_unlock(&meta_mu);
    return rc;
}

int s3meta_upload_expired(time_t before, char (*ids)[S3META_UPLOADID_LEN + 1], int max) {
    int n = 0;
    datum k;
    pthread_mutex_lock(&meta_mu);
    for (k = gdbm_firstkey(meta_db); k.dptr != NULL && n < max;) {
        datum next;
        if (k.dsize == S3META_UPLOADID_LEN + 1 && k.dptr[0] == 'u') {
            datum v = gdbm_fetch(meta_db, k);
            if (v.dptr && v.dsize > 2 && v.dptr[0] == 'T') {
                char t[24];
                size_t tl = (size_t)v.dsize - 2 < 23 ? (size_t)v.dsize - 2 : 23;
                memcpy(t, v.dptr + 2, tl);
                t[tl] = '\0';
                if ((time_t)strtoll(t, NULL, 10) < before) {
                    memcpy(ids[n], k.dptr + 1, S3META_UPLOADID_LEN);
                    ids[n][S3META_UPLOADID_LEN] = '\0';
                    n++;
                }
            }
            free(v.dptr);
        }
        next = gdbm_nextkey(meta_db, k);
        free(k.dptr);
        k = next;
    }
    free(k.dptr);
    pthread_mutex_unlock(&meta_mu);
    return n;
}

int s3meta_etag_put(const char *key, size_t keylen, const char *md5, const char *etag,
                    char *err) {
    char kb[MKV_KEY_MAX + 2], v[33 + S3META_ETAG_MAX + 1];
    int rc, n = snprintf(v, sizeof(v), "%s %s", md5, etag);
    pthread_mutex_lock(&meta_mu);
    rc = do_store(mkkey(kb, 'e', key, keylen), v, (size_t)n, err);
    pthread_mutex_unlock(&meta_mu);
    return rc;
}

int s3meta_etag_get(const char *key, size_t keylen, const char *md5,
                    char etag[S3META_ETAG_MAX + 1]) {
    char kb[MKV_KEY_MAX + 2], err[MKV_ERRLEN], *v;
    int rc, found = 0;
    if (meta_db == NULL || md5 == NULL || md5[0] == '\0') return 0;
    pthread_mutex_lock(&meta_mu);
    v = do_fetch(mkkey(kb, 'e', key, keylen), &rc, err);
    pthread_mutex_unlock(&meta_mu);
    if (v == NULL) return 0;
    if (strlen(v) > 33 && strlen(v + 33) <= S3META_ETAG_MAX && v[32] == ' ' &&
        strncmp(v, md5, 32) == 0) {
        strcpy(etag, v + 33);
        found = 1;
    }
    free(v);
    return found;
}

void s3meta_etag_delete(const char *key, size_t keylen) {
    char kb[MKV_KEY_MAX + 2];
    if (meta_db == NULL) return;
    pthread_mutex_lock(&meta_mu);
    gdbm_delete(meta_db, mkkey(kb, 'e', key, keylen));
    pthread_mutex_unlock(&meta_mu);
}
