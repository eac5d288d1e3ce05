/* space.c -- room for the index file to grow (space.h). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "log.h"
#include "space.h"

/* After a fallocate that failed for want of space, wait this long before
 * trying again (the measure itself goes on). */
#define SPACE_PREALLOC_RETRY_MS 1000

static pthread_mutex_t space_mu = PTHREAD_MUTEX_INITIALIZER;
/* Everything below is under space_mu. */
static int space_on;               /* min_free > 0 */
static int space_fd = -1;          /* our duplicate of the index file's fd */
static uint64_t space_min_free;
static uint64_t space_dir_bytes;   /* GDBM's directory, as last told */
static int space_prealloc_off;     /* the filesystem cannot preallocate */
static double space_prealloc_at;   /* when a fallocate last failed */
static double space_measured_at;   /* when room was measured; 0: never */
static uint64_t space_free;        /* statvfs f_bavail, in bytes */
static uint64_t space_runway;      /* preallocated past the file's end */
static uint64_t space_limit_left;  /* RLIMIT_FSIZE - size, or UINT64_MAX */
static uint64_t space_measured;    /* room when measured */
static uint64_t space_spent;       /* estimates admitted since */

void space_human(uint64_t n, char *out, size_t len) {
    static const char *const units[] = {"KiB", "MiB", "GiB", "TiB", "PiB"};
    double v = (double)n;
    int u = -1;

    if (n < 1024) {
        snprintf(out, len, "%llu B", (unsigned long long)n);
        return;
    }
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (v < 10 && v != (double)(long)v)
        snprintf(out, len, "%.1f %s", v, units[u]);
    else
        snprintf(out, len, "%.0f %s", v, units[u]);
}

/* required -- the reserve: --min-free, or twice the directory. */
static uint64_t required(void) {
    return space_min_free > 2 * space_dir_bytes ? space_min_free : 2 * space_dir_bytes;
}

/* runway_target -- how much to keep preallocated past the end. */
static uint64_t runway_target(void) {
    uint64_t half = space_min_free / 2;
    return half > 2 * space_dir_bytes ? half : 2 * space_dir_bytes;
}

static uint64_t do_room(void) {
    uint64_t fs = space_free + space_runway;
    return fs < space_limit_left ? fs : space_limit_left;
}

/* file_sizes -- the file's size and the bytes allocated past it. */
static int file_sizes(off_t *size, uint64_t *runway) {
    struct stat st;
    uint64_t alloc;
    if (fstat(space_fd, &st) != 0) return MKV_ERR;
    alloc = (uint64_t)st.st_blocks * 512;
    *size = st.st_size;
    *runway = alloc > (uint64_t)st.st_size ? alloc - (uint64_t)st.st_size : 0;
    return MKV_OK;
}

/* do_measure -- statvfs, the runway (topped up when under half of its
 * target), the file size limit; mu held. Keeps the last values of what
 * cannot be read. */
static void do_measure(double now) {
    struct statvfs sv;
    struct rlimit rl;
    off_t size = 0;
    uint64_t target = runway_target();

    space_measured_at = now;
    space_spent = 0;
    if (file_sizes(&size, &space_runway) != MKV_OK) {
        log_limited(LOG_INDEX, "index space: cannot stat the index file: %s",
                    strerror(errno));
    } else if (!space_prealloc_off && space_runway < target / 2 &&
               now - space_prealloc_at >= SPACE_PREALLOC_RETRY_MS) {
        /* KEEP_SIZE: GDBM sees the same file; its next growth lands in
         * blocks already the file's, which no one else can take. */
        if (fallocate(space_fd, FALLOC_FL_KEEP_SIZE, size, (off_t)target) == 0) {
            file_sizes(&size, &space_runway);
        } else if (errno == EOPNOTSUPP || errno == ENOSYS) {
            space_prealloc_off = 1;
            log_msg("index space: this filesystem cannot preallocate; the "
                    "free-space reserve alone guards the index");
        } else {
            space_prealloc_at = now;
        }
    }
    if (fstatvfs(space_fd, &sv) == 0)
        space_free = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
    else
        log_limited(LOG_INDEX, "index space: statvfs: %s", strerror(errno));
    space_limit_left = UINT64_MAX;
    if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
        space_limit_left =
            rl.rlim_cur > (rlim_t)size ? (uint64_t)(rl.rlim_cur - (rlim_t)size) : 0;
    space_measured = do_room();
}

/* do_room_now -- room as estimated now; mu held. */
static uint64_t do_room_now(void) {
    return space_measured > space_spent ? space_measured - space_spent : 0;
}

/* do_reason -- "12 MiB free, 64 MiB required" (or the size limit's
 * version) for the current estimate; mu held. */
