/* http.c -- libmicrohttpd set-up, request routing, answers and accounting. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "http.h"
#include "key.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "placement.h"
#include "req.h"
#include "s3.h"
#include "store.h"

const struct http_config *http_cfg;

static int http_fds[LOOP_FRONTS][64]; /* a socket per front and loop */
static int http_nfds;             /* loops, i.e. sockets per front */
static int http_nfronts;

/* close_fronts -- the listening sockets, when the loops are done. */
static void close_fronts(void) {
    for (int f = 0; f < http_nfronts; f++)
        for (int i = 0; i < http_nfds; i++) close(http_fds[f][i]);
    http_nfds = http_nfronts = 0;
}

/* Statuses we answer with an empty body; each response is made once. */
static const unsigned http_statuses[] = {
    201, 204, 400, 403, 404, 405, 409, 411, 413, 414, 500, 502, 503, 504, 507,
};
#define NSTATUS (sizeof(http_statuses) / sizeof(http_statuses[0]))
static struct MHD_Response *http_prepared[NSTATUS];

/* GET and HEAD carry no state across calls; this marks "headers seen". */
static enum req_kind http_get_marker = REQ_GET;

/* Per connection (made once, not per request): when the request under
 * way began, its body bytes, and the client's address for the log. */
struct connstat {
    double start;                 /* seconds, monotonic */
    uint64_t bytes_in;
    int in_flight;                /* counted in the in-flight gauge */
    char version[12];
    char addr[INET6_ADDRSTRLEN];
};

static struct connstat *connstat_of(struct MHD_Connection *c) {
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    return ci ? ci->socket_context : NULL;
}

void http_notify_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                            enum MHD_ConnectionNotificationCode code) {
    struct connstat *cs;
    (void)cls;
    if (code == MHD_CONNECTION_NOTIFY_CLOSED) {
        free(*socket_context);
        *socket_context = NULL;
        return;
    }
    cs = calloc(1, sizeof(*cs));
    if (cs != NULL) {
        const union MHD_ConnectionInfo *ci =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
        const struct sockaddr *sa = ci ? ci->client_addr : NULL;
        snprintf(cs->addr, sizeof(cs->addr), "-");
        if (sa && sa->sa_family == AF_INET)
            inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, cs->addr,
                      sizeof(cs->addr));
        else if (sa && sa->sa_family == AF_INET6) {
            const struct in6_addr *a6 = &((const struct sockaddr_in6 *)sa)->sin6_addr;
            if (IN6_IS_ADDR_V4MAPPED(a6)) /* an IPv4 client on the dual stack */
                inet_ntop(AF_INET, &a6->s6_addr[12], cs->addr, sizeof(cs->addr));
            else
                inet_ntop(AF_INET6, a6, cs->addr, sizeof(cs->addr));
        }
    }
    *socket_context = cs;
}

void http_begin(struct MHD_Connection *c, const char *version) {
    struct connstat *cs = connstat_of(c);
    if (cs == NULL) return;
    cs->start = mkv_now_ms() / 1e3;
    cs->bytes_in = 0;
    snprintf(cs->version, sizeof(cs->version), "%s", version);
    if (!cs->in_flight) {
        cs->in_flight = 1;
        metrics_in_flight(1);
    }
}

/* request_ends -- answered, or the connection went away. */
static void request_ends(struct connstat *cs) {
    if (cs != NULL && cs->in_flight) {
        cs->in_flight = 0;
        metrics_in_flight(-1);
    }
}

void http_end(struct MHD_Connection *c) { request_ends(connstat_of(c)); }

void http_bytes_in(struct MHD_Connection *c, uint64_t n) {
    struct connstat *cs = connstat_of(c);
    if (cs) cs->bytes_in += n;
}

/* http_log -- the -v line. */
static void http_log(const char *method, const char *url, unsigned status) {
    char safe[201];
    size_t i;

    if (!log_verbose) return;
    for (i = 0; url[i] && i < sizeof(safe) - 1; i++)
        safe[i] = (url[i] < 0x20 || url[i] >= 0x7f) ? '?' : url[i];
    safe[i] = '\0';
    log_msg("%s %s%s %u", method, safe, url[i] ? "..." : "", status);
}

