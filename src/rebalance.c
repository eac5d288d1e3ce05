/* rebalance.c -- `mkv-index rebalance`: move every key to where placement
 * puts it for the given volumes and replica count.
 *
 * Per key: copy the value to each new replica (streamed from a current
 * one), then rewrite the record, then delete the copies no longer named.
 * Until the record is rewritten the old copies are untouched, so a
 * failure or an interruption at any point loses nothing; running the
 * command again finishes the work. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "maint.h"
#include "placement.h"
#include "progress.h"
#include "store.h"
#include "stream.h"
#include "volclient.h"

#define REBALANCE_THREADS 8
#define REBALANCE_RING (1024 * 1024)

struct keyref {
    char *key;
    size_t len;
};

static const struct opts *rl_opts;
static struct progress rl_progress;
static struct keyref *rl_keys;
static size_t rl_nkeys, rl_cap;
static atomic_size_t rl_next;
static atomic_long rl_moved;

static int collect(const char *key, size_t keylen, void *arg) {
    (void)arg;
    if (rl_nkeys == rl_cap) {
        size_t cap = rl_cap ? 2 * rl_cap : 4096;
        struct keyref *k = realloc(rl_keys, cap * sizeof(*k));
        if (k == NULL) return 1;
        rl_keys = k;
        rl_cap = cap;
    }
    rl_keys[rl_nkeys].key = malloc(keylen);
    if (rl_keys[rl_nkeys].key == NULL) return 1;
    memcpy(rl_keys[rl_nkeys].key, key, keylen);
    rl_keys[rl_nkeys++].len = keylen;
    return 0;
}

struct fetch {
    const char *url;
    struct stream *s;
    enum vol_result vr;
    long status;
    char err[MKV_ERRLEN];
};

static void *fetch_thread(void *arg) {
    struct fetch *f = arg;
    f->vr = vol_get_stream(f->url, f->s, &f->status, f->err);
    vol_thread_done();
    return NULL;
}

/* copy_value -- stream src's value to dst. MKV_ERR with err set. */
static int copy_value(const char *src, const char *dst, char *err) {
    struct stream s;
    struct fetch f = {src, &s, VOL_FAILED, 0, ""};
    pthread_t tid;
    enum vol_result vr;
    long st;

    if (stream_init(&s, REBALANCE_RING, 1) != MKV_OK) {
        mkv_seterr(err, "out of memory");
        return MKV_ERR;
    }
    if (pthread_create(&tid, NULL, fetch_thread, &f) != 0) {
        stream_destroy(&s);
        mkv_seterr(err, "cannot start a thread");
        return MKV_ERR;
    }
    vr = vol_put(dst, &s, 0, -1, &st, err);
    if (vr != VOL_OK || (st != 201 && st != 204)) stream_abort(&s);
    pthread_join(tid, NULL);
    stream_destroy(&s);
    if (f.vr != VOL_OK || f.status != 200) {
        if (f.vr == VOL_OK) mkv_seterr(err, "GET %s answered %ld", src, f.status);
        else mkv_seterr(err, "GET %s: %s", src, f.err);
        return MKV_ERR;
    }
    if (vr != VOL_OK || (st != 201 && st != 204)) {
        if (vr == VOL_OK) mkv_seterr(err, "PUT %s answered %ld", dst, st);
        return MKV_ERR;
    }
    return MKV_OK;
}

static int named(const struct record *r, const char *v) {
    for (int i = 0; i < r->nvolumes; i++)
        if (strcmp(r->volumes[i], v) == 0) return 1;
    return 0;
}

