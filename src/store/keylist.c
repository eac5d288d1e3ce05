/* keylist.c -- the ordered key list beside the index, on LevelDB
 * (keylist.h). LevelDB is minikeyvalue's own index store: ordered, with
 * no limit on key length that our 1024-byte keys would hit, safe to share
 * between threads, and its writes cost O(log N) amortized. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <leveldb/c.h>

#include "keylist.h"

/* The byte each set's keys begin with in the database; the stamp's key
 * begins with 0 and so sorts before every set. */
static const char keylist_tag[KEYLIST_NSETS] = {'l', 'u', 'w'};
static const char keylist_stamp_key[] = "\0stamp";
#define KEYLIST_STAMP_KEYLEN (sizeof(keylist_stamp_key) - 1)
#define KEYLIST_MAGIC "cmkv-keys 1"

/* Keys read per snapshot by keylist_each. */
#define KEYLIST_BATCH 1024

/* The handle, replaced by keylist_clear while no reader holds it. */
static pthread_rwlock_t keylist_lock = PTHREAD_RWLOCK_INITIALIZER;
static leveldb_t *keylist_db;
static char *keylist_path;
static leveldb_options_t *keylist_opts;
static leveldb_cache_t *keylist_cache;
static leveldb_writeoptions_t *keylist_wopts, *keylist_syncopts;
static leveldb_readoptions_t *keylist_ropts;
static leveldb_writebatch_t *keylist_batch;   /* keylist_add's queue */
static unsigned long keylist_gen;             /* keylist_clear's so far */

/* failed -- err from LevelDB's message (freed); always MKV_ERR. */
static int failed(char *err, const char *what, char *lerr) {
    mkv_seterr(err, "key list %s: %s", what, lerr ? lerr : "unknown error");
    leveldb_free(lerr);
    return MKV_ERR;
}

/* tagged -- tag byte and key into out (MKV_KEY_MAX + 1 bytes). */
static size_t tagged(char *out, enum keylist_set set, const char *key, size_t keylen) {
    out[0] = keylist_tag[set];
    memcpy(out + 1, key, keylen);
    return keylen + 1;
}

int keylist_destroy(const char *path, char *err) {
    leveldb_options_t *o = leveldb_options_create();
    char *lerr = NULL;
    leveldb_destroy_db(o, path, &lerr);
    leveldb_options_destroy(o);
    return lerr ? failed(err, "removal", lerr) : MKV_OK;
}

int keylist_open(const char *path, char *err) {
    char *lerr = NULL;

    keylist_path = strdup(path);
    keylist_opts = leveldb_options_create();
    keylist_cache = leveldb_cache_create_lru(8 << 20);
    keylist_wopts = leveldb_writeoptions_create();
    keylist_syncopts = leveldb_writeoptions_create();
    keylist_ropts = leveldb_readoptions_create();
    keylist_batch = leveldb_writebatch_create();
    if (keylist_path == NULL || keylist_opts == NULL || keylist_cache == NULL ||
        keylist_wopts == NULL || keylist_syncopts == NULL || keylist_ropts == NULL ||
        keylist_batch == NULL) {
        keylist_close();
        mkv_seterr(err, "out of memory");
        return MKV_ERR;
    }
    leveldb_options_set_create_if_missing(keylist_opts, 1);
    leveldb_options_set_cache(keylist_opts, keylist_cache);
    /* LevelDB maps each table file it holds open, and a full listing
     * opens them all in turn: 64 open tables (the smallest table cache it
     * allows: it keeps 10 descriptors of its 74 for itself) of 1 MiB (its
     * smallest; the newest, level 0, as big as the 4 MiB write buffer)
     * bound what a listing adds to the RSS (61 MiB at 100M keys). */
    leveldb_options_set_max_open_files(keylist_opts, 74);
    leveldb_options_set_max_file_size(keylist_opts, 1 << 20);
    leveldb_writeoptions_set_sync(keylist_syncopts, 1);
    /* A listing reads each block once: keep it out of the cache. */
    leveldb_readoptions_set_fill_cache(keylist_ropts, 0);
    keylist_db = leveldb_open(keylist_opts, path, &lerr);
    if (keylist_db == NULL) {
        mkv_seterr(err, "cannot open the key list %s: %s", path, lerr ? lerr : "?");
        leveldb_free(lerr);
        keylist_close();
        return MKV_ERR;
    }
    return MKV_OK;
}

