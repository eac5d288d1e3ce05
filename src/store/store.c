/* store.c -- the GDBM index file and the ordered key list beside it,
 * and the index's recovery when GDBM fails (store.h). */
#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include <gdbm.h>

#include "gdbmdir.h"
#include "keylist.h"
#include "log.h"
#include "space.h"
#include "store.h"

static GDBM_FILE store_db;
static int store_sync;
static char *store_path;          /* as given to gdbm_open */
static int store_fd = -1;         /* the file's, for store_fsync; a
                                     recovery replaces it under fd_lock */
static pthread_rwlock_t store_fd_lock = PTHREAD_RWLOCK_INITIALIZER;
static pthread_mutex_t store_mu = PTHREAD_MUTEX_INITIALIZER;

/* The key list's state (keylist.h). Changed under mu; read without it by
 * store_listable. Ready: it matches the file, every write updates it.
 * Stale: it does not, and the loader thread is to rebuild it (after
 * list_retry_at when a failure made it stale). Rebuilding: the loader is
 * filling it again while every write updates it too. */
enum list_state { LIST_OFF, LIST_READY, LIST_STALE, LIST_REBUILDING };
static atomic_int store_list_state;
static double store_list_retry_at, store_list_retry_ms; /* under mu */
static char store_list_why[MKV_ERRLEN];     /* why it is stale; under why_mu */
static pthread_mutex_t store_why_mu = PTHREAD_MUTEX_INITIALIZER;
/* Writes that add or remove a GDBM record, which can move other records
 * in GDBM's iteration order (a bucket split, a deletion's reshuffle): a
 * scan that saw none of them saw every record exactly once. Under mu. */
static unsigned long store_moves;
#define LIST_RETRY_MIN_MS 1000.0
#define LIST_RETRY_MAX_MS 60000.0

/* Broken: a GDBM call failed and marked the handle as needing recovery,
 * and recovery has not succeeded yet. Set and cleared under mu; read
 * without it by store_admit, which then takes mu only when a retry is
 * due. */
static atomic_int store_broken;
static _Atomic double store_retry_at; /* when to try recovering again */
static double store_retry_ms;         /* the backoff; under mu */
static char store_broken_why[MKV_ERRLEN]; /* what failed; under mu */
static char store_waiting[160];           /* why not recovered yet; under mu */
static atomic_int store_broken_space;     /* ... for want of space */
static int store_dir_bits = -1;       /* GDBM's directory depth; under mu */

#define STORE_ROOM_EVERY_MS 100.0   /* broken: how often room is checked */
#define STORE_RETRY_MIN_MS 1000.0   /* after a failed attempt, with room */
#define STORE_RETRY_MAX_MS 30000.0

/* Deletes that could not be done while broken, done after a recovery. */
struct forget {
    struct forget *next;
    size_t keylen;
    char key[];
};
static struct forget *store_forget;   /* under mu */
/* The key whose write broke the file, if any: the recovery decides
 * whether its new record stays, and its place in the list follows. (Once
 * broken, the file takes no more writes, so there is at most one.) */
static char store_doubt[MKV_KEY_MAX];  /* under mu */
static size_t store_doubt_len;         /* under mu; 0: none */
static size_t store_nforget;          /* under mu */
#define STORE_FORGET_MAX 4096

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

/* set_of -- the key list set a record's key belongs in. */
static enum keylist_set set_of(const struct record *r) {
    return r->writing ? KEYLIST_WRITING : r->deleted ? KEYLIST_UNLINKED : KEYLIST_LIVE;
}

static pthread_cond_t store_loader_cv = PTHREAD_COND_INITIALIZER;

/* set_list_why -- say why the list is not ready ("" once it is). */
static void set_list_why(const char *why) {
    pthread_mutex_lock(&store_why_mu);
    snprintf(store_list_why, sizeof(store_list_why), "%s", why);
    pthread_mutex_unlock(&store_why_mu);
}

/* do_list_failed -- the key list could not be written (why): it no
 * longer matches the file, so listing stops until the loader has rebuilt
 * it, which it tries after a backoff (1 s doubling to 60 s). GDBM and
 * every other request go on. mu held. */
static void do_list_failed(const char *why) {
    double now = mkv_now_ms();
    if (store_list_retry_ms < LIST_RETRY_MIN_MS) store_list_retry_ms = LIST_RETRY_MIN_MS;
    store_list_retry_at = now + store_list_retry_ms;
    log_msg("index: %s; listing answers 503 until the key list is rebuilt "
            "(next try in %.0f s)", why, store_list_retry_ms / 1000);
    store_list_retry_ms *= 2;
    if (store_list_retry_ms > LIST_RETRY_MAX_MS) store_list_retry_ms = LIST_RETRY_MAX_MS;
    set_list_why(why);
    atomic_store(&store_list_state, LIST_STALE);
    pthread_cond_signal(&store_loader_cv);
}

/* do_list_update -- key moved from set was (KEYLIST_NSETS: not known,
 * so it is written out of every other set) to set now: tell the key list,
 * unless it is stale anyway. A key whose record put it in was is in the
 * list there, or not yet while a rebuild has not reached it, so one
 * delete and one put do (nothing when was == now); mu held. */
