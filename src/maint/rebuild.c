/* rebuild.c -- `mkv-index rebuild`: a new index from the volumes alone.
 *
 * Every volume's tree is read through nginx's autoindex JSON, many
 * directories at once (volwalk.c); each name is turned back into its key
 * and form (placement_unname), which also checks it sits in its own
 * /xx/yy. Found copies are grouped by key, put in placement order, their
 * md5 taken from one copy (unless --md5sum=false), and written to a new
 * file that replaces the index only if every volume was read in full. */
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
#include "volclient.h"
#include "volwalk.h"

#define REBUILD_THREADS 16

struct copy {                      /* one file found on one volume */
    char *key;
    size_t keylen;
    int flat;                      /* its name's form */
    int vol;                       /* index into the VOLUME arguments */
    char volume[PLACEMENT_VOLUME_MAX + 8]; /* "host:port" or ".../svXX" */
};

static const struct opts *rb_opts;
static struct progress rb_progress;
static pthread_mutex_t rb_mu = PTHREAD_MUTEX_INITIALIZER;
static struct copy *rb_copies;
static size_t rb_ncopies, rb_capcopies;
static atomic_int rb_incomplete;   /* out of memory, or the index failed */

/* add_copy -- volwalk_run's callback: keep a key's copy. */
static void add_copy(const struct volwalk_file *f, void *arg) {
    struct copy *c;
    (void)arg;
    if (f->key == NULL) {
        log_msg("rebuild: %s%s: %s; skipped", f->volume, f->path, f->why);
        atomic_fetch_add(&rb_progress.errors, 1);
        return;
    }
    pthread_mutex_lock(&rb_mu);
    if ((c = mkv_grow(rb_copies, &rb_capcopies, rb_ncopies, sizeof(*c), 4096)) == NULL)
        goto oom;
    rb_copies = c;
    c = &rb_copies[rb_ncopies];
    c->key = malloc(f->keylen);
    if (c->key == NULL) goto oom;
    memcpy(c->key, f->key, f->keylen);
    c->keylen = f->keylen;
    c->flat = f->flat;
    c->vol = f->vol;
    snprintf(c->volume, sizeof(c->volume), "%s", f->volume);
    rb_ncopies++;
    atomic_fetch_add(&rb_progress.done, 1);
    pthread_mutex_unlock(&rb_mu);
    return;
oom:
    atomic_store(&rb_incomplete, 1);
    pthread_mutex_unlock(&rb_mu);
}

static int by_key(const void *a, const void *b) {
    const struct copy *x = a, *y = b;
    size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
    int c = memcmp(x->key, y->key, n);
    if (c) return c;
    return x->keylen < y->keylen ? -1 : x->keylen > y->keylen;
}

/* by_key_form -- by key, then the nested copies before the flat ones. */
static int by_key_form(const void *a, const void *b) {
    const struct copy *x = a, *y = b;
    int c = by_key(a, b);
    return c ? c : x->flat - y->flat;
}

static size_t rb_nextgroup;        /* next copy index to write (under rb_mu) */

