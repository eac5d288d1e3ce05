/* relay.c -- a volume's value streamed to a sink on the loop (relay.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "relay.h"

/* header_value -- if line (n bytes) is "name: value", copy the trimmed
 * value into out (cap bytes) and return 1. */
static int header_value(const char *line, size_t n, const char *name, char *out, size_t cap) {
    size_t nl = strlen(name), vl;
    const char *v;
    if (n <= nl || strncasecmp(line, name, nl) != 0 || line[nl] != ':') return 0;
    v = line + nl + 1;
    vl = n - nl - 1;
    while (vl > 0 && (*v == ' ' || *v == '\t')) v++, vl--;
    while (vl > 0 && (v[vl - 1] == '\r' || v[vl - 1] == '\n' || v[vl - 1] == ' ')) vl--;
    if (vl >= cap) vl = cap - 1;
    memcpy(out, v, vl);
    out[vl] = '\0';
    return 1;
}

static size_t on_header(char *p, size_t sz, size_t n, void *u) {
    struct relay *r = u;
    size_t len = sz * n;
    char v[96];

    loop_xfer_moved(&r->x);
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) { /* a status line: a new block */
        const char *sp = memchr(p, ' ', len);
        r->info.status = sp ? strtol(sp + 1, NULL, 10) : 0;
        r->info.length = -1;
        r->info.range[0] = r->info.modified[0] = '\0';
    } else if (header_value(p, len, "Content-Length", v, sizeof(v))) {
        char *end;
        long long l = strtoll(v, &end, 10);
        r->info.length = *end == '\0' && l >= 0 ? l : -1;
    } else if (header_value(p, len, "Content-Range", r->info.range, sizeof(r->info.range))) {
    } else if (header_value(p, len, "Last-Modified", r->info.modified,
                            sizeof(r->info.modified))) {
    } else if ((len == 2 && p[0] == '\r') || (len == 1 && p[0] == '\n')) {
        if (r->info.status >= 200 && !r->told) {
            r->told = 1;
            if (r->sink.headers) r->sink.headers(r->sink.arg, &r->info);
        }
    }
    return len;
}

static size_t on_data(char *p, size_t sz, size_t n, void *u) {
    struct relay *r = u;
    size_t len = sz * n;

    if (r->info.status < 200 || r->info.status >= 300) return len; /* an error page */
    if (r->sink.room(r->sink.arg) < len) {
        r->paused = 1;
        r->x.idle = 1; /* our sink is full: not the volume's stall */
        return CURL_WRITEFUNC_PAUSE;
    }
    loop_xfer_moved(&r->x);
    r->sink.data(r->sink.arg, p, len);
    return len;
}

static void on_done(struct loop_xfer *x, CURLcode rc, long code) {
    struct relay *r = MKV_CONTAINER(x, struct relay, x);
    char err[MKV_ERRLEN] = "";
    long st;
    enum vol_result vr = vol_result_of(rc, x->nofd, code, &st, err);

    r->running = 0;
    curl_slist_free_all(r->hdrs);
    r->hdrs = NULL;
    if (x->stalled) {
        vr = VOL_TIMEOUT;
        snprintf(err, sizeof(err), "the volume moved no byte for %ld ms", x->stall_ms);
    }
    r->sink.done(r->sink.arg, vr, st, err);
}

int relay_start(struct relay *r, const char *url, int head, const char *range,
                const struct relay_sink *sink) {
    CURL *h = loop_xfer_handle(&r->x);
    char line[128];

    if (h == NULL) return MKV_ERR;
    r->sink = *sink;
    r->head = head;
    r->paused = 0;
    r->told = 0;
    memset(&r->info, 0, sizeof(r->info));
    r->info.length = -1;
    snprintf(r->url, sizeof(r->url), "%s", url);
    r->hdrs = NULL;
    if (head) {
        vol_setup_simple(h, r->url, "HEAD");
    } else {
        vol_setup_simple(h, r->url, "GET");
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, NULL);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, 0L); /* a body has no deadline */
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
        curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
        r->x.stall_ms = vol_stall_ms();
    }
    if (head) r->x.stall_ms = 0; /* bounded by --voltimeout */
    if (range != NULL) {
        snprintf(line, sizeof(line), "Range: %s", range);
        r->hdrs = curl_slist_append(NULL, line);
        if (r->hdrs == NULL) {
            loop_xfer_cancel(&r->x);
            return MKV_ERR;
        }
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, r->hdrs);
    }
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, r);
    r->x.done = on_done;
    if (loop_xfer_start(&r->x) != MKV_OK) {
        curl_slist_free_all(r->hdrs);
        r->hdrs = NULL;
        return MKV_ERR;
    }
    r->running = 1;
    return MKV_OK;
}

void relay_resume(struct relay *r) {
    if (!r->running || !r->paused) return;
    r->paused = 0;
    loop_xfer_moved(&r->x);
    curl_easy_pause(r->x.h, CURLPAUSE_CONT);
}

void relay_cancel(struct relay *r) {
    if (!r->running) return;
    loop_xfer_cancel(&r->x);
    r->running = 0;
    curl_slist_free_all(r->hdrs);
    r->hdrs = NULL;
}
