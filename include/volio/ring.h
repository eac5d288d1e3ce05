/* ring.h -- a bounded byte ring with one writer and up to RING_MAX_READERS
 * readers, each at its own pace. No locking: the caller owns it (an event
 * loop for a PUT's body; stream.h wraps it with a mutex for threads).
 *
 * Invariants: tail[i] <= head for every reader, and
 * head - min(tail) <= cap, so a byte is overwritten only after every
 * reader has taken it. Memory is cap bytes whatever passes through. */
#ifndef MKV_RING_H
#define MKV_RING_H

#include <stddef.h>
#include <stdint.h>

#define RING_MAX_READERS 16

struct ring {
    char *buf;
    size_t cap;
    uint64_t head;                    /* bytes ever written */
    uint64_t tail[RING_MAX_READERS];  /* bytes each reader has taken */
    int nreaders;
};

/* ring_init -- cap bytes for nreaders (1..RING_MAX_READERS) readers.
 * MKV_ERR when out of memory. */
int ring_init(struct ring *r, size_t cap, int nreaders);

/* ring_free -- release the buffer; r may be zeroed or initialised. */
void ring_free(struct ring *r);

/* ring_room -- bytes the writer may add now. */
size_t ring_room(const struct ring *r);

/* ring_unread -- bytes reader i has not taken yet. */
size_t ring_unread(const struct ring *r, int i);

/* ring_write -- copy as much of data[0..len) as fits; returns how much. */
size_t ring_write(struct ring *r, const char *data, size_t len);

/* ring_read -- reader i takes up to len bytes into out; returns how many
 * (0 when it has caught up with the writer). */
size_t ring_read(struct ring *r, int i, char *out, size_t len);

#endif
