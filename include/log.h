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

#endif
