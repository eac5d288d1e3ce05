/* rebuild.c -- `mkv-index rebuild`: a new index from the volumes alone.
 *
 * Every volume's tree is read through nginx's autoindex JSON, many
 * directories at once: "/xx/" (or "/svXX/xx/" for subvolumes), then
 * "/xx/yy/", then the names below, recursing into the directories a '/'
 * in a base64 name or a split long name made. Each name is turned back
 * into its key (placement_unname), which also checks it sits in its own
 * /xx/yy. Found copies are grouped by key, put in placement order, their
 * md5 taken from one copy (unless --md5sum=false), and written to a new
 * file that replaces the index only if every volume was read in full. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoindex.h"
#include "log.h"
#include "maint.h"
#include "placement.h"
#include "progress.h"
#include "store.h"
#include "volclient.h"

#define REBUILD_THREADS 16
#define REBUILD_LISTING_MAX (256L * 1024 * 1024)

struct copy {                      /* one file found on one volume */
    char *key;
    size_t keylen;
    int vol;                       /* index into the VOLUME arguments */
    char volume[PLACEMENT_VOLUME_MAX + 8]; /* "host:port" or ".../svXX" */
};

struct task {                      /* one "ROOT/xx/" directory to read */
    int vol;
    char root[8];                  /* "" or "/svXX" */
    char xx[3];
};

static const struct opts *rb_opts;
static struct progress rb_progress;
static pthread_mutex_t rb_mu = PTHREAD_MUTEX_INITIALIZER;
static struct copy *rb_copies;
static size_t rb_ncopies, rb_capcopies;
static struct task *rb_tasks;
static size_t rb_ntasks, rb_nexttask, rb_captasks;
static atomic_int rb_incomplete;   /* a listing could not be read */

static int is_lowerhex2(const char *s, size_t n) {
    return n == 2 && strspn(s, "0123456789abcdef") >= 2;
}

static int b64name_ok(const char *s, size_t n) {
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789+=-") == n;
}

/* list -- fetch and parse one directory listing of volume vol. */
static int list(int vol, const char *path,
                int (*fn)(const char *, size_t, int, void *), void *arg) {
    char url[VOL_URL_MAX], err[MKV_ERRLEN];
    char *body;
    size_t len;
    long st;
    int rc;

    vol_url(url, rb_opts->volumes[vol], path);
    if (vol_get_buf(url, REBUILD_LISTING_MAX, &body, &len, &st, err) != VOL_OK) {
        log_msg("rebuild: %s: %s", url, err);
        return MKV_ERR;
    }
    if (st == 404) { /* nothing there (a subvolume never written) */
        free(body);
        return MKV_OK;
    }
    rc = st == 200 ? autoindex_parse(body, len, fn, arg, err) : MKV_ERR;
    if (rc != MKV_OK)
        log_msg("rebuild: %s: %s", url, st == 200 ? err : "unexpected status");
    free(body);
    return rc;
}

static void add_task(int vol, const char *root, const char *xx) {
    pthread_mutex_lock(&rb_mu);
    if (rb_ntasks == rb_captasks) {
        size_t cap = rb_captasks ? 2 * rb_captasks : 256;
        struct task *t = realloc(rb_tasks, cap * sizeof(*t));
        if (t == NULL) {
            atomic_store(&rb_incomplete, 1);
            pthread_mutex_unlock(&rb_mu);
            return;
        }
        rb_tasks = t;
        rb_captasks = cap;
    }
    rb_tasks[rb_ntasks].vol = vol;
    snprintf(rb_tasks[rb_ntasks].root, sizeof(rb_tasks[0].root), "%s", root);
    memcpy(rb_tasks[rb_ntasks].xx, xx, 3);
    rb_ntasks++;
    pthread_mutex_unlock(&rb_mu);
}

