/* query.h -- the query string of a GET: which operation, and its
 * arguments. A request with no query is a plain key lookup. */
#ifndef MKV_QUERY_H
#define MKV_QUERY_H

#include <stddef.h>

#include "mkv.h"

enum query_op {
    QUERY_NONE = 0,               /* no query: redirect to the key */
    QUERY_LIST,                   /* ?list: live keys under the path */
    QUERY_UNLINKED,               /* ?unlinked: soft-deleted keys */
    QUERY_HEALTH,                 /* ?health: do the volumes answer? */
    QUERY_METRICS                 /* ?metrics: Prometheus text */
};

#define QUERY_LIMIT_MAX 1000000000L /* a larger limit is refused */

struct query {
    enum query_op op;
    int has_start;
    size_t startlen;
    long limit;                   /* 0: no limit */
    int url_encoding;             /* encoding=url: keys percent-encoded */
    char start[MKV_KEY_MAX];      /* percent-decoded start key */
    char err[MKV_ERRLEN];         /* why the query is refused */
    int bad;                      /* refused: answer 400 */
};

/* query_init -- an empty query (QUERY_NONE). */
void query_init(struct query *q);

/* query_add -- one name[=value] pair, both still percent-encoded (value
 * NULL when there was no '='). A name that is not an operation or one of
 * its arguments, an argument without its operation, a second operation,
 * a repeated argument, or a malformed value sets q->bad and q->err;
 * query_done reports it. */
void query_add(struct query *q, const char *name, const char *value);

/* query_done -- after the last pair: MKV_ERR (q->err set) if the query
 * must be refused with 400. */
int query_done(struct query *q);

/* query_parse -- the same from a raw query string ("a=1&b"), for tests
 * and fuzzing; the HTTP front gets pairs from libmicrohttpd instead. */
int query_parse(struct query *q, const char *raw, size_t len);

#endif