void http_account(struct MHD_Connection *c, const char *method,
                  const char *url, unsigned status, uint64_t bytes_out) {
    struct connstat *cs = connstat_of(c);
    double took = cs ? mkv_now_ms() / 1e3 - cs->start : 0;

    metrics_request(method, status, took, cs ? cs->bytes_in : 0, bytes_out);
    if (log_access_on())
        log_access(cs ? cs->addr : "-", method, url, cs ? cs->version : "-", status,
                   (unsigned long long)bytes_out, took);
    http_log(method, url, status);
    request_ends(cs);
}

enum MHD_Result http_answer(struct MHD_Connection *c, const char *method,
                            const char *url, unsigned status, char *body,
                            size_t len, const char *type) {
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    enum MHD_Result ret;
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    http_account(c, method, url, status, len);
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result http_respond(struct MHD_Connection *c, const char *method,
                             const char *url, unsigned status) {
    for (size_t i = 0; i < NSTATUS; i++) {
        if (http_statuses[i] == status) {
            http_account(c, method, url, status, 0);
            return MHD_queue_response(c, status, http_prepared[i]);
        }
    }
    log_msg("BUG: no prepared response for status %u", status);
    return MHD_NO;
}

enum MHD_Result http_reason(struct MHD_Connection *c, const char *method,
                            const char *url, unsigned status, const char *why) {
    size_t n = strlen(why);
    char *body = malloc(n + 2);
    if (body == NULL) return http_respond(c, method, url, status);
    memcpy(body, why, n);
    body[n++] = '\n';
    body[n] = '\0';
    return http_answer(c, method, url, status, body, n, "text/plain; charset=utf-8");
}

int http_volume_index(const char *volume) {
    size_t n = strcspn(volume, "/"); /* a subvolume is its volume's */
    for (int i = 0; i < http_cfg->nvolumes; i++)
        if (strlen(http_cfg->volumes[i]) == n &&
            strncmp(http_cfg->volumes[i], volume, n) == 0)
            return i;
    return -1;
}

/* origin_form -- the path of an absolute-form target ("http://host/key",
 * which RFC 9112 says a server must accept): the part from the first '/'
 * after the authority ("/" if none). Any other target is returned as is. */
static const char *origin_form(const char *url) {
    const char *p;
    if (strncasecmp(url, "http://", 7) == 0) p = url + 7;
    else if (strncasecmp(url, "https://", 8) == 0) p = url + 8;
    else return url;
    p = strchr(p, '/');
    return p ? p : "/";
}

int http_key(struct MHD_Connection *c, const char *method, const char *url,
             char *key, size_t *keylen, enum MHD_Result *ret) {
    const char *path = origin_form(url);
    enum key_status st = key_decode(path, strlen(path), key, keylen);

    if (st == KEY_OK) return 1;
    log_limited(LOG_REFUSED, "%s: refused: %s", method, key_status_text(st));
    *ret = http_respond(c, method, url, st == KEY_TOO_LONG ? 414 : 400);
    return 0;
}

/* A request whose path carried a raw NUL byte: refused with 400. */
static enum req_kind http_nul_marker = REQ_REFUSED;
int http_nul_in_path(void *con_cls) { return con_cls == &http_nul_marker; }

/* A request answered on its first call: nothing more to do for it. */
static enum req_kind http_answered_marker = REQ_REFUSED;

/* check_uri -- libmicrohttpd's URI log callback, which sees the raw
 * request target before it is split at '?', NUL-terminated where the
 * space before "HTTP/1.x" was. Anything else right after that NUL means
 * the target itself held a NUL, which would silently cut the key short.
 * What this returns is the request's first *con_cls. */
void *http_check_uri(void *cls, const char *uri, struct MHD_Connection *c) {
    const char *after = uri + strlen(uri) + 1, *http = "HTTP/";
    (void)cls;
    (void)c;
    /* Byte by byte: the line ends in a NUL, so this never reads past it. */
    for (int i = 0; http[i]; i++)
        if (after[i] != http[i]) return &http_nul_marker;
    return NULL;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c,
                                  const char *url, const char *method,
                                  const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls) {
    (void)cls;
    if (*con_cls == &http_nul_marker || *con_cls == NULL) http_begin(c, version);
    if (*con_cls == NULL && loop_stopping()) {
        /* A kept-alive client starting a request while we shut down. */
        *con_cls = &http_answered_marker;
        return http_respond(c, method, url, 503);
    }
    if (*con_cls == &http_nul_marker) {
        *con_cls = NULL;
        log_limited(LOG_REFUSED, "%s: refused: a NUL byte inside the path", method);
        return http_respond(c, method, url, 400);
    }
    if (*con_cls == NULL) {
        if (strcmp(method, MHD_HTTP_METHOD_GET) == 0 ||
            strcmp(method, MHD_HTTP_METHOD_HEAD) == 0) {
            /* Answer on the next call: queuing a response before MHD has
             * read the whole request makes it close the connection. */
            *con_cls = &http_get_marker;
            return MHD_YES;
        }
        if (MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, NULL, NULL) > 0 &&
            (strcmp(method, MHD_HTTP_METHOD_PUT) == 0 ||
             strcmp(method, MHD_HTTP_METHOD_DELETE) == 0 || strcmp(method, "UNLINK") == 0)) {
            /* The query is not part of the key: refuse it rather than
             * write a key that a GET with the same target cannot name. */
            log_msg("%s %s: refused: a query string on a write", method, url);
            *con_cls = &http_answered_marker;
            return http_respond(c, method, url, 400);
        }
        if (strcmp(method, MHD_HTTP_METHOD_PUT) == 0)
            return put_handle(c, url, upload_data, upload_data_size, con_cls);
        if (strcmp(method, MHD_HTTP_METHOD_DELETE) == 0)
            return delete_handle(c, "DELETE", url, upload_data_size, con_cls);
        if (strcmp(method, "UNLINK") == 0) {
            *con_cls = &http_get_marker; /* answer once the request is read */
            return MHD_YES;
        }
        return http_respond(c, method, url, 405);
    }
    switch (*(enum req_kind *)*con_cls) {
    case REQ_REFUSED:
        return MHD_NO;
    case REQ_HEALTH:
        return health_handle(c, method, url, con_cls);
    case REQ_PROBE:
    case REQ_GET:
        if (*upload_data_size != 0) { /* a body we do not want: skip it */
            *upload_data_size = 0;
            return MHD_YES;
        }
        if (method[0] == 'U') {
            *con_cls = NULL;
            return delete_handle(c, "UNLINK", url, upload_data_size, con_cls);
        }
        return get_handle(c, method, url, con_cls);
    case REQ_PUT:
        return put_handle(c, url, upload_data, upload_data_size, con_cls);
    case REQ_DELETE:
        return delete_handle(c, ((struct req *)*con_cls)->method, url, upload_data_size,
                             con_cls);
    case REQ_S3:
        break;
    }
    return MHD_NO;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe) {
    (void)cls;
    request_ends(connstat_of(c)); /* if it ended without an answer */
    if (*con_cls == NULL) return;
    switch (*(enum req_kind *)*con_cls) {
    case REQ_REFUSED: break;
    case REQ_HEALTH: health_completed(*con_cls, toe); break;
    case REQ_GET: break;
    case REQ_PROBE: get_completed(*con_cls, toe); break;
    case REQ_PUT: put_completed(*con_cls, toe); break;
    case REQ_DELETE: delete_completed(*con_cls, toe); break;
    case REQ_S3: break; /* never on this daemon */
    }
    *con_cls = NULL;
}

