/* store.c -- the GDBM index file and the ordered key sets beside it. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gdbm.h>

#include "keyset.h"
#include "log.h"
#include "store.h"

static GDBM_FILE store_db;
static int store_sync;
static int store_fd = -1;         /* the file's, for store_fsync */
static pthread_mutex_t store_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_rwlock_t store_ks_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct keyset store_live, store_unlinked;

static datum mkdatum(const char *p, size_t n) {
    datum d;
    d.dptr = (char *)p;
    d.dsize = (int)n;
    return d;
}

/* usable_key -- keys the API can address: 1..MKV_KEY_MAX bytes, no NUL. */
static int usable_key(const char *k, size_t n) {
    return n > 0 && n <= MKV_KEY_MAX && memchr(k, '\0', n) == NULL;
}

/* do_keysets_set -- put key in the set its record says (none for a
 * write in progress); mu and the key-set write lock held. */
static int do_keysets_set(const char *key, size_t keylen, const struct record *r) {
    if (r->writing) {
        keyset_remove(&store_live, key, keylen);
        keyset_remove(&store_unlinked, key, keylen);
        return MKV_OK;
    }
    keyset_remove(r->deleted ? &store_live : &store_unlinked, key, keylen);
    return keyset_add(r->deleted ? &store_unlinked : &store_live, key, keylen) < 0
               ? MKV_ERR : MKV_OK;
}

/* The key sets are filled by a loader thread after start-up, so the
 * server answers at once however large the index is. It adds records in
 * chunks while holding mu (as every writer does), so a key it adds cannot
 * have been deleted meanwhile. A bucket split caused by a concurrent PUT
 * can make GDBM's iteration skip keys; the loader detects that by
 * comparing its count with the file's record count (kept up to date by
 * every write) and scans again, the last time holding mu throughout. */
static pthread_t store_loader;
static int store_loading;           /* loader thread running (main thread) */
static atomic_int store_stop;       /* store_close asks the loader to end */
static size_t store_nrecords;       /* records in the GDBM file; under mu */
static size_t store_bad;            /* unusable records seen by the scan */
static size_t store_writing;        /* writes in progress seen by the scan */

/* WRITING records the scan found, kept until store_on_orphan; under mu. */
struct orphan {
    struct orphan *next;
    size_t len;
    char key[];
};
static struct orphan *store_orphans;
static void (*store_orphan_fn)(const char *key, size_t keylen);

/* do_orphan -- hand a WRITING record on, or keep it; mu held. */
static void do_orphan(const char *key, size_t keylen) {
    struct orphan *o;
    if (store_orphan_fn) {
        store_orphan_fn(key, keylen);
        return;
    }
    if ((o = malloc(sizeof(*o) + keylen)) == NULL) return; /* reconcile finds it */
    o->len = keylen;
    memcpy(o->key, key, keylen);
    o->next = store_orphans;
    store_orphans = o;
}

void store_on_orphan(void (*fn)(const char *key, size_t keylen)) {
    struct orphan *o;
    pthread_mutex_lock(&store_mu);
    store_orphan_fn = fn;
    while (fn != NULL && (o = store_orphans) != NULL) {
        store_orphans = o->next;
        fn(o->key, o->len);
        free(o);
    }
    pthread_mutex_unlock(&store_mu);
}
static pthread_mutex_t store_ready_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t store_ready_cv = PTHREAD_COND_INITIALIZER;
static int store_ready;             /* key sets complete; under ready_mu */

#define STORE_LOAD_CHUNK 128 /* ~0.5 ms of holding mu */

/* do_scan_chunk -- from *cursor (NULL: the first key), add up to n
 * records to the key sets; mu held. Returns 1 while keys remain. */
static int do_scan_chunk(datum *cursor, size_t n) {
    struct record r;
    char rerr[MKV_ERRLEN];
    datum k;

    pthread_rwlock_wrlock(&store_ks_lock);
    k = cursor->dptr ? gdbm_nextkey(store_db, *cursor) : gdbm_firstkey(store_db);
    free(cursor->dptr);
    cursor->dptr = NULL;
    while (k.dptr != NULL) {
        datum v = gdbm_fetch(store_db, k);
        if (!usable_key(k.dptr, (size_t)k.dsize) || v.dptr == NULL ||
            record_decode(v.dptr, (size_t)v.dsize, &r, rerr) != MKV_OK ||
            do_keysets_set(k.dptr, (size_t)k.dsize, &r) != MKV_OK)
            store_bad++;
        else if (r.writing && ++store_writing)
            do_orphan(k.dptr, (size_t)k.dsize);
        free(v.dptr);
        if (--n == 0) {
            *cursor = k;
            break;
        }
        datum next = gdbm_nextkey(store_db, k);
        free(k.dptr);
        k = next;
    }
    pthread_rwlock_unlock(&store_ks_lock);
    return cursor->dptr != NULL;
}

