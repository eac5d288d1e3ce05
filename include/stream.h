/* stream.h -- a bounded ring that carries one upload from the HTTP thread
 * (the producer, which must never block) to the volume transfers (the
 * readers, each in its own worker thread, which may block).
 *
 * Memory stays at cap bytes whatever the upload's size: when the ring is
 * full the producer is parked (its park callback suspends the client's
 * connection) and woken (wake resumes it) once the slowest reader has
 * freed half the ring. Invariants, under mu:
 *   tail[i] <= head and head - min(tail) <= cap;
 *   producer_parked implies the producer is suspended and not running. */
#ifndef MKV_STREAM_H
#define MKV_STREAM_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#define STREAM_MAX_READERS 16

struct stream {
    pthread_mutex_t mu;
    pthread_cond_t readable;      /* signalled on data, EOF or abort */
    pthread_cond_t writable;      /* signalled on room or abort, for a
                                     producer in stream_write */
    char *buf;
    size_t cap;
    uint64_t head;                /* bytes ever written */
    uint64_t tail[STREAM_MAX_READERS]; /* bytes each reader consumed */
    int nreaders;
    int eof, aborted, producer_parked;
    struct timespec woke_when;    /* when readers were last woken */
    void (*park)(void *arg);      /* called with mu held */
    void (*wake)(void *arg);      /* called with mu released */
    void *arg;
};

/* stream_init -- a ring of cap bytes for nreaders readers. MKV_ERR when
 * out of memory. */
int stream_init(struct stream *s, size_t cap, int nreaders,
                void (*park)(void *), void (*wake)(void *), void *arg);

/* stream_destroy -- free the ring; no one may use s any more. */
void stream_destroy(struct stream *s);

/* stream_offer -- producer: copy as much of data[0..len) as fits and
 * return how much was taken. If less than len, the producer has been
 * parked and must return to its event loop. An aborted stream swallows
 * everything (returns len). */
size_t stream_offer(struct stream *s, const char *data, size_t len);

/* stream_write -- a producer that may block (a worker thread, never an
 * event thread): copy all of data, waiting for room. MKV_ERR if the
 * stream is aborted first. */
int stream_write(struct stream *s, const char *data, size_t len);

/* stream_finish -- producer: no more data; readers see EOF once drained. */
void stream_finish(struct stream *s);

/* stream_abort -- either side: the upload failed; readers get -1 and a
 * parked producer is woken. */
void stream_abort(struct stream *s);

/* stream_wait_finished -- block until the producer has called
 * stream_finish (MKV_OK) or the stream is aborted (MKV_ERR). Whatever the
 * producer wrote before stream_finish is then visible to the caller. */
int stream_wait_finished(struct stream *s);

/* stream_aborted -- non-zero once stream_abort was called. */
int stream_aborted(struct stream *s);

/* stream_read -- reader i: block until data, EOF or abort; copy up to len
 * bytes into out. Returns the count, 0 at EOF, -1 when aborted. */
ssize_t stream_read(struct stream *s, int i, char *out, size_t len);

#endif
