/* relay.h -- fetch a value (or its headers) from a volume on the
 * current loop and hand it on as it comes: to a client through the
 * index (S3 GetObject), into another put (CopyObject, multipart
 * completion), or just its size and date (HeadObject, listings).
 *
 * Flow control: before each piece libcurl delivers, relay asks the sink
 * for room; with too little the transfer pauses (the volume is then not
 * timed out: waiting for our sink is no stall) until relay_resume. So
 * memory is the sink's buffer whatever the value's size. */
#ifndef MKV_RELAY_H
#define MKV_RELAY_H

#include <stddef.h>
#include <stdint.h>

#include "loop.h"
#include "volclient.h"

/* What the volume said about the value, from its headers. */
struct relay_info {
    long status;                  /* HTTP status */
    int64_t length;               /* Content-Length, -1 if none */
    char range[96];               /* Content-Range, or "" */
    char modified[64];            /* Last-Modified (an HTTP date), or "" */
};

struct relay_sink {
    /* headers -- the volume's headers are in (status >= 200). */
    void (*headers)(void *arg, const struct relay_info *info);
    /* room -- bytes the sink could take now. */
    size_t (*room)(void *arg);
    /* data -- take all n bytes (n <= room()). */
    void (*data)(void *arg, const char *p, size_t n);
    /* done -- the transfer ended: vr and the HTTP status as in
     * vol_result_of. After this the relay may be started again. */
    void (*done)(void *arg, enum vol_result vr, long status, const char *err);
    void *arg;
};

struct relay {
    struct loop_xfer x;
    struct relay_sink sink;
    struct relay_info info;
    struct curl_slist *hdrs;      /* Range, if asked for */
    int head;                     /* HEAD, not GET */
    int paused;                   /* waiting for room in the sink */
    int running;
    int told;                     /* sink->headers called */
    char url[VOL_URL_MAX];
};

/* relay_start -- GET (or HEAD, with head) url, with a Range header when
 * range is not NULL ("bytes=..."). MKV_ERR when the transfer cannot
 * start (sink->done is then not called). */
int relay_start(struct relay *r, const char *url, int head, const char *range,
                const struct relay_sink *sink);

/* relay_resume -- the sink has room again: go on, if paused. */
void relay_resume(struct relay *r);

/* relay_cancel -- stop now; sink->done is not called. Safe when idle. */
void relay_cancel(struct relay *r);

#endif
