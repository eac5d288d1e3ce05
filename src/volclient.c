/* volclient.c -- libcurl transfers to volumes, one handle per thread. */
#include <assert.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <openssl/evp.h>

#include "volclient.h"

static CURLSH *vol_share;
static pthread_mutex_t vol_share_mu[CURL_LOCK_DATA_LAST];
static struct curl_slist *vol_put_headers; /* read-only after vol_init */
static long vol_connect_ms, vol_total_ms, vol_stall_ms;
static __thread CURL *vol_handle;

static void share_lock(CURL *h, curl_lock_data d, curl_lock_access a, void *u) {
    (void)h; (void)a; (void)u;
    pthread_mutex_lock(&vol_share_mu[d]);
}

static void share_unlock(CURL *h, curl_lock_data d, void *u) {
    (void)h; (void)u;
    pthread_mutex_unlock(&vol_share_mu[d]);
}

unsigned vol_http_status(enum vol_result vr) {
    switch (vr) {
    case VOL_DOWN: return 503;
    case VOL_TIMEOUT: return 504;
    case VOL_ABORTED: return 400;
    default: return 502;
    }
}

void vol_url(char *out, const char *volume, const char *path) {
    int n = snprintf(out, VOL_URL_MAX, "http://%s%s", volume, path);
    assert(n > 0 && n < VOL_URL_MAX);
    (void)n;
}

int vol_init(long connect_ms, long total_ms, long stall_ms, char *err) {
    if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK) {
        mkv_seterr(err, "curl_global_init failed");
        return MKV_ERR;
    }
    for (int i = 0; i < CURL_LOCK_DATA_LAST; i++)
        pthread_mutex_init(&vol_share_mu[i], NULL);
    vol_share = curl_share_init();
    if (vol_share == NULL ||
        curl_share_setopt(vol_share, CURLSHOPT_LOCKFUNC, share_lock) ||
        curl_share_setopt(vol_share, CURLSHOPT_UNLOCKFUNC, share_unlock) ||
        curl_share_setopt(vol_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) ||
        curl_share_setopt(vol_share, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS)) {
        mkv_seterr(err, "cannot set up libcurl's shared connection cache");
        return MKV_ERR;
    }
    /* No "Expect: 100-continue": nginx accepts the body at once, and the
     * wait would cost a round trip (or a second) per upload. */
    vol_put_headers = curl_slist_append(NULL, "Expect:");
    if (vol_put_headers == NULL) {
        mkv_seterr(err, "out of memory");
        return MKV_ERR;
    }
    vol_connect_ms = connect_ms;
    vol_total_ms = total_ms;
    vol_stall_ms = stall_ms;
    return MKV_OK;
}

void vol_cleanup(void) {
    curl_slist_free_all(vol_put_headers);
    vol_put_headers = NULL;
    if (vol_share) curl_share_cleanup(vol_share);
    vol_share = NULL;
    curl_global_cleanup();
}

void vol_thread_done(void) {
    if (vol_handle) curl_easy_cleanup(vol_handle);
    vol_handle = NULL;
}

static size_t discard(char *p, size_t sz, size_t n, void *u) {
    (void)p; (void)u;
    return sz * n;
}

/* handle -- this thread's easy handle, reset to our defaults. */
static CURL *handle(void) {
    if (vol_handle == NULL) {
        vol_handle = curl_easy_init();
        if (vol_handle == NULL) return NULL;
    } else {
        curl_easy_reset(vol_handle);
    }
    curl_easy_setopt(vol_handle, CURLOPT_SHARE, vol_share);
    curl_easy_setopt(vol_handle, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(vol_handle, CURLOPT_CONNECTTIMEOUT_MS, vol_connect_ms);
    curl_easy_setopt(vol_handle, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(vol_handle, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(vol_handle, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(vol_handle, CURLOPT_PROXY, ""); /* never $http_proxy */
    return vol_handle;
}

static enum vol_result perform(CURL *h, long *status, char *err) {
    CURLcode rc = curl_easy_perform(h);

    *status = 0;
    switch (rc) {
    case CURLE_OK:
        curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, status);
        return VOL_OK;
    case CURLE_ABORTED_BY_CALLBACK:
        mkv_seterr(err, "upload ended early");
        return VOL_ABORTED;
    case CURLE_COULDNT_CONNECT:
    case CURLE_COULDNT_RESOLVE_HOST:
        mkv_seterr(err, "%s", curl_easy_strerror(rc));
        return VOL_DOWN;
    case CURLE_OPERATION_TIMEDOUT:
        mkv_seterr(err, "%s", curl_easy_strerror(rc));
        return VOL_TIMEOUT;
    default:
        mkv_seterr(err, "%s", curl_easy_strerror(rc));
        return VOL_FAILED;
    }
}

/* A body's stall clock: the volume has stalled when no byte has moved
 * for vol_stall_ms, not counting time spent waiting for our own source
 * (the client, or the copy's other end). libcurl's low-speed check
 * averages over a window and would take about twice as long. */
struct xfer {
    struct stream *s;             /* the body's source, for PUT */
    int i;                        /* reader index in s */
    curl_off_t moved;             /* bytes up + down at last_ms */
    double last_ms;
    int stalled;
};

static int check_stall(void *u, curl_off_t dltotal, curl_off_t dlnow,
                       curl_off_t ultotal, curl_off_t ulnow) {
    struct xfer *x = u;
    double t = mkv_now_ms();
    (void)dltotal;
    (void)ultotal;
    if (dlnow + ulnow != x->moved) {
        x->moved = dlnow + ulnow;
        x->last_ms = t;
    } else if (t - x->last_ms > (double)vol_stall_ms) {
        x->stalled = 1;
        return 1; /* abort the transfer */
    }
    return 0;
}

static void watch_stalls(CURL *h, struct xfer *x) {
    x->moved = 0;
    x->last_ms = mkv_now_ms();
    x->stalled = 0;
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, check_stall);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, x);
}

/* stalled -- map an abort by check_stall to a timeout. */
static enum vol_result stalled(const struct xfer *x, enum vol_result vr, char *err) {
    if (x->stalled) {
        mkv_seterr(err, "the volume moved no byte for %ld ms", vol_stall_ms);
        return VOL_TIMEOUT;
    }
    return vr;
}

static size_t read_body(char *out, size_t sz, size_t n, void *u) {
    struct xfer *x = u;
    ssize_t got = stream_read(x->s, x->i, out, sz * n);
    x->last_ms = mkv_now_ms(); /* waiting for the client is not a stall */
    return got < 0 ? CURL_READFUNC_ABORT : (size_t)got;
}

enum vol_result vol_put(const char *url, struct stream *s, int i,
                        int64_t size, long *status, char *err) {
    struct xfer x = {s, i, 0, 0, 0};
    CURL *h = handle();

    if (h == NULL) {
        mkv_seterr(err, "curl_easy_init failed");
        return VOL_FAILED;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_body);
    curl_easy_setopt(h, CURLOPT_READDATA, &x);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)size);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, vol_put_headers);
    curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 256L * 1024);
    /* A body has no total deadline; a volume that moves no byte for the
     * stall timeout is dead. A slow client is the HTTP front's to time out. */
    watch_stalls(h, &x);
    return stalled(&x, perform(h, status, err), err);
}

