/* ring.c -- the bounded multi-reader byte ring (ring.h). */
#include <assert.h>
#include <stdlib.h>
#include <string.h>

#include "mkv.h"
#include "ring.h"

int ring_init(struct ring *r, size_t cap, int nreaders) {
    assert(cap > 0 && nreaders >= 1 && nreaders <= RING_MAX_READERS);
    memset(r, 0, sizeof(*r));
    r->buf = malloc(cap);
    if (r->buf == NULL) return MKV_ERR;
    r->cap = cap;
    r->nreaders = nreaders;
    return MKV_OK;
}

void ring_free(struct ring *r) {
    free(r->buf);
    r->buf = NULL;
}

static uint64_t min_tail(const struct ring *r) {
    uint64_t m = r->tail[0];
    for (int i = 1; i < r->nreaders; i++)
        if (r->tail[i] < m) m = r->tail[i];
    return m;
}

size_t ring_room(const struct ring *r) {
    return r->cap - (size_t)(r->head - min_tail(r));
}

size_t ring_unread(const struct ring *r, int i) {
    assert(i >= 0 && i < r->nreaders);
    return (size_t)(r->head - r->tail[i]);
}

size_t ring_write(struct ring *r, const char *data, size_t len) {
    size_t room = ring_room(r), n = len < room ? len : room;
    size_t off = (size_t)(r->head % r->cap);
    size_t first = n < r->cap - off ? n : r->cap - off;

    memcpy(r->buf + off, data, first);
    memcpy(r->buf, data + first, n - first);
    r->head += n;
    return n;
}

size_t ring_read(struct ring *r, int i, char *out, size_t len) {
    size_t avail = ring_unread(r, i), n = len < avail ? len : avail;
    size_t off = (size_t)(r->tail[i] % r->cap);
    size_t first = n < r->cap - off ? n : r->cap - off;

    memcpy(out, r->buf + off, first);
    memcpy(out + first, r->buf, n - first);
    r->tail[i] += n;
    assert(r->tail[i] <= r->head);
    return n;
}