static void do_list_update(const char *key, size_t keylen, enum keylist_set was,
                           enum keylist_set now) {
    char lerr[MKV_ERRLEN];
    int st = atomic_load(&store_list_state), rc;
    if (st != LIST_READY && st != LIST_REBUILDING) return;
    rc = was == KEYLIST_NSETS ? keylist_set(key, keylen, now, lerr)
                              : keylist_move(key, keylen, was, now, lerr);
    if (rc != MKV_OK) do_list_failed(lerr);
}

/* do_set_now -- the set key's record in the file puts it in: KEYLIST_NONE
 * when it has none, KEYLIST_NSETS when the record cannot be read (its
 * place in the list is then not known); mu held. */
static enum keylist_set do_set_now(const char *key, size_t keylen) {
    datum v = gdbm_fetch(store_db, mkdatum(key, keylen));
    struct record r;
    char rerr[MKV_ERRLEN];
    enum keylist_set set = KEYLIST_NONE;

    if (v.dptr != NULL)
        set = usable_key(key, keylen) &&
              record_decode(v.dptr, (size_t)v.dsize, &r, rerr) == MKV_OK
              ? set_of(&r) : KEYLIST_NSETS;
    else if (gdbm_last_errno(store_db) != GDBM_ITEM_NOT_FOUND)
        set = KEYLIST_NSETS; /* could not be read: not known to be absent */
    free(v.dptr);
    return set;
}

/* is_space_errno -- a write failed for want of space. */
static int is_space_errno(int e) { return e == ENOSPC || e == EFBIG || e == EDQUOT; }

static void do_list_resync(const char *key, size_t keylen);
static void do_rescan_all(void);
static size_t store_nrecords;       /* records in the GDBM file; under mu */

/* Names of files gdbm_recover may leave next to the index when it fails
 * (mkstemp of "PATH.XXXXXX"), for the caller to remove the new ones. */
struct leftovers {
    size_t n;
    char names[16][256];
};

/* list_leftovers -- the directory's "BASE.XXXXXX" files now, into l (the
 * first 16; a full directory of such names is not ours to clean). */
static void list_leftovers(struct leftovers *l) {
    const char *slash = strrchr(store_path, '/');
    const char *base = slash ? slash + 1 : store_path;
    size_t blen = strlen(base);
    char dir[4096];
    struct dirent *e;
    DIR *d;

    l->n = 0;
    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - store_path) + 1 : 1,
             slash ? store_path : ".");
    if ((d = opendir(dir)) == NULL) return;
    while ((e = readdir(d)) != NULL && l->n < 16) {
        size_t n = strlen(e->d_name);
        if (n != blen + 7 || strncmp(e->d_name, base, blen) != 0 ||
            e->d_name[blen] != '.' || n >= sizeof(l->names[0]))
            continue;
        memcpy(l->names[l->n++], e->d_name, n + 1);
    }
    closedir(d);
}

/* remove_new_leftovers -- unlink the "BASE.XXXXXX" files that are there
 * now and were not in before: a failed recovery's partial copy. */
static void remove_new_leftovers(const struct leftovers *before) {
    const char *slash = strrchr(store_path, '/');
    struct leftovers now;
    char path[4352];

    list_leftovers(&now);
    for (size_t i = 0; i < now.n; i++) {
        int old = 0;
        for (size_t j = 0; j < before->n && !old; j++)
            old = strcmp(now.names[i], before->names[j]) == 0;
        if (old) continue;
        snprintf(path, sizeof(path), "%.*s%s", slash ? (int)(slash - store_path) + 1 : 0,
                 store_path, now.names[i]);
        if (unlink(path) != 0)
            log_msg("index: cannot remove %s left by a failed recovery: %s", path,
                    strerror(errno));
    }
}

__attribute__((format(printf, 2, 3)))
static void recover_says(void *arg, const char *fmt, ...) {
    char line[256];
    va_list ap;
    (void)arg;
    va_start(ap, fmt);
    vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    log_limited(LOG_INDEX, "index recovery: %s", line);
}

/* bound_cache -- GDBM's bucket cache grows by default to hold every
 * bucket the process has read: at 100M keys, after one scan, 4 GiB of
 * private memory. Bounded to STORE_CACHE_BYTES, a bucket that is not in
 * it is read again (one block, mostly from the page cache). */
#define STORE_CACHE_BYTES (16u << 20)
static void bound_cache(void) {
    int bsize;
    size_t n = 64;
    if (gdbm_setopt(store_db, GDBM_GETBLOCKSIZE, &bsize, sizeof(bsize)) == 0 && bsize > 0 &&
        STORE_CACHE_BYTES / (size_t)bsize > n)
        n = STORE_CACHE_BYTES / (size_t)bsize;
    if (gdbm_setopt(store_db, GDBM_SETCACHESIZE, &n, sizeof(n)) != 0)
        log_msg("index: cannot bound GDBM's bucket cache to %zu buckets: %s", n,
                gdbm_db_strerror(store_db));
}

/* do_track_directory -- tell space.h how big GDBM's directory is (the
 * largest single allocation it makes is twice that); mu held. */
