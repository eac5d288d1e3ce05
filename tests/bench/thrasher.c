/* thrasher.c -- cmkv's write/read/delete load generator (pymkv's thrasher,
 * in C with libcurl), used by scripts/bench.sh.
 *
 *   thrasher [-n ROUNDS] [-c THREADS] [-s BYTES] [-d] URL
 *
 * THREADS worker threads (default 16) share ROUNDS rounds (default 10000).
 * A round, against the index at URL (e.g. http://127.0.0.1:3000):
 *
 *   PUT    URL/KEY  (BYTES random bytes)    -> 201
 *   GET    URL/KEY  following the redirect  -> exactly one redirect, then
 *                                              200 and the same bytes
 *   DELETE URL/KEY                          -> 204
 *   GET    URL/KEY                          -> 404
 *
 * KEY is "/thrash/" and 32 random hex digits, fresh every round. With -d,
 * URL is one nginx volume and the same round goes straight to it under
 * /xx/yy/BASE64(KEY), the index's on-volume layout (xx and yy are two
 * random bytes here rather than md5(KEY)'s first two: spread the same way
 * over the 65536 directories, without a hash library), and the GET expects
 * the bytes with no redirect. That is the reference the index is compared
 * against.
 *
 * Every answer is checked. Each thread owns one libcurl easy handle, so its
 * connections (to the index, and to the volume the redirects point at)
 * are kept alive from round to round. The last line of output is
 *
 *   thrasher: mode=index|direct rounds=N errors=E seconds=S rounds_per_s=R
 *
 * and the exit status is 0 only if E is 0 (2 for bad arguments). The first
 * few wrong answers are described on stderr.
 *
 * Build: cc -O2 -Wall -Wextra -o build/thrasher tests/bench/thrasher.c \
 *            $(pkg-config --cflags --libs libcurl) -pthread */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#define KEY_RANDOM_BYTES 16       /* 32 hex digits */
#define MAX_THREADS 1024
#define MAX_VALUE (1024 * 1024)
#define MAX_REPORTED 10           /* wrong answers described on stderr */

/* Shared by all threads; set once in main before any thread starts. */
static const char *base_url;      /* no trailing '/' */
static int direct;                /* -d: URL is a volume, not the index */
static size_t value_size = 100;
static long total_rounds = 10000;

/* Round dispenser and error reporting, both shared. */
static pthread_mutex_t shared_mu = PTHREAD_MUTEX_INITIALIZER;
static long next_round;           /* under shared_mu */
static int reported;              /* under shared_mu */

/* Per-thread state. The body buffer collects one answer at a time. */
struct worker {
    pthread_t tid;
    CURL *h;
    struct curl_slist *headers;   /* no Expect, no form Content-Type */
    uint64_t rng[2];              /* xorshift128+ state, never all zero */
    long rounds;                  /* rounds run */
    long errors;                  /* rounds with at least one wrong answer */
    unsigned char *value;         /* value_size bytes, refreshed per round */
    unsigned char *body;          /* answer body, up to value_size + 1 */
    size_t body_len;
    int body_over;                /* the answer was longer than value_size */
    char url[4096];
    char err[CURL_ERROR_SIZE];
};

static uint64_t rng_next(struct worker *w) {
    uint64_t a = w->rng[0], b = w->rng[1];
    w->rng[0] = b;
    a ^= a << 23;
    w->rng[1] = a ^ b ^ (a >> 17) ^ (b >> 26);
    return w->rng[1] + b;
}

static void rng_fill(struct worker *w, unsigned char *p, size_t n) {
    while (n > 0) {
        uint64_t r = rng_next(w);
        size_t k = n < sizeof(r) ? n : sizeof(r);
        memcpy(p, &r, k);
        p += k;
        n -= k;
    }
}

/* seed -- from /dev/urandom; falls back to time and address if absent. */
static void seed(struct worker *w) {
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    ssize_t got = fd >= 0 ? read(fd, w->rng, sizeof(w->rng)) : -1;
    if (fd >= 0) close(fd);
    if (got != (ssize_t)sizeof(w->rng)) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        w->rng[0] = (uint64_t)ts.tv_nsec * 0x9e3779b97f4a7c15ULL ^ (uintptr_t)w;
        w->rng[1] = (uint64_t)ts.tv_sec ^ ((uintptr_t)w << 17);
    }
    if (w->rng[0] == 0 && w->rng[1] == 0) w->rng[1] = 1;
}

/* base64 -- standard alphabet, padded, as Python's base64.b64encode. out
 * needs 4 * ((n + 2) / 3) + 1 bytes. */
