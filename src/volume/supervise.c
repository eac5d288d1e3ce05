/* supervise.c -- run nginx as a child, restart it when it dies, stop it on a signal. */
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mkv.h"
#include "supervise.h"

/* The signals the loop takes synchronously; set by supervise_init(). */
static sigset_t supervise_signals;
static int supervise_ready = 0;
static long supervise_tick_ms;          /* supervise_every's period, or 0 */
static void (*supervise_tick)(void);

void supervise_every(long ms, void (*fn)(void)) {
    supervise_tick_ms = ms;
    supervise_tick = fn;
}

/* State of one supervised nginx. master is 0 whenever no master runs;
 * then next_start_ms says when to start one. pgid is the process group of
 * the last master started, equal to its pid. */
struct sup {
    char *const *argv;
    const char *temp_dir;         /* emptied before each start, or NULL */
    pid_t master;
    pid_t pgid;
    long long started_ms;
    long long next_start_ms;
    int starts;
    int restarts;
    long backoff_ms;
    int status; /* wait status of the last master that exited */
};

int supervise_init(char *err) {
    sigemptyset(&supervise_signals);
    sigaddset(&supervise_signals, SIGINT);
    sigaddset(&supervise_signals, SIGTERM);
    sigaddset(&supervise_signals, SIGQUIT);
    sigaddset(&supervise_signals, SIGHUP);
    sigaddset(&supervise_signals, SIGCHLD);
    if (sigprocmask(SIG_BLOCK, &supervise_signals, NULL) != 0) {
        mkv_seterr(err, "sigprocmask: %s", strerror(errno));
        return MKV_ERR;
    }
    /* A closed stderr must not kill the launcher mid-log. */
    signal(SIGPIPE, SIG_IGN);
    if (prctl(PR_SET_CHILD_SUBREAPER, 1L, 0L, 0L, 0L) != 0) {
        mkv_seterr(err, "cannot become a child subreaper: %s",
                   strerror(errno));
        return MKV_ERR;
    }
    supervise_ready = 1;
    return MKV_OK;
}

/* now_ms -- mkv_now_ms() in whole milliseconds, as the loop counts. */
static long long now_ms(void) { return (long long)mkv_now_ms(); }

/* describe -- put "exit status N" or "signal N" for a wait status in buf. */
static const char *describe(int status, char *buf, size_t len) {
    if (WIFEXITED(status))
        snprintf(buf, len, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(buf, len, "signal %d", WTERMSIG(status));
    else
        snprintf(buf, len, "wait status %#x", (unsigned)status);
    return buf;
}

/* signame -- "SIGTERM" and friends for the signals the loop takes. */
static const char *signame(int sig) {
    switch (sig) {
    case SIGINT: return "SIGINT";
    case SIGTERM: return "SIGTERM";
    case SIGQUIT: return "SIGQUIT";
    case SIGHUP: return "SIGHUP";
    case SIGCHLD: return "SIGCHLD";
    default: return "a signal";
    }
}

/* clear_one -- nftw's visitor for clear_temp: remove what it is given,
 * the directory itself (depth 0) excepted. */
static int clear_one(const char *path, const struct stat *st, int type, struct FTW *f) {
    (void)st;
    if (f->level == 0) return 0;
    if ((type == FTW_DP ? rmdir(path) : unlink(path)) != 0 && errno != ENOENT)
        log_msg("cannot remove %s: %s", path, strerror(errno));
    return 0;
}

/* clear_temp -- empty nginx's upload temp directory before nginx starts:
 * anything there is an upload cut short by a crash, since nginx moves a
 * finished upload into place and removes an abandoned one itself. */
static void clear_temp(const char *dir) {
    if (dir != NULL && nftw(dir, clear_one, 16, FTW_DEPTH | FTW_PHYS) != 0 &&
        errno != ENOENT)
        log_msg("cannot clear %s: %s", dir, strerror(errno));
}

/* start -- fork and exec nginx in a process group of its own. The child
 * gets a clean signal state and SIGTERM should the launcher die (so a
 * kill -9 of the launcher does not leave nginx holding the port). */
static int start(struct sup *s, char *err) {
    pid_t parent = getpid();
    pid_t pid;

    clear_temp(s->temp_dir); /* no nginx of ours runs now */
    pid = fork();

    if (pid < 0) {
        mkv_seterr(err, "fork: %s", strerror(errno));
        return MKV_ERR;
    }
    if (pid == 0) {
        sigset_t none;
        setpgid(0, 0);
        prctl(PR_SET_PDEATHSIG, SIGTERM, 0L, 0L, 0L);
        if (getppid() != parent) _exit(1); /* launcher already gone */
        /* A launcher started in the background by a script inherits
         * SIGINT and SIGQUIT ignored; nginx should not. */
        signal(SIGPIPE, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGQUIT, SIG_DFL);
        sigemptyset(&none);
        sigprocmask(SIG_SETMASK, &none, NULL);
        execv(s->argv[0], s->argv);
        log_msg("cannot run %s: %s", s->argv[0], strerror(errno));
        _exit(127);
    }
    /* Also set the group from this side, so it exists before we might
     * signal it; EACCES means the child has exec'd and did it itself. */
    if (setpgid(pid, pid) != 0 && errno != EACCES && errno != ESRCH)
        log_msg("setpgid(%d): %s", (int)pid, strerror(errno));
    s->master = pid;
    s->pgid = pid;
    s->started_ms = now_ms();
    s->starts++;
    return MKV_OK;
}

/* reap -- collect every child that has exited. When it is the master,
 * its process group is killed first, while the unreaped master still
 * pins the group id so it cannot have been reused. Returns 1 if the
 * master was among them (s->master is then 0 and s->status set). */
static int reap(struct sup *s) {
    int master_gone = 0;
    for (;;) {
        siginfo_t si;
        pid_t pid;
        int status;

        memset(&si, 0, sizeof(si));
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) != 0) {
            if (errno == EINTR) continue;
            break; /* ECHILD: no children at all */
        }
        if (si.si_pid == 0) break; /* children, none exited */
        pid = si.si_pid;
        if (pid == s->master) kill(-pid, SIGKILL);
        if (waitpid(pid, &status, 0) < 0) {
            if (errno == EINTR) continue;
            break;
        }
        if (pid == s->master) {
            s->master = 0;
            s->status = status;
            master_gone = 1;
        }
    }
    return master_gone;
}