static void *loader_main(void *unused) {
    size_t have = 0, want = 0;
    (void)unused;
    for (int pass = 1; pass <= 4 && !store_stop; pass++) {
        datum cursor = {NULL, 0};
        int more = 1;
        pthread_mutex_lock(&store_mu);
        store_bad = store_writing = 0;
        pthread_mutex_unlock(&store_mu);
        while (more && !store_stop) {
            pthread_mutex_lock(&store_mu);
            /* The last pass holds mu throughout: nothing can split. */
            more = do_scan_chunk(&cursor, pass < 4 ? STORE_LOAD_CHUNK : (size_t)-1);
            if (!more) {
                have = store_live.count + store_unlinked.count + store_bad + store_writing;
                want = store_nrecords;
            }
            pthread_mutex_unlock(&store_mu);
        }
        free(cursor.dptr);
        if (!more && have == want) {
            if (store_bad)
                log_msg("index: %zu records with unusable keys or values are not listed",
                        store_bad);
            pthread_mutex_lock(&store_ready_mu);
            store_ready = 1;
            pthread_cond_broadcast(&store_ready_cv);
            pthread_mutex_unlock(&store_ready_mu);
            return NULL;
        }
        if (!store_stop)
            log_msg("index: listing scan %d found %zu of %zu records; scanning again",
                    pass, have, want);
    }
    return NULL;
}

int store_open(const char *path, enum store_mode mode, int sync, char *err) {
    int flags = mode == STORE_NEW ? GDBM_NEWDB : GDBM_WRCREAT;
    errno = 0;
    store_db = gdbm_open(path, 0, flags, 0644, NULL);
    if (store_db == NULL) {
        if (gdbm_errno == GDBM_CANT_BE_WRITER)
            mkv_seterr(err, "index %s is in use by another process", path);
        else
            mkv_seterr(err, "cannot open index %s: %s%s%s", path,
                       gdbm_strerror(gdbm_errno), errno ? ": " : "",
                       errno ? strerror(errno) : "");
        return MKV_ERR;
    }
    store_sync = sync;
    store_fd = gdbm_fdesc(store_db);
    if (mode == STORE_SERVE) {
        gdbm_count_t n;
        if (gdbm_count(store_db, &n) != 0) {
            mkv_seterr(err, "cannot count the index: %s", gdbm_db_strerror(store_db));
            store_close();
            return MKV_ERR;
        }
        store_nrecords = (size_t)n;
        store_stop = 0;
        store_ready = 0;
        if (pthread_create(&store_loader, NULL, loader_main, NULL) != 0) {
            mkv_seterr(err, "cannot start the index loader thread");
            store_close();
            return MKV_ERR;
        }
        store_loading = 1;
    }
    return MKV_OK;
}

static GDBM_FILE store_locked; /* store_lock's handle */

int store_lock(const char *path, char *err) {
    store_locked = gdbm_open(path, 0, GDBM_WRCREAT, 0644, NULL);
    if (store_locked != NULL) return MKV_OK;
    if (gdbm_errno == GDBM_CANT_BE_WRITER)
        mkv_seterr(err, "index %s is in use by another process", path);
    else
        mkv_seterr(err, "cannot open index %s: %s", path, gdbm_strerror(gdbm_errno));
    return MKV_ERR;
}

void store_unlock(void) {
    if (store_locked != NULL) gdbm_close(store_locked);
    store_locked = NULL;
}

void store_close(void) {
    if (store_loading) {
        store_stop = 1;
        pthread_join(store_loader, NULL);
        store_loading = 0;
    }
    pthread_mutex_lock(&store_mu);
    if (store_db != NULL) {
        gdbm_sync(store_db);
        gdbm_close(store_db);
        store_db = NULL;
    }
    while (store_orphans) {
        struct orphan *o = store_orphans;
        store_orphans = o->next;
        free(o);
    }
    store_orphan_fn = NULL;
    pthread_rwlock_wrlock(&store_ks_lock);
    keyset_free(&store_live);
    keyset_free(&store_unlinked);
    pthread_rwlock_unlock(&store_ks_lock);
    pthread_mutex_unlock(&store_mu);
}

