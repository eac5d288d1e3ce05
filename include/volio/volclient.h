/* volclient.h -- talking to volume servers (nginx) with libcurl.
 *
 * Two ways in. The server's event loops set up easy handles with
 * vol_setup_* and run them on their own multi handle (loop.h), which
 * keeps that loop's connections to the volumes alive. The offline
 * commands call the blocking vol_put ... vol_get_stream, each thread on
 * an easy handle of its own, made on first use. Nothing is shared
 * between threads: libcurl does not support sharing connections between
 * concurrent threads. */
#ifndef MKV_VOLCLIENT_H
#define MKV_VOLCLIENT_H

#include <stdint.h>

#include <curl/curl.h>

#include "mkv.h"
#include "placement.h"
#include "stream.h"

/* Longest URL of a value: "http://" VOLUME ["/svXX"] PATH. */
#define VOL_URL_MAX (8 + PLACEMENT_VOLUME_MAX + 8 + PLACEMENT_PATH_MAX)

/* How a volume request ended, for the caller to turn into a status. */
enum vol_result {
    VOL_OK = 0,      /* an HTTP answer arrived; see *status */
    VOL_DOWN,        /* could not connect (refused, unreachable)  -> 503 */
    VOL_TIMEOUT,     /* connect or transfer timed out             -> 504 */
    VOL_FAILED,      /* any other transport error                 -> 502 */
    VOL_ABORTED,     /* the client's upload ended early           -> (none) */
    VOL_NOFD         /* this process is out of file descriptors   -> 503 */
};

/* vol_http_status -- the client's status when a volume transfer did not
 * succeed: 503 refused, 504 timed out or stalled, 400 the client's own
 * upload ended early (nobody hears it), 503 out of descriptors, 502
 * anything else, including an error answer from the volume (VOL_OK with
 * a bad status). */
unsigned vol_http_status(enum vol_result vr);

/* vol_gone -- a DELETE that ended with vr and HTTP status says the copy
 * is not on the volume (any more): 204, 200, or 404. */
int vol_gone(enum vol_result vr, long status);

/* vol_url -- "http://VOLUME" PATH into out (VOL_URL_MAX bytes). VOLUME
 * and PATH are bounded by record.h and placement.h, so it always fits. */
void vol_url(char *out, const char *volume, const char *path);

/* vol_init -- global set-up, once, before any thread calls vol_*.
 * Timeouts in ms: connect, for every request; total, for DELETE, HEAD
 * and GET of a listing; stall, the longest a PUT or a copy may go
 * without the volume moving a byte (a body has no total deadline). */
int vol_init(long connect_ms, long total_ms, long stall_ms, char *err);

/* vol_cleanup -- global tear-down after every thread has stopped. */
void vol_cleanup(void);

/* vol_stall_ms -- the stall timeout given to vol_init. */
long vol_stall_ms(void);

/* vol_setup_simple -- set h (fresh or reset) up for a bodiless method
 * ("HEAD" or "DELETE") of url, bounded by the total timeout. */
void vol_setup_simple(CURL *h, const char *url, const char *method);

/* A small body read into memory (a volume's space file, volspace.h);
 * what does not fit is dropped and counted. */
struct vol_small {
    char data[128];
    size_t len;
    size_t dropped;
};

/* vol_setup_get_small -- set h up to GET url into b (emptied), bounded
 * by the total timeout. */
void vol_setup_get_small(CURL *h, const char *url, struct vol_small *b);

/* vol_setup_put -- set h up to PUT size bytes (-1: unknown, sent
 * chunked) to url, read through fn(buf, 1, n, arg). No deadline: the
 * caller times out a volume that stalls. */
void vol_setup_put(CURL *h, const char *url, int64_t size,
                   curl_read_callback fn, void *arg);

/* vol_setup_put_bytes -- set h up to PUT data[0..len) to url, with the
 * request: one send for headers and body when it fits in libcurl's first
 * (len < VOL_ONE_SEND), so the volume wakes once. data must stay as it
 * is until the transfer ends. No deadline, as vol_setup_put. */
#define VOL_ONE_SEND (64 * 1024)
void vol_setup_put_bytes(CURL *h, const char *url, const char *data, size_t len);

/* vol_socket -- a socket for libcurl (CURLOPT_OPENSOCKETFUNCTION), with
 * *nofd set when the process is out of descriptors, so that is never
 * blamed on a volume. */
curl_socket_t vol_socket(struct curl_sockaddr *a, int *nofd);

/* vol_result_of -- how a transfer that ended with rc and HTTP status
 * code went; sets *status (code, or 0 unless VOL_OK) and, on failure,
 * err. */
enum vol_result vol_result_of(CURLcode rc, int nofd, long code, long *status,
                              char *err);

/* The blocking calls, for the offline commands. */

/* vol_thread_done -- free this thread's handle (call before it exits). */
void vol_thread_done(void);

/* vol_put -- PUT the bytes read from stream s as reader i to url; size is
 * the body's length or -1 when unknown (sent chunked). */
enum vol_result vol_put(const char *url, struct stream *s, int i,
                        int64_t size, long *status, char *err);

/* vol_delete -- DELETE url. */
enum vol_result vol_delete(const char *url, long *status, char *err);

/* vol_head -- HEAD url (is the volume there, and the value on it?). */
enum vol_result vol_head(const char *url, long *status, char *err);

/* vol_get_buf -- GET url into a malloc'd buffer (*out, *len; NUL after
 * the bytes), at most max bytes (VOL_FAILED beyond). The caller frees
 * *out, which is NULL on failure. */
enum vol_result vol_get_buf(const char *url, size_t max, char **out,
                            size_t *len, long *status, char *err);

/* vol_get_md5 -- GET url and write the md5 of its body as 32 lowercase
 * hex digits and a NUL into hex (only on VOL_OK with *status 200). */
enum vol_result vol_get_md5(const char *url, char hex[33], long *status,
                            char *err);

/* vol_get_stream -- GET url and write the body into s as its producer
 * (stream_write), then finish s on a 200 or abort it otherwise. */
enum vol_result vol_get_stream(const char *url, struct stream *s,
                               long *status, char *err);

/* vol_copy -- stream the value at url src to url dst (a GET on a thread
 * of its own feeding the PUT through a 1 MiB stream). MKV_OK once dst
 * answered 201 or 204 to the whole of a 200; MKV_ERR with err set. */
int vol_copy(const char *src, const char *dst, char *err);

#endif