/* simple -- a bodiless request with the total timeout. */
static enum vol_result simple(const char *url, const char *method,
                              long *status, char *err) {
    CURL *h = handle();

    if (h == NULL) {
        mkv_seterr(err, "curl_easy_init failed");
        return VOL_FAILED;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    else
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, vol_total_ms);
    return perform(h, status, err);
}

enum vol_result vol_delete(const char *url, long *status, char *err) {
    return simple(url, "DELETE", status, err);
}

enum vol_result vol_head(const char *url, long *status, char *err) {
    return simple(url, "HEAD", status, err);
}

struct membuf {
    char *p;
    size_t len, max;
};

static size_t to_membuf(char *p, size_t sz, size_t n, void *u) {
    struct membuf *m = u;
    size_t add = sz * n;
    char *q;
    if (m->len + add > m->max) return 0; /* too big: curl fails the transfer */
    q = realloc(m->p, m->len + add + 1);
    if (q == NULL) return 0;
    memcpy(q + m->len, p, add);
    m->p = q;
    m->len += add;
    m->p[m->len] = '\0';
    return add;
}

enum vol_result vol_get_buf(const char *url, size_t max, char **out,
                            size_t *len, long *status, char *err) {
    struct membuf m = {NULL, 0, max};
    enum vol_result vr;
    CURL *h = handle();

    *out = NULL;
    if (h == NULL) {
        mkv_seterr(err, "curl_easy_init failed");
        return VOL_FAILED;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, to_membuf);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &m);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, vol_total_ms);
    vr = perform(h, status, err);
    if (vr != VOL_OK) {
        free(m.p);
        return vr;
    }
    if (m.p == NULL) m.p = calloc(1, 1);
    *out = m.p;
    *len = m.len;
    return VOL_OK;
}

/* get_body -- GET url, handing the body to fn(arg) as it arrives; a
 * volume that stalls is timed out like a PUT's. */
static enum vol_result get_body(const char *url, curl_write_callback fn,
                                void *arg, long *status, char *err) {
    struct xfer x = {NULL, 0, 0, 0, 0};
    CURL *h = handle();

    if (h == NULL) {
        mkv_seterr(err, "curl_easy_init failed");
        return VOL_FAILED;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fn);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, arg);
    watch_stalls(h, &x);
    return stalled(&x, perform(h, status, err), err);
}

static size_t to_stream(char *p, size_t sz, size_t n, void *u) {
    return stream_write(u, p, sz * n) == MKV_OK ? sz * n : 0;
}

enum vol_result vol_get_stream(const char *url, struct stream *s,
                               long *status, char *err) {
    enum vol_result vr = get_body(url, to_stream, s, status, err);
    if (vr == VOL_OK && *status == 200)
        stream_finish(s);
    else
        stream_abort(s);
    return vr;
}

static size_t to_md5(char *p, size_t sz, size_t n, void *u) {
    return EVP_DigestUpdate(u, p, sz * n) ? sz * n : 0;
}

enum vol_result vol_get_md5(const char *url, char hex[33], long *status,
                            char *err) {
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char d[16];
    unsigned int dn = 16;
    enum vol_result vr;

    if (md == NULL || !EVP_DigestInit_ex(md, EVP_md5(), NULL)) {
        EVP_MD_CTX_free(md);
        mkv_seterr(err, "out of memory");
        return VOL_FAILED;
    }
    vr = get_body(url, to_md5, md, status, err);
    if (vr == VOL_OK && *status == 200 && EVP_DigestFinal_ex(md, d, &dn)) {
        for (int i = 0; i < 16; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
    }
    EVP_MD_CTX_free(md);
    return vr;
}