static void base64(const unsigned char *in, size_t n, char *out) {
    static const char tab[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t i, o = 0;
    for (i = 0; i + 2 < n; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 | in[i + 2];
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = tab[v >> 6 & 63];
        out[o++] = tab[v & 63];
    }
    if (i < n) {
        uint32_t v = (uint32_t)in[i] << 16 | (i + 1 < n ? (uint32_t)in[i + 1] << 8 : 0);
        out[o++] = tab[v >> 18 & 63];
        out[o++] = tab[v >> 12 & 63];
        out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
        out[o++] = '=';
    }
    out[o] = '\0';
}

/* wrong -- describe a wrong answer on stderr, at most MAX_REPORTED in
 * all (the caller counts it). */
__attribute__((format(printf, 1, 2)))
static void wrong(const char *fmt, ...) {
    va_list ap;
    int show;

    pthread_mutex_lock(&shared_mu);
    show = reported < MAX_REPORTED;
    reported++;
    pthread_mutex_unlock(&shared_mu);
    if (!show) return;
    va_start(ap, fmt);
    fputs("thrasher: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
}

/* on_body -- libcurl write callback: keep up to value_size + 1 bytes. */
static size_t on_body(char *p, size_t size, size_t nmemb, void *arg) {
    struct worker *w = arg;
    size_t n = size * nmemb, room = value_size + 1 - w->body_len;

    if (n > room) {
        w->body_over = 1;
        n = room;
    }
    memcpy(w->body + w->body_len, p, n);
    w->body_len += n;
    return size * nmemb;
}

/* request -- one exchange on w's handle. method is "PUT", "GET" or
 * "DELETE"; a PUT sends w->value, a GET follows redirects. Returns the
 * final status, or -1 (described) on a transport error. *redirects gets
 * how many were followed. */
static long request(struct worker *w, const char *method, long *redirects) {
    CURL *h = w->h;
    CURLcode rc;
    long status = 0;

    w->body_len = 0;
    w->body_over = 0;
    w->err[0] = '\0';
    curl_easy_setopt(h, CURLOPT_URL, w->url);
    if (strcmp(method, "PUT") == 0) {
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "PUT");
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, (const char *)w->value);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)value_size);
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    } else {
        /* HTTPGET drops the PUT body; DELETE is a GET with another verb. */
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST,
                         strcmp(method, "GET") == 0 ? NULL : method);
        curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION,
                         strcmp(method, "GET") == 0 ? 1L : 0L);
    }
    rc = curl_easy_perform(h);
    if (rc != CURLE_OK) {
        wrong("%s %s: %s", method, w->url, w->err[0] ? w->err : curl_easy_strerror(rc));
        return -1;
    }
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    *redirects = 0;
    curl_easy_getinfo(h, CURLINFO_REDIRECT_COUNT, redirects);
    return status;
}

/* expect -- check one answer; 0 if right, -1 (described) if not. */
static int expect(struct worker *w, const char *method, long got, long want,
                  long redirects, long want_redirects) {
    if (got < 0) return -1;
    if (got != want || redirects != want_redirects) {
        wrong("%s %s: got %ld after %ld redirect(s), want %ld after %ld", method,
              w->url, got, redirects, want, want_redirects);
        return -1;
    }
    return 0;
}

/* round -- one PUT, GET, DELETE, GET of a fresh key. 0 if every answer
 * was right. After a failure the key is deleted (best effort) so a failed
 * round leaves nothing behind. */
static int round_run(struct worker *w) {
    unsigned char raw[KEY_RANDOM_BYTES], dir[2];
    char key[8 + 2 * KEY_RANDOM_BYTES + 1], b64[4 * ((sizeof(key) + 2) / 3) + 1];
    long st, redirects = 0, want_redirects = direct ? 0 : 1;
    size_t i;

    rng_fill(w, raw, sizeof(raw));
    memcpy(key, "/thrash/", 8);
    for (i = 0; i < sizeof(raw); i++)
        snprintf(key + 8 + 2 * i, 3, "%02x", raw[i]);
    rng_fill(w, w->value, value_size);
    if (direct) {
        rng_fill(w, dir, sizeof(dir));
        base64((const unsigned char *)key, strlen(key), b64);
        snprintf(w->url, sizeof(w->url), "%s/%02x/%02x/%s", base_url, dir[0], dir[1], b64);
    } else {
        snprintf(w->url, sizeof(w->url), "%s%s", base_url, key);
    }

    st = request(w, "PUT", &redirects);
    if (expect(w, "PUT", st, 201, redirects, 0) < 0) goto fail;

    st = request(w, "GET", &redirects);
    if (expect(w, "GET", st, 200, redirects, want_redirects) < 0) goto fail;
    if (w->body_over || w->body_len != value_size ||
        memcmp(w->body, w->value, value_size) != 0) {
        wrong("GET %s: the value read back differs from the one written "
              "(%zu%s bytes, want %zu)", w->url, w->body_len,
              w->body_over ? "+" : "", value_size);
        goto fail;
    }

    st = request(w, "DELETE", &redirects);
    if (expect(w, "DELETE", st, 204, redirects, 0) < 0) goto fail;

    st = request(w, "GET", &redirects);
    if (expect(w, "GET after DELETE", st, 404, redirects, 0) < 0) return -1;
    return 0;

fail:
    request(w, "DELETE", &redirects);
    return -1;
}