static void add_copy(int vol, const char *root, const char *key, size_t keylen) {
    struct copy *c;
    pthread_mutex_lock(&rb_mu);
    if (rb_ncopies == rb_capcopies) {
        size_t cap = rb_capcopies ? 2 * rb_capcopies : 4096;
        c = realloc(rb_copies, cap * sizeof(*c));
        if (c == NULL) goto oom;
        rb_copies = c;
        rb_capcopies = cap;
    }
    c = &rb_copies[rb_ncopies];
    c->key = malloc(keylen);
    if (c->key == NULL) goto oom;
    memcpy(c->key, key, keylen);
    c->keylen = keylen;
    c->vol = vol;
    snprintf(c->volume, sizeof(c->volume), "%s%s", rb_opts->volumes[vol], root);
    rb_ncopies++;
    atomic_fetch_add(&rb_progress.done, 1);
    pthread_mutex_unlock(&rb_mu);
    return;
oom:
    atomic_store(&rb_incomplete, 1);
    pthread_mutex_unlock(&rb_mu);
}

/* A directory still to be read, on the walk's stack. */
struct subdir {
    struct subdir *next;
    char path[];                  /* "ROOT/xx/yy/" + the name so far + "/" */
};

/* Walking one "ROOT/xx/yy/" of one volume. A '/' in a base64 name, or a
 * long name split, makes directories; a key may nest over a thousand, so
 * the walk keeps the directories still to read on a heap stack, not on
 * the C stack. */
struct walk {
    int vol;
    char root[8];
    char dir[PLACEMENT_PATH_MAX + 8]; /* the directory being read */
    size_t base;                  /* where the name starts in dir */
    int xx, yy;
    struct subdir *todo;          /* directories found, not yet read */
};

static int walk_name(const char *name, size_t n, int is_dir, void *arg) {
    struct walk *w = arg;
    size_t len = strlen(w->dir);
    char key[MKV_KEY_MAX], err[MKV_ERRLEN];
    size_t keylen;

    if (!b64name_ok(name, n) || len + n + 2 >= sizeof(w->dir)) {
        log_msg("rebuild: %s%s%.*s: not a name cmkv writes; skipped",
                rb_opts->volumes[w->vol], w->dir, (int)n, name);
        atomic_fetch_add(&rb_progress.errors, 1);
        return 0;
    }
    if (is_dir) {
        struct subdir *d = malloc(sizeof(*d) + len + n + 2);
        if (d == NULL) {
            atomic_store(&rb_incomplete, 1);
            return 0;
        }
        memcpy(d->path, w->dir, len);
        memcpy(d->path + len, name, n);
        memcpy(d->path + len + n, "/", 2);
        d->next = w->todo;
        w->todo = d;
        return 0;
    }
    memcpy(w->dir + len, name, n);
    w->dir[len + n] = '\0';
    if (placement_unname(w->dir + w->base, len + n - w->base, w->xx, w->yy,
                         key, &keylen, err) == MKV_OK) {
        add_copy(w->vol, w->root, key, keylen);
    } else {
        log_msg("rebuild: %s%s: %s; skipped", rb_opts->volumes[w->vol], w->dir, err);
        atomic_fetch_add(&rb_progress.errors, 1);
    }
    w->dir[len] = '\0';
    return 0;
}

/* walk_tree -- read w->dir and every directory below it. */
static void walk_tree(struct walk *w) {
    for (;;) {
        struct subdir *d;
        if (list(w->vol, w->dir, walk_name, w) != MKV_OK) atomic_store(&rb_incomplete, 1);
        if ((d = w->todo) == NULL) return;
        w->todo = d->next;
        snprintf(w->dir, sizeof(w->dir), "%s", d->path); /* fits: checked on push */
        free(d);
    }
}

struct level {                    /* reading "ROOT/xx/" for its yy dirs */
    int vol;
    const char *root, *xx;
};

static int yy_name(const char *name, size_t n, int is_dir, void *arg) {
    struct level *l = arg;
    struct walk w;
    if (!is_dir || !is_lowerhex2(name, n)) return 0;
    w.vol = l->vol;
    snprintf(w.root, sizeof(w.root), "%s", l->root);
    snprintf(w.dir, sizeof(w.dir), "%s/%s/%.2s/", l->root, l->xx, name);
    w.base = strlen(w.dir);
    w.xx = (int)strtol(l->xx, NULL, 16);
    w.yy = (int)strtol((char[3]){name[0], name[1], 0}, NULL, 16);
    w.todo = NULL;
    walk_tree(&w);
    return 0;
}