int store_get(const char *key, size_t keylen, struct record *r, char *err) {
    datum v;
    int rc;

    pthread_mutex_lock(&store_mu);
    v = gdbm_fetch(store_db, mkdatum(key, keylen));
    if (v.dptr == NULL) {
        rc = gdbm_errno == GDBM_ITEM_NOT_FOUND ? 0 : MKV_ERR;
        if (rc) mkv_seterr(err, "index read: %s", gdbm_db_strerror(store_db));
        pthread_mutex_unlock(&store_mu);
        return rc;
    }
    pthread_mutex_unlock(&store_mu);
    rc = record_decode(v.dptr, (size_t)v.dsize, r, err) ? MKV_ERR : 1;
    free(v.dptr);
    return rc;
}

/* do_sync -- fsync when --sync asked for it; mu held. */
static int do_sync(char *err) {
    if (store_sync && gdbm_sync(store_db) != 0) {
        mkv_seterr(err, "index sync: %s", gdbm_db_strerror(store_db));
        return MKV_ERR;
    }
    return MKV_OK;
}

int store_put(const char *key, size_t keylen, const struct record *r,
              char *err) {
    char buf[RECORD_MAX];
    int n = record_encode(r, buf, err), rc = MKV_OK;

    if (n < 0) return MKV_ERR;
    pthread_mutex_lock(&store_mu);
    if (!gdbm_exists(store_db, mkdatum(key, keylen))) store_nrecords++;
    if (gdbm_store(store_db, mkdatum(key, keylen), mkdatum(buf, (size_t)n),
                   GDBM_REPLACE) != 0) {
        mkv_seterr(err, "index write: %s", gdbm_db_strerror(store_db));
        rc = MKV_ERR;
    } else {
        rc = do_sync(err);
        pthread_rwlock_wrlock(&store_ks_lock);
        if (do_keysets_set(key, keylen, r) != MKV_OK) {
            log_msg("index: out of memory: a key is missing from listings");
        }
        pthread_rwlock_unlock(&store_ks_lock);
    }
    pthread_mutex_unlock(&store_mu);
    return rc;
}

int store_delete(const char *key, size_t keylen, char *err) {
    int rc;

    pthread_mutex_lock(&store_mu);
    rc = gdbm_delete(store_db, mkdatum(key, keylen));
    if (rc != 0) {
        if (gdbm_errno == GDBM_ITEM_NOT_FOUND) {
            rc = 1;
        } else {
            mkv_seterr(err, "index delete: %s", gdbm_db_strerror(store_db));
            rc = MKV_ERR;
        }
    } else {
        store_nrecords--;
        rc = do_sync(err);
        pthread_rwlock_wrlock(&store_ks_lock);
        keyset_remove(&store_live, key, keylen);
        keyset_remove(&store_unlinked, key, keylen);
        pthread_rwlock_unlock(&store_ks_lock);
    }
    pthread_mutex_unlock(&store_mu);
    return rc;
}

void store_list(int unlinked, const char *prefix, size_t plen,
                const char *start, size_t slen,
                int (*fn)(const char *key, size_t keylen, void *arg), void *arg) {
    pthread_rwlock_rdlock(&store_ks_lock);
    keyset_each(unlinked ? &store_unlinked : &store_live, prefix, plen, start,
                slen, fn, arg);
    pthread_rwlock_unlock(&store_ks_lock);
}

int store_fsync(char *err) {
    if (fsync(store_fd) != 0) {
        mkv_seterr(err, "index fsync: %s", strerror(errno));
        return MKV_ERR;
    }
    return MKV_OK;
}

size_t store_count(void) {
    size_t n;
    pthread_mutex_lock(&store_mu);
    n = store_nrecords;
    pthread_mutex_unlock(&store_mu);
    return n;
}

int store_listable(long wait_ms) {
    struct timespec until;
    int ready;

    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += wait_ms / 1000;
    until.tv_nsec += (wait_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&store_ready_mu);
    while (!store_ready && wait_ms > 0 &&
           pthread_cond_timedwait(&store_ready_cv, &store_ready_mu, &until) == 0)
        ;
    ready = store_ready;
    pthread_mutex_unlock(&store_ready_mu);
    return ready;
}