/* no_unescape -- keep the path as sent; key_decode does it strictly so a
 * %00 cannot silently cut a key short. */
size_t http_no_unescape(void *cls, struct MHD_Connection *c, char *s) {
    (void)cls;
    (void)c;
    return strlen(s);
}

__attribute__((format(printf, 2, 0)))
void http_mhd_log(void *cls, const char *fmt, va_list ap) {
    char line[512];
    size_t n;
    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    while (n > 0 && line[n - 1] == '\n') line[--n] = '\0';
    log_msg("http: %s", line);
}

struct MHD_Daemon *http_daemon(int listen_fd, unsigned limit, unsigned timeout_s) {
    return MHD_start_daemon(
        MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL,
        on_request, NULL,
        MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, NULL,
        MHD_OPTION_LISTEN_SOCKET, listen_fd,
        MHD_OPTION_CONNECTION_LIMIT, limit,
        MHD_OPTION_CONNECTION_TIMEOUT, timeout_s,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_UNESCAPE_CALLBACK, http_no_unescape, NULL,
        MHD_OPTION_URI_LOG_CALLBACK, http_check_uri, NULL,
        MHD_OPTION_NOTIFY_CONNECTION, http_notify_connection, NULL,
        MHD_OPTION_END);
}

/* bind_addr -- a non-blocking TCP socket bound at port to addr (a
 * numeric address or a name; NULL: every interface, IPv6 and IPv4
 * together where the host has IPv6, else IPv4); with reuseport,
 * SO_REUSEPORT. -1 with errno set on failure. */
