/* http.h -- mkv-index's HTTP front (libmicrohttpd) and its routes.
 *
 * Where a request goes: http.c accepts it, decodes the key and answers
 * GET/HEAD itself (a redirect from the index alone); PUT goes to put.c
 * and DELETE to delete.c, which hand the volume transfer to a worker
 * (workers.c) through a pending request (pending.c). */
#ifndef MKV_HTTP_H
#define MKV_HTTP_H

#include <stddef.h>

#include <microhttpd.h>

#include "mkv.h"

struct http_config {
    int port;
    int threads;                  /* event threads */
    char *const *volumes;         /* live for the daemon's lifetime */
    int nvolumes;
};

/* The volumes writes may use, set by http_start. */
extern char *const *http_volumes;
extern int http_nvolumes;

/* http_start -- listen on all interfaces at c->port and serve. */
int http_start(const struct http_config *c, char *err);

/* http_stop -- stop accepting, close every connection, join threads. */
void http_stop(void);

/* http_respond -- queue an empty answer with status (and log it with -v).
 * Answers are prepared once and shared, so this allocates nothing. */
enum MHD_Result http_respond(struct MHD_Connection *c, const char *method,
                             const char *url, unsigned status);

/* http_key -- decode url into key (MKV_KEY_MAX bytes) or answer the
 * client with the matching 4xx. Returns 1 when *keylen is set, 0 when
 * an answer was queued (*ret then holds MHD's result). */
int http_key(struct MHD_Connection *c, const char *method, const char *url,
             char *key, size_t *keylen, enum MHD_Result *ret);

/* put_handle, delete_handle -- the access handler for PUT and DELETE;
 * same arguments as libmicrohttpd's MHD_AccessHandlerCallback. */
enum MHD_Result put_handle(struct MHD_Connection *c, const char *url,
                           const char *upload_data, size_t *upload_data_size,
                           void **con_cls);
enum MHD_Result delete_handle(struct MHD_Connection *c, const char *url,
                              const char *upload_data,
                              size_t *upload_data_size, void **con_cls);

/* put_completed, delete_completed -- MHD finished with such a request. */
void put_completed(void *con_cls, enum MHD_RequestTerminationCode toe);
void delete_completed(void *con_cls, enum MHD_RequestTerminationCode toe);

#endif
