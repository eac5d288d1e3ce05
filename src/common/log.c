/* log.c -- timestamped, thread-safe error and request lines on stderr. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mkv.h"

int log_verbose = 0;
static const char *log_prog = "mkv";
static int log_access_fd = -1;      /* stays the same number across reopens */
static const char *log_access_path;

void log_setprog(const char *name) { log_prog = name; }

/* log_line -- the timestamped line for fmt/ap, with tail after it (or
 * NULL), in one write(2) so lines from several threads never interleave. */
__attribute__((format(printf, 2, 0)))
static void log_line(const char *tail, const char *fmt, va_list ap) {
    char line[1024];
    struct timeval tv;
    struct tm tm;
    size_t n;
    int m;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    m = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s: ",
                 (long)tv.tv_usec / 1000, log_prog);
    if (m > 0) n += (size_t)m;
    m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    if (m > 0) n += (size_t)m;
    if (n > sizeof(line) - 2) n = sizeof(line) - 2; /* truncated line */
    if (tail != NULL) {
        m = snprintf(line + n, sizeof(line) - n - 1, "%s", tail);
        if (m > 0) n += (size_t)m;
        if (n > sizeof(line) - 2) n = sizeof(line) - 2;
    }
    line[n++] = '\n';
    /* A short write to stderr is not worth retrying for a log line. */
    if (write(STDERR_FILENO, line, n) < 0) return;
}

void log_msg(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    log_line(NULL, fmt, ap);
    va_end(ap);
}

/* Per kind: when its last line was written (ms, monotonic; 0: never) and
 * how many were left out since. */
static _Atomic long long log_last_ms[LOG_KINDS];
static atomic_ulong log_dropped[LOG_KINDS];

#define LOG_EVERY_MS 1000

void log_limited(int kind, const char *fmt, ...) {
    long long now = (long long)mkv_now_ms(), last;
    unsigned long dropped;
    char tail[64] = "";
    va_list ap;

    if (kind < 0 || kind >= LOG_KINDS) kind = LOG_INDEX;
    last = atomic_load_explicit(&log_last_ms[kind], memory_order_relaxed);
    /* One thread wins the right to write this second's line. */
    if ((last != 0 && now - last < LOG_EVERY_MS) ||
        !atomic_compare_exchange_strong(&log_last_ms[kind], &last, now)) {
        atomic_fetch_add_explicit(&log_dropped[kind], 1, memory_order_relaxed);
        return;
    }
    dropped = atomic_exchange_explicit(&log_dropped[kind], 0, memory_order_relaxed);
    if (dropped > 0)
        snprintf(tail, sizeof(tail), " [%lu more like this not logged]", dropped);
    va_start(ap, fmt);
    log_line(tail, fmt, ap);
    va_end(ap);
}

int log_access_open(const char *path, char *err) {
    log_access_path = path;
    if (strcmp(path, "-") == 0) {
        log_access_fd = STDERR_FILENO;
        return MKV_OK;
    }
    log_access_fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (log_access_fd < 0) {
        mkv_seterr(err, "cannot open access log %s: %s", path, strerror(errno));
        return MKV_ERR;
    }
    return MKV_OK;
}

int log_access_reopen(char *err) {
    int fd;
    if (log_access_fd < 0 || log_access_fd == STDERR_FILENO) return MKV_OK;
    fd = open(log_access_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        mkv_seterr(err, "cannot reopen access log %s: %s", log_access_path,
                   strerror(errno));
        return MKV_ERR;
    }
    /* dup2 swaps the file behind the number atomically for writers. */
    if (dup2(fd, log_access_fd) < 0) {
        mkv_seterr(err, "cannot reopen access log: %s", strerror(errno));
        close(fd);
        return MKV_ERR;
    }
    close(fd);
    return MKV_OK;
}

int log_access_on(void) { return log_access_fd >= 0; }

void log_access(const char *client, const char *method, const char *url,
                const char *version, unsigned status, unsigned long long bytes,
                double seconds) {
    static const char hex[] = "0123456789ABCDEF";
    char line[2048], path[1024], date[32];
    struct tm tm;
    time_t t = time(NULL);
    size_t i, o = 0;
    int n;

    for (i = 0; url[i] && o + 4 < sizeof(path); i++) {
        unsigned char c = (unsigned char)url[i];
        if (c <= 0x20 || c >= 0x7f || c == '"') {
            path[o++] = '%';
            path[o++] = hex[c >> 4];
            path[o++] = hex[c & 15];
        } else {
            path[o++] = (char)c;
        }
    }
    path[o] = '\0';
    gmtime_r(&t, &tm);
    strftime(date, sizeof(date), "%d/%b/%Y:%H:%M:%S +0000", &tm);
    n = snprintf(line, sizeof(line), "%s - - [%s] \"%s %s%s %s\" %u %llu %.0f\n",
                 client, date, method, path, url[i] ? "..." : "", version, status,
                 bytes, seconds * 1e6);
    if (n < 0) return;
    if ((size_t)n >= sizeof(line)) n = (int)sizeof(line) - 1;
    if (write(log_access_fd, line, (size_t)n) < 0) return;
}
