/* volclient.c -- libcurl transfers to volumes, one handle per thread. */
#include <pthread.h>
#include <string.h>

#include <curl/curl.h>

#include "volclient.h"

static CURLSH *vol_share;
static pthread_mutex_t vol_share_mu[CURL_LOCK_DATA_LAST];
static struct curl_slist *vol_put_headers; /* read-only after vol_init */
static long vol_connect_ms, vol_total_ms;
static __thread CURL *vol_handle;

static void share_lock(CURL *h, curl_lock_data d, curl_lock_access a, void *u) {
    (void)h; (void)a; (void)u;
    pthread_mutex_lock(&vol_share_mu[d]);
}

static void share_unlock(CURL *h, curl_lock_data d, void *u) {
    (void)h; (void)u;
    pthread_mutex_unlock(&vol_share_mu[d]);
}

int vol_init(long connect_ms, long total_ms, char *err) {
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

struct reader {
    struct stream *s;
    int i;
};

static size_t read_body(char *out, size_t sz, size_t n, void *u) {
    struct reader *r = u;
    ssize_t got = stream_read(r->s, r->i, out, sz * n);
    return got < 0 ? CURL_READFUNC_ABORT : (size_t)got;
}

enum vol_result vol_put(const char *url, struct stream *s, int i,
                        int64_t size, long *status, char *err) {
    struct reader r = {s, i};
    CURL *h = handle();

    if (h == NULL) {
        mkv_seterr(err, "curl_easy_init failed");
        return VOL_FAILED;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
    curl_easy_setopt(h, CURLOPT_READFUNCTION, read_body);
    curl_easy_setopt(h, CURLOPT_READDATA, &r);
    curl_easy_setopt(h, CURLOPT_INFILESIZE_LARGE, (curl_off_t)size);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, vol_put_headers);
    curl_easy_setopt(h, CURLOPT_UPLOAD_BUFFERSIZE, 256L * 1024);
    /* A body has no total deadline; a volume that moves no byte for the
     * timeout is dead. A slow client is the HTTP front's to time out. */
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(h, CURLOPT_LOW_SPEED_TIME, (vol_total_ms + 999) / 1000);
    return perform(h, status, err);
}

enum vol_result vol_delete(const char *url, long *status, char *err) {
    CURL *h = handle();

    if (h == NULL) {
        mkv_seterr(err, "curl_easy_init failed");
        return VOL_FAILED;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "DELETE");
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, vol_total_ms);
    return perform(h, status, err);
}
