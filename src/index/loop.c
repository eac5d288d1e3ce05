/* loop.c -- the event loops (loop.h): epoll over libmicrohttpd, libcurl
 * multi and an eventfd, one per thread. */
#include <errno.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "log.h"
#include "loop.h"
#include "req.h"
#include "volclient.h"

#define LOOP_EVENTS 64
#define LOOP_POOL 64              /* idle easy handles kept per loop */
#define LOOP_MAXCONNECTS 64L      /* cached volume connections per loop */
#define LOOP_IDLE_MS 2000         /* without a transfer this long, the
                                     cached volume connections are closed */
#define LOOP_SWEEP_MS 200         /* how often stall clocks are read */
#define LOOP_HARD_MS 10000        /* after the grace: longest wait for the
                                     rest (503s sent, undo transfers) */

/* What an epoll event is, in the top bits of its data. */
#define TAG_MHD 1ULL
#define TAG_WAKE 2ULL
#define TAG_CURL 3ULL
#define TAG(t, fd) ((t) << 32 | (uint32_t)(fd))

enum loop_phase { RUNNING, DRAINING, ANSWERING, FINISHING };

struct loop {
    pthread_t tid;
    int ep, wake_fd;
    struct MHD_Daemon *mhd[LOOP_FRONTS]; /* one per front, NULL once stopped */
    int nmhd;
    CURLM *multi;
    double curl_at;               /* libcurl's timer, ms; < 0 none */
    double sweep_at;              /* next stall sweep */
    double idle_since;            /* last time a transfer ran */
    int used;                     /* a transfer ran since the last trim */
    struct loop_xfer *xfers;      /* running transfers */
    struct loop_timer *timers;    /* pending timers, unordered (few) */
    void (*on_end)(void);          /* loop_on_end's, or NULL */
    CURL *pool[LOOP_POOL];
    int npool;
    enum loop_phase phase;
    double phase_until;           /* deadline of the phase */
    long grace_ms;
    int refuse;                   /* no new transfers: the end */
    pthread_mutex_t posts_mu;     /* the only lock: loop_post's queue */
    struct loop_post *posts;
    int stop_asked;               /* under posts_mu */
};

static struct loop *loops;
static int nloops;
static __thread struct loop *loop_self;

struct loop *loop_current(void) { return loop_self; }

struct loop *loop_first(void) { return nloops > 0 ? &loops[0] : NULL; }

int loop_stopping(void) { return loop_self && loop_self->phase != RUNNING; }

static void wake(struct loop *l) {
    uint64_t one = 1;
    if (write(l->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
        log_msg("loop: cannot wake a loop: %s", strerror(errno));
}

void loop_post(struct loop *l, struct loop_post *p) {
    pthread_mutex_lock(&l->posts_mu);
    p->next = l->posts;
    l->posts = p;
    pthread_mutex_unlock(&l->posts_mu);
    wake(l);
}

/* run_posts -- what other threads sent, oldest first. */
static void run_posts(struct loop *l) {
    struct loop_post *p, *rev = NULL;
    uint64_t n;
    int stop;

    if (read(l->wake_fd, &n, sizeof(n)) < 0 && errno != EAGAIN) return;
    pthread_mutex_lock(&l->posts_mu);
    p = l->posts;
    l->posts = NULL;
    stop = l->stop_asked;
    pthread_mutex_unlock(&l->posts_mu);
    while (p) { /* the queue is newest first */
        struct loop_post *next = p->next;
        p->next = rev;
        rev = p;
        p = next;
    }
    while ((p = rev) != NULL) {
        rev = p->next;
        p->fn(p->arg); /* may free p */
    }
    if (stop && l->phase == RUNNING) {
        /* No new clients; kept-alive ones get 503 (http.c, s3.c). */
        for (int i = 0; i < l->nmhd; i++) MHD_quiesce_daemon(l->mhd[i]);
        l->phase = DRAINING;
        l->phase_until = mkv_now_ms() + (double)l->grace_ms;
    }
}

/* --- libcurl ---------------------------------------------------------- */

static int on_curl_socket(CURL *h, curl_socket_t fd, int what, void *u, void *sockp) {
    struct loop *l = u;
    struct epoll_event ev;
    (void)h;
    if (what == CURL_POLL_REMOVE) {
        epoll_ctl(l->ep, EPOLL_CTL_DEL, fd, NULL);
        curl_multi_assign(l->multi, fd, NULL);
        return 0;
    }
    ev.events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    ev.data.u64 = TAG(TAG_CURL, fd);
    if (sockp == NULL) {
        if (epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev) != 0 && errno == EEXIST)
            epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &ev);
        curl_multi_assign(l->multi, fd, l);
    } else if (epoll_ctl(l->ep, EPOLL_CTL_MOD, fd, &ev) != 0 && errno == ENOENT) {
        epoll_ctl(l->ep, EPOLL_CTL_ADD, fd, &ev);
    }
    return 0;
}