/* write_thread -- take a key's run of copies, order them, hash, store. */
static void *write_thread(void *unused) {
    char err[MKV_ERRLEN], url[VOL_URL_MAX], path[PLACEMENT_PATH_MAX];
    (void)unused;
    for (;;) {
        int ranks[PLACEMENT_MAX_VOLUMES], pos[PLACEMENT_MAX_VOLUMES], n;
        const struct copy *order[RECORD_MAX_VOLUMES];
        struct record rec;
        size_t start, end;
        long st;

        pthread_mutex_lock(&rb_mu);
        start = rb_nextgroup;
        end = start;
        while (end < rb_ncopies && by_key(&rb_copies[start], &rb_copies[end]) == 0) end++;
        rb_nextgroup = end;
        pthread_mutex_unlock(&rb_mu);
        if (start == end) break;
        /* Copies under both names (an old nested copy left beside new
         * flat ones): the record takes the flat ones, reconcile removes
         * the others. */
        if (rb_copies[start].flat != rb_copies[end - 1].flat) {
            size_t first = start;
            while (!rb_copies[start].flat) start++;
            log_msg("rebuild: key %.*s: %zu cop%s under the nested name left out (the "
                    "flat name is newer)", (int)(rb_copies[start].keylen > 200 ? 200 :
                    rb_copies[start].keylen), rb_copies[start].key, start - first,
                    start - first == 1 ? "y" : "ies");
        }

        memset(&rec, 0, sizeof(rec));
        n = 0;
        placement_rank(rb_opts->volumes, rb_opts->nvolumes, rb_copies[start].key,
                       rb_copies[start].keylen, ranks);
        for (int i = 0; i < rb_opts->nvolumes; i++) pos[ranks[i]] = i;
        /* Copies in placement order (few: a stable insertion sort). */
        for (size_t i = start; i < end && n < RECORD_MAX_VOLUMES; i++) {
            int j = n++;
            while (j > 0 && pos[order[j - 1]->vol] > pos[rb_copies[i].vol]) {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = &rb_copies[i];
        }
        for (int i = 0; i < n; i++) record_add_volume(&rec, order[i]->volume);
        rec.flat = rb_copies[start].flat;
        placement_path(rb_copies[start].key, rb_copies[start].keylen, rec.flat, path);
        if (rb_opts->md5sum) {
            vol_url(url, record_volume(&rec, 0), path);
            if (vol_get_md5(url, rec.hash, &st, err) != VOL_OK || st != 200) {
                log_msg("rebuild: md5 of %s: %s", url, st ? "unexpected status" : err);
                rec.hash[0] = '\0';
                atomic_fetch_add(&rb_progress.errors, 1);
            }
        }
        if (store_put(rb_copies[start].key, rb_copies[start].keylen, &rec, err) != MKV_OK) {
            log_msg("rebuild: %s", err);
            atomic_store(&rb_incomplete, 1);
        }
    }
    vol_thread_done();
    return NULL;
}

int rebuild_run(const struct opts *o) {
    char err[MKV_ERRLEN], tmp[4096];
    int incomplete[OPTS_MAX_VOLUMES] = {0};
    size_t keys = 0;
    int rc = 1;

    rb_opts = o;
    /* GDBM's writer lock on the index, held to the end (the rename
     * included): no server may start on it while it is being replaced. */
    if (store_lock(o->index, err) != MKV_OK) {
        log_msg("rebuild: %s%s", err, strstr(err, "in use") ? "; stop the server first" : "");
        return 1;
    }
    if (snprintf(tmp, sizeof(tmp), "%s.rebuild", o->index) >= (int)sizeof(tmp) ||
        vol_init(o->connect_timeout_ms, o->voltimeout_ms, o->stall_timeout_ms, err) != MKV_OK ||
        store_open(tmp, STORE_NEW, 0, err) != MKV_OK) {
        log_msg("rebuild: %s", err);
        store_unlock();
        return 1;
    }
    progress_start(&rb_progress, "rebuild", 0);
    volwalk_run(o->volumes, o->nvolumes, "rebuild", &rb_progress.errors, add_copy, NULL,
                incomplete);
    for (int v = 0; v < o->nvolumes; v++)
        if (incomplete[v]) atomic_store(&rb_incomplete, 1);
    qsort(rb_copies, rb_ncopies, sizeof(*rb_copies), by_key_form);
    for (size_t i = 0; i < rb_ncopies; i++)
        if (i == 0 || by_key(&rb_copies[i - 1], &rb_copies[i]) != 0) keys++;
    maint_threads(REBUILD_THREADS, write_thread, NULL);
    store_close();
    progress_stop(&rb_progress, "copies found");
    if (atomic_load(&rb_incomplete)) {
        log_msg("rebuild: some volumes could not be read in full; %s left as it was "
                "(partial result in %s)", o->index, tmp);
    } else if (rename(tmp, o->index) != 0) {
        log_msg("rebuild: cannot replace %s with %s", o->index, tmp);
    } else {
        log_msg("rebuild: %zu keys written to %s", keys, o->index);
        rc = 0;
    }
    store_unlock();
    for (size_t i = 0; i < rb_ncopies; i++) free(rb_copies[i].key);
    free(rb_copies);
    vol_cleanup();
    return rc;
}
