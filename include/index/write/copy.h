/* copy.h -- write a key from values already on the volumes, through the
 * index, on the current loop: each source is fetched in turn (relay.c)
 * and streamed into one put of the key (put.c), so memory stays at the
 * put's ring whatever the sizes, and the result is one value, one file
 * per replica. CopyObject copies one source; completing a multipart
 * upload concatenates its parts. */
#ifndef MKV_COPY_H
#define MKV_COPY_H

#include <stddef.h>
#include <stdint.h>

#include "volclient.h"

struct copy_src {
    char url[VOL_URL_MAX];        /* a replica of the source value */
    int64_t size;                 /* its length, or -1 when unknown */
};

struct copy;

/* copy_start -- begin writing key from srcs[0..n) (copied), total bytes
 * in all (-1: unknown, sent chunked). The put replaces a live key and
 * records the md5. Returns 0 with *out set (done(arg, status, md5) will
 * be called on this loop: 201, or 404 when a source is gone, else the
 * put's failure; c is then freed), or a status at once (409, 500, 503;
 * done is not called). */
unsigned copy_start(struct copy **out, const char *key, size_t keylen, const char *url,
                    const struct copy_src *srcs, int n, int64_t total,
                    void (*done)(void *arg, unsigned status, const char *md5), void *arg);

/* copy_cancel -- stop (the put undoes what it wrote); done is not
 * called, c is gone. */
void copy_cancel(struct copy *c);

#endif