static void *worker_main(void *arg) {
    struct worker *w = arg;

    for (;;) {
        pthread_mutex_lock(&shared_mu);
        int more = next_round < total_rounds;
        if (more) next_round++;
        pthread_mutex_unlock(&shared_mu);
        if (!more) break;
        if (round_run(w) < 0) w->errors++;
        w->rounds++;
    }
    return NULL;
}

/* worker_init -- the easy handle and buffers; -1 on failure. */
static int worker_init(struct worker *w) {
    memset(w, 0, sizeof(*w));
    seed(w);
    w->value = malloc(value_size);
    w->body = malloc(value_size + 1);
    w->h = curl_easy_init();
    w->headers = curl_slist_append(NULL, "Expect:");
    if (w->headers) {
        struct curl_slist *more = curl_slist_append(w->headers, "Content-Type:");
        if (more == NULL) return -1; /* worker_free frees the first */
        w->headers = more;
    }
    if (w->value == NULL || w->body == NULL || w->h == NULL || w->headers == NULL)
        return -1;
    curl_easy_setopt(w->h, CURLOPT_HTTPHEADER, w->headers);
    curl_easy_setopt(w->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(w->h, CURLOPT_ERRORBUFFER, w->err);
    curl_easy_setopt(w->h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(w->h, CURLOPT_WRITEDATA, w);
    curl_easy_setopt(w->h, CURLOPT_TIMEOUT, 30L);
    curl_easy_setopt(w->h, CURLOPT_CONNECTTIMEOUT, 5L);
    curl_easy_setopt(w->h, CURLOPT_MAXREDIRS, 3L);
    curl_easy_setopt(w->h, CURLOPT_TCP_NODELAY, 1L);
    return 0;
}

static void worker_free(struct worker *w) {
    if (w->h) curl_easy_cleanup(w->h);
    curl_slist_free_all(w->headers);
    free(w->value);
    free(w->body);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int usage(void) {
    fputs("usage: thrasher [-n ROUNDS] [-c THREADS] [-s BYTES] [-d] URL\n"
          "  URL is the index (http://host:port), or with -d one volume.\n",
          stderr);
    return 2;
}

/* number -- a decimal in [lo, hi], or -1. */
static long number(const char *s, long lo, long hi) {
    char *end;
    long v;
    if (*s < '0' || *s > '9') return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    return errno || *end || v < lo || v > hi ? -1 : v;
}

int main(int argc, char **argv) {
    static struct worker workers[MAX_THREADS];
    long threads = 16, rounds = 0, errors = 0;
    int c, started = 0, failed = 0;
    double t0, secs;
    size_t n;
    char *url;

    while ((c = getopt(argc, argv, "n:c:s:d")) != -1) {
        switch (c) {
        case 'n': if ((total_rounds = number(optarg, 1, 1000000000)) < 0) return usage(); break;
        case 'c': if ((threads = number(optarg, 1, MAX_THREADS)) < 0) return usage(); break;
        case 's': {
            long s = number(optarg, 1, MAX_VALUE);
            if (s < 0) return usage();
            value_size = (size_t)s;
            break;
        }
        case 'd': direct = 1; break;
        default: return usage();
        }
    }
    if (optind != argc - 1) return usage();
    url = argv[optind];
    if (strncmp(url, "http://", 7) != 0 || strlen(url) > 2048) return usage();
    n = strlen(url);
    while (n > 7 && url[n - 1] == '/') url[--n] = '\0';
    base_url = url;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fputs("thrasher: curl_global_init failed\n", stderr);
        return 1;
    }
    for (long i = 0; i < threads; i++) {
        if (worker_init(&workers[i]) < 0) {
            fputs("thrasher: out of memory\n", stderr);
            failed = 1;
            threads = i + 1;
            goto out;
        }
    }
    t0 = now();
    for (long i = 0; i < threads; i++) {
        if ((errno = pthread_create(&workers[i].tid, NULL, worker_main, &workers[i])) != 0) {
            perror("thrasher: pthread_create");
            failed = 1;
            pthread_mutex_lock(&shared_mu);
            next_round = total_rounds; /* let the started ones stop */
            pthread_mutex_unlock(&shared_mu);
            break;
        }
        started++;
    }
    for (int i = 0; i < started; i++) {
        pthread_join(workers[i].tid, NULL);
        rounds += workers[i].rounds;
        errors += workers[i].errors;
    }
    secs = now() - t0;
    if (reported > MAX_REPORTED)
        fprintf(stderr, "thrasher: ... and %d more wrong answers\n", reported - MAX_REPORTED);
    printf("thrasher: mode=%s rounds=%ld errors=%ld seconds=%.3f rounds_per_s=%.1f\n",
           direct ? "direct" : "index", rounds, errors, secs,
           secs > 0 ? (double)rounds / secs : 0.0);
out:
    for (long i = 0; i < threads; i++) worker_free(&workers[i]);
    curl_global_cleanup();
    return failed || errors > 0 || rounds != total_rounds ? 1 : 0;
}
