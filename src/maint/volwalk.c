/* volwalk.c -- every file of every volume, read through autoindex JSON
 * in parallel (volwalk.h).
 *
 * "/" (and "/svXX/") of each volume is read first, on the caller's
 * thread: each "xx" found is a task. The tasks are shared out among the
 * threads, each reading "ROOT/xx/", then every "ROOT/xx/yy/" and all
 * below it. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "autoindex.h"
#include "log.h"
#include "volclient.h"
#include "volwalk.h"

#define VOLWALK_LISTING_MAX (256L * 1024 * 1024)

struct task {                     /* one "ROOT/xx/" directory to read */
    int vol;
    char root[8];                 /* "" or "/svXX" */
    char xx[3];
};

struct volwalk {
    char *const *volumes;
    const char *what;
    atomic_long *errors;
    void (*fn)(const struct volwalk_file *f, void *arg);
    void *arg;
    int *incomplete;
    pthread_mutex_t mu;           /* the tasks, and incomplete[] */
    struct task *tasks;
    size_t ntasks, next, cap;
};

static void set_incomplete(struct volwalk *vw, int vol) {
    pthread_mutex_lock(&vw->mu);
    vw->incomplete[vol] = 1;
    pthread_mutex_unlock(&vw->mu);
}

static int is_lowerhex2(const char *s, size_t n) {
    return n == 2 && strspn(s, "0123456789abcdef") >= 2;
}

/* b64name_ok -- only bytes a name of either form is made of. */
static int b64name_ok(const char *s, size_t n) {
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                     "0123456789+=-_") == n;
}

/* list -- fetch and parse one directory listing of volume vol; a 404 is
 * an empty directory (a subvolume never written). */
static int list(struct volwalk *vw, int vol, const char *path,
                int (*fn)(const struct autoindex_entry *, void *), void *arg) {
    char url[VOL_URL_MAX], err[MKV_ERRLEN];
    char *body;
    size_t len;
    long st;
    int rc;

    vol_url(url, vw->volumes[vol], path);
    if (vol_get_buf(url, VOLWALK_LISTING_MAX, &body, &len, &st, err) != VOL_OK) {
        log_msg("%s: %s: %s", vw->what, url, err);
        return MKV_ERR;
    }
    if (st == 404) {
        free(body);
        return MKV_OK;
    }
    rc = st == 200 ? autoindex_parse(body, len, fn, arg, err) : MKV_ERR;
    if (rc != MKV_OK) log_msg("%s: %s: %s", vw->what, url, st == 200 ? err : "unexpected status");
    free(body);
    return rc;
}

static void add_task(struct volwalk *vw, int vol, const char *root, const char *xx) {
    struct task *t;
    pthread_mutex_lock(&vw->mu);
    if ((t = mkv_grow(vw->tasks, &vw->cap, vw->ntasks, sizeof(*t), 256)) == NULL) {
        vw->incomplete[vol] = 1;
        pthread_mutex_unlock(&vw->mu);
        return;
    }
    vw->tasks = t;
    t = &vw->tasks[vw->ntasks++];
    t->vol = vol;
    snprintf(t->root, sizeof(t->root), "%s", root);
    memcpy(t->xx, xx, 3);
    pthread_mutex_unlock(&vw->mu);
}

/* A directory still to be read, on the walk's stack. */
struct subdir {
    struct subdir *next;
    char path[];                  /* "ROOT/xx/yy/" + the name so far + "/" */
};

/* Walking one "ROOT/xx/yy/" of one volume. */
struct walk {
    struct volwalk *vw;
    int vol;
    size_t rootlen;               /* strlen(ROOT) */
    char volume[PLACEMENT_VOLUME_MAX + 8]; /* VOLUME ROOT */
    char dir[PLACEMENT_PATH_MAX + 8]; /* the directory being read */
    size_t base;                  /* where the name starts in dir */
    int xx, yy;
    struct subdir *todo;          /* directories found, not yet read */
};

static int walk_name(const struct autoindex_entry *e, void *arg) {
    struct walk *w = arg;
    size_t len = strlen(w->dir), n = e->namelen;
    char key[MKV_KEY_MAX], err[MKV_ERRLEN];
    struct volwalk_file f;

    /* Only bytes that need no escaping in a URL go further. */
    if (!b64name_ok(e->name, n) || len + n + 2 >= sizeof(w->dir)) {
        log_msg("%s: %s%s%.*s: not a name cmkv writes; skipped", w->vw->what,
                w->vw->volumes[w->vol], w->dir, (int)(n > 300 ? 300 : n), e->name);
        atomic_fetch_add(w->vw->errors, 1);
        return 0;
    }
    if (e->is_dir) {
        struct subdir *d = malloc(sizeof(*d) + len + n + 2);
        if (d == NULL) {
            set_incomplete(w->vw, w->vol);
            return 0;
        }
        memcpy(d->path, w->dir, len);
        memcpy(d->path + len, e->name, n);
        memcpy(d->path + len + n, "/", 2);
        d->next = w->todo;
        w->todo = d;
        return 0;
    }
    memcpy(w->dir + len, e->name, n);
    w->dir[len + n] = '\0';
    memset(&f, 0, sizeof(f));
    f.vol = w->vol;
    f.volume = w->volume;
    f.path = w->dir + w->rootlen;
    f.mtime = e->mtime;
    if (placement_unname(w->dir + w->base, len + n - w->base, w->xx, w->yy, key,
                                &f.keylen, &f.flat, err) == MKV_OK) {
        f.key = key;
    } else {
        f.why = err;
    }
    w->vw->fn(&f, w->vw->arg);
    w->dir[len] = '\0';
    return 0;
}

