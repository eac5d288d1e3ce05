/* http.c -- libmicrohttpd set-up, request routing, answers and accounting. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

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

static int http_listen_fd = -1, http_s3_fd = -1;

/* Statuses we answer with an empty body; each response is made once. */
static const unsigned http_statuses[] = {
    201, 204, 400, 403, 404, 405, 409, 411, 413, 414, 500, 502, 503, 504,
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

int http_key(struct MHD_Connection *c, const char *method, const char *url,
             char *key, size_t *keylen, enum MHD_Result *ret) {
    enum key_status st = key_decode(url, strlen(url), key, keylen);

    if (st == KEY_OK) return 1;
    log_msg("%s: refused: %s", method, key_status_text(st));
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
        log_msg("%s: refused: a NUL byte inside the path", method);
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

/* listen_addr -- a non-blocking socket listening on addr (a numeric
 * IPv4 or IPv6 address, or a name that resolves to one) at port. */
static int listen_addr(const char *addr, int port, char *err) {
    struct addrinfo hints, *res = NULL, *ai;
    char ports[8];
    int fd = -1, one = 1, rc, e = 0;

    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    snprintf(ports, sizeof(ports), "%d", port);
    rc = getaddrinfo(addr, ports, &hints, &res);
    if (rc != 0) {
        mkv_seterr(err, "cannot listen on %s: %s", addr, gai_strerror(rc));
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
        if (bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 && listen(fd, 4096) == 0) break;
        e = errno;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0)
        mkv_seterr(err, "cannot serve HTTP on %s port %d: %s", addr, port, strerror(e));
    return fd;
}

/* listen_on -- a non-blocking socket listening at port on addr, or with
 * addr NULL on every interface: IPv6 and IPv4 together where the host
 * has IPv6, else IPv4. */
static int listen_on(const char *addr, int port, char *err) {
    struct sockaddr_in6 a6;
    struct sockaddr_in a4;
    int fd, one = 1, zero = 0;

    if (addr != NULL) return listen_addr(addr, port, err);

    fd = socket(AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0) {
        memset(&a6, 0, sizeof(a6));
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)port);
        a6.sin6_addr = in6addr_any;
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof(zero));
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (bind(fd, (struct sockaddr *)&a6, sizeof(a6)) == 0 && listen(fd, 4096) == 0)
            return fd;
        if (errno == EADDRINUSE) goto busy;
        close(fd);
    }
    fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        mkv_seterr(err, "cannot make a socket: %s", strerror(errno));
        return -1;
    }
    memset(&a4, 0, sizeof(a4));
    a4.sin_family = AF_INET;
    a4.sin_port = htons((uint16_t)port);
    a4.sin_addr.s_addr = htonl(INADDR_ANY);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (bind(fd, (struct sockaddr *)&a4, sizeof(a4)) == 0 && listen(fd, 4096) == 0)
        return fd;
busy:
    mkv_seterr(err, "cannot serve HTTP on port %d: %s", port, strerror(errno));
    close(fd);
    return -1;
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
    http_listen_fd = listen_on(cfg->listen, cfg->port, err);
    if (http_listen_fd < 0) return MKV_ERR;
    fronts[0].fd = http_listen_fd;
    fronts[0].daemon = http_daemon;
    if (cfg->s3_port > 0) {
        http_s3_fd = listen_on(cfg->listen, cfg->s3_port, err);
        if (http_s3_fd < 0) {
            close(http_listen_fd);
            http_listen_fd = -1;
            return MKV_ERR;
        }
        fronts[1].fd = http_s3_fd;
        fronts[1].daemon = s3_daemon;
        nfronts = 2;
    }
    if (loops_start(cfg->threads, fronts, nfronts, conns, cfg->client_timeout_s, err) !=
        MKV_OK) {
        close(http_listen_fd);
        http_listen_fd = -1;
        if (http_s3_fd >= 0) close(http_s3_fd);
        http_s3_fd = -1;
        return MKV_ERR;
    }
    return MKV_OK;
}

void http_stop(long grace_ms) {
    loops_stop(grace_ms);
    if (http_listen_fd >= 0) close(http_listen_fd);
    http_listen_fd = -1;
    if (http_s3_fd >= 0) close(http_s3_fd);
    http_s3_fd = -1;
    for (size_t i = 0; i < NSTATUS; i++) {
        if (http_prepared[i]) MHD_destroy_response(http_prepared[i]);
        http_prepared[i] = NULL;
    }
}