static int bind_addr(const char *addr, int port, int reuseport) {
    struct addrinfo hints, *res = NULL, *ai;
    struct sockaddr_in6 a6;
    struct sockaddr_in a4;
    char ports[8];
    int fd, one = 1, zero = 0, e = EADDRNOTAVAIL;

    if (addr != NULL) {
        memset(&hints, 0, sizeof(hints));
        hints.ai_family = AF_UNSPEC;
        hints.ai_socktype = SOCK_STREAM;
        hints.ai_flags = AI_PASSIVE;
        snprintf(ports, sizeof(ports), "%d", port);
        if (getaddrinfo(addr, ports, &hints, &res) != 0) {
            errno = EADDRNOTAVAIL;
            return -1;
        }
        for (ai = res; ai; ai = ai->ai_next) {
            fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
                        ai->ai_protocol);
            if (fd < 0) {
                e = errno;
                continue;
            }
            setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
            if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
            if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0) {
                freeaddrinfo(res);
                return fd;
            }
            e = errno;
            close(fd);
        }
        freeaddrinfo(res);
        errno = e;
        return -1;
    }
    fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        memset(&a6, 0, sizeof(a6));
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)port);
        a6.sin6_addr = in6addr_any;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&a6, sizeof(a6)) == 0) return fd;
        e = errno;
        close(fd);
        if (e == EADDRINUSE) {
            errno = e;
            return -1;
        }
    }
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    memset(&a4, 0, sizeof(a4));
    a4.sin_family = AF_INET;
    a4.sin_port = htons((uint16_t)port);
    a4.sin_addr.s_addr = htonl(INADDR_ANY);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (reuseport) setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&a4, sizeof(a4)) == 0) return fd;
    e = errno;
    close(fd);
    errno = e;
    return -1;
}

/* listen_on -- n listening sockets at port on addr (NULL: every
 * interface), one per loop, sharing it with SO_REUSEPORT so the kernel
 * spreads new connections evenly over the loops. A plain bind first
 * proves the port is free: once ours are bound, any other process's
 * plain bind fails, so a second index cannot join the group. MKV_ERR
 * with err set (and nothing left open). */
static int listen_on(const char *addr, int port, int n, int *fds, char *err) {
    int probe = bind_addr(addr, port, 0), i;

    if (probe < 0) goto fail;
    close(probe);
    for (i = 0; i < n; i++) {
        fds[i] = bind_addr(addr, port, 1);
        if (fds[i] < 0 || listen(fds[i], 4096) != 0) {
            int e = errno;
            if (fds[i] >= 0) close(fds[i]);
            while (i-- > 0) close(fds[i]);
            errno = e;
            goto fail;
        }
    }
    return MKV_OK;
fail:
    mkv_seterr(err, "cannot serve HTTP on %s%sport %d: %s", addr ? addr : "", addr ? " " : "",
               port, strerror(errno));
    return MKV_ERR;
}