/* drain_group -- after the master of pgid is gone and the group was sent
 * SIGKILL, reap the orphaned workers (ours, as subreaper) so their
 * listening socket is closed before nginx starts again. Bounded: a
 * process stuck in the kernel is logged, not waited for forever. */
static void drain_group(pid_t pgid) {
    long long deadline = now_ms() + 2000;
    struct timespec nap = {0, 5 * 1000000L};
    for (;;) {
        int status;
        pid_t pid = waitpid(-pgid, &status, WNOHANG);
        if (pid > 0) continue;
        if (pid < 0 && errno == EINTR) continue;
        if (pid < 0) return; /* ECHILD: the group is empty */
        if (now_ms() >= deadline) {
            log_msg("processes of nginx group %d still alive after SIGKILL",
                    (int)pgid);
            return;
        }
        nanosleep(&nap, NULL);
    }
}

/* wait_signal -- wait up to ms milliseconds (forever if ms < 0) for one
 * of the loop's signals. Returns the signal, or 0 on timeout. */
static int wait_signal(long long ms) {
    for (;;) {
        int sig;
        if (ms < 0) {
            sig = sigwaitinfo(&supervise_signals, NULL);
        } else {
            struct timespec ts;
            ts.tv_sec = (time_t)(ms / 1000);
            ts.tv_nsec = (long)(ms % 1000) * 1000000L;
            sig = sigtimedwait(&supervise_signals, NULL, &ts);
        }
        if (sig > 0) return sig;
        if (errno == EAGAIN) return 0;
        if (errno != EINTR) {
            log_msg("sigtimedwait: %s", strerror(errno));
            return 0;
        }
    }
}

/* wait_master -- wait up to ms for the master to exit, reaping as
 * children go. Other signals are ignored: a stop is already under way.
 * Returns 1 once no master runs, 0 on timeout. */
static int wait_master(struct sup *s, long long ms) {
    long long deadline = now_ms() + ms;
    while (s->master != 0) {
        long long left = deadline - now_ms();
        if (left <= 0) return 0;
        if (wait_signal(left) == SIGCHLD && reap(s)) drain_group(s->pgid);
    }
    return 1;
}

/* stop -- bring nginx down: SIGQUIT (finish requests), then SIGTERM, then
 * SIGKILL for the whole group, and reap everything. */
