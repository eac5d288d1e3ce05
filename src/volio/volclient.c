/* volclient.c -- libcurl set-up for volume requests, and the blocking
 * calls of the offline commands (one handle per thread, nothing shared). */
#include <assert.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <openssl/evp.h>

#include "buf.h"
#include "volclient.h"

static struct curl_slist *vol_put_headers; /* read-only after vol_init */
static struct curl_slist *vol_bytes_headers; /* the same, and no Content-Type */
static long vol_connect_ms, vol_total_ms, vol_stall;
static __thread CURL *vol_handle;

#define VOL_COPY_RING (1024 * 1024)

unsigned vol_http_status(enum vol_result vr) {
    switch (vr) {
    case VOL_DOWN: return 503;
    case VOL_NOFD: return 503;
    case VOL_TIMEOUT: return 504;
    case VOL_ABORTED: return 400;
    default: return 502;
    }
}

int vol_gone(enum vol_result vr, long status) {
    return vr == VOL_OK && (status == 204 || status == 200 || status == 404);
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
    /* No "Expect: 100-continue": nginx accepts the body at once, and the
     * wait would cost a round trip (or a second) per upload. */
    vol_put_headers = curl_slist_append(NULL, "Expect:");
    /* A body given whole is a POST's to libcurl, which would label it a
     * form; our PUTs name no type. */
    vol_bytes_headers = curl_slist_append(NULL, "Expect:");
    if (vol_bytes_headers)
        vol_bytes_headers = curl_slist_append(vol_bytes_headers, "Content-Type:");
    if (vol_put_headers == NULL || vol_bytes_headers == NULL) {
        mkv_seterr(err, "out of memory");
        return MKV_ERR;
    }
    vol_connect_ms = connect_ms;
    vol_total_ms = total_ms;
    vol_stall = stall_ms;
    return MKV_OK;
}

void vol_cleanup(void) {
    curl_slist_free_all(vol_put_headers);
    curl_slist_free_all(vol_bytes_headers);
    vol_put_headers = vol_bytes_headers = NULL;
    curl_global_cleanup();
}

long vol_stall_ms(void) { return vol_stall; }

void vol_thread_done(void) {
    if (vol_handle) curl_easy_cleanup(vol_handle);
    vol_handle = NULL;
}

static size_t discard(char *p, size_t sz, size_t n, void *u) {
    (void)p; (void)u;
    return sz * n;
}

curl_socket_t vol_socket(struct curl_sockaddr *a, int *nofd) {
    int fd = socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
    if (fd < 0 && (errno == EMFILE || errno == ENFILE)) *nofd = 1;
    return fd < 0 ? CURL_SOCKET_BAD : fd;
}

static curl_socket_t open_socket(void *u, curlsocktype purpose,
                                 struct curl_sockaddr *a) {
    (void)purpose;
    return vol_socket(a, u);
}

/* setup -- our defaults on h, for url. */
static void setup(CURL *h, const char *url) {
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, vol_connect_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
    curl_easy_setopt(h, CURLOPT_PROXY, ""); /* never $http_proxy */
}

/* watch_fds -- a blocking call's sockets: *nofd set when out of them. */
static void watch_fds(CURL *h, int *nofd) {
    *nofd = 0;
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, open_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, nofd);
}

void vol_setup_simple(CURL *h, const char *url, const char *method) {
    setup(h, url);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    else
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, vol_total_ms);
}

static size_t to_small(char *p, size_t sz, size_t n, void *u) {
    struct vol_small *b = u;
    size_t add = sz * n, room = sizeof(b->data) - b->len;
    size_t take = add < room ? add : room;
    memcpy(b->data + b->len, p, take);
    b->len += take;
    b->dropped += add - take;
    return add;
}

void vol_setup_get_small(CURL *h, const char *url, struct vol_small *b) {
    b->len = 0;
    b->dropped = 0;
    setup(h, url);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, to_small);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, vol_total_ms);
}

void vol_setup_put(CURL *h, const char *url, int64_t size,
                   curl_read_callback fn, void *arg) {
    setup(h, url);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, fn);
    curl_easy_setopt(h, CURLOPT_READDATA, arg);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)size);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, vol_put_headers);
    curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 256L * 1024);
}

void vol_setup_put_bytes(CURL *h, const char *url, const char *data, size_t len) {
    setup(h, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, data);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, vol_bytes_headers);
}

