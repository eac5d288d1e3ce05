/* log.h -- timestamped lines on stderr, shared by both daemons. */
#ifndef MKV_LOG_H
#define MKV_LOG_H

/* log_verbose -- non-zero when -v asked for one line per request. */
extern int log_verbose;

/* log_msg -- write "2026-11-24T20:30:00.123Z prog: message\n" to stderr
 * in one write(2), so lines from several threads never interleave. */
void log_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

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