/* fd_budget -- raise the descriptor limit as far as the hard limit
 * allows, and say what it is. Returns the client connections that fit,
 * keeping 1024 descriptors (half, under a limit of 4096) for the index
 * file, the logs, the loops and the connections to volumes. */
static unsigned fd_budget(unsigned want) {
    struct rlimit rl;
    rlim_t was;
    unsigned fit;

    if (getrlimit(RLIMIT_NOFILE, &rl) != 0) return want;
    was = rl.rlim_cur;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) != 0) rl.rlim_cur = was;
    }
    if (rl.rlim_cur != was)
        log_msg("file descriptors: limit raised from %llu to %llu (the hard limit)",
                (unsigned long long)was, (unsigned long long)rl.rlim_cur);
    if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= (rlim_t)want + 1024) return want;
    fit = rl.rlim_cur >= 4096 ? (unsigned)(rl.rlim_cur - 1024) : (unsigned)(rl.rlim_cur / 2);
    if (fit < 16) fit = 16;
    log_msg("file descriptors: limit %llu allows %u client connections, not %u",
            (unsigned long long)rl.rlim_cur, fit, want);
    return fit;
}

/* A WRITING record from the start-up scan, on its way to a loop. */
struct orphan_post {
    struct loop_post post;
    size_t keylen;
    char key[];
};

static void adopt(void *arg) {
    struct orphan_post *o = arg;
    cleanup_adopt(o->key, o->keylen);
    free(o);
}

/* on_orphan -- the loader thread found a WRITING record: a loop checks
 * whether a write of it is under way, and cleans it up if not. */
static void on_orphan(const char *key, size_t keylen) {
    struct orphan_post *o = malloc(sizeof(*o) + keylen);
    struct loop *l = loop_first();
    if (o == NULL || l == NULL) {
        free(o);
        return;
    }
    o->post.fn = adopt;
    o->post.arg = o;
    o->keylen = keylen;
    memcpy(o->key, key, keylen);
    loop_post(l, &o->post);
}

int http_start(const struct http_config *cfg, char *err) {
    struct loop_front fronts[LOOP_FRONTS];
    int nfronts = 1;
    unsigned conns;

    http_cfg = cfg;
    metrics_init(cfg->volumes, cfg->nvolumes);
    for (size_t i = 0; i < NSTATUS; i++) {
        http_prepared[i] =
            MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        if (http_prepared[i] == NULL) {
            mkv_seterr(err, "out of memory");
            return MKV_ERR;
        }
        if (http_statuses[i] == 405)
            MHD_add_response_header(http_prepared[i], MHD_HTTP_HEADER_ALLOW,
                                    "GET, HEAD, PUT, DELETE, UNLINK");
    }
    conns = fd_budget(cfg->max_connections);
    if (cfg->threads > 64 ||
        listen_on(cfg->listen, cfg->port, cfg->threads, http_fds[0], err) != MKV_OK)
        return MKV_ERR;
    http_nfds = cfg->threads;
    fronts[0].fds = http_fds[0];
    fronts[0].daemon = http_daemon;
    if (cfg->s3_port > 0) {
        if (listen_on(cfg->listen, cfg->s3_port, cfg->threads, http_fds[1], err) != MKV_OK) {
            for (int i = 0; i < http_nfds; i++) close(http_fds[0][i]);
            http_nfds = 0;
            return MKV_ERR;
        }
        fronts[1].fds = http_fds[1];
        fronts[1].daemon = s3_daemon;
        nfronts = 2;
    }
    http_nfronts = nfronts;
    if (loops_start(cfg->threads, fronts, nfronts, conns, cfg->client_timeout_s, err) !=
        MKV_OK) {
        close_fronts();
        return MKV_ERR;
    }
    store_on_orphan(on_orphan);
    return MKV_OK;
}

void http_stop(long grace_ms) {
    store_on_orphan(NULL); /* the loops are about to go */
    loops_stop(grace_ms);
    close_fronts();
    for (size_t i = 0; i < NSTATUS; i++) {
        if (http_prepared[i]) MHD_destroy_response(http_prepared[i]);
        http_prepared[i] = NULL;
    }
}
