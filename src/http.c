/* http.c -- libmicrohttpd set-up, request routing, answers and accounting. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http.h"
#include "key.h"
#include "log.h"
#include "metrics.h"
#include "pending.h"
#include "placement.h"
#include "store.h"

const struct http_config *http_cfg;

static struct MHD_Daemon *http_daemon;

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

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
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

/* request_begins -- the first call for a request. */
static void request_begins(struct MHD_Connection *c, const char *version) {
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

/* check_uri -- libmicrohttpd's URI log callback, which sees the raw
 * request target before it is split at '?', NUL-terminated where the
 * space before "HTTP/1.x" was. Anything else right after that NUL means
 * the target itself held a NUL, which would silently cut the key short.
 * What this returns is the request's first *con_cls. */
static void *check_uri(void *cls, const char *uri, struct MHD_Connection *c) {
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
    if (*con_cls == &http_nul_marker || *con_cls == NULL) request_begins(c, version);
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
            return delete_handle(c, url, upload_data, upload_data_size, con_cls);
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
        pending_entered(*con_cls);
        return health_handle(c, method, url, con_cls);
    case REQ_PROBE:
        pending_entered(*con_cls);
        /* fall through */
    case REQ_GET:
        if (*upload_data_size != 0) { /* a body we do not want: skip it */
            *upload_data_size = 0;
            return MHD_YES;
        }
        if (method[0] == 'U') {
            *con_cls = NULL;
            return unlink_handle(c, url);
        }
        return get_handle(c, method, url, con_cls);
    case REQ_PUT:
        pending_entered(*con_cls);
        return put_handle(c, url, upload_data, upload_data_size, con_cls);
    case REQ_DELETE:
        pending_entered(*con_cls);
        return delete_handle(c, url, upload_data, upload_data_size, con_cls);
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
    }
    *con_cls = NULL;
}

/* no_unescape -- keep the path as sent; key_decode does it strictly so a
 * %00 cannot silently cut a key short. */
static size_t no_unescape(void *cls, struct MHD_Connection *c, char *s) {
    (void)cls;
    (void)c;
    return strlen(s);
}

__attribute__((format(printf, 2, 0)))
static void mhd_log(void *cls, const char *fmt, va_list ap) {
    char line[512];
    size_t n;
    (void)cls;
    vsnprintf(line, sizeof(line), fmt, ap);
    n = strlen(line);
    while (n > 0 && line[n - 1] == '\n') line[--n] = '\0';
    log_msg("http: %s", line);
}

static struct MHD_Daemon *start(const struct http_config *cfg, unsigned flags) {
    return MHD_start_daemon(
        flags, (uint16_t)cfg->port, NULL, NULL, on_request, NULL,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
        MHD_OPTION_THREAD_POOL_SIZE, (unsigned)cfg->threads,
        MHD_OPTION_CONNECTION_TIMEOUT, 30u,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, NULL,
        MHD_OPTION_UNESCAPE_CALLBACK, no_unescape, NULL,
        MHD_OPTION_URI_LOG_CALLBACK, check_uri, NULL,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, NULL,
        MHD_OPTION_END);
}

static int have_ipv6(void) {
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0) return 0;
    close(fd);
    return 1;
}

int http_start(const struct http_config *cfg, char *err) {
    unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL |
                     MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;

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
    /* Both IPv4 and IPv6 where the host has IPv6, else IPv4 alone. */
    http_daemon = start(cfg, have_ipv6() ? flags | MHD_USE_DUAL_STACK : flags);
    if (http_daemon == NULL) {
        mkv_seterr(err, "cannot serve HTTP on port %d (in use?)", cfg->port);
        return MKV_ERR;
    }
    return MKV_OK;
}

void http_stop(long grace_ms) {
    if (http_daemon) {
        MHD_socket fd = MHD_quiesce_daemon(http_daemon); /* no new clients */
        if (fd != MHD_INVALID_SOCKET) close(fd);
        pending_drain(grace_ms);
        MHD_stop_daemon(http_daemon);
    }
    http_daemon = NULL;
    for (size_t i = 0; i < NSTATUS; i++) {
        if (http_prepared[i]) MHD_destroy_response(http_prepared[i]);
        http_prepared[i] = NULL;
    }
}
