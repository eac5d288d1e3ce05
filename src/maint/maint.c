/* maint.c -- pieces the maintenance commands share (maint.h). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "maint.h"
#include "progress.h"
#include "store.h"
#include "volclient.h"

#define MAINT_MAX_THREADS 64

void maint_threads(int n, void *(*fn)(void *), void *arg) {
    pthread_t tids[MAINT_MAX_THREADS];
    int started = 0;
    for (int i = 0; i < n && i < MAINT_MAX_THREADS; i++)
        if (pthread_create(&tids[started], NULL, fn, arg) == 0) started++;
    if (started == 0) fn(arg);
    for (int i = 0; i < started; i++) pthread_join(tids[i], NULL);
}

struct collecting {
    struct maint_keys *keys;
    int failed;                   /* out of memory */
};

/* collect -- store_list's callback: keep one key; 1 (stop) when out of
 * memory, which failed then says. */
static int collect(const char *key, size_t keylen, void *arg) {
    struct collecting *c = arg;
    struct maint_keys *ks = c->keys;
    struct maint_key *k = mkv_grow(ks->k, &ks->cap, ks->n, sizeof(*k), 4096);
    if (k == NULL) goto oom;
    ks->k = k;
    if ((ks->k[ks->n].key = malloc(keylen ? keylen : 1)) == NULL) goto oom;
    memcpy(ks->k[ks->n].key, key, keylen);
    ks->k[ks->n++].len = keylen;
    return 0;
oom:
    c->failed = 1;
    return 1;
}

int maint_keys(struct maint_keys *out, char *err) {
    struct collecting c = {out, 0};
    memset(out, 0, sizeof(*out));
    if (!store_listable(24L * 3600 * 1000, err) ||
        store_list(0, "", 0, NULL, 0, 0, collect, &c, err) != MKV_OK ||
        (!c.failed && store_list(1, "", 0, NULL, 0, 0, collect, &c, err) != MKV_OK))
        return MKV_ERR;
    if (c.failed) mkv_seterr(err, "out of memory reading the keys");
    return c.failed ? MKV_ERR : MKV_OK;
}

void maint_keys_free(struct maint_keys *keys) {
    for (size_t i = 0; i < keys->n; i++) free(keys->k[i].key);
    free(keys->k);
    memset(keys, 0, sizeof(*keys));
}

struct each {                     /* maint_each_key's work, shared */
    const struct maint_keys *keys;
    int (*fn)(const char *, size_t);
    struct progress *p;
    atomic_size_t next;
};

static void *each_thread(void *arg) {
    struct each *e = arg;
    size_t i;
    while ((i = atomic_fetch_add(&e->next, 1)) < e->keys->n) {
        if (e->fn(e->keys->k[i].key, e->keys->k[i].len) != MKV_OK)
            atomic_fetch_add(&e->p->errors, 1);
        atomic_fetch_add(&e->p->done, 1);
    }
    vol_thread_done();
    return NULL;
}

void maint_each_key(const struct maint_keys *keys, int n, int (*fn)(const char *, size_t),
                    struct progress *p) {
    struct each e = {keys, fn, p, 0};
    maint_threads(n, each_thread, &e);
}
