/* reconcile.c -- `mkv-index reconcile`: make the volumes agree with the
 * index.
 *
 * It holds the index's writer lock for its whole run (store_open), so no
 * server or other command writes meanwhile. First every volume's tree is
 * read (volwalk.c). Each file is looked up: a file that a live or
 * unlinked record names (that volume, that name form) is kept, and with
 * --verify its md5 is checked against the record's; any other file (no
 * record, a WRITING one, another volume or the other name form, or a name
 * that is no key's) is deleted once its mtime is --grace seconds old, so
 * a write in flight -- a late PUT nginx still carries out -- is never
 * touched. Then every live and unlinked record is checked against the
 * copies found: a replica missing (or, with --verify, not matching) on a
 * volume that was read in full is copied back from a good replica, to
 * the same volume and name, so the record needs no change. With
 * --dry-run nothing is deleted or copied, only reported. Exit status 0
 * only when nothing is left wrong. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "maint.h"
#include "placement.h"
#include "progress.h"
#include "store.h"
#include "volclient.h"
#include "volwalk.h"

#define RECONCILE_THREADS 8

/* What is known of a copy a record names. */
enum copy_state {
    COPY_GOOD = 0,                /* there (and, with --verify, its md5 is
                                     the record's, or the record has none) */
    COPY_BAD,                     /* --verify: its md5 is not the record's */
    COPY_UNREAD                   /* --verify could not read it */
};

struct named {                    /* a file a record names, as found */
    char *key;
    size_t keylen;
    int vol;                      /* index into the VOLUME arguments */
    char root[6];                 /* "" or "/svXX" */
    enum copy_state state;
};

static const struct opts *rc_opts;
static struct progress rc_progress;
static int64_t rc_now;            /* seconds since the epoch, at the start */
static int rc_incomplete[OPTS_MAX_VOLUMES]; /* volwalk_run's */
static atomic_int rc_unjudged[OPTS_MAX_VOLUMES]; /* a named copy not kept */
static pthread_mutex_t rc_mu = PTHREAD_MUTEX_INITIALIZER;
static struct named *rc_named;
static size_t rc_nnamed, rc_capnamed;
static struct maint_keys rc_keys;
static atomic_long rc_unnamed, rc_removed, rc_young, rc_missing, rc_mismatched,
    rc_restored, rc_lost, rc_unchecked;

static int by_copy(const void *a, const void *b) {
    const struct named *x = a, *y = b;
    size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
    int c = memcmp(x->key, y->key, n);
    if (c) return c;
    if (x->keylen != y->keylen) return x->keylen < y->keylen ? -1 : 1;
    if (x->vol != y->vol) return x->vol < y->vol ? -1 : 1;
    return strcmp(x->root, y->root);
}

/* add_named -- keep a named copy for the record pass. */
static void add_named(const struct volwalk_file *f, enum copy_state state) {
    struct named *n;
    pthread_mutex_lock(&rc_mu);
    if ((n = mkv_grow(rc_named, &rc_capnamed, rc_nnamed, sizeof(*n), 4096)) == NULL) goto oom;
    rc_named = n;
    n = &rc_named[rc_nnamed];
    if ((n->key = malloc(f->keylen)) == NULL) goto oom;
    memcpy(n->key, f->key, f->keylen);
    n->keylen = f->keylen;
    n->vol = f->vol;
    snprintf(n->root, sizeof(n->root), "%s", f->volume + strlen(rc_opts->volumes[f->vol]));
    n->state = state;
    rc_nnamed++;
    pthread_mutex_unlock(&rc_mu);
    return;
oom:
    /* Without it the copy would look missing: leave that volume unjudged. */
    atomic_store(&rc_unjudged[f->vol], 1);
    pthread_mutex_unlock(&rc_mu);
    log_msg("reconcile: out of memory; replicas on %s are not checked", f->volume);
    atomic_fetch_add(&rc_progress.errors, 1);
}

/* unnamed -- a file no record names: delete it if old enough. */
static void unnamed(const struct volwalk_file *f, const char *why) {
    char url[VOL_URL_MAX], err[MKV_ERRLEN];
    enum vol_result vr;
    long st = 0;

    vol_url(url, f->volume, f->path);
    if (f->mtime < 0 || rc_now - f->mtime < rc_opts->grace_s) {
        atomic_fetch_add(&rc_young, 1);
        return; /* maybe a write in flight: not judged */
    }
    atomic_fetch_add(&rc_unnamed, 1);
    if (rc_opts->dry_run) {
        log_msg("reconcile: %s: %s; would be removed", url, why);
        return;
    }
    vr = vol_delete(url, &st, err);
    if (vol_gone(vr, st)) {
        log_msg("reconcile: %s: %s; removed", url, why);
        atomic_fetch_add(&rc_removed, 1);
    } else {
        log_msg("reconcile: %s: %s; cannot remove it: %s", url, why,
                st ? "unexpected status" : err);
        atomic_fetch_add(&rc_progress.errors, 1);
    }
}