static int on_curl_timer(CURLM *m, long ms, void *u) {
    struct loop *l = u;
    (void)m;
    l->curl_at = ms < 0 ? -1 : mkv_now_ms() + (double)ms;
    return 0;
}

CURL *loop_xfer_handle(struct loop_xfer *x) {
    struct loop *l = loop_self;
    if (x->h == NULL && l->npool > 0) x->h = l->pool[--l->npool];
    else if (x->h == NULL) return x->h = curl_easy_init();
    curl_easy_reset(x->h);
    return x->h;
}

/* give_back -- x's handle to the pool (reset when next taken). */
static void give_back(struct loop *l, struct loop_xfer *x) {
    if (x->h == NULL) return;
    if (l->npool < LOOP_POOL) l->pool[l->npool++] = x->h;
    else curl_easy_cleanup(x->h);
    x->h = NULL;
}

/* open_socket -- a want of descriptors is told apart from a dead volume. */
static curl_socket_t open_socket(void *u, curlsocktype purpose, struct curl_sockaddr *a) {
    struct loop_xfer *x = u;
    (void)purpose;
    return vol_socket(a, &x->nofd);
}

/* on_progress -- libcurl moved bytes of x (or just looked): any change
 * in the counts restarts its stall clock. Calls nothing of libcurl's. */
static int on_progress(void *u, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow) {
    struct loop_xfer *x = u;
    (void)dltotal;
    (void)ultotal;
    if (dlnow + ulnow != x->moved) {
        x->moved = dlnow + ulnow;
        x->last_ms = mkv_now_ms();
    }
    return 0;
}

int loop_xfer_start(struct loop_xfer *x) {
    struct loop *l = loop_self;
    x->loop = l;
    x->running = 0;
    x->stalled = 0;
    x->idle = 0;
    x->nofd = 0;
    x->moved = 0;
    x->last_ms = mkv_now_ms();
    if (x->stall_ms > 0) { /* the stall clock follows the bytes moved */
        curl_easy_setopt(x->h, CURLOPT_NOPROGRESS, 0L);
        curl_easy_setopt(x->h, CURLOPT_XFERINFOFUNCTION, on_progress);
        curl_easy_setopt(x->h, CURLOPT_XFERINFODATA, x);
    }
    if (l->refuse || curl_easy_setopt(x->h, CURLOPT_PRIVATE, x) != CURLE_OK ||
        curl_easy_setopt(x->h, CURLOPT_OPENSOCKETFUNCTION, open_socket) != CURLE_OK ||
        curl_easy_setopt(x->h, CURLOPT_OPENSOCKETDATA, x) != CURLE_OK ||
        curl_multi_add_handle(l->multi, x->h) != CURLM_OK) {
        give_back(l, x);
        return MKV_ERR;
    }
    x->running = 1;
    l->used = 1;
    x->prev = NULL;
    x->next = l->xfers;
    if (l->xfers) l->xfers->prev = x;
    l->xfers = x;
    return MKV_OK;
}

/* unlink_xfer -- out of the multi handle and the running list. */
static void unlink_xfer(struct loop *l, struct loop_xfer *x) {
    curl_multi_remove_handle(l->multi, x->h);
    if (x->prev) x->prev->next = x->next;
    else l->xfers = x->next;
    if (x->next) x->next->prev = x->prev;
    x->running = 0;
}

void loop_xfer_cancel(struct loop_xfer *x) {
    struct loop *l = loop_self;
    if (x->running) unlink_xfer(l, x);
    give_back(l, x);
}

void loop_on_end(void (*fn)(void)) { loop_self->on_end = fn; }

void loop_xfer_moved(struct loop_xfer *x) {
    x->last_ms = mkv_now_ms();
    x->idle = 0;
}

/* end_xfer -- x is over: release it, then tell its owner. */
static void end_xfer(struct loop *l, struct loop_xfer *x, CURLcode rc) {
    long code = 0;
    if (rc == CURLE_OK) curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &code);
    x->sent = 0;
    x->asked = 0;
    curl_easy_getinfo(x->h, CURLINFO_SIZE_UPLOAD_T, &x->sent);
    curl_easy_getinfo(x->h, CURLINFO_REQUEST_SIZE, &x->asked);
    unlink_xfer(l, x);
    give_back(l, x);
    x->done(x, rc, code);
}