/* walk_tree -- read w->dir and every directory below it. */
static void walk_tree(struct walk *w) {
    for (;;) {
        struct subdir *d;
        if (list(w->vw, w->vol, w->dir, walk_name, w) != MKV_OK) set_incomplete(w->vw, w->vol);
        if ((d = w->todo) == NULL) return;
        w->todo = d->next;
        snprintf(w->dir, sizeof(w->dir), "%s", d->path); /* fits: checked on push */
        free(d);
    }
}

struct level {                    /* reading "ROOT/xx/" for its yy dirs */
    struct volwalk *vw;
    const struct task *t;
};

static int yy_name(const struct autoindex_entry *e, void *arg) {
    struct level *l = arg;
    struct walk w;
    if (!e->is_dir || !is_lowerhex2(e->name, e->namelen)) return 0;
    w.vw = l->vw;
    w.vol = l->t->vol;
    w.rootlen = strlen(l->t->root);
    snprintf(w.volume, sizeof(w.volume), "%s%s", l->vw->volumes[w.vol], l->t->root);
    snprintf(w.dir, sizeof(w.dir), "%s/%s/%.2s/", l->t->root, l->t->xx, e->name);
    w.base = strlen(w.dir);
    w.xx = (int)strtol(l->t->xx, NULL, 16);
    w.yy = (int)strtol((char[3]){e->name[0], e->name[1], 0}, NULL, 16);
    w.todo = NULL;
    walk_tree(&w);
    return 0;
}

static void *task_thread(void *arg) {
    struct volwalk *vw = arg;
    for (;;) {
        struct task t;
        struct level l = {vw, &t};
        char path[32];
        pthread_mutex_lock(&vw->mu);
        if (vw->next == vw->ntasks) {
            pthread_mutex_unlock(&vw->mu);
            break;
        }
        t = vw->tasks[vw->next++];
        pthread_mutex_unlock(&vw->mu);
        snprintf(path, sizeof(path), "%s/%s/", t.root, t.xx);
        if (list(vw, t.vol, path, yy_name, &l) != MKV_OK) set_incomplete(vw, t.vol);
    }
    vol_thread_done();
    return NULL;
}

struct top {                      /* reading "/" or "/svXX/" */
    struct volwalk *vw;
    int vol;
    const char *root;
};

static int top_name(const struct autoindex_entry *e, void *arg) {
    struct top *t = arg;
    if (!e->is_dir) return 0;
    if (is_lowerhex2(e->name, e->namelen)) {
        add_task(t->vw, t->vol, t->root, e->name);
    } else if (t->root[0] == '\0' && e->namelen == 4 && memcmp(e->name, "sv", 2) == 0 &&
               strspn(e->name + 2, "0123456789ABCDEF") == 2) {
        char root[8], path[16];
        struct top sub = {t->vw, t->vol, root};
        snprintf(root, sizeof(root), "/%.4s", e->name);
        snprintf(path, sizeof(path), "%s/", root);
        if (list(t->vw, t->vol, path, top_name, &sub) != MKV_OK) set_incomplete(t->vw, t->vol);
    }
    return 0;
}

void volwalk_run(char *const *volumes, int n, const char *what, atomic_long *errors,
                 void (*fn)(const struct volwalk_file *f, void *arg), void *arg,
                 int *incomplete) {
    struct volwalk vw = {volumes, what, errors, fn, arg, incomplete,
                         PTHREAD_MUTEX_INITIALIZER, NULL, 0, 0, 0};
    pthread_t tids[VOLWALK_THREADS];
    int started = 0;

    for (int v = 0; v < n; v++) {
        struct top t = {&vw, v, ""};
        if (list(&vw, v, "/", top_name, &t) != MKV_OK) incomplete[v] = 1;
    }
    for (int i = 0; i < VOLWALK_THREADS; i++)
        if (pthread_create(&tids[started], NULL, task_thread, &vw) == 0) started++;
    if (started == 0) task_thread(&vw);
    for (int i = 0; i < started; i++) pthread_join(tids[i], NULL);
    free(vw.tasks);
    pthread_mutex_destroy(&vw.mu);
}
