/* http.c -- what every native handler uses to answer (http.h): prepared
 * empty answers, bodies, one-line reasons, the per-connection accounting
 * (metrics, access log, -v), and decoding the key from the target. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "http.h"
#include "key.h"
#include "log.h"
#include "metrics.h"
#include "placement.h"
#include "req.h"

const struct http_config *http_cfg;

/* Statuses we answer with an empty body; each response is made once. */
static const unsigned http_statuses[] = {
    201, 204, 400, 403, 404, 405, 409, 411, 413, 414, 500, 502, 503, 504, 507,
};
#define NSTATUS (sizeof(http_statuses) / sizeof(http_statuses[0]))
static struct MHD_Response *http_prepared[NSTATUS];

int http_init(char *err) {
    for (size_t i = 0; i < NSTATUS; i++) {
        http_prepared[i] = MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT);
        if (http_prepared[i] == NULL) {
            http_fini();
            mkv_seterr(err, "out of memory");
            return MKV_ERR;
        }
        if (http_statuses[i] == 405)
            MHD_add_response_header(http_prepared[i], MHD_HTTP_HEADER_ALLOW,
                                    "GET, HEAD, PUT, DELETE, UNLINK");
    }
    return MKV_OK;
}

void http_fini(void) {
    for (size_t i = 0; i < NSTATUS; i++) {
        if (http_prepared[i]) MHD_destroy_response(http_prepared[i]);
        http_prepared[i] = NULL;
    }
}

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

enum MHD_Result http_queue(struct MHD_Connection *c, const char *method,
                           const char *url, unsigned status, struct MHD_Response *r,
                           uint64_t bytes_out) {
    enum MHD_Result ret;
    if (r == NULL) return MHD_NO;
    http_account(c, method, url, status, bytes_out);
    ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

enum MHD_Result http_answer(struct MHD_Connection *c, const char *method,
                            const char *url, unsigned status, char *body,
                            size_t len, const char *type) {
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
    if (r == NULL) {
        free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    return http_queue(c, method, url, status, r, len);
}

struct MHD_Daemon *http_start_daemon(int listen_fd, unsigned limit, unsigned timeout_s,
                                     MHD_AccessHandlerCallback access,
                                     MHD_RequestCompletedCallback completed) {
    return MHD_start_daemon(
        MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL,
        access, NULL,
        MHD_OPTION_EXTERNAL_LOGGER, http_mhd_log, NULL,
        MHD_OPTION_LISTEN_SOCKET, listen_fd,
        MHD_OPTION_CONNECTION_LIMIT, limit,
        MHD_OPTION_CONNECTION_TIMEOUT, timeout_s,
        MHD_OPTION_NOTIFY_COMPLETED, completed, NULL,
        MHD_OPTION_UNESCAPE_CALLBACK, http_no_unescape, NULL,
        MHD_OPTION_URI_LOG_CALLBACK, http_check_uri, NULL,
        MHD_OPTION_NOTIFY_CONNECTION, http_notify_connection, NULL,
        MHD_OPTION_END);
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

    if (st == KEY_OK) return MKV_OK;
    log_limited(LOG_REFUSED, "%s: refused: %s", method, key_status_text(st));
    *ret = http_respond(c, method, url, st == KEY_TOO_LONG ? 414 : 400);
    return MKV_ERR;
}

/* A request whose path carried a raw NUL byte: refused with 400. */
static enum req_kind http_nul_marker = REQ_REFUSED;
int http_nul_in_path(void *con_cls) { return con_cls == &http_nul_marker; }

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


