/* log.h -- timestamped lines on stderr, shared by both daemons. */
#ifndef MKV_LOG_H
#define MKV_LOG_H

/* log_verbose -- non-zero when -v asked for one line per request. */
extern int log_verbose;

/* log_msg -- write "2026-11-24T20:30:00.123Z prog: message\n" to stderr
 * in one write(2), so lines from several threads never interleave. */
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* What log_limited counts separately: each kind (and each volume) has
 * its own one-line-a-second budget. */
enum log_kind {
    LOG_RECORD,                   /* a record in the index cannot be used */
    LOG_INDEX,                    /* the index file failed (GDBM, space) */
    LOG_NOFD,                     /* out of file descriptors */
    LOG_REFUSED,                  /* a client's request refused as malformed */
    LOG_HEALTH,                   /* a health check found a problem */
    LOG_VOLUME,                   /* volume i: log_kind_volume(i) */
    LOG_KINDS = LOG_VOLUME + 65   /* 64 (PLACEMENT_MAX_VOLUMES) and "other" */
};

/* log_kind_volume -- the kind for volume i of the configured list; any
 * other (i < 0: a volume a record names but the list does not) shares
 * the last. */
static inline int log_kind_volume(int i) {
    return LOG_VOLUME + (i >= 0 && i < 64 ? i : 64);
}

/* log_limited -- log_msg for errors on hot paths. The first line of a
 * kind is written; after that at most one a second, each saying how many
 * lines of that kind were left out since the last one written (so the
 * count of a burst that stops shows on its kind's next line). Lock-free;
 * a kind out of range counts as LOG_INDEX. */
void log_limited(int kind, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* log_setprog -- the program name put before every line. */
void log_setprog(const char *name);

/* log_access_open -- write an access log to path ("-": stderr), one line
 * a request, appended. MKV_ERR (err set) if it cannot be opened. */
int log_access_open(const char *path, char *err);

/* log_access_reopen -- open the file again (after rotation, on SIGHUP);
 * lines in flight go to the old or the new file, never lost in between. */
int log_access_reopen(char *err);

/* log_access -- one line in Common Log Format with the request's duration
 * in microseconds after it:
 *   127.0.0.1 - - [24/Nov/2026:20:30:00 +0000] "GET /key HTTP/1.1" 302 0 153
 * Bytes outside printable ASCII in the url are written as %XX. */
void log_access(const char *client, const char *method, const char *url,
                const char *version, unsigned status, unsigned long long bytes,
                double seconds);

/* log_access_on -- non-zero when an access log is open. */
int log_access_on(void);

#endif