static void stop(struct sup *s) {
    if (s->master == 0) {
        reap(s);
        return;
    }
    log_msg("stopping nginx (pid %d)", (int)s->master);
    kill(s->master, SIGQUIT);
    if (wait_master(s, SUPERVISE_GRACE_MS)) return;
    log_msg("nginx did not quit within %d ms; sending SIGTERM",
            SUPERVISE_GRACE_MS);
    kill(s->master, SIGTERM);
    if (wait_master(s, SUPERVISE_TERM_MS)) return;
    log_msg("nginx did not stop within %d ms; killing its process group",
            SUPERVISE_TERM_MS);
    kill(-s->pgid, SIGKILL);
    if (!wait_master(s, 2000))
        log_msg("nginx (pid %d) survived SIGKILL; giving up on it",
                (int)s->master);
}

long supervise_backoff(long *backoff_ms, long long ran_ms) {
    long delay;
    if (ran_ms >= SUPERVISE_STABLE_MS) *backoff_ms = SUPERVISE_BACKOFF_MIN_MS;
    delay = *backoff_ms;
    *backoff_ms *= 2;
    if (*backoff_ms > SUPERVISE_BACKOFF_MAX_MS) *backoff_ms = SUPERVISE_BACKOFF_MAX_MS;
    return delay;
}

/* master_exited -- the master is gone without being asked to. Clean up
 * its group; fail on a first start that did not last, else schedule a
 * restart with backoff. */
static int master_exited(struct sup *s, char *err) {
    long long now = now_ms();
    long long ran = now - s->started_ms;
    char what[64];
    long delay;

    describe(s->status, what, sizeof(what));
    drain_group(s->pgid);
    if (s->starts == 1 && ran < SUPERVISE_STARTUP_MS) {
        mkv_seterr(err, "nginx failed to start (%s after %lld ms); see its "
                   "messages above", what, ran);
        return MKV_ERR;
    }
    delay = supervise_backoff(&s->backoff_ms, ran);
    s->restarts++;
    s->next_start_ms = now + delay;
    log_msg("nginx exited (%s); restart #%d in %ld ms", what, s->restarts,
            delay);
    return MKV_OK;
}

int supervise_run(char *const argv[], const char *temp_dir, char *err) {
    struct sup s;
    long long next_tick;

    if (!supervise_ready) {
        mkv_seterr(err, "supervise_run called before supervise_init");
        return MKV_ERR;
    }
    memset(&s, 0, sizeof(s));
    s.argv = argv;
    s.temp_dir = temp_dir;
    s.backoff_ms = SUPERVISE_BACKOFF_MIN_MS;
    if (start(&s, err) != MKV_OK) return MKV_ERR;
    next_tick = now_ms() + supervise_tick_ms;

    for (;;) {
        long long wait_ms = -1;
        int sig;

        if (supervise_tick != NULL) {
            long long now = now_ms();
            if (now >= next_tick) {
                supervise_tick();
                next_tick = now + supervise_tick_ms;
            }
            wait_ms = next_tick - now;
        }
        if (s.master == 0) {
            long long restart_in;
            char why[MKV_ERRLEN];
            restart_in = s.next_start_ms - now_ms();
            if (restart_in <= 0) {
                if (start(&s, why) == MKV_OK) continue;
                /* fork failed: try again after the next backoff step */
                s.next_start_ms = now_ms() + s.backoff_ms;
                log_msg("cannot start nginx: %s; retry in %ld ms", why,
                        s.backoff_ms);
                continue;
            }
            if (wait_ms < 0 || restart_in < wait_ms) wait_ms = restart_in;
        }
        sig = wait_signal(wait_ms);
        switch (sig) {
        case 0:
            break; /* time to restart, or to tick */
        case SIGCHLD:
            if (reap(&s) && master_exited(&s, err) != MKV_OK) return MKV_ERR;
            break;
        case SIGHUP:
            if (s.master != 0) {
                log_msg("SIGHUP: reloading nginx (pid %d)", (int)s.master);
                kill(s.master, SIGHUP);
            } else {
                log_msg("SIGHUP: nginx is not running; it will start with "
                        "the same config");
            }
            break;
        default:
            log_msg("%s received", signame(sig));
            stop(&s);
            return MKV_OK;
        }
    }
}
