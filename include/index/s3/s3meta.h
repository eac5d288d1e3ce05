/* s3meta.h -- what the S3 endpoint keeps beside the index: buckets,
 * multipart uploads under way with their parts, and the multipart ETags
 * of completed objects. A GDBM file of its own (INDEX.s3), so the index
 * itself stays exactly pymkv's: a bucket is not a key, and an object is
 * an ordinary native key /BUCKET/KEY.
 *
 * Records (GDBM key -> value, text, checked when read back):
 *   "b" BUCKET -> "CREATED" (Unix seconds)
 *   "u" UPLOADID -> "T CREATED\nB BUCKET\nK HEX(KEY)\n" then, sorted by
 *       part number, "P NUMBER SIZE MD5HEX\n" for each part stored
 *   "e" NATIVEKEY -> "MD5HEX ETAG": the multipart ETag of the value whose
 *       md5 is MD5HEX; used only while the index's record carries that
 *       md5, so a native overwrite makes it void without telling us.
 * Every function takes the file's mutex; callable from any loop. */
#ifndef MKV_S3META_H
#define MKV_S3META_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "mkv.h"

#define S3META_BUCKET_MAX 63
#define S3META_UPLOADID_LEN 32
#define S3META_PARTS_MAX 10000
#define S3META_ETAG_MAX 48

struct s3meta_part {
    int number;                   /* 1..S3META_PARTS_MAX */
    int64_t size;
    char md5[33];
};

struct s3meta_upload {
    time_t created;
    char bucket[S3META_BUCKET_MAX + 1];
    size_t keylen;
    char key[MKV_KEY_MAX];        /* the object's S3 key (not native) */
    int nparts;
    struct s3meta_part *parts;    /* malloc'd, sorted; s3meta_upload_free */
};

/* s3meta_open -- open or create path. MKV_ERR (err set). */
int s3meta_open(const char *path, char *err);

/* s3meta_close -- flush and close; safe when not open. */
void s3meta_close(void);

/* Buckets. get: 1 (created set) when it exists, 0 when not, MKV_ERR. */
int s3meta_bucket_get(const char *name, time_t *created, char *err);
int s3meta_bucket_put(const char *name, time_t created, char *err);
int s3meta_bucket_delete(const char *name, char *err);

/* s3meta_bucket_list -- fn(name, created, arg) for every bucket in name
 * order. MKV_ERR when out of memory or on a read error. */
int s3meta_bucket_list(void (*fn)(const char *name, time_t created, void *arg),
                       void *arg, char *err);

/* Uploads. get: 1 (u filled; free it) when it exists, 0 when not. */
int s3meta_upload_put(const char *id, const struct s3meta_upload *u, char *err);
int s3meta_upload_get(const char *id, struct s3meta_upload *u, char *err);
int s3meta_upload_delete(const char *id, char *err);
void s3meta_upload_free(struct s3meta_upload *u);

/* s3meta_part_set -- record part p of upload id (replacing one of that
 * number). 0 when the upload is gone (aborted meanwhile), 1 when set. */
int s3meta_part_set(const char *id, const struct s3meta_part *p, char *err);

/* s3meta_upload_expired -- up to max ids of uploads created before
 * before, into ids (max * (S3META_UPLOADID_LEN + 1) bytes). Returns the
 * count. */
int s3meta_upload_expired(time_t before, char (*ids)[S3META_UPLOADID_LEN + 1], int max);

/* Multipart ETags of native keys. get: 1 (etag set) when recorded for
 * the value whose md5 is md5, else 0. */
int s3meta_etag_put(const char *key, size_t keylen, const char *md5, const char *etag,
                    char *err);
int s3meta_etag_get(const char *key, size_t keylen, const char *md5,
                    char etag[S3META_ETAG_MAX + 1]);
void s3meta_etag_delete(const char *key, size_t keylen);

#endif
