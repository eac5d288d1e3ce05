/* progress.h -- a line of progress for long commands: redrawn in place on
 * a terminal (stderr), silent otherwise; counters are atomic so worker
 * threads bump them directly. */
#ifndef MKV_PROGRESS_H
#define MKV_PROGRESS_H

#include <stdatomic.h>

struct progress {
    const char *what;             /* "rebuild", "rebalance" */
    atomic_long done, errors;
    long total;                   /* 0 when unknown */
    double started;               /* mkv_now_ms() at the start */
};

/* progress_start -- begin; draws every 0.5 s from a thread of its own. */
void progress_start(struct progress *p, const char *what, long total);

/* progress_stop -- stop drawing and print the one-line summary. */
void progress_stop(struct progress *p, const char *unit);

#endif