static void *task_thread(void *unused) {
    (void)unused;
    for (;;) {
        struct task t;
        struct level l;
        char path[32];
        pthread_mutex_lock(&rb_mu);
        if (rb_nexttask == rb_ntasks) {
            pthread_mutex_unlock(&rb_mu);
            break;
        }
        t = rb_tasks[rb_nexttask++];
        pthread_mutex_unlock(&rb_mu);
        l.vol = t.vol;
        l.root = t.root;
        l.xx = t.xx;
        snprintf(path, sizeof(path), "%s/%s/", t.root, t.xx);
        if (list(t.vol, path, yy_name, &l) != MKV_OK) atomic_store(&rb_incomplete, 1);
    }
    vol_thread_done();
    return NULL;
}

struct top {                      /* reading "/" or "/svXX/" */
    int vol;
    const char *root;
};

static int top_name(const char *name, size_t n, int is_dir, void *arg) {
    struct top *t = arg;
    if (!is_dir) return 0;
    if (is_lowerhex2(name, n)) {
        add_task(t->vol, t->root, name);
    } else if (t->root[0] == '\0' && n == 4 && memcmp(name, "sv", 2) == 0 &&
               strspn(name + 2, "0123456789ABCDEF") == 2) {
        char root[8], path[16];
        struct top sub = {t->vol, root};
        snprintf(root, sizeof(root), "/%.4s", name);
        snprintf(path, sizeof(path), "%s/", root);
        if (list(t->vol, path, top_name, &sub) != MKV_OK) atomic_store(&rb_incomplete, 1);
    }
    return 0;
}

static int by_key(const void *a, const void *b) {
    const struct copy *x = a, *y = b;
    size_t n = x->keylen < y->keylen ? x->keylen : y->keylen;
    int c = memcmp(x->key, y->key, n);
    if (c) return c;
    return x->keylen < y->keylen ? -1 : x->keylen > y->keylen;
}

static size_t rb_nextgroup;        /* next copy index to write (under rb_mu) */

/* write_thread -- take a key's run of copies, order them, hash, store. */
static void *write_thread(void *unused) {
    char err[MKV_ERRLEN], url[VOL_URL_MAX], path[PLACEMENT_PATH_MAX];
    (void)unused;
    for (;;) {
        int ranks[PLACEMENT_MAX_VOLUMES], pos[PLACEMENT_MAX_VOLUMES];
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

        memset(&rec, 0, sizeof(rec));
        placement_rank(rb_opts->volumes, rb_opts->nvolumes, rb_copies[start].key,
                       rb_copies[start].keylen, ranks);
        for (int i = 0; i < rb_opts->nvolumes; i++) pos[ranks[i]] = i;
        /* Copies in placement order (few: a stable insertion sort). */
        for (size_t i = start; i < end && rec.nvolumes < RECORD_MAX_VOLUMES; i++) {
            int j = rec.nvolumes++;
            while (j > 0 && pos[order[j - 1]->vol] > pos[rb_copies[i].vol]) {
                order[j] = order[j - 1];
                j--;
            }
            order[j] = &rb_copies[i];
        }
        for (int i = 0; i < rec.nvolumes; i++) rec.volumes[i] = order[i]->volume;
        placement_path(rb_copies[start].key, rb_copies[start].keylen, path);
        if (rb_opts->md5sum) {
            vol_url(url, rec.volumes[0], path);
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

/* run_threads -- fn on REBUILD_THREADS threads, then join them. */
static void run_threads(void *(*fn)(void *)) {
    pthread_t tids[REBUILD_THREADS];
    int n = 0;
    for (int i = 0; i < REBUILD_THREADS; i++)
        if (pthread_create(&tids[n], NULL, fn, NULL) == 0) n++;
    if (n == 0) fn(NULL);
    for (int i = 0; i < n; i++) pthread_join(tids[i], NULL);
}

int rebuild_run(const struct opts *o) {
    char err[MKV_ERRLEN], tmp[4096];
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
    for (int v = 0; v < o->nvolumes; v++) {
        struct top t = {v, ""};
        if (list(v, "/", top_name, &t) != MKV_OK) atomic_store(&rb_incomplete, 1);
    }
    run_threads(task_thread);
    qsort(rb_copies, rb_ncopies, sizeof(*rb_copies), by_key);
    for (size_t i = 0; i < rb_ncopies; i++)
        if (i == 0 || by_key(&rb_copies[i - 1], &rb_copies[i]) != 0) keys++;
    run_threads(write_thread);
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
    free(rb_tasks);
    vol_cleanup();
    return rc;
}