static void reap_xfers(struct loop *l) {
    CURLMsg *m;
    int left;
    while ((m = curl_multi_info_read(l->multi, &left)) != NULL) {
        struct loop_xfer *x = NULL;
        if (m->msg != CURLMSG_DONE) continue;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, (char **)&x);
        if (x != NULL && x->running) end_xfer(l, x, m->data.result);
    }
}

/* sweep -- end the transfers whose volume has moved no byte for their
 * stall timeout (time spent waiting for our own source not counted). */
static void sweep(struct loop *l, double now) {
    struct loop_xfer *x, *next;
    for (x = l->xfers; x; x = next) {
        next = x->next;
        if (x->idle) x->last_ms = now;
        if (x->stall_ms > 0 && now - x->last_ms > (double)x->stall_ms) {
            x->stalled = 1;
            end_xfer(l, x, CURLE_OPERATION_TIMEDOUT);
            next = l->xfers; /* done may have ended or started others */
        }
    }
}

/* new_multi -- a libcurl multi handle driven by l's epoll set. */
static CURLM *new_multi(struct loop *l) {
    CURLM *m = curl_multi_init();
    if (m == NULL) return NULL;
    if (curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_curl_socket) ||
        curl_multi_setopt(m, CURLMOPT_SOCKETDATA, l) ||
        curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_curl_timer) ||
        curl_multi_setopt(m, CURLMOPT_TIMERDATA, l) ||
        curl_multi_setopt(m, CURLMOPT_MAXCONNECTS, LOOP_MAXCONNECTS)) {
        curl_multi_cleanup(m);
        return NULL;
    }
    return m;
}

/* trim -- after a burst, give back what it left: with no transfer for
 * LOOP_IDLE_MS, close the cached volume connections (libcurl has no call
 * for that: a fresh multi handle starts with none) and hand free heap
 * back to the system. */
static void trim(struct loop *l, double now) {
    CURLM *fresh;

    if (l->xfers) {
        l->idle_since = now;
        return;
    }
    if (now - l->idle_since < LOOP_IDLE_MS || !l->used) return;
    l->used = 0;
    fresh = new_multi(l);
    if (fresh == NULL) return;
    curl_multi_cleanup(l->multi); /* closes its connections */
    l->multi = fresh;
    l->curl_at = -1;
    malloc_trim(0);
    l->idle_since = now;
}

/* --- timers ----------------------------------------------------------- */

void loop_timer_start(struct loop_timer *t, long ms) {
    struct loop *l = loop_self;
    t->at = mkv_now_ms() + (double)ms;
    t->armed = 1;
    t->prev = NULL;
    t->next = l->timers;
    if (l->timers) l->timers->prev = t;
    l->timers = t;
}

void loop_timer_cancel(struct loop_timer *t) {
    struct loop *l = loop_self;
    if (!t->armed) return;
    if (t->prev) t->prev->next = t->next;
    else l->timers = t->next;
    if (t->next) t->next->prev = t->prev;
    t->armed = 0;
}

/* run_timers -- those due by now (all of them with now < 0). done may
 * start or cancel timers, so the scan starts over after each. */
static void run_timers(struct loop *l, double now) {
    struct loop_timer *t = l->timers;
    while (t) {
        if (now >= 0 && t->at > now) {
            t = t->next;
            continue;
        }
        loop_timer_cancel(t);
        t->done(t);
        t = l->timers;
    }
}

/* --- the loop ---------------------------------------------------------- */

/* timeout_ms -- how long epoll may sleep. */
static int timeout_ms(struct loop *l, double now) {
    MHD_UNSIGNED_LONG_LONG mt;
    double until = now + 1000, t;

    for (int i = 0; i < l->nmhd; i++)
        if (l->mhd[i] && MHD_get_timeout(l->mhd[i], &mt) == MHD_YES &&
            now + (double)mt < until)
            until = now + (double)mt;
    if (l->curl_at >= 0 && l->curl_at < until) until = l->curl_at;
    if (l->xfers && l->sweep_at < until) until = l->sweep_at;
    if (!l->xfers && l->used && l->idle_since + LOOP_IDLE_MS < until)
        until = l->idle_since + LOOP_IDLE_MS;
    if (l->phase != RUNNING && l->phase_until < until) until = l->phase_until;
    for (struct loop_timer *tm = l->timers; tm; tm = tm->next)
        if (tm->at < until) until = tm->at;
    t = until - now;
    return t <= 0 ? 0 : (int)t + 1;
}

