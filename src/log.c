/* log.c -- timestamped, thread-safe error and request lines on stderr. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "mkv.h"

int log_verbose = 0;
static const char *log_prog = "mkv";

void log_setprog(const char *name) { log_prog = name; }

void log_msg(const char *fmt, ...) {
    char line[1024];
    struct timeval tv;
    struct tm tm;
    size_t n;
    int m;
    va_list ap;

    gettimeofday(&tv, NULL);
    gmtime_r(&tv.tv_sec, &tm);
    n = strftime(line, sizeof(line), "%Y-%m-%dT%H:%M:%S", &tm);
    m = snprintf(line + n, sizeof(line) - n, ".%03ldZ %s: ",
                 (long)tv.tv_usec / 1000, log_prog);
    if (m > 0) n += (size_t)m;
    va_start(ap, fmt);
    m = vsnprintf(line + n, sizeof(line) - n - 1, fmt, ap);
    va_end(ap);
    if (m > 0) n += (size_t)m;
    if (n > sizeof(line) - 2) n = sizeof(line) - 2; /* truncated line */
    line[n++] = '\n';
    /* One write so concurrent lines stay whole; a short write to stderr
     * is not worth retrying for a log line. */
    if (write(STDERR_FILENO, line, n) < 0) return;
}

void mkv_seterr(char *err, const char *fmt, ...) {
    va_list ap;
    if (err == NULL) return;
    va_start(ap, fmt);
    vsnprintf(err, MKV_ERRLEN, fmt, ap);
    va_end(ap);
}