/* move_key -- one key; MKV_ERR when it could not be moved (record kept). */
static int move_key(const char *key, size_t keylen) {
    char want[RECORD_MAX_VOLUMES][PLACEMENT_VOLUME_MAX + 8];
    char path[PLACEMENT_PATH_MAX], src[VOL_URL_MAX], dst[VOL_URL_MAX];
    char err[MKV_ERRLEN];
    struct record rec, next;
    int same = 1, i, j, rc;
    long st;

    rc = store_get(key, keylen, &rec, err);
    if (rc <= 0) {
        if (rc < 0) log_msg("rebalance: %s", err);
        return rc < 0 ? MKV_ERR : MKV_OK; /* gone meanwhile: nothing to do */
    }
    placement_replicas(rl_opts->volumes, rl_opts->nvolumes, rl_opts->replicas,
                       rl_opts->subvolumes, key, keylen, want);
    if (rec.nvolumes != rl_opts->replicas) same = 0;
    for (i = 0; same && i < rec.nvolumes; i++)
        if (strcmp(rec.volumes[i], want[i]) != 0) same = 0;
    if (same) return MKV_OK;

    placement_path(key, keylen, path);
    next = rec;
    for (i = 0; i < rec.nvolumes; i++) /* rebase into next's own buffer */
        next.volumes[i] = next.buf + (rec.volumes[i] - rec.buf);
    for (i = 0; i < rl_opts->replicas; i++) {
        if (named(&rec, want[i])) continue;
        vol_url(dst, want[i], path);
        for (j = 0; j < rec.nvolumes; j++) {
            vol_url(src, rec.volumes[j], path);
            if (copy_value(src, dst, err) == MKV_OK) break;
            log_msg("rebalance: copy %s -> %s: %s", src, dst, err);
        }
        if (j == rec.nvolumes) {
            log_msg("rebalance: key %.*s kept where it was: no copy could be made",
                    (int)(keylen > 200 ? 200 : keylen), key);
            return MKV_ERR;
        }
    }
    next.nvolumes = rl_opts->replicas;
    for (i = 0; i < rl_opts->replicas; i++) next.volumes[i] = want[i];
    if (store_put(key, keylen, &next, err) != MKV_OK) {
        log_msg("rebalance: %s", err);
        return MKV_ERR;
    }
    rc = MKV_OK;
    for (i = 0; i < rec.nvolumes; i++) {
        int wanted = 0;
        for (j = 0; j < rl_opts->replicas; j++)
            if (strcmp(rec.volumes[i], want[j]) == 0) wanted = 1;
        if (wanted) continue;
        vol_url(src, rec.volumes[i], path);
        if (vol_delete(src, &st, err) != VOL_OK || (st != 204 && st != 404 && st != 200)) {
            log_msg("rebalance: stale copy %s not removed: %s", src,
                    st ? "unexpected status" : err);
            rc = MKV_ERR;
        }
    }
    atomic_fetch_add(&rl_moved, 1);
    return rc;
}

static void *move_thread(void *unused) {
    size_t i;
    (void)unused;
    while ((i = atomic_fetch_add(&rl_next, 1)) < rl_nkeys) {
        if (move_key(rl_keys[i].key, rl_keys[i].len) != MKV_OK)
            atomic_fetch_add(&rl_progress.errors, 1);
        atomic_fetch_add(&rl_progress.done, 1);
    }
    vol_thread_done();
    return NULL;
}

int rebalance_run(const struct opts *o) {
    pthread_t tids[REBALANCE_THREADS];
    char err[MKV_ERRLEN];
    int n = 0;

    rl_opts = o;
    if (store_open(o->index, STORE_SERVE, 0, err) != MKV_OK) {
        log_msg("rebalance: %s%s", err,
                strstr(err, "in use") ? "; stop the server first" : "");
        return 1;
    }
    if (vol_init(o->connect_timeout_ms, o->voltimeout_ms, o->stall_timeout_ms, err) != MKV_OK) {
        log_msg("rebalance: %s", err);
        store_close();
        return 1;
    }
    store_listable(24L * 3600 * 1000); /* all keys, however long it takes */
    store_list(0, "", 0, NULL, 0, collect, NULL);
    store_list(1, "", 0, NULL, 0, collect, NULL);
    progress_start(&rl_progress, "rebalance", (long)rl_nkeys);
    for (int i = 0; i < REBALANCE_THREADS; i++)
        if (pthread_create(&tids[n], NULL, move_thread, NULL) == 0) n++;
    if (n == 0) move_thread(NULL);
    for (int i = 0; i < n; i++) pthread_join(tids[i], NULL);
    progress_stop(&rl_progress, "keys checked");
    log_msg("rebalance: %ld of %zu keys moved, %ld errors", atomic_load(&rl_moved),
            rl_nkeys, atomic_load(&rl_progress.errors));
    store_close();
    vol_cleanup();
    for (size_t i = 0; i < rl_nkeys; i++) free(rl_keys[i].key);
    free(rl_keys);
    return atomic_load(&rl_progress.errors) ? 1 : 0;
}
