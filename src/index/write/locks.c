/* locks.c -- a small chained hash set of in-flight keys, one mutex. */
#include <assert.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "locks.h"

#define LOCKS_BUCKETS 1024 /* in-flight writes are few; chains stay short */

struct held {
    struct held *next;
    size_t len;
    char key[];
};

static struct held *locks_table[LOCKS_BUCKETS];
static pthread_mutex_t locks_mu = PTHREAD_MUTEX_INITIALIZER;

static size_t bucket_of(const char *key, size_t len) {
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)key[i];
        h *= 1099511628211ULL;
    }
    return (size_t)(h % LOCKS_BUCKETS);
}

int locks_acquire(const char *key, size_t keylen) {
    size_t b = bucket_of(key, keylen);
    struct held *h;

    pthread_mutex_lock(&locks_mu);
    for (h = locks_table[b]; h; h = h->next) {
        if (h->len == keylen && memcmp(h->key, key, keylen) == 0) {
            pthread_mutex_unlock(&locks_mu);
            return 0;
        }
    }
    h = malloc(sizeof(*h) + keylen);
    if (h == NULL) {
        pthread_mutex_unlock(&locks_mu);
        return -1;
    }
    h->len = keylen;
    memcpy(h->key, key, keylen);
    h->next = locks_table[b];
    locks_table[b] = h;
    pthread_mutex_unlock(&locks_mu);
    return 1;
}

void locks_release(const char *key, size_t keylen) {
    size_t b = bucket_of(key, keylen);
    struct held **pp, *h;

    pthread_mutex_lock(&locks_mu);
    for (pp = &locks_table[b]; (h = *pp) != NULL; pp = &h->next) {
        if (h->len == keylen && memcmp(h->key, key, keylen) == 0) {
            *pp = h->next;
            free(h);
            pthread_mutex_unlock(&locks_mu);
            return;
        }
    }
    pthread_mutex_unlock(&locks_mu);
    assert(!"locks_release of a key not held");
}