static void do_reason(char *out, size_t len) {
    char have[32], need[32];
    uint64_t room = do_room_now();
    space_human(room, have, sizeof(have));
    space_human(required(), need, sizeof(need));
    if (space_limit_left < space_free + space_runway)
        snprintf(out, len, "the file size limit leaves %s, %s required", have, need);
    else
        snprintf(out, len, "%s free, %s required", have, need);
}

int space_open(const char *path, int fd, uint64_t min_free, char *err) {
    pthread_mutex_lock(&space_mu);
    space_min_free = min_free;
    space_on = min_free > 0;
    space_measured_at = 0;
    if (space_on) {
        space_fd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (space_fd < 0) {
            mkv_seterr(err, "index %s: %s", path, strerror(errno));
            space_on = 0;
            pthread_mutex_unlock(&space_mu);
            return MKV_ERR;
        }
        do_measure(mkv_now_ms());
    }
    pthread_mutex_unlock(&space_mu);
    return MKV_OK;
}

void space_file(int fd) {
    pthread_mutex_lock(&space_mu);
    if (space_on) {
        int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 0);
        if (nfd >= 0) {
            /* The old file was renamed over: closing it frees it. */
            close(space_fd);
            space_fd = nfd;
        }
        space_measured_at = 0; /* measure at the next write */
    }
    pthread_mutex_unlock(&space_mu);
}

void space_directory(uint64_t bytes) {
    pthread_mutex_lock(&space_mu);
    space_dir_bytes = bytes;
    pthread_mutex_unlock(&space_mu);
}

/* do_writable -- room is at the reserve or above: a write may begin
 * (it may take the room under by its own growth; the runway covers
 * that). mu held. */
static int do_writable(uint64_t room) { return room >= required(); }

int space_admit(uint64_t need, char *why) {
    double now;
    int ok;

    pthread_mutex_lock(&space_mu);
    if (!space_on) {
        pthread_mutex_unlock(&space_mu);
        return MKV_OK;
    }
    now = mkv_now_ms();
    if (space_measured_at == 0 || now - space_measured_at >= SPACE_EVERY_MS)
        do_measure(now);
    /* Refused only on a measure: when the estimate alone runs out, the
     * room is measured again at once; when the last measure itself was
     * short, again at most every SPACE_EDGE_MS. */
    if (!do_writable(do_room_now()) &&
        (do_writable(space_measured) || now - space_measured_at >= SPACE_EDGE_MS))
        do_measure(now);
    ok = do_writable(do_room_now());
    if (ok) {
        space_spent += need;
    } else {
        char reason[128];
        do_reason(reason, sizeof(reason));
        mkv_seterr(why, "index read-only: %s", reason);
    }
    pthread_mutex_unlock(&space_mu);
    return ok ? MKV_OK : MKV_ERR;
}

uint64_t space_room(void) {
    uint64_t room = UINT64_MAX;
    pthread_mutex_lock(&space_mu);
    if (space_on) {
        double now = mkv_now_ms();
        if (space_measured_at == 0 || now - space_measured_at >= SPACE_EVERY_MS)
            do_measure(now);
        room = do_room_now();
    }
    pthread_mutex_unlock(&space_mu);
    return room;
}

int space_describe(char *out, size_t len) {
    char reason[128];
    int ok;

    pthread_mutex_lock(&space_mu);
    if (!space_on) {
        pthread_mutex_unlock(&space_mu);
        snprintf(out, len, "ok: free space not checked (--min-free 0)");
        return 1;
    }
    {
        double now = mkv_now_ms();
        if (space_measured_at == 0 || now - space_measured_at >= SPACE_EVERY_MS)
            do_measure(now);
    }
    ok = do_writable(do_room_now());
    do_reason(reason, sizeof(reason));
    pthread_mutex_unlock(&space_mu);
    snprintf(out, len, "%s: %s", ok ? "ok" : "read-only", reason);
    return ok;
}

void space_close(void) {
    pthread_mutex_lock(&space_mu);
    if (space_fd >= 0) {
        off_t size;
        uint64_t runway;
        /* Punching frees blocks past the end on tmpfs; ext4 keeps them
         * until a truncate, which at the same size changes nothing else
         * (nothing writes the file any more). */
        if (file_sizes(&size, &runway) == MKV_OK && runway > 0 &&
            (fallocate(space_fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, size,
                       (off_t)runway) != 0 ||
             (file_sizes(&size, &runway) == MKV_OK && runway > 0)))
            if (ftruncate(space_fd, size) != 0)
                log_msg("index space: cannot give back the runway: %s", strerror(errno));
        close(space_fd);
        space_fd = -1;
    }
    space_on = 0;
    pthread_mutex_unlock(&space_mu);
}
