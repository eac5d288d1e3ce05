/* copy.c -- volumes -> index -> one put: CopyObject and multipart
 * completion (copy.h). */
#include <stdlib.h>
#include <string.h>

#include "copy.h"
#include "log.h"
#include "put.h"
#include "relay.h"

/* libcurl hands a write callback at most CURL_MAX_WRITE_SIZE (16 KiB). */
#define COPY_LOW_ROOM (64 * 1024)

struct copy {
    struct relay rl;
    struct put_req *put;
    struct copy_src *src;
    int n, i;
    int64_t got;                  /* bytes of the current source */
    unsigned failure;             /* a source's failure, else 0 */
    int in_put;                   /* inside a call into put.c */
    int put_over;                 /* its answer came (status, md5 kept) */
    int cancelled;
    unsigned status;
    char md5[33];
    void (*done)(void *arg, unsigned status, const char *md5);
    void *arg;
};

/* finish -- the put answered and we are not inside put.c: let it go,
 * tell the owner, free. */
static void finish(struct copy *c) {
    put_close(c->put);
    if (!c->cancelled) c->done(c->arg, c->failure ? c->failure : c->status, c->md5);
    free(c->src);
    free(c);
}

static void put_answered(void *arg, unsigned status) {
    struct copy *c = arg;
    c->status = status;
    if (status == 201) memcpy(c->md5, put_md5(c->put), 33);
    c->put_over = 1;
    if (!c->in_put) finish(c);
}

static void put_room_again(void *arg) {
    struct copy *c = arg;
    relay_resume(&c->rl);
}

/* Calls into put.c, after which c may have to finish. Each returns 1
 * when c is gone. */
static int do_end(struct copy *c, unsigned fail) {
    c->in_put = 1;
    if (fail) put_fail(c->put, fail);
    put_end(c->put);
    c->in_put = 0;
    if (c->put_over) {
        finish(c);
        return 1;
    }
    return 0;
}

static void next_source(struct copy *c);

/* room -- what the put's ring can take; when that is little, ask to be
 * woken (a relay that finds too little room pauses until then). */
static size_t room(void *arg) {
    struct copy *c = arg;
    size_t r;
    if (c->put_over) return (size_t)-1;
    r = put_room(c->put);
    if (r < COPY_LOW_ROOM) put_want_room(c->put);
    return r;
}

static void data(void *arg, const char *p, size_t n) {
    struct copy *c = arg;
    if (c->put_over) return;
    c->got += (int64_t)n;
    c->in_put = 1;
    put_feed(c->put, p, &n);
    c->in_put = 0;
    /* put_answered may have come (a failure): finished when the relay ends */
}

static void src_done(void *arg, enum vol_result vr, long status, const char *err) {
    struct copy *c = arg;
    const struct copy_src *s = &c->src[c->i];
    if (c->put_over) { /* failed meanwhile */
        finish(c);
        return;
    }
    if (vr != VOL_OK || status != 200 || (s->size >= 0 && c->got != s->size)) {
        c->failure = vr == VOL_OK && status == 404 ? 404 : vol_http_status(vr);
        if (vr != VOL_OK) log_msg("copy from %s: %s", s->url, err);
        else log_msg("copy from %s: answered %ld after %lld bytes", s->url, status, (long long)c->got);
        do_end(c, c->failure);
        return;
    }
    c->i++;
    next_source(c);
}

static void next_source(struct copy *c) {
    struct relay_sink sink = {NULL, room, data, src_done, c};
    if (c->i == c->n) {
        do_end(c, 0);
        return;
    }
    c->got = 0;
    if (relay_start(&c->rl, c->src[c->i].url, 0, NULL, &sink) != MKV_OK) {
        c->failure = 503;
        do_end(c, 503);
    }
}

unsigned copy_start(struct copy **out, const char *key, size_t keylen, const char *url,
                    const struct copy_src *srcs, int n, int64_t total,
                    void (*done)(void *arg, unsigned status, const char *md5), void *arg) {
    struct put_owner owner;
    struct copy *c = calloc(1, sizeof(*c));
    unsigned st;

    if (c == NULL || (c->src = malloc((size_t)(n > 0 ? n : 1) * sizeof(*srcs))) == NULL) {
        free(c);
        return 503;
    }
    memcpy(c->src, srcs, (size_t)n * sizeof(*srcs));
    c->n = n;
    c->done = done;
    c->arg = arg;
    owner.wake = put_room_again;
    owner.done = put_answered;
    owner.arg = c;
    st = put_open(NULL, &owner, "PUT", url, key, keylen, total, PUT_REPLACE | PUT_MD5, NULL,
                  &c->put);
    if (st != 0) {
        free(c->src);
        free(c);
        return st;
    }
    *out = c;
    next_source(c);
    return 0;
}

void copy_cancel(struct copy *c) {
    c->cancelled = 1;
    if (c->rl.running) relay_cancel(&c->rl);
    if (c->put_over) {
        finish(c);
        return;
    }
    /* put_close fails a put whose body is not in: it undoes itself */
    put_close(c->put);
    free(c->src);
    free(c);
}
