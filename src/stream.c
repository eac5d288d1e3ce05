/* stream.c -- the bounded upload ring between an HTTP thread and workers. */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "mkv.h"
#include "stream.h"

int stream_init(struct stream *s, size_t cap, int nreaders,
                void (*park)(void *), void (*wake)(void *), void *arg) {
    assert(cap > 0 && nreaders >= 1 && nreaders <= STREAM_MAX_READERS);
    memset(s, 0, sizeof(*s));
    s->buf = malloc(cap);
    if (s->buf == NULL) return MKV_ERR;
    s->cap = cap;
    s->nreaders = nreaders;
    s->park = park;
    s->wake = wake;
    s->arg = arg;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->readable, NULL);
    pthread_cond_init(&s->writable, NULL);
    return MKV_OK;
}

void stream_destroy(struct stream *s) {
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->readable);
    pthread_cond_destroy(&s->writable);
    free(s->buf);
    s->buf = NULL;
}

/* do_min_tail -- the slowest reader's position; mu held. */
static uint64_t do_min_tail(const struct stream *s) {
    uint64_t m = s->tail[0];
    for (int i = 1; i < s->nreaders; i++)
        if (s->tail[i] < m) m = s->tail[i];
    return m;
}

/* do_since_wake_ms -- ms since readers were last woken; mu held. */
static long do_since_wake_ms(const struct stream *s) {
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (now.tv_sec - s->woke_when.tv_sec) * 1000 +
           (now.tv_nsec - s->woke_when.tv_nsec) / 1000000;
}

size_t stream_offer(struct stream *s, const char *data, size_t len) {
    size_t room, n, off, first;

    pthread_mutex_lock(&s->mu);
    if (s->aborted) {
        pthread_mutex_unlock(&s->mu);
        return len;
    }
    assert(!s->eof && !s->producer_parked);
    room = s->cap - (size_t)(s->head - do_min_tail(s));
    n = len < room ? len : room;
    off = (size_t)(s->head % s->cap);
    first = n < s->cap - off ? n : s->cap - off;
    memcpy(s->buf + off, data, first);
    memcpy(s->buf, data + first, n - first);
    s->head += n;
    /* Wake readers in batches: each wake-up costs a context switch, so
     * wait for an eighth of the ring, a full ring, or 50 ms (a slow but
     * steady client must still reach the volume before it times out). */
    if (n > 0 && (s->head - do_min_tail(s) >= s->cap / 8 || n < len ||
                  do_since_wake_ms(s) >= 50)) {
        clock_gettime(CLOCK_MONOTONIC, &s->woke_when);
        pthread_cond_broadcast(&s->readable);
    }
    if (n < len) {
        s->producer_parked = 1;
        s->park(s->arg);
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}

int stream_write(struct stream *s, const char *data, size_t len) {
    pthread_mutex_lock(&s->mu);
    while (len > 0 && !s->aborted) {
        size_t room = s->cap - (size_t)(s->head - do_min_tail(s));
        size_t n = len < room ? len : room, off, first;
        if (n == 0) {
            pthread_cond_wait(&s->writable, &s->mu);
            continue;
        }
        off = (size_t)(s->head % s->cap);
        first = n < s->cap - off ? n : s->cap - off;
        memcpy(s->buf + off, data, first);
        memcpy(s->buf, data + first, n - first);
        s->head += n;
        data += n;
        len -= n;
        pthread_cond_broadcast(&s->readable);
    }
    pthread_mutex_unlock(&s->mu);
    return len == 0 ? MKV_OK : MKV_ERR;
}

void stream_finish(struct stream *s) {
    pthread_mutex_lock(&s->mu);
    s->eof = 1;
    pthread_cond_broadcast(&s->readable);
    pthread_mutex_unlock(&s->mu);
}

void stream_abort(struct stream *s) {
    int wake;

    pthread_mutex_lock(&s->mu);
    s->aborted = 1;
    wake = s->producer_parked;
    s->producer_parked = 0;
    pthread_cond_broadcast(&s->readable);
    pthread_cond_broadcast(&s->writable);
    pthread_mutex_unlock(&s->mu);
    if (wake) s->wake(s->arg);
}

int stream_wait_finished(struct stream *s) {
    int ok;
    pthread_mutex_lock(&s->mu);
    while (!s->eof && !s->aborted) pthread_cond_wait(&s->readable, &s->mu);
    ok = s->eof && !s->aborted;
    pthread_mutex_unlock(&s->mu);
    return ok ? MKV_OK : MKV_ERR;
}

int stream_aborted(struct stream *s) {
    int a;
    pthread_mutex_lock(&s->mu);
    a = s->aborted;
    pthread_mutex_unlock(&s->mu);
    return a;
}

ssize_t stream_read(struct stream *s, int i, char *out, size_t len) {
    size_t avail, n, off, first;
    int wake = 0;

    assert(i >= 0 && i < s->nreaders);
    pthread_mutex_lock(&s->mu);
    while (!s->aborted && s->tail[i] == s->head && !s->eof)
        pthread_cond_wait(&s->readable, &s->mu);
    if (s->aborted) {
        pthread_mutex_unlock(&s->mu);
        return -1;
    }
    avail = (size_t)(s->head - s->tail[i]);
    n = len < avail ? len : avail;
    off = (size_t)(s->tail[i] % s->cap);
    first = n < s->cap - off ? n : s->cap - off;
    memcpy(out, s->buf + off, first);
    memcpy(out + first, s->buf, n - first);
    s->tail[i] += n;
    if (s->cap - (size_t)(s->head - do_min_tail(s)) >= s->cap / 8)
        pthread_cond_broadcast(&s->writable);
    if (s->producer_parked &&
        s->cap - (size_t)(s->head - do_min_tail(s)) >= s->cap / 2) {
        s->producer_parked = 0;
        wake = 1;
    }
    pthread_mutex_unlock(&s->mu);
    if (wake) s->wake(s->arg);
    return (ssize_t)n;
}