enum vol_result vol_result_of(CURLcode rc, int nofd, long code, long *status,
                              char *err) {
    *status = 0;
    if (nofd && rc != CURLE_OK) { /* an earlier address may have failed */
        mkv_seterr(err, "out of file descriptors");
        return VOL_NOFD;
    }
    switch (rc) {
    case CURLE_OK:
        *status = code;
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

/* handle -- this thread's easy handle, reset. */
static CURL *handle(void) {
    if (vol_handle == NULL) return vol_handle = curl_easy_init();
    curl_easy_reset(vol_handle);
    return vol_handle;
}

/* perform -- run h here and now. */
static enum vol_result perform(CURL *h, const int *nofd, long *status, char *err) {
    CURLcode rc = curl_easy_perform(h);
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    return vol_result_of(rc, *nofd, code, status, err);
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
    } else if (t - x->last_ms > (double)vol_stall) {
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
        mkv_seterr(err, "the volume moved no byte for %ld ms", vol_stall);
        return VOL_TIMEOUT;
    }
    return vr;
}

static size_t read_body(char *out, size_t sz, size_t n, void *u) {
    struct xfer *x = u;
    ssize_t got = stream_read(x->s, x->i, out, sz * n);
    x->last_ms = mkv_now_ms(); /* waiting for the source is not a stall */
    return got < 0 ? CURL_READFUNC_ABORT : (size_t)got;
}

/* A handle for the blocking calls, or VOL_FAILED. */
#define HANDLE_OR_FAIL(h, err)                                  \
    do {                                                        \
        if ((h) == NULL) {                                      \
            mkv_seterr(err, "curl_easy_init failed");           \
            return VOL_FAILED;                                  \
        }                                                       \
    } while (0)

enum vol_result vol_put(const char *url, struct stream *s, int i,
                        int64_t size, long *status, char *err) {
    struct xfer x = {s, i, 0, 0, 0};
    CURL *h = handle();
    int nofd;

    HANDLE_OR_FAIL(h, err);
    vol_setup_put(h, url, size, read_body, &x);
    watch_fds(h, &nofd);
    /* A body has no total deadline; a volume that moves no byte for the
     * stall timeout is dead. */
    watch_stalls(h, &x);
    return stalled(&x, perform(h, &nofd, status, err), err);
}

/* simple -- a bodiless request with the total timeout. */
static enum vol_result simple(const char *url, const char *method,
                              long *status, char *err) {
    CURL *h = handle();
    int nofd;

    HANDLE_OR_FAIL(h, err);
    vol_setup_simple(h, url, method);
    watch_fds(h, &nofd);
    return perform(h, &nofd, status, err);
}

enum vol_result vol_delete(const char *url, long *status, char *err) {
    return simple(url, "DELETE", status, err);
}

enum vol_result vol_head(const char *url, long *status, char *err) {
    return simple(url, "HEAD", status, err);
}

/* A body read into memory, refused past max bytes. */
struct membuf {
    struct buf b;
    size_t max;
};

static size_t to_membuf(char *p, size_t sz, size_t n, void *u) {
    struct membuf *m = u;
    size_t add = sz * n;
    if (m->b.len + add > m->max) return 0; /* too big: curl fails the transfer */
    buf_add(&m->b, p, add);
    return m->b.failed ? 0 : add;
}

enum vol_result vol_get_buf(const char *url, size_t max, char **out,
                            size_t *len, long *status, char *err) {
    struct membuf m = {{NULL, 0, 0, 0}, max};
    enum vol_result vr;
    CURL *h = handle();
    int nofd;

    *out = NULL;
    HANDLE_OR_FAIL(h, err);
    setup(h, url);
    watch_fds(h, &nofd);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, to_membuf);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &m);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, vol_total_ms);
    vr = perform(h, &nofd, status, err);
    if (vr != VOL_OK) {
        buf_free(&m.b);
        return vr;
    }
    *out = buf_take(&m.b, len);
    if (*out == NULL) *out = calloc(1, 1); /* an empty body */
    return VOL_OK;
}

/* get_body -- GET url, handing the body to fn(arg) as it arrives; a
 * volume that stalls is timed out like a PUT's. */
static enum vol_result get_body(const char *url, curl_write_callback fn,
                                void *arg, long *status, char *err) {
    struct xfer x = {NULL, 0, 0, 0, 0};
    CURL *h = handle();
    int nofd;

    HANDLE_OR_FAIL(h, err);
    setup(h, url);
    watch_fds(h, &nofd);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, fn);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, arg);
    watch_stalls(h, &x);
    return stalled(&x, perform(h, &nofd, status, err), err);
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

/* The body of vol_copy: a GET on a thread of its own, writing into the
 * stream the PUT reads. */
struct fetch {
    const char *url;
    struct stream *s;
    enum vol_result vr;
    long status;
    char err[MKV_ERRLEN];
};

static void *fetch_thread(void *arg) {
    struct fetch *f = arg;
    f->vr = vol_get_stream(f->url, f->s, &f->status, f->err);
    vol_thread_done();
    return NULL;
}

int vol_copy(const char *src, const char *dst, char *err) {
    struct stream s;
    struct fetch f = {src, &s, VOL_FAILED, 0, ""};
    pthread_t tid;
    enum vol_result vr;
    long st;

    if (stream_init(&s, VOL_COPY_RING, 1) != MKV_OK) {
        mkv_seterr(err, "out of memory");
        return MKV_ERR;
    }
    if (pthread_create(&tid, NULL, fetch_thread, &f) != 0) {
        stream_destroy(&s);
        mkv_seterr(err, "cannot start a thread");
        return MKV_ERR;
    }
    vr = vol_put(dst, &s, 0, -1, &st, err);
    if (vr != VOL_OK || (st != 201 && st != 204)) stream_abort(&s);
    pthread_join(tid, NULL);
    stream_destroy(&s);
    if (f.vr != VOL_OK || f.status != 200) {
        if (f.vr == VOL_OK) mkv_seterr(err, "GET %s answered %ld", src, f.status);
        else mkv_seterr(err, "GET %s: %s", src, f.err);
        return MKV_ERR;
    }
    if (vr != VOL_OK || (st != 201 && st != 204)) {
        if (vr == VOL_OK) mkv_seterr(err, "PUT %s answered %ld", dst, st);
        return MKV_ERR;
    }
    return MKV_OK;
}