static void do_track_directory(void) {
    int bits;
    if (gdbm_setopt(store_db, GDBM_GETDIRDEPTH, &bits, sizeof(bits)) != 0 ||
        bits == store_dir_bits)
        return;
    store_dir_bits = bits;
    space_directory((uint64_t)sizeof(off_t) << bits);
}

/* do_forget_pending -- the deletes remembered while broken; mu held. */
static void do_forget_pending(void) {
    struct forget *f;
    while ((f = store_forget) != NULL) {
        datum k = {f->key, (int)f->keylen};
        store_forget = f->next;
        store_nforget--;
        if (gdbm_delete(store_db, k) == 0) {
            store_nrecords--;
            store_moves++;
        }
        do_list_resync(f->key, f->keylen);
        free(f);
    }
}

/* room_for_copy -- is there room for gdbm_recover's copy of the file
 * (about its size, beside it, under the file size limit)? If not, why
 * says how much is missing; trying anyway would only churn the disk (and
 * trip a leak in GDBM 1.23, whose gdbm_fd_open forgets its first bucket
 * when it cannot write it). */
static int room_for_copy(char *why, size_t len) {
    struct statvfs sv;
    struct rlimit rl;
    struct stat st;
    uint64_t need, free;
    char a[32], b[32];

    if (fstat(store_fd, &st) != 0 || fstatvfs(store_fd, &sv) != 0) return 1;
    need = (uint64_t)st.st_size + (uint64_t)st.st_size / 8 + 65536;
    free = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
    space_human(need, a, sizeof(a));
    if (free < need) {
        space_human(free, b, sizeof(b));
        snprintf(why, len, "a copy of the index needs about %s, %s free", a, b);
        return 0;
    }
    if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        rl.rlim_cur < (rlim_t)need) {
        snprintf(why, len, "a copy of the index needs about %s, over the file size limit",
                 a);
        return 0;
    }
    return 1;
}

/* do_recover -- rebuild the file from the handle's view (gdbm_recover
 * with GDBM_RCVR_FORCE: the check pass cannot be trusted while changed
 * buckets wait in the handle's cache) into a new file renamed over the
 * old; mu held. Tried only when there is room for the copy (checked
 * every STORE_ROOM_EVERY_MS, so it starts soon after room is made); an
 * attempt that fails with room is retried after a backoff (1 s doubling
 * to 30 s), its partial copy removed. On success the store is no longer
 * broken. Returns 1 when the handle is usable. */
static int do_recover(void) {
    gdbm_recovery rcvr;
    struct leftovers before;
    double t0 = mkv_now_ms();
    gdbm_count_t n;
    int rc;

    if (!room_for_copy(store_waiting, sizeof(store_waiting))) {
        atomic_store(&store_retry_at, t0 + STORE_ROOM_EVERY_MS);
        log_limited(LOG_INDEX, "index: cannot recover yet: %s; reads go on from memory, "
                    "writes are refused until it is recovered", store_waiting);
        return 0;
    }
    memset(&rcvr, 0, sizeof(rcvr));
    rcvr.errfun = recover_says;
    list_leftovers(&before);
    pthread_rwlock_wrlock(&store_fd_lock); /* no fsync of the old fd now */
    rc = gdbm_recover(store_db, &rcvr, GDBM_RCVR_FORCE | GDBM_RCVR_ERRFUN);
    store_fd = gdbm_fdesc(store_db);
    pthread_rwlock_unlock(&store_fd_lock);
    if (rc != 0 || gdbm_count(store_db, &n) != 0) {
        int e = gdbm_last_syserr(store_db);
        remove_new_leftovers(&before);
        atomic_store(&store_retry_at, mkv_now_ms() + store_retry_ms);
        snprintf(store_waiting, sizeof(store_waiting), "the last try failed: %s%s%s",
                 gdbm_db_strerror(store_db), e ? ": " : "", e ? strerror(e) : "");
        /* Not rate-limited: the backoff already spaces these out. */
        log_msg("index: recovery failed: %s%s%s; reads go on from memory, writes are "
                "refused until it succeeds (next try in %.0f s)",
                gdbm_db_strerror(store_db), e ? ": " : "", e ? strerror(e) : "",
                store_retry_ms / 1000);
        store_retry_ms *= 2;
        if (store_retry_ms > STORE_RETRY_MAX_MS) store_retry_ms = STORE_RETRY_MAX_MS;
        return 0;
    }
    bound_cache(); /* the recovered handle has GDBM's defaults */
    space_file(store_fd);
    store_dir_bits = -1;
    do_track_directory();
    store_nrecords = (size_t)n;
    log_msg("index: recovered in %.0f ms after \"%s\": %zu records kept, %zu unreadable",
            mkv_now_ms() - t0, store_broken_why, rcvr.recovered_keys - rcvr.duplicate_keys,
            rcvr.failed_keys);
    atomic_store(&store_broken, 0);
    atomic_store(&store_broken_space, 0);
    store_retry_ms = STORE_RETRY_MIN_MS;
    store_moves++; /* a new file, in another order: a scan under way starts over */
    if (rcvr.failed_keys > 0 || rcvr.failed_buckets > 0) do_rescan_all();
    else if (store_doubt_len > 0) do_list_resync(store_doubt, store_doubt_len);
    store_doubt_len = 0;
    do_forget_pending();
    return 1;
}

