/* progress.c -- progress lines for rebuild and rebalance. */
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>

#include "mkv.h"
#include "progress.h"

static pthread_t progress_tid;
static atomic_int progress_running;
static int progress_tty;

static void draw(struct progress *p) {
    double t = (mkv_now_ms() - p->started) / 1e3;
    long d = atomic_load(&p->done);
    if (p->total > 0)
        fprintf(stderr, "\r%s: %ld/%ld keys, %.0f keys/s, %ld errors   ", p->what,
                d, p->total, t > 0 ? (double)d / t : 0.0, atomic_load(&p->errors));
    else
        fprintf(stderr, "\r%s: %ld keys, %.0f keys/s, %ld errors   ", p->what, d,
                t > 0 ? (double)d / t : 0.0, atomic_load(&p->errors));
}

static void *drawer(void *arg) {
    while (atomic_load(&progress_running)) {
        draw(arg);
        usleep(500 * 1000);
    }
    return NULL;
}

void progress_start(struct progress *p, const char *what, long total) {
    p->what = what;
    atomic_store(&p->done, 0);
    atomic_store(&p->errors, 0);
    p->total = total;
    p->started = mkv_now_ms();
    progress_tty = isatty(STDERR_FILENO);
    if (progress_tty) {
        atomic_store(&progress_running, 1);
        if (pthread_create(&progress_tid, NULL, drawer, p) != 0)
            atomic_store(&progress_running, 0);
    }
}

void progress_stop(struct progress *p, const char *unit) {
    double t = (mkv_now_ms() - p->started) / 1e3;
    if (atomic_exchange(&progress_running, 0)) {
        pthread_join(progress_tid, NULL);
        fputc('\n', stderr);
    }
    fprintf(stderr, "%s: %ld %s in %.1f s (%.0f/s), %ld errors\n", p->what,
            atomic_load(&p->done), unit, t, t > 0 ? (double)atomic_load(&p->done) / t : 0.0,
            atomic_load(&p->errors));
}