/* names -- rec names the file f (its volume and its name form). */
static int names(const struct record *rec, const struct volwalk_file *f) {
    char path[PLACEMENT_PATH_MAX];
    placement_path(f->key, f->keylen, rec->flat, path);
    if (strcmp(path, f->path) != 0) return 0;
    for (int i = 0; i < rec->nvolumes; i++)
        if (strcmp(record_volume(rec, i), f->volume) == 0) return 1;
    return 0;
}

/* verify -- with --verify, the state of a named copy whose record has an
 * md5; else COPY_GOOD. */
static enum copy_state verify(const struct record *rec, const struct volwalk_file *f) {
    char url[VOL_URL_MAX], err[MKV_ERRLEN], md5[33];
    long st = 0;

    if (!rc_opts->verify || rec->hash[0] == '\0') return COPY_GOOD;
    vol_url(url, f->volume, f->path);
    if (vol_get_md5(url, md5, &st, err) != VOL_OK || st != 200) {
        log_msg("reconcile: md5 of %s: %s", url, st ? "unexpected status" : err);
        atomic_fetch_add(&rc_progress.errors, 1);
        return COPY_UNREAD;
    }
    if (strcmp(md5, rec->hash) == 0) return COPY_GOOD;
    log_msg("reconcile: %s: md5 %s, the record says %s", url, md5, rec->hash);
    atomic_fetch_add(&rc_mismatched, 1);
    return COPY_BAD;
}

/* found -- volwalk_run's callback: judge one file. */
static void found(const struct volwalk_file *f, void *arg) {
    char err[MKV_ERRLEN];
    struct record rec;
    enum store_found got;

    (void)arg;
    atomic_fetch_add(&rc_progress.done, 1);
    if (f->key == NULL) {
        unnamed(f, f->why);
        return;
    }
    got = store_get(f->key, f->keylen, &rec, err);
    if (got == STORE_BAD || got == STORE_DOWN) {
        log_msg("reconcile: %s%s: left alone: %s", f->volume, f->path, err);
        atomic_fetch_add(&rc_progress.errors, 1);
        return;
    }
    if (got == STORE_ABSENT) unnamed(f, "no record");
    else if (rec.writing) unnamed(f, "its record is a write that never finished");
    else if (!names(&rec, f)) unnamed(f, "its record names another copy");
    else add_named(f, verify(&rec, f));
}

/* find -- the copy of key on vol/root found by the walk, or NULL. */
static const struct named *find(const char *key, size_t keylen, int vol, const char *root) {
    struct named want;
    want.key = (char *)key;
    want.keylen = keylen;
    want.vol = vol;
    snprintf(want.root, sizeof(want.root), "%s", root);
    return bsearch(&want, rc_named, rc_nnamed, sizeof(*rc_named), by_copy);
}

/* given -- the VOLUME argument a record's volume is on ("host:port" or
 * "host:port/svXX"), with its root, or -1. */
static int given(const char *volume, const char **root) {
    for (int v = 0; v < rc_opts->nvolumes; v++) {
        size_t n = strlen(rc_opts->volumes[v]);
        if (strncmp(volume, rc_opts->volumes[v], n) == 0 &&
            (volume[n] == '\0' || (volume[n] == '/' && strlen(volume + n) == 5))) {
            *root = volume + n;
            return v;
        }
    }
    return -1;
}

/* check_key -- every replica of one record: restore what is missing or
 * bad from a good one. MKV_ERR when something is left wrong. */