/* do_failed -- a GDBM call for op failed: err says so. If GDBM marked
 * the handle as needing recovery, the store is broken and recovers now.
 * Returns 1 when the handle is usable (recovered, or never poisoned);
 * *space is set when the cause was a want of space. mu held. */
static int do_failed(const char *op, char *err, int *space) {
    int e = gdbm_last_syserr(store_db);

    *space = is_space_errno(e);
    mkv_seterr(err, "index %s: %s", op, gdbm_db_strerror(store_db));
    if (!gdbm_needs_recovery(store_db)) return 1;
    if (!atomic_load(&store_broken)) {
        snprintf(store_broken_why, sizeof(store_broken_why), "%s", err);
        atomic_store(&store_broken_space, *space);
        atomic_store(&store_broken, 1);
        store_retry_ms = STORE_RETRY_MIN_MS;
    }
    log_msg("%s; recovering the index", err);
    return do_recover();
}

/* do_usable -- mu held: 1 unless broken and (after a retry, if one is
 * due) still broken. */
static int do_usable(void) {
    if (!atomic_load(&store_broken)) return 1;
    if (mkv_now_ms() < atomic_load(&store_retry_at)) return 0;
    return do_recover();
}

/* do_fetch_broken -- a read while broken, from the handle's view: GDBM
 * keeps it whole in memory (every change of the failed update was made
 * there before its writes failed), but refuses every call until
 * recovered, so the refusal is lifted for this one fetch. Nothing that
 * writes GDBM's header or directory (a store, a delete, gdbm_sync) runs
 * until the rebuild, which starts from this same view. mu held. */
static datum do_fetch_broken(const char *key, size_t keylen) {
    gdbm_set_errno(store_db, GDBM_NO_ERROR, 0);
    return gdbm_fetch(store_db, mkdatum(key, keylen));
}

/* The key list is rebuilt from the file, when stale, by a loader thread,
 * so the server answers at once however large the index is. It reads
 * records in chunks while holding mu (as every writer does), so a key it
 * adds cannot have been deleted meanwhile, and every write meanwhile
 * updates the list itself. A write that adds or removes a record can
 * move others in GDBM's iteration order, so a scan during which one
 * happened may have missed keys: it is done again, the fourth time
 * holding mu throughout. */
static pthread_t store_loader;
static int store_loading;           /* loader thread running (main thread) */
static atomic_int store_stop;       /* store_close asks the loader to end */
static size_t store_bad;            /* unusable records seen by the scan */

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

#define STORE_LOAD_CHUNK 512 /* ~1 ms of holding mu */

/* do_list_ready -- the key list matches the file; mu held. */
static void do_list_ready(void) {
    atomic_store(&store_list_state, LIST_READY);
    store_list_retry_ms = 0;
    set_list_why("");
    pthread_mutex_lock(&store_ready_mu);
    pthread_cond_broadcast(&store_ready_cv);
    pthread_mutex_unlock(&store_ready_mu);
}

/* do_scan_chunk -- from *cursor (NULL: the first key), add up to n
 * records to the key list; mu held. Returns 1 while keys remain, 0 at
 * the end, MKV_ERR (err set) when the list cannot be written. */
static int do_scan_chunk(datum *cursor, size_t n, char *err) {
    struct record r;
    char rerr[MKV_ERRLEN];
    size_t queued = 0;
    datum k;

    k = cursor->dptr ? gdbm_nextkey(store_db, *cursor) : gdbm_firstkey(store_db);
    free(cursor->dptr);
    cursor->dptr = NULL;
    while (k.dptr != NULL) {
        datum v = gdbm_fetch(store_db, k);
        if (!usable_key(k.dptr, (size_t)k.dsize) || v.dptr == NULL ||
            record_decode(v.dptr, (size_t)v.dsize, &r, rerr) != MKV_OK) {
            store_bad++;
        } else {
            keylist_add(k.dptr, (size_t)k.dsize, set_of(&r));
            if (r.writing) do_orphan(k.dptr, (size_t)k.dsize);
            /* A whole-file chunk (the last scan) is written in pieces. */
            if (++queued % 4096 == 0 && keylist_flush(err) != MKV_OK) {
                free(v.dptr);
                free(k.dptr);
                return MKV_ERR;
            }
        }
        free(v.dptr);
        if (--n == 0) {
            *cursor = k;
            break;
        }
        datum next = gdbm_nextkey(store_db, k);
        free(k.dptr);
        k = next;
    }
    if (keylist_flush(err) != MKV_OK) {
        free(cursor->dptr);
        cursor->dptr = NULL;
        return MKV_ERR;
    }
    return cursor->dptr != NULL;
}

/* do_list_resync -- put key in the set its record says, or in none if
 * it has no usable record; mu held. */
static void do_list_resync(const char *key, size_t keylen) {
    enum keylist_set set = do_set_now(key, keylen);
    do_list_update(key, keylen, KEYLIST_NSETS, set == KEYLIST_NSETS ? KEYLIST_NONE : set);
}