void keylist_close(void) {
    if (keylist_db) leveldb_close(keylist_db);
    if (keylist_batch) leveldb_writebatch_destroy(keylist_batch);
    if (keylist_ropts) leveldb_readoptions_destroy(keylist_ropts);
    if (keylist_syncopts) leveldb_writeoptions_destroy(keylist_syncopts);
    if (keylist_wopts) leveldb_writeoptions_destroy(keylist_wopts);
    if (keylist_opts) leveldb_options_destroy(keylist_opts);
    if (keylist_cache) leveldb_cache_destroy(keylist_cache);
    free(keylist_path);
    keylist_db = NULL;
    keylist_batch = NULL;
    keylist_ropts = NULL;
    keylist_syncopts = keylist_wopts = NULL;
    keylist_opts = NULL;
    keylist_cache = NULL;
    keylist_path = NULL;
}

int keylist_fresh(struct keylist_stamp *now) {
    char *lerr = NULL, *v, text[160];
    size_t vlen;
    struct keylist_stamp was;
    unsigned long long dev, ino, size, n;
    long long mtime;
    int clean = 0, ok;

    v = leveldb_get(keylist_db, keylist_ropts, keylist_stamp_key, KEYLIST_STAMP_KEYLEN,
                    &vlen, &lerr);
    leveldb_free(lerr);
    if (v == NULL) return 0;
    ok = vlen < sizeof(text);
    if (ok) {
        memcpy(text, v, vlen);
        text[vlen] = '\0';
    }
    leveldb_free(v);
    /* "cmkv-keys 1 clean DEV INO SIZE MTIME_NS NRECORDS", or "... open". */
    if (!ok || sscanf(text, KEYLIST_MAGIC " clean %llu %llu %llu %lld %llu", &dev, &ino,
                      &size, &mtime, &n) != 5)
        return 0;
    was.dev = dev;
    was.ino = ino;
    was.size = size;
    was.mtime_ns = mtime;
    clean = was.dev == now->dev && was.ino == now->ino && was.size == now->size &&
            was.mtime_ns == now->mtime_ns;
    if (clean) now->nrecords = n;
    return clean;
}

int keylist_mark(const struct keylist_stamp *st, char *err) {
    char text[160], *lerr = NULL;
    int n;

    if (st == NULL)
        n = snprintf(text, sizeof(text), KEYLIST_MAGIC " open");
    else
        n = snprintf(text, sizeof(text), KEYLIST_MAGIC " clean %llu %llu %llu %lld %llu",
                     (unsigned long long)st->dev, (unsigned long long)st->ino,
                     (unsigned long long)st->size, (long long)st->mtime_ns,
                     (unsigned long long)st->nrecords);
    leveldb_put(keylist_db, keylist_syncopts, keylist_stamp_key, KEYLIST_STAMP_KEYLEN,
                text, (size_t)n, &lerr);
    return lerr ? failed(err, "write", lerr) : MKV_OK;
}

int keylist_set(const char *key, size_t keylen, enum keylist_set set, char *err) {
    leveldb_writebatch_t *b = keylist_batch;
    char t[MKV_KEY_MAX + 1];

    leveldb_writebatch_clear(b);
    for (int s = 0; s < KEYLIST_NSETS; s++) {
        size_t n = tagged(t, (enum keylist_set)s, key, keylen);
        if (s == (int)set) leveldb_writebatch_put(b, t, n, "", 0);
        else leveldb_writebatch_delete(b, t, n);
    }
    return keylist_flush(err);
}

int keylist_move(const char *key, size_t keylen, enum keylist_set from,
                 enum keylist_set to, char *err) {
    leveldb_writebatch_t *b = keylist_batch;
    char t[MKV_KEY_MAX + 1];

    if (from == to) return MKV_OK;
    leveldb_writebatch_clear(b);
    if (from != KEYLIST_NONE) leveldb_writebatch_delete(b, t, tagged(t, from, key, keylen));
    if (to != KEYLIST_NONE) leveldb_writebatch_put(b, t, tagged(t, to, key, keylen), "", 0);
    return keylist_flush(err);
}

void keylist_add(const char *key, size_t keylen, enum keylist_set set) {
    char t[MKV_KEY_MAX + 1];
    leveldb_writebatch_put(keylist_batch, t, tagged(t, set, key, keylen), "", 0);
}

