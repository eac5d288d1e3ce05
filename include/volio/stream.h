/* stream.h -- a ring (ring.h) shared by threads that may block: one
 * producer and its readers, each on its own thread. The offline
 * rebalance copies a value through one (a GET's body feeding a PUT);
 * the server never uses it, its transfers live on one event loop.
 *
 * Invariant, under mu: once aborted, every call returns at once. */
#ifndef MKV_STREAM_H
#define MKV_STREAM_H

#include <pthread.h>
#include <stddef.h>
#include <sys/types.h>

#include "ring.h"

struct stream {
    pthread_mutex_t mu;
    pthread_cond_t readable;      /* signalled on data, EOF or abort */
    pthread_cond_t writable;      /* signalled on room or abort */
    struct ring ring;
    int eof, aborted;
};

/* stream_init -- a ring of cap bytes for nreaders readers. MKV_ERR when
 * out of memory. */
int stream_init(struct stream *s, size_t cap, int nreaders);

/* stream_destroy -- free it; no one may use s any more. */
void stream_destroy(struct stream *s);

/* stream_write -- producer: copy all of data, waiting for room. MKV_ERR
 * if the stream is aborted first. */
int stream_write(struct stream *s, const char *data, size_t len);

/* stream_finish -- producer: no more data; readers see EOF once drained. */
void stream_finish(struct stream *s);

/* stream_abort -- either side: the copy failed; everyone returns. */
void stream_abort(struct stream *s);

/* stream_read -- reader i: block until data, EOF or abort; copy up to len
 * bytes into out. Returns the count, 0 at EOF, -1 when aborted. */
ssize_t stream_read(struct stream *s, int i, char *out, size_t len);

#endif