static int check_key(const char *key, size_t keylen) {
    char err[MKV_ERRLEN], path[PLACEMENT_PATH_MAX], src[VOL_URL_MAX], dst[VOL_URL_MAX];
    int fix[RECORD_MAX_VOLUMES], nfix = 0, good = -1, rc = MKV_OK;
    struct record rec;
    enum store_found got = store_get(key, keylen, &rec, err);

    if (got == STORE_BAD || got == STORE_DOWN) {
        log_msg("reconcile: key %.*s: %s", (int)(keylen > 200 ? 200 : keylen), key, err);
        return MKV_ERR;
    }
    if (got == STORE_ABSENT || rec.writing) return MKV_OK;
    for (int i = 0; i < rec.nvolumes; i++) {
        const char *root = "";
        const struct named *c;
        int v = given(record_volume(&rec, i), &root);
        if (v < 0 || rc_incomplete[v] || atomic_load(&rc_unjudged[v])) {
            atomic_fetch_add(&rc_unchecked, 1);
            continue;
        }
        c = find(key, keylen, v, root);
        if (c == NULL) atomic_fetch_add(&rc_missing, 1);
        if (c == NULL || c->state == COPY_BAD) fix[nfix++] = i;
        else if (c->state == COPY_GOOD && good < 0) good = i;
    }
    if (nfix == 0) return MKV_OK;
    placement_path(key, keylen, rec.flat, path);
    if (good < 0) {
        log_msg("reconcile: key %.*s: no good copy left to restore %d replica%s from",
                (int)(keylen > 200 ? 200 : keylen), key, nfix, nfix == 1 ? "" : "s");
        atomic_fetch_add(&rc_lost, 1);
        return MKV_ERR;
    }
    vol_url(src, record_volume(&rec, good), path);
    for (int i = 0; i < nfix; i++) {
        vol_url(dst, record_volume(&rec, fix[i]), path);
        if (rc_opts->dry_run) {
            log_msg("reconcile: %s would be copied from %s", dst, src);
            rc = MKV_ERR;
        } else if (vol_copy(src, dst, err) == MKV_OK) {
            log_msg("reconcile: %s restored from %s", dst, src);
            atomic_fetch_add(&rc_restored, 1);
        } else {
            log_msg("reconcile: %s not restored: %s", dst, err);
            rc = MKV_ERR;
        }
    }
    return rc;
}

int reconcile_run(const struct opts *o) {
    char err[MKV_ERRLEN];
    long files, walk_errors, left;
    int partial, incomplete = 0;

    rc_opts = o;
    rc_now = (int64_t)time(NULL);
    if (store_open(o->index, STORE_SERVE, 0, err) != MKV_OK) {
        log_msg("reconcile: %s%s", err, strstr(err, "in use") ? "; stop the server first" : "");
        return 1;
    }
    if (vol_init(o->connect_timeout_ms, o->voltimeout_ms, o->stall_timeout_ms, err) != MKV_OK) {
        log_msg("reconcile: %s", err);
        store_close();
        return 1;
    }
    progress_start(&rc_progress, "reconcile", 0);
    volwalk_run(o->volumes, o->nvolumes, "reconcile", &rc_progress.errors, found, NULL,
                rc_incomplete);
    progress_stop(&rc_progress, "files checked");
    files = atomic_load(&rc_progress.done);
    walk_errors = atomic_load(&rc_progress.errors);
    for (int v = 0; v < o->nvolumes; v++)
        if (rc_incomplete[v]) {
            log_msg("reconcile: %s could not be read in full; its replicas are not checked",
                    o->volumes[v]);
            incomplete = 1;
        }
    qsort(rc_named, rc_nnamed, sizeof(*rc_named), by_copy);

    partial = maint_keys(&rc_keys, err) != MKV_OK;
    progress_start(&rc_progress, "reconcile", (long)rc_keys.n);
    if (partial) {
        log_msg("reconcile: %s; %zu keys checked", err, rc_keys.n);
        atomic_fetch_add(&rc_progress.errors, 1);
    }
    maint_each_key(&rc_keys, RECONCILE_THREADS, check_key, &rc_progress);
    progress_stop(&rc_progress, "keys checked");

    left = walk_errors + atomic_load(&rc_progress.errors) + incomplete;
    if (o->dry_run) left += atomic_load(&rc_unnamed);
    log_msg("reconcile: %ld files and %zu keys checked; %ld unnamed file%s %s, %ld younger "
            "than %lds left; %ld replica%s missing, %ld with the wrong md5, %ld restored, "
            "%ld key%s with no good copy; %ld replica%s on volumes not read; %s",
            files, rc_keys.n, atomic_load(&rc_unnamed), atomic_load(&rc_unnamed) == 1 ? "" : "s",
            o->dry_run ? "to remove" : "removed", atomic_load(&rc_young), o->grace_s,
            atomic_load(&rc_missing), atomic_load(&rc_missing) == 1 ? "" : "s",
            atomic_load(&rc_mismatched), atomic_load(&rc_restored), atomic_load(&rc_lost),
            atomic_load(&rc_lost) == 1 ? "" : "s", atomic_load(&rc_unchecked),
            atomic_load(&rc_unchecked) == 1 ? "" : "s",
            left ? "something is left wrong" : "the volumes agree with the index");
    store_close();
    vol_cleanup();
    maint_keys_free(&rc_keys);
    for (size_t i = 0; i < rc_nnamed; i++) free(rc_named[i].key);
    free(rc_named);
    return left ? 1 : 0;
}