/* shutdown_step -- move the shutdown on; 1 when the loop may end. */
static int shutdown_step(struct loop *l, double now) {
    if (l->phase == DRAINING) {
        int undone = req_count_undone();
        if (undone > 0 && now < l->phase_until) return 0;
        if (undone > 0) {
            int n = req_abort_undone();
            log_msg("shutdown: %d request%s aborted after %ld ms", n, n == 1 ? "" : "s",
                    l->grace_ms);
        }
        l->phase = ANSWERING;
        l->phase_until = now + LOOP_HARD_MS;
    }
    if (l->phase == ANSWERING) {
        /* Every answer decided goes out before the connections close;
         * kept-alive clients starting requests meanwhile get 503. */
        req_abort_undone();
        if (req_count_open() > 0 && now < l->phase_until) return 0;
        if (req_count_suspended() > 0) {
            /* libmicrohttpd cannot be stopped with a connection suspended. */
            log_msg("shutdown: %d connection%s still suspended", req_count_suspended(),
                    req_count_suspended() == 1 ? "" : "s");
        } else {
            for (int i = 0; i < l->nmhd; i++)
                MHD_stop_daemon(l->mhd[i]); /* closes every connection */
        }
        for (int i = 0; i < l->nmhd; i++) l->mhd[i] = NULL;
        l->phase = FINISHING;
    }
    if (req_count_live() > 0 && now < l->phase_until) return 0;
    /* Past the last deadline: end what still runs (undo transfers) and
     * what waits (timers), until nothing does. */
    l->refuse = 1;
    if (l->on_end) l->on_end(); /* first: what would re-arm for ever */
    while (l->xfers || l->timers) {
        while (l->xfers) end_xfer(l, l->xfers, CURLE_ABORTED_BY_CALLBACK);
        run_timers(l, -1);
    }
    return 1;
}

static void *loop_main(void *arg) {
    struct loop *l = arg;
    struct epoll_event ev[LOOP_EVENTS];
    int running;

    loop_self = l;
    for (;;) {
        double now = mkv_now_ms();
        int n = epoll_wait(l->ep, ev, LOOP_EVENTS, timeout_ms(l, now));
        if (n < 0 && errno != EINTR) {
            log_msg("loop: epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            uint64_t tag = ev[i].data.u64 >> 32;
            int fd = (int)(uint32_t)ev[i].data.u64, flags = 0;
            if (tag == TAG_WAKE) {
                run_posts(l);
            } else if (tag == TAG_CURL) {
                if (ev[i].events & (EPOLLIN | EPOLLHUP)) flags |= CURL_CSELECT_IN;
                if (ev[i].events & EPOLLOUT) flags |= CURL_CSELECT_OUT;
                if (ev[i].events & EPOLLERR) flags |= CURL_CSELECT_ERR;
                curl_multi_socket_action(l->multi, fd, flags, &running);
            }
        }
        now = mkv_now_ms();
        if (l->curl_at >= 0 && now >= l->curl_at) {
            l->curl_at = -1;
            curl_multi_socket_action(l->multi, CURL_SOCKET_TIMEOUT, 0, &running);
        }
        reap_xfers(l);
        run_timers(l, now);
        if (l->xfers && now >= l->sweep_at) {
            sweep(l, now);
            l->sweep_at = now + LOOP_SWEEP_MS;
        }
        trim(l, now);
        for (int i = 0; i < l->nmhd; i++)
            if (l->mhd[i]) MHD_run(l->mhd[i]);
        if (l->phase != RUNNING && shutdown_step(l, mkv_now_ms())) break;
    }
    loop_self = NULL;
    return NULL;
}

/* loop_init -- everything but the thread. */
static int loop_init(struct loop *l, int index, const struct loop_front *fronts, int nfronts,
                     unsigned conn_limit, unsigned idle_timeout_s, char *err) {
    struct epoll_event ev;
    const union MHD_DaemonInfo *di;

    memset(l, 0, sizeof(*l));
    l->ep = l->wake_fd = -1;
    l->curl_at = -1;
    pthread_mutex_init(&l->posts_mu, NULL);
    l->ep = epoll_create1(EPOLL_CLOEXEC);
    l->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->ep < 0 || l->wake_fd < 0) {
        mkv_seterr(err, "cannot make an event loop: %s", strerror(errno));
        return MKV_ERR;
    }
    l->multi = new_multi(l);
    if (l->multi == NULL) {
        mkv_seterr(err, "cannot set up a libcurl multi handle");
        return MKV_ERR;
    }
    for (int i = 0; i < nfronts; i++) {
        struct MHD_Daemon *d =
            fronts[i].daemon(fronts[i].fds[index], conn_limit, idle_timeout_s);
        if (d == NULL) {
            mkv_seterr(err, "cannot start libmicrohttpd");
            return MKV_ERR;
        }
        l->mhd[l->nmhd++] = d;
        di = MHD_get_daemon_info(d, MHD_DAEMON_INFO_EPOLL_FD);
        ev.events = EPOLLIN;
        ev.data.u64 = TAG(TAG_MHD, di ? di->epoll_fd : -1);
        if (di == NULL || epoll_ctl(l->ep, EPOLL_CTL_ADD, di->epoll_fd, &ev) != 0) {
            mkv_seterr(err, "cannot watch libmicrohttpd's epoll set");
            return MKV_ERR;
        }
    }
    ev.events = EPOLLIN;
    ev.data.u64 = TAG(TAG_WAKE, l->wake_fd);
    if (epoll_ctl(l->ep, EPOLL_CTL_ADD, l->wake_fd, &ev) != 0) {
        mkv_seterr(err, "cannot watch the loop's eventfd");
        return MKV_ERR;
    }
    return MKV_OK;
}

