/* server.h -- mkv-index's network side: listening, the event loops, and
 * stopping them (server.c). */
#ifndef MKV_SERVER_H
#define MKV_SERVER_H

#include "http.h"

/* server_start -- listen at c->port (and c->s3_port, if set) on c->listen
 * (or every interface) and serve on c->threads event loops; c must
 * outlive the server. MKV_ERR (err set) when it cannot. */
int server_start(const struct http_config *c, char *err);

/* server_stop -- stop accepting; give requests under way up to grace_ms
 * to finish, abort the rest (503); close every connection, join the
 * loops and the --sync helper. */
void server_stop(long grace_ms);

#endif
