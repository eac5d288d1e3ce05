/* http.h -- what a native handler receives and answers with: the request
 * (struct call), the index's settings, and the replies (http.c).
 *
 * Where a request goes: one of the event loops (loop.c) accepts it, the
 * route table (route.c) picks its handler by method and query: get.c (a
 * redirect from the index alone), list.c (?list, ?unlinked), health.c
 * (?health, ?metrics), put.c, delete.c (DELETE and UNLINK). A request that
 * waits for volumes runs its transfers on the same loop (a req, req.h)
 * and is answered there. server.c listens and starts the loops. */
#ifndef MKV_HTTP_H
#define MKV_HTTP_H

#include <stdarg.h>
#include <stddef.h>

#include <microhttpd.h>

#include "mkv.h"
#include "placement.h"
#include "query.h"
#include "volclient.h"

#include <stdint.h>

struct http_config {
    int port;
    int threads;                  /* event loops */
    unsigned max_connections;     /* clients at once, over all loops */
    unsigned client_timeout_s;    /* an idle or stalled client is closed */
    char *const *volumes;         /* live for the daemon's lifetime */
    int nvolumes;
    int replicas;                 /* copies of each value */
    int subvolumes;               /* /svXX directories per volume */
    int md5sum;                   /* record the md5 of each value */
    int probe;                    /* HEAD a replica before redirecting */
    int protect;                  /* DELETE of a live key -> 403 */
    int64_t max_size;             /* largest value accepted, 0 = any */
    const char *fallback;         /* host:port for absent keys, or NULL */
    const char *listen;           /* --listen address, NULL: every interface */
    int s3_port;                  /* the S3 endpoint's port, 0: off */
    long s3_upload_expiry_s;      /* an unfinished multipart upload's life */
};

/* The daemon's settings, set by server_start. */
extern const struct http_config *http_cfg;

/* http_init -- prepare the shared empty answers; http_fini frees them. */
int http_init(char *err);
void http_fini(void);

/* A request as the route table hands it to a handler (route.c): what
 * libmicrohttpd passed for this call. The handler owns *con_cls from
 * the first call it stores something there until its *_completed. */
struct call {
    struct MHD_Connection *c;
    const char *method;           /* as sent; "UNLINK" included */
    const char *url;              /* the target's path, as sent */
    const char *upload_data;      /* this call's body bytes (PUT) */
    size_t *upload_size;          /* in: their count; out: left unread */
    void **con_cls;
    const struct query *q;        /* a GET's parsed query, else NULL */
};

/* http_respond -- queue an empty answer with status (and log it with -v).
 * Answers are prepared once and shared, so this allocates nothing. */
enum MHD_Result http_respond(struct MHD_Connection *c, const char *method,
                             const char *url, unsigned status);

/* http_account -- a request is being answered with status and bytes_out
 * of body: count it in the metrics, write the access log line, and the
 * -v line (control and non-ASCII bytes of url replaced, long ones cut).
 * Every answer goes through here once. */
void http_account(struct MHD_Connection *c, const char *method,
                  const char *url, unsigned status, uint64_t bytes_out);

/* http_begin -- the first call for a request on c: start its clock and
 * count it in flight. http_end -- it ended without going through
 * http_account (the connection went away). */
void http_begin(struct MHD_Connection *c, const char *version);
void http_end(struct MHD_Connection *c);

/* For the S3 front's daemon: the per-connection accounting and the
 * libmicrohttpd logger the native one uses. */
void http_notify_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                            enum MHD_ConnectionNotificationCode code);
void http_mhd_log(void *cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/* http_check_uri -- libmicrohttpd's URI log callback: it sees the raw
 * request target and returns the request's first con_cls, a marker for
 * which http_nul_in_path is true when the target held a NUL byte (which
 * would cut the path short), else NULL. */
void *http_check_uri(void *cls, const char *uri, struct MHD_Connection *c);
int http_nul_in_path(void *con_cls);

/* http_no_unescape -- libmicrohttpd's unescape callback: keep the path
 * and query as sent; key_decode and the S3 front decode them strictly. */
size_t http_no_unescape(void *cls, struct MHD_Connection *c, char *s);

/* http_bytes_in -- a request body's bytes taken in, for the metrics. */
void http_bytes_in(struct MHD_Connection *c, uint64_t n);

/* http_queue -- the one way an answer leaves: count and log it (status,
 * bytes_out: 0 when not known yet, as for a stream), queue r, and let go
 * of it. r NULL (out of memory) gives MHD_NO. */
enum MHD_Result http_queue(struct MHD_Connection *c, const char *method,
                           const char *url, unsigned status, struct MHD_Response *r,
                           uint64_t bytes_out);

/* http_start_daemon -- for the fronts (route.c, s3.c): a libmicrohttpd
 * daemon in external epoll mode on listen_fd with access and completed
 * as its handlers and this module's logger, accounting and raw-target
 * checks; at most limit connections, idle ones closed after timeout_s. */
struct MHD_Daemon *http_start_daemon(int listen_fd, unsigned limit, unsigned timeout_s,
                                     MHD_AccessHandlerCallback access,
                                     MHD_RequestCompletedCallback completed);

/* http_answer -- queue status with body (malloc'd, len bytes; freed by
 * libmicrohttpd once sent, or here on failure) as Content-Type type. */
enum MHD_Result http_answer(struct MHD_Connection *c, const char *method,
                            const char *url, unsigned status, char *body,
                            size_t len, const char *type);

/* http_reason -- queue status with why and a newline as a text/plain
 * body: the one-line reason a 507 (or a refusal like it) carries. */
enum MHD_Result http_reason(struct MHD_Connection *c, const char *method,
                            const char *url, unsigned status, const char *why);

/* http_volume_index -- the place of volume (a "host:port", maybe with
 * "/svXX") in http_cfg->volumes, or -1. */
int http_volume_index(const char *volume);

/* http_key -- decode url into key (MKV_KEY_MAX bytes) or answer the
 * client with the matching 4xx. MKV_OK when *keylen is set, MKV_ERR when
 * an answer was queued (*ret then holds MHD's result). */
int http_key(struct MHD_Connection *c, const char *method, const char *url,
             char *key, size_t *keylen, enum MHD_Result *ret);

#endif