/* loop_free -- after the thread ended (or never started). */
static void loop_free(struct loop *l) {
    for (int i = 0; i < l->nmhd; i++) {
        if (l->mhd[i] == NULL) continue;
        MHD_quiesce_daemon(l->mhd[i]); /* the listening socket is not ours to close */
        MHD_stop_daemon(l->mhd[i]);
    }
    while (l->npool > 0) curl_easy_cleanup(l->pool[--l->npool]);
    if (l->multi) curl_multi_cleanup(l->multi);
    if (l->ep >= 0) close(l->ep);
    if (l->wake_fd >= 0) close(l->wake_fd);
    pthread_mutex_destroy(&l->posts_mu); /* posts left are their senders' */
}

int loops_start(int n, const struct loop_front *fronts, int nfronts,
                unsigned conn_limit, unsigned idle_timeout_s, char *err) {
    unsigned each = (conn_limit + (unsigned)n - 1) / (unsigned)n;
    loops = calloc((size_t)n, sizeof(*loops));
    if (loops == NULL) {
        mkv_seterr(err, "out of memory");
        return MKV_ERR;
    }
    for (nloops = 0; nloops < n; nloops++) {
        struct loop *l = &loops[nloops];
        int ok = nfronts <= LOOP_FRONTS &&
                 loop_init(l, nloops, fronts, nfronts, each, idle_timeout_s, err) == MKV_OK;
        if (ok && pthread_create(&l->tid, NULL, loop_main, l) != 0) {
            mkv_seterr(err, "cannot start a loop thread");
            ok = 0;
        }
        if (!ok) {
            loop_free(l);
            loops_stop(0);
            return MKV_ERR;
        }
    }
    return MKV_OK;
}

/* One loops_post_all delivery, freed once run. */
struct post_all {
    struct loop_post post;
    void (*fn)(void *);
    void *arg;
};

static void run_post_all(void *u) {
    struct post_all *p = u;
    p->fn(p->arg);
    free(p);
}

int loops_post_all(void (*fn)(void *), void *arg) {
    int n = 0;
    for (int i = 0; i < nloops; i++) {
        struct post_all *p = malloc(sizeof(*p));
        if (p == NULL) continue;
        p->post.fn = run_post_all;
        p->post.arg = p;
        p->fn = fn;
        p->arg = arg;
        loop_post(&loops[i], &p->post);
        n++;
    }
    return n;
}

void loops_stop(long grace_ms) {
    for (int i = 0; i < nloops; i++) {
        pthread_mutex_lock(&loops[i].posts_mu);
        loops[i].grace_ms = grace_ms;
        loops[i].stop_asked = 1;
        pthread_mutex_unlock(&loops[i].posts_mu);
        wake(&loops[i]);
    }
    for (int i = 0; i < nloops; i++) pthread_join(loops[i].tid, NULL);
    /* The helper thread posts to loops: it ends before they are freed. */
    for (int i = 0; i < nloops; i++) loop_free(&loops[i]);
    free(loops);
    loops = NULL;
    nloops = 0;
}