/* do_rescan_all -- the key list again from the file, after a recovery
 * that could not keep every record; mu held. */
static void do_rescan_all(void) {
    if (atomic_load(&store_list_state) == LIST_OFF) return;
    set_list_why("a recovery lost records");
    store_list_retry_at = 0;
    atomic_store(&store_list_state, LIST_STALE);
    pthread_cond_signal(&store_loader_cv);
}

/* rebuild_list -- the loader's work when the list is stale: empty it and
 * fill it from the file. Returns with the list ready, or stale again
 * (after a failure, or when asked to stop). mu held on entry and exit. */
static void rebuild_list(void) {
    char err[MKV_ERRLEN];
    double t0 = mkv_now_ms();

    atomic_store(&store_list_state, LIST_REBUILDING);
    if (keylist_clear(err) != MKV_OK) {
        do_list_failed(err);
        return;
    }
    log_msg("index: building the key list for listing from the index (%zu records)",
            store_nrecords);
    for (int pass = 1; pass <= 4; pass++) {
        datum cursor = {NULL, 0};
        unsigned long moves = store_moves;
        int more = 1;
        store_bad = 0;
        while (more == 1) {
            if (atomic_load(&store_broken) || store_stop ||
                atomic_load(&store_list_state) != LIST_REBUILDING) {
                /* after the recovery, or a write the list missed (a
                 * writer marked it stale): again from the start */
                free(cursor.dptr);
                atomic_store(&store_list_state, LIST_STALE);
                return;
            }
            /* The last pass holds mu throughout: nothing can move. */
            more = do_scan_chunk(&cursor, pass < 4 ? STORE_LOAD_CHUNK : (size_t)-1, err);
            if (more == 1) {
                pthread_mutex_unlock(&store_mu);
                pthread_mutex_lock(&store_mu);
            }
        }
        if (more == MKV_ERR) {
            do_list_failed(err);
            return;
        }
        if (store_moves == moves) {
            if (store_bad)
                log_msg("index: %zu records with unusable keys or values are not listed",
                        store_bad);
            log_msg("index: key list built in %.1f s (%d scan%s)",
                    (mkv_now_ms() - t0) / 1000, pass, pass == 1 ? "" : "s");
            do_list_ready();
            return;
        }
    }
}

