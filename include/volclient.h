/* volclient.h -- talking to volume servers (nginx) with libcurl.
 *
 * Each calling thread gets its own easy handle, made on first use; all
 * handles share one connection cache, so connections to a volume are
 * kept alive and reused across requests and threads. */
#ifndef MKV_VOLCLIENT_H
#define MKV_VOLCLIENT_H

#include <stdint.h>

#include "mkv.h"
#include "stream.h"

/* How a volume request ended, for the caller to turn into a status. */
enum vol_result {
    VOL_OK = 0,      /* an HTTP answer arrived; see *status */
    VOL_DOWN,        /* could not connect (refused, unreachable)  -> 503 */
    VOL_TIMEOUT,     /* connect or transfer timed out             -> 504 */
    VOL_FAILED,      /* any other transport error                 -> 502 */
    VOL_ABORTED      /* the client's upload ended early           -> (none) */
};

/* vol_init -- global set-up, once, before any thread calls vol_*.
 * Timeouts in ms: connect for every request; total for DELETE/HEAD and,
 * for PUT, the longest the volume may go without moving a byte. */
int vol_init(long connect_ms, long total_ms, char *err);

/* vol_cleanup -- global tear-down after every thread has stopped. */
void vol_cleanup(void);

/* vol_thread_done -- free this thread's handle (call before it exits). */
void vol_thread_done(void);

/* vol_put -- PUT the bytes read from stream s as reader i to url; size is
 * the body's length or -1 when unknown (sent chunked). */
enum vol_result vol_put(const char *url, struct stream *s, int i,
                        int64_t size, long *status, char *err);

/* vol_delete -- DELETE url. */
enum vol_result vol_delete(const char *url, long *status, char *err);

#endif
