/* supervise.h -- run nginx as a child, restart it when it dies, stop it on a signal.
 *
 * The launcher blocks SIGINT, SIGTERM, SIGQUIT, SIGHUP and SIGCHLD and
 * takes them one at a time with sigtimedwait(), so no work happens in an
 * asynchronous handler. nginx runs in its own process group (its pid), so
 * the whole group -- master and workers -- can be killed at once, and the
 * launcher is a child subreaper, so workers orphaned by a dead master
 * become its children and are reaped here.
 *
 * Unlike the other library-like modules, supervise_run() logs what happens
 * to nginx (restarts, reloads, stops) with log_msg(): reporting those
 * events as they occur is its job. Failures that end it still come back
 * as MKV_ERR with a sentence in err. */
#ifndef MKV_SUPERVISE_H
#define MKV_SUPERVISE_H

/* Timings, in milliseconds. */
#define SUPERVISE_GRACE_MS 5000      /* SIGQUIT to SIGTERM on stop */
#define SUPERVISE_TERM_MS 2000       /* SIGTERM to SIGKILL on stop */
#define SUPERVISE_STARTUP_MS 1000    /* a first start dying sooner failed */
#define SUPERVISE_BACKOFF_MIN_MS 100 /* first restart delay */
#define SUPERVISE_BACKOFF_MAX_MS 5000
#define SUPERVISE_STABLE_MS 10000    /* a run this long resets the backoff */

/* supervise_init -- block the signals the loop waits for, ignore SIGPIPE
 * and make this process a child subreaper. Call it first thing in main,
 * before any file that must be cleaned up exists, so a signal arriving
 * during setup waits for the loop instead of killing the process. */
int supervise_init(char *err);

/* supervise_run -- start argv (argv[0] is the path of nginx, the array is
 * NULL-terminated) and keep it running until SIGINT, SIGTERM or SIGQUIT.
 * SIGHUP is forwarded to the nginx master (reload). When the master dies
 * unexpectedly, what is left of its process group is killed and reaped and
 * nginx is started again after a backoff (SUPERVISE_BACKOFF_MIN_MS,
 * doubling to SUPERVISE_BACKOFF_MAX_MS, reset after SUPERVISE_STABLE_MS of
 * running). A stop sends SIGQUIT, then SIGTERM after SUPERVISE_GRACE_MS,
 * then SIGKILL to the group after SUPERVISE_TERM_MS, and reaps everything.
 * Before every start the files in temp_dir (nginx's upload temp
 * directory; NULL for none) are removed: each is an upload that a crash
 * cut short.
 *
 * Returns MKV_OK after such a stop, and MKV_ERR when nginx could not be
 * started at all or its first run ended within SUPERVISE_STARTUP_MS (a
 * configuration or startup error: nginx has already said why on stderr).
 * Either way no child is left behind. Requires supervise_init(). */
int supervise_run(char *const argv[], const char *temp_dir, char *err);

/* supervise_backoff -- how long to wait before restarting a master that
 * ran ran_ms before it died. *backoff_ms is the delay the next restart
 * would get (SUPERVISE_BACKOFF_MIN_MS at first); a run of at least
 * SUPERVISE_STABLE_MS resets it to that minimum. Returns the delay and
 * doubles *backoff_ms, up to SUPERVISE_BACKOFF_MAX_MS, for the restart
 * after. No clock, no I/O: the loop's arithmetic alone. */
long supervise_backoff(long *backoff_ms, long long ran_ms);

/* supervise_every -- while supervise_run runs, call fn() every ms
 * milliseconds from its loop (nginx running or not); fn must not block. */
void supervise_every(long ms, void (*fn)(void));

#endif