int keylist_flush(char *err) {
    char *lerr = NULL;
    leveldb_write(keylist_db, keylist_wopts, keylist_batch, &lerr);
    leveldb_writebatch_clear(keylist_batch);
    return lerr ? failed(err, "write", lerr) : MKV_OK;
}

int keylist_clear(char *err) {
    char *lerr = NULL;
    int rc = MKV_OK;

    pthread_rwlock_wrlock(&keylist_lock);
    leveldb_close(keylist_db);
    leveldb_destroy_db(keylist_opts, keylist_path, &lerr);
    if (lerr) {
        leveldb_free(lerr);
        lerr = NULL;
    }
    keylist_db = leveldb_open(keylist_opts, keylist_path, &lerr);
    if (keylist_db == NULL) rc = failed(err, "re-create", lerr);
    keylist_gen++;
    pthread_rwlock_unlock(&keylist_lock);
    return rc;
}

/* Where a walk is: the set, the prefix, and the last key given. */
struct walk {
    enum keylist_set set;
    const char *prefix;
    size_t plen;
    char from[MKV_KEY_MAX + 1];   /* tagged key to seek to */
    size_t fromlen;
    int skip_equal;               /* the key at from was given already */
    unsigned long gen;            /* keylist_gen when the walk began */
};

/* walk_batch -- up to KEYLIST_BATCH keys from one snapshot. Returns 1
 * when the walk may go on, 0 when it ended, MKV_ERR (err set). */
static int walk_batch(struct walk *w, int (*fn)(const char *, size_t, void *), void *arg,
                      char *err) {
    leveldb_iterator_t *it;
    char *lerr = NULL;
    int more = 0, n = 0;

    pthread_rwlock_rdlock(&keylist_lock);
    if (keylist_db == NULL || keylist_gen != w->gen) {
        pthread_rwlock_unlock(&keylist_lock);
        mkv_seterr(err, keylist_db ? "the key list was emptied for a rebuild during the walk"
                                   : "the key list is closed");
        return MKV_ERR;
    }
    it = leveldb_create_iterator(keylist_db, keylist_ropts);
    for (leveldb_iter_seek(it, w->from, w->fromlen); leveldb_iter_valid(it);
         leveldb_iter_next(it)) {
        size_t klen;
        const char *k = leveldb_iter_key(it, &klen);
        if (klen < 1 + w->plen || k[0] != keylist_tag[w->set] ||
            memcmp(k + 1, w->prefix, w->plen) != 0)
            break;
        if (w->skip_equal && klen == w->fromlen && memcmp(k, w->from, klen) == 0) {
            w->skip_equal = 0;
            continue;
        }
        if (klen > sizeof(w->from)) continue; /* not one we wrote */
        if (n++ == KEYLIST_BATCH) {
            /* Resume here with a new snapshot. */
            memcpy(w->from, k, klen);
            w->fromlen = klen;
            w->skip_equal = 0;
            more = 1;
            break;
        }
        if (fn(k + 1, klen - 1, arg)) break;
    }
    leveldb_iter_get_error(it, &lerr);
    leveldb_iter_destroy(it);
    pthread_rwlock_unlock(&keylist_lock);
    return lerr ? failed(err, "read", lerr) : more;
}

int keylist_each(enum keylist_set set, const char *prefix, size_t plen,
                 const char *start, size_t slen, int after,
                 int (*fn)(const char *key, size_t keylen, void *arg), void *arg,
                 char *err) {
    struct walk w;
    int rc;

    w.set = set;
    w.prefix = prefix;
    w.plen = plen;
    w.skip_equal = 0;
    pthread_rwlock_rdlock(&keylist_lock);
    w.gen = keylist_gen;
    pthread_rwlock_unlock(&keylist_lock);
    /* Begin at the greater of prefix and start. */
    w.fromlen = tagged(w.from, set, prefix, plen);
    if (start != NULL) {
        size_t m = slen < plen ? slen : plen;
        int c = memcmp(start, prefix, m);
        if (c > 0 || (c == 0 && slen >= plen)) {
            w.fromlen = tagged(w.from, set, start, slen);
            w.skip_equal = after;
        }
    }
    while ((rc = walk_batch(&w, fn, arg, err)) == 1)
        ;
    return rc == MKV_ERR ? MKV_ERR : MKV_OK;
}