/* loader_main -- rebuild the key list whenever it is stale. */
static void *loader_main(void *unused) {
    (void)unused;
    pthread_mutex_lock(&store_mu);
    while (!store_stop) {
        if (atomic_load(&store_list_state) == LIST_STALE && !atomic_load(&store_broken) &&
            mkv_now_ms() >= store_list_retry_at) {
            rebuild_list();
            continue;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 100 * 1000000L;
        if (until.tv_nsec >= 1000000000L) {
            until.tv_sec++;
            until.tv_nsec -= 1000000000L;
        }
        pthread_cond_timedwait(&store_loader_cv, &store_mu, &until);
    }
    pthread_mutex_unlock(&store_mu);
    return NULL;
}

/* recover_at_open -- a file found needing recovery (a crash during a
 * write, or one that failed) is rebuilt before anything reads it; the
 * check pass goes first, so a file that is sound is not copied. */
static int recover_at_open(const char *path, char *err) {
    gdbm_recovery rcvr;
    struct leftovers before;
    gdbm_count_t n;

    char why[160];

    memset(&rcvr, 0, sizeof(rcvr));
    rcvr.errfun = recover_says;
    log_msg("index %s needs recovery (a crash or a failed write left it so): "
            "recovering", path);
    store_fd = gdbm_fdesc(store_db);
    if (!room_for_copy(why, sizeof(why))) {
        mkv_seterr(err, "cannot recover index %s: %s: free that much and start again",
                   path, why);
        return MKV_ERR;
    }
    list_leftovers(&before);
    if (gdbm_recover(store_db, &rcvr, GDBM_RCVR_ERRFUN) != 0 ||
        gdbm_count(store_db, &n) != 0) {
        int e = gdbm_last_syserr(store_db);
        remove_new_leftovers(&before);
        mkv_seterr(err, "cannot recover index %s: %s%s%s (a recovery writes a copy "
                   "of the file beside it: free that much space and start again)",
                   path, gdbm_db_strerror(store_db), e ? ": " : "", e ? strerror(e) : "");
        return MKV_ERR;
    }
    bound_cache();
    log_msg("index %s recovered: %zu records kept, %zu unreadable", path,
            rcvr.recovered_keys ? rcvr.recovered_keys - rcvr.duplicate_keys : (size_t)n,
            rcvr.failed_keys);
    return MKV_OK;
}

/* stamp_of -- the file's identity for the key list (keylist.h). */
static int stamp_of(const char *path, struct keylist_stamp *st) {
    struct stat sb;
    if (stat(path, &sb) != 0) return MKV_ERR;
    st->dev = (uint64_t)sb.st_dev;
    st->ino = (uint64_t)sb.st_ino;
    st->size = (uint64_t)sb.st_size;
    st->mtime_ns = (int64_t)sb.st_mtim.tv_sec * 1000000000 + sb.st_mtim.tv_nsec;
    st->nrecords = 0;
    return MKV_OK;
}

/* orphan_of_list -- keylist_each's callback over the writing set. */
static int orphan_of_list(const char *key, size_t keylen, void *arg) {
    (void)arg;
    do_orphan(key, keylen);
    return 0;
}

/* open_list -- (server) open the key list beside path. When it was
 * closed cleanly with this very file (as stamped before GDBM opened it)
 * it is ready at once, and gives the record count and the writes left in
 * progress; otherwise it is stale, for the loader to rebuild. Either way
 * it is marked in use first, so a crash from here on leaves it stale.
 * Returns 1 when the list is ready. mu not needed (no loader yet). */
static int open_list(const char *path, int have_stamp, struct keylist_stamp *st) {
    char lpath[4096 + 8], lerr[MKV_ERRLEN];
    int fresh;

    snprintf(lpath, sizeof(lpath), "%s.keys", path);
    store_list_retry_at = store_list_retry_ms = 0;
    set_list_why("");
    if (keylist_open(lpath, lerr) != MKV_OK) {
        /* Unreadable (damaged, say): it is only a copy, so start afresh. */
        log_msg("index: %s; removing it, to build it again", lerr);
        if (keylist_destroy(lpath, lerr) != MKV_OK || keylist_open(lpath, lerr) != MKV_OK) {
            log_msg("index: %s; listing is off", lerr);
            set_list_why(lerr);
            atomic_store(&store_list_state, LIST_OFF);
            return 0;
        }
        have_stamp = 0;
    }
    fresh = have_stamp && keylist_fresh(st) && !gdbm_needs_recovery(store_db);
    if (keylist_mark(NULL, lerr) != MKV_OK) {
        fresh = 0;
        do_list_failed(lerr);
    } else if (!fresh) {
        set_list_why(have_stamp ? "none was closed cleanly with this index file"
                                : "there was none that could be read");
        atomic_store(&store_list_state, LIST_STALE);
    }
    if (fresh) {
        if (keylist_each(KEYLIST_WRITING, "", 0, NULL, 0, 0, orphan_of_list, NULL,
                         lerr) != MKV_OK) {
            do_list_failed(lerr);
            return 0;
        }
        do_list_ready();
    }
    return fresh;
}

int store_open(const char *path, enum store_mode mode, int sync, char *err) {
    /* Read and written with read(2)/write(2), not mapped: GDBM maps the
     * file exactly to its size and maps it afresh each time it grows
     * past that, so in a 12 GB file (100M keys) a write now and then
     * unmapped all of it and every request after faulted it back in
     * (thrasher at 100M keys: 2,700-3,200 rounds/s mapped, 3,600-3,700
     * not; GETs the same either way). */
    int flags = (mode == STORE_NEW ? GDBM_NEWDB : GDBM_WRCREAT) | GDBM_NOMMAP;
    struct keylist_stamp st;
    int have_stamp = mode == STORE_SERVE && stamp_of(path, &st) == MKV_OK;

    errno = 0;
    store_db = gdbm_open(path, 0, flags | GDBM_CLOEXEC, 0644, NULL);
    if (store_db == NULL) {
        if (gdbm_errno == GDBM_CANT_BE_WRITER)
            mkv_seterr(err, "index %s is in use by another process", path);
        else
            mkv_seterr(err, "cannot open index %s: %s%s%s", path,
                       gdbm_strerror(gdbm_errno), errno ? ": " : "",
                       errno ? strerror(errno) : "");
        return MKV_ERR;
    }
    free(store_path);
    store_path = strdup(path);
    if (store_path == NULL) {
        mkv_seterr(err, "out of memory");
        store_close();
        return MKV_ERR;
    }
    store_sync = sync;
    bound_cache();
    gdbmdir_watch(store_db); /* (else its directory is written whole, as GDBM does) */
    store_fd = gdbm_fdesc(store_db);
    atomic_store(&store_broken, 0);
    store_dir_bits = -1;
    if (mode == STORE_SERVE) {
        gdbm_count_t n;
        store_moves = 0;
        if (open_list(path, have_stamp, &st)) {
            /* Closed cleanly with the list: neither a check nor a count. */
            store_nrecords = (size_t)st.nrecords;
        } else {
            if ((gdbm_needs_recovery(store_db) || gdbm_count(store_db, &n) != 0) &&
                recover_at_open(path, err) != MKV_OK) {
                store_close();
                return MKV_ERR;
            }
            store_fd = gdbm_fdesc(store_db);
            if (gdbm_count(store_db, &n) != 0) {
                mkv_seterr(err, "cannot count the index: %s", gdbm_db_strerror(store_db));
                store_close();
                return MKV_ERR;
            }
            store_nrecords = (size_t)n;
        }
        do_track_directory();
        store_stop = 0;
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

int store_reserve(uint64_t min_free, char *err) {
    int rc;
    pthread_mutex_lock(&store_mu);
    rc = space_open(store_path, store_fd, min_free, err);
    if (rc == MKV_OK && store_dir_bits >= 0)
        space_directory((uint64_t)sizeof(off_t) << store_dir_bits);
    pthread_mutex_unlock(&store_mu);
    return rc;
}

void store_close(void) {
    int clean = 0;

    if (store_loading) {
        pthread_mutex_lock(&store_mu);
        store_stop = 1;
        pthread_cond_signal(&store_loader_cv);
        pthread_mutex_unlock(&store_mu);
        pthread_join(store_loader, NULL);
        store_loading = 0;
    }
    pthread_mutex_lock(&store_mu);
    if (store_db != NULL) {
        if (atomic_load(&store_broken) && !do_recover()) {
            /* No gdbm_sync: it would write the failed update's header. */
            log_msg("index: closing while it needs recovery (%s): it will be "
                    "recovered from the file at the next start, which may not hold "
                    "every write acknowledged before \"%s\"", store_waiting,
                    store_broken_why);
        } else {
            clean = gdbm_sync(store_db) == 0;
        }
        gdbmdir_forget(store_db);
        gdbm_close(store_db);
        store_db = NULL;
        store_fd = -1;
    }
    space_close(); /* gives back the runway: a write to the file */
    /* The list is trusted at the next start only when it matches the file
     * as closed now. */
    if (clean && atomic_load(&store_list_state) == LIST_READY) {
        struct keylist_stamp st;
        char lerr[MKV_ERRLEN];
        if (stamp_of(store_path, &st) == MKV_OK) {
            st.nrecords = store_nrecords;
            if (keylist_mark(&st, lerr) != MKV_OK)
                log_msg("index: %s: the key list will be rebuilt at the next start", lerr);
        }
    }
    keylist_close();
    atomic_store(&store_list_state, LIST_OFF);
    while (store_orphans) {
        struct orphan *o = store_orphans;
        store_orphans = o->next;
        free(o);
    }
    store_orphan_fn = NULL;
    while (store_forget) {
        struct forget *f = store_forget;
        store_forget = f->next;
        free(f);
    }
    store_nforget = 0;
    pthread_mutex_unlock(&store_mu);
}

enum store_found store_get(const char *key, size_t keylen, struct record *r,
                           char *err) {
    datum v;
    int space;

    pthread_mutex_lock(&store_mu);
    if (!do_usable()) {
        v = do_fetch_broken(key, keylen);
    } else {
        v = gdbm_fetch(store_db, mkdatum(key, keylen));
        if (v.dptr == NULL && gdbm_last_errno(store_db) != GDBM_ITEM_NOT_FOUND &&
            do_failed("read", err, &space))
            v = gdbm_fetch(store_db, mkdatum(key, keylen)); /* once more, recovered */
        else if (v.dptr == NULL && atomic_load(&store_broken))
            v = do_fetch_broken(key, keylen);
    }
    if (v.dptr == NULL) {
        enum store_found rc = gdbm_last_errno(store_db) == GDBM_ITEM_NOT_FOUND
                                  ? STORE_ABSENT : STORE_DOWN;
        if (rc == STORE_DOWN) mkv_seterr(err, "index read: %s", gdbm_db_strerror(store_db));
        pthread_mutex_unlock(&store_mu);
        return rc;
    }
    pthread_mutex_unlock(&store_mu);
    if (record_decode(v.dptr, (size_t)v.dsize, r, err) != MKV_OK) {
        free(v.dptr);
        return STORE_BAD;
    }
    free(v.dptr);
    return STORE_FOUND;
}

enum store_admission store_admit(uint64_t need, char *why) {
    if (atomic_load(&store_broken)) {
        int usable;
        pthread_mutex_lock(&store_mu);
        usable = do_usable();
        if (!usable)
            mkv_seterr(why, "index read-only until it is recovered after \"%s\"",
                       store_broken_why);
        pthread_mutex_unlock(&store_mu);
        if (!usable) return atomic_load(&store_broken_space) ? STORE_NO_ROOM : STORE_BROKEN;
    }
    return space_admit(need, why) == MKV_OK ? STORE_ADMITTED : STORE_NO_ROOM;
}

int store_state(char *out, size_t len) {
    if (atomic_load(&store_broken)) {
        int usable;
        pthread_mutex_lock(&store_mu);
        usable = do_usable();
        if (!usable)
            snprintf(out, len, "broken: \"%s\"; reads go on from memory, writes wait "
                     "for the file to be rebuilt (%s)", store_broken_why, store_waiting);
        pthread_mutex_unlock(&store_mu);
        if (!usable) return 0;
    }
    return space_describe(out, len);
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
    int n = record_encode(r, buf, err), rc = MKV_OK, space;

    if (n < 0) return MKV_ERR;
    pthread_mutex_lock(&store_mu);
    if (!do_usable()) {
        mkv_seterr(err, "index needs recovery after \"%s\"", store_broken_why);
        rc = atomic_load(&store_broken_space) ? STORE_ERR_SPACE : MKV_ERR;
    } else {
        enum keylist_set was = do_set_now(key, keylen);
        int existed = was != KEYLIST_NONE;
        if (gdbm_store(store_db, mkdatum(key, keylen), mkdatum(buf, (size_t)n),
                       GDBM_REPLACE) != 0) {
            /* Recovered or not, the record may be the old or the new one:
             * the key list follows what the file says. */
            if (do_failed("write", err, &space)) {
                do_list_resync(key, keylen);
            } else if (keylen <= sizeof(store_doubt)) {
                memcpy(store_doubt, key, keylen); /* resynced once recovered */
                store_doubt_len = keylen;
            }
            rc = space ? STORE_ERR_SPACE : MKV_ERR;
        } else {
            if (!existed) {
                store_nrecords++;
                store_moves++;
            }
            do_track_directory();
            rc = do_sync(err);
            do_list_update(key, keylen, was, set_of(r));
        }
    }
    pthread_mutex_unlock(&store_mu);
    return rc;
}

/* do_remember -- key is to be deleted once the index is recovered; mu
 * held. */
static void do_remember(const char *key, size_t keylen) {
    struct forget *f;
    if (store_nforget >= STORE_FORGET_MAX || (f = malloc(sizeof(*f) + keylen)) == NULL) {
        log_limited(LOG_INDEX, "index: too many deletes wait for the recovery: "
                    "a record is left behind");
        return;
    }
    f->keylen = keylen;
    memcpy(f->key, key, keylen);
    f->next = store_forget;
    store_forget = f;
    store_nforget++;
}

int store_delete(const char *key, size_t keylen, char *err) {
    int rc, space;
    enum keylist_set was;

    pthread_mutex_lock(&store_mu);
    if (!do_usable()) {
        mkv_seterr(err, "index needs recovery after \"%s\"; the record goes once "
                   "it is recovered", store_broken_why);
        do_remember(key, keylen);
        pthread_mutex_unlock(&store_mu);
        return MKV_ERR;
    }
    was = do_set_now(key, keylen);
    rc = gdbm_delete(store_db, mkdatum(key, keylen));
    if (rc != 0 && gdbm_last_errno(store_db) != GDBM_ITEM_NOT_FOUND &&
        do_failed("delete", err, &space)) {
        was = KEYLIST_NSETS; /* the recovery may have lost or kept it */
        rc = gdbm_delete(store_db, mkdatum(key, keylen)); /* once more, recovered */
    }
    if (rc != 0 && gdbm_last_errno(store_db) == GDBM_ITEM_NOT_FOUND) {
        /* After a recovery the first delete may have taken effect after
         * all: the list follows the file. */
        if (was == KEYLIST_NSETS) do_list_resync(key, keylen);
        rc = STORE_ABSENT;
    } else if (rc != 0) {
        mkv_seterr(err, "index delete: %s", gdbm_db_strerror(store_db));
        if (atomic_load(&store_broken)) do_remember(key, keylen);
        else do_list_resync(key, keylen);
        rc = MKV_ERR;
    } else {
        store_nrecords--;
        store_moves++;
        rc = do_sync(err) == MKV_OK ? STORE_FOUND : MKV_ERR;
        do_list_update(key, keylen, was, KEYLIST_NONE);
    }
    pthread_mutex_unlock(&store_mu);
    return rc;
}

int store_list(int unlinked, const char *prefix, size_t plen, const char *start,
               size_t slen, int after,
               int (*fn)(const char *key, size_t keylen, void *arg), void *arg,
               char *err) {
    /* A walk of a list being rebuilt would end early without a word. */
    if (atomic_load(&store_list_state) != LIST_READY) {
        mkv_seterr(err, "the key list is not ready (being rebuilt, or failed)");
        return MKV_ERR;
    }
    return keylist_each(unlinked ? KEYLIST_UNLINKED : KEYLIST_LIVE, prefix, plen, start,
                        slen, after, fn, arg, err);
}

int store_fsync(char *err) {
    int rc = MKV_OK;
    pthread_rwlock_rdlock(&store_fd_lock);
    if (fsync(store_fd) != 0) {
        mkv_seterr(err, "index fsync: %s", strerror(errno));
        rc = MKV_ERR;
    }
    pthread_rwlock_unlock(&store_fd_lock);
    return rc;
}

size_t store_count(void) {
    size_t n;
    pthread_mutex_lock(&store_mu);
    n = store_nrecords;
    pthread_mutex_unlock(&store_mu);
    return n;
}

int store_listable(long wait_ms, char *why) {
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
    while (atomic_load(&store_list_state) != LIST_READY && wait_ms > 0 &&
           pthread_cond_timedwait(&store_ready_cv, &store_ready_mu, &until) == 0)
        ;
    pthread_mutex_unlock(&store_ready_mu);
    ready = atomic_load(&store_list_state) == LIST_READY;
    if (!ready && why != NULL) {
        int st = atomic_load(&store_list_state);
        pthread_mutex_lock(&store_why_mu);
        if (st == LIST_OFF)
            mkv_seterr(why, "listing is off: %s", store_list_why);
        else if (st == LIST_REBUILDING)
            mkv_seterr(why, "the key list is being built from the index (%s)",
                       store_list_why[0] ? store_list_why : "it was stale");
        else
            mkv_seterr(why, "the key list is stale (%s) and is to be rebuilt",
                       store_list_why);
        pthread_mutex_unlock(&store_why_mu);
    }
    return ready;
}
