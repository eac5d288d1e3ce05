/* stream.c -- a ring shared by blocking threads (stream.h). */
#include "mkv.h"
#include "stream.h"

int stream_init(struct stream *s, size_t cap, int nreaders) {
    if (ring_init(&s->ring, cap, nreaders) != MKV_OK) return MKV_ERR;
    s->eof = s->aborted = 0;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->readable, NULL);
    pthread_cond_init(&s->writable, NULL);
    return MKV_OK;
}

void stream_destroy(struct stream *s) {
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->readable);
    pthread_cond_destroy(&s->writable);
    ring_free(&s->ring);
}

int stream_write(struct stream *s, const char *data, size_t len) {
    pthread_mutex_lock(&s->mu);
    while (len > 0 && !s->aborted) {
        size_t n = ring_write(&s->ring, data, len);
        if (n == 0) {
            pthread_cond_wait(&s->writable, &s->mu);
            continue;
        }
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
    pthread_mutex_lock(&s->mu);
    s->aborted = 1;
    pthread_cond_broadcast(&s->readable);
    pthread_cond_broadcast(&s->writable);
    pthread_mutex_unlock(&s->mu);
}

ssize_t stream_read(struct stream *s, int i, char *out, size_t len) {
    ssize_t n = -1;

    pthread_mutex_lock(&s->mu);
    while (!s->aborted && ring_unread(&s->ring, i) == 0 && !s->eof)
        pthread_cond_wait(&s->readable, &s->mu);
    if (!s->aborted) {
        n = (ssize_t)ring_read(&s->ring, i, out, len);
        pthread_cond_broadcast(&s->writable);
    }
    pthread_mutex_unlock(&s->mu);
    return n;
}
