/* loop.h -- mkv-index's event loops: one per thread, nothing shared.
 *
 * Each loop owns an epoll set holding its libmicrohttpd daemon (external
 * epoll mode: the daemon's own epoll fd sits in ours), its libcurl multi
 * handle's sockets and an eventfd. A request is accepted, served and
 * answered on one loop, and every volume transfer it starts runs on that
 * loop's multi handle, which keeps that loop's connections to the volumes
 * alive. The only way in from another thread is loop_post.
 *
 * A front (the native API, the S3 endpoint) has a listening socket per
 * loop on its port (SO_REUSEPORT): the kernel spreads new connections
 * over the loops. */
#ifndef MKV_LOOP_H
#define MKV_LOOP_H

#include <curl/curl.h>
#include <microhttpd.h>

#include "mkv.h"

struct loop;

/* A volume transfer on a loop. The owner fills done and, to have the
 * transfer timed out when the volume moves no byte for that long,
 * stall_ms; it keeps the struct alive until done is called or it
 * cancels. done is called on the loop when the transfer ends, with
 * libcurl's result and the HTTP status (0 if none), after the handle
 * went back to the pool: done may free x, or start it again. A transfer
 * ended by its stall clock has stalled set and rc CURLE_OPERATION_TIMEDOUT. */
struct loop_xfer {
    CURL *h;                      /* set by loop_xfer_handle */
    void (*done)(struct loop_xfer *x, CURLcode rc, long status);
    long stall_ms;                /* 0: no stall clock */
    double last_ms;               /* when a byte last moved */
    curl_off_t moved;             /* bytes up and down at last_ms */
    curl_off_t sent;              /* body bytes uploaded, once done */
    long asked;                   /* request header bytes sent, once done */
    int idle;                     /* waiting for our own source: not a stall */
    int stalled;                  /* ended by the stall clock */
    int nofd;                     /* volclient: no descriptor for a socket */
    int running;                  /* in the multi handle */
    struct loop *loop;
    struct loop_xfer *prev, *next; /* the loop's running transfers */
};

/* A timer on a loop: done(t) runs once on the loop that started it, ms
 * after loop_timer_start, unless cancelled first. The owner keeps the
 * struct alive until then. When a loop ends, its pending timers run at
 * once (new transfers are refused by then), so no owner waits forever. */
struct loop_timer {
    void (*done)(struct loop_timer *t);
    double at;                    /* when, ms (mkv_now_ms) */
    int armed;
    struct loop_timer *prev, *next; /* the loop's pending timers */
};

/* loop_timer_start -- on a loop: run t->done in ms milliseconds. */
void loop_timer_start(struct loop_timer *t, long ms);

/* loop_timer_cancel -- t will not run; safe when not armed. */
void loop_timer_cancel(struct loop_timer *t);

/* A front: a listening socket per loop (non-blocking) and
 * how to make a libmicrohttpd daemon for it in external epoll mode, with
 * at most limit connections, closing clients idle for timeout_s. Each
 * loop makes one daemon per front; the native API and the S3 endpoint
 * are two fronts of the same loops. */
#define LOOP_FRONTS 2
struct loop_front {
    const int *fds;               /* fds[i] is loop i's */
    struct MHD_Daemon *(*daemon)(int fd, unsigned limit, unsigned timeout_s);
};

/* loops_start -- start n loop threads serving fronts[0..nfronts), each
 * loop's daemons holding at most conn_limit/n connections each and
 * closing clients idle or stalled for idle_timeout_s seconds. MKV_ERR
 * with err set if any loop cannot start (the others are stopped). */
int loops_start(int n, const struct loop_front *fronts, int nfronts,
                unsigned conn_limit, unsigned idle_timeout_s, char *err);

/* loops_post_all -- any thread: loop_post fn(arg) to every loop; returns
 * how many were posted (fn runs that many times, once on each). */
int loops_post_all(void (*fn)(void *), void *arg);

/* loops_stop -- main thread: every loop stops accepting, gives requests
 * under way up to grace_ms, answers the rest 503, then ends; joins them. */
void loops_stop(long grace_ms);

/* loop_first -- the first loop, for work from another thread that any
 * loop may do (NULL when none runs). */
struct loop *loop_first(void);

/* loop_current -- the calling thread's loop (NULL off the loops). */
struct loop *loop_current(void);

/* loop_stopping -- non-zero once the current loop was asked to stop. */
int loop_stopping(void);

/* loop_xfer_handle -- an easy handle for x from the current loop's pool,
 * reset to libcurl's defaults, in x->h; NULL when out of memory. */
CURL *loop_xfer_handle(struct loop_xfer *x);

/* loop_xfer_start -- run x (whose handle is set up) on the current loop.
 * MKV_ERR if it cannot be added; the handle is then released. */
int loop_xfer_start(struct loop_xfer *x);

/* loop_xfer_cancel -- stop x if running and release its handle; done is
 * not called. Safe on a transfer that never started or has ended. */
void loop_xfer_cancel(struct loop_xfer *x);

/* loop_xfer_moved -- a byte of x moved: restart its stall clock. */
void loop_xfer_moved(struct loop_xfer *x);

/* loop_on_end -- fn() runs on the current loop just before it ends (after
 * its last request), to let go of what outlives requests. */
void loop_on_end(void (*fn)(void));

/* A piece of work another thread hands to a loop; the sender owns the
 * struct (embedded in its own), so posting cannot fail. */
struct loop_post {
    struct loop_post *next;
    void (*fn)(void *arg);
    void *arg;
};

/* loop_post -- any thread: run p->fn(p->arg) on loop l soon. p must stay
 * alive until then; fn may free it. */
void loop_post(struct loop *l, struct loop_post *p);

#endif
