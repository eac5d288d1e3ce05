/* cleanup.c -- background removal of copies whose fate is unknown (cleanup.h). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "locks.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "placement.h"
#include "store.h"
#include "volclient.h"

#define CLEANUP_FIRST_MS 1000
#define CLEANUP_MAX_MS 60000
#define CLEANUP_CONFIRMS 2        /* rounds that must find a copy gone */

struct cleanup;

struct target {
    struct loop_xfer x;
    struct cleanup *c;
    int confirms;                 /* rounds that found the copy gone */
    char url[VOL_URL_MAX];
};

struct cleanup {
    struct cleanup *prev, *next;  /* this loop's clean-ups */
    struct loop_timer timer;      /* the next round */
    struct record rec;            /* the volumes still to clean */
    struct target t[RECORD_MAX_VOLUMES];
    int running;                  /* DELETEs of this round under way */
    int confirms;                 /* rounds that must find each copy gone */
    long backoff_ms;
    size_t keylen;
    char key[MKV_KEY_MAX];
};

static __thread struct cleanup *cleanups;
static atomic_long cleanup_count;

long cleanup_pending(void) { return atomic_load(&cleanup_count); }

static void unlink_cleanup(struct cleanup *c) {
    if (c->prev) c->prev->next = c->next;
    else cleanups = c->next;
    if (c->next) c->next->prev = c->prev;
    atomic_fetch_sub(&cleanup_count, 1);
}

/* round_over -- every DELETE of a round answered: finish, or go again. */
static void round_over(struct cleanup *c) {
    char err[MKV_ERRLEN];
    int left = 0, all_gone_once = 1;

    for (int i = 0; i < c->rec.nvolumes; i++) {
        if (c->t[i].confirms >= c->confirms) continue;
        left++;
        if (c->t[i].confirms == 0) all_gone_once = 0;
    }
    if (left == 0) {
        if (store_delete(c->key, c->keylen, err) < 0) log_msg("clean-up: %s", err);
        locks_release(c->key, c->keylen);
        unlink_cleanup(c);
        free(c);
        return;
    }
    /* Once every copy was found gone, the next look comes soon. */
    if (all_gone_once) c->backoff_ms = CLEANUP_FIRST_MS;
    loop_timer_start(&c->timer, c->backoff_ms);
    if (!all_gone_once && c->backoff_ms < CLEANUP_MAX_MS)
        c->backoff_ms = c->backoff_ms * 2 > CLEANUP_MAX_MS ? CLEANUP_MAX_MS : c->backoff_ms * 2;
}

static void target_done(struct loop_xfer *x, CURLcode rc, long code) {
    struct target *t = MKV_CONTAINER(x, struct target, x);
    struct cleanup *c = t->c;
    char err[MKV_ERRLEN];
    long vs;
    enum vol_result vr = vol_result_of(rc, x->nofd, code, &vs, err);

    if (vol_gone(vr, vs)) t->confirms++;
    else t->confirms = 0; /* still unknown: start counting again */
    if (--c->running == 0) round_over(c);
}

/* next_round -- the timer: DELETE every copy not yet confirmed gone. */
static void next_round(struct loop_timer *tm) {
    struct cleanup *c = MKV_CONTAINER(tm, struct cleanup, timer);
    char path[PLACEMENT_PATH_MAX];

    metrics_cleanup_round();
    placement_path(c->key, c->keylen, c->rec.flat, path);
    for (int i = 0; i < c->rec.nvolumes; i++) {
        struct target *t = &c->t[i];
        CURL *h;
        if (t->confirms >= c->confirms || (h = loop_xfer_handle(&t->x)) == NULL) continue;
        t->c = c;
        vol_url(t->url, record_volume(&c->rec, i), path);
        vol_setup_simple(h, t->url, "DELETE");
        t->x.done = target_done;
        t->x.stall_ms = 0;
        if (loop_xfer_start(&t->x) == MKV_OK) c->running++;
    }
    if (c->running == 0) round_over(c); /* none could start: later */
}

/* start -- the clean-up of key: the first round in first_ms, each copy
 * done once confirms rounds found it gone. */
static int start(const char *key, size_t keylen, const struct record *rec,
                 long first_ms, int confirms) {
    struct cleanup *c = calloc(1, sizeof(*c));
    char err[MKV_ERRLEN];

    if (c == NULL) return MKV_ERR;
    c->confirms = confirms;
    c->rec = *rec;
    c->rec.deleted = 0;
    c->rec.writing = 1;
    c->keylen = keylen;
    memcpy(c->key, key, keylen);
    c->backoff_ms = CLEANUP_FIRST_MS;
    c->timer.done = next_round;
    loop_on_end(cleanup_abandon);
    if (store_put(key, keylen, &c->rec, err) != MKV_OK) log_msg("clean-up: %s", err);
    c->next = cleanups;
    if (cleanups) cleanups->prev = c;
    cleanups = c;
    atomic_fetch_add(&cleanup_count, 1);
    loop_timer_start(&c->timer, first_ms);
    return MKV_OK;
}

int cleanup_start(const char *key, size_t keylen, const struct record *rec) {
    return start(key, keylen, rec, CLEANUP_FIRST_MS, CLEANUP_CONFIRMS);
}

void cleanup_adopt(const char *key, size_t keylen) {
    char err[MKV_ERRLEN];
    struct record rec;

    if (locks_acquire(key, keylen) != 1) return; /* a write of it is under way */
    /* The process that wrote it is gone, and its connections with it:
     * nothing of it can still arrive, so one look, at once, will do. */
    if (store_get(key, keylen, &rec, err) != 1 || !rec.writing ||
        start(key, keylen, &rec, 0, 1) != MKV_OK)
        locks_release(key, keylen);
}

void cleanup_abandon(void) {
    struct cleanup *c;
    while ((c = cleanups) != NULL) {
        loop_timer_cancel(&c->timer);
        for (int i = 0; i < c->rec.nvolumes; i++) loop_xfer_cancel(&c->t[i].x);
        locks_release(c->key, c->keylen);
        unlink_cleanup(c);
        free(c);
    }
}
