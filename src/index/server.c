/* server.c -- mkv-index's network side (server.h): the listening sockets
 * (one per loop and front, SO_REUSEPORT), the descriptor budget, the
 * event loops started with the native front (route.c) and the S3 one
 * (s3.c), and the hand-over of writes a crash left to the clean-up. */
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

#include "bio.h"
#include "cleanup.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "route.h"
#include "s3.h"
#include "server.h"
#include "store.h"

static int server_fds[LOOP_FRONTS][64]; /* a socket per front and loop */
static int server_nfds;             /* loops, i.e. sockets per front */
static int server_nfronts;

/* close_fronts -- the listening sockets, when the loops are done. */
static void close_fronts(void) {
    for (int f = 0; f < server_nfronts; f++)
        for (int i = 0; i < server_nfds; i++) close(server_fds[f][i]);
    server_nfds = server_nfronts = 0;
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

int server_start(const struct http_config *cfg, char *err) {
    struct loop_front fronts[LOOP_FRONTS];
    int nfronts = 1;
    unsigned conns;

    http_cfg = cfg;
    metrics_init(cfg->volumes, cfg->nvolumes);
    if (http_init(err) != MKV_OK) return MKV_ERR;
    conns = fd_budget(cfg->max_connections);
    if (cfg->threads > 64 ||
        listen_on(cfg->listen, cfg->port, cfg->threads, server_fds[0], err) != MKV_OK)
        return MKV_ERR;
    server_nfds = cfg->threads;
    fronts[0].fds = server_fds[0];
    fronts[0].daemon = route_daemon;
    if (cfg->s3_port > 0) {
        if (listen_on(cfg->listen, cfg->s3_port, cfg->threads, server_fds[1], err) != MKV_OK) {
            for (int i = 0; i < server_nfds; i++) close(server_fds[0][i]);
            server_nfds = 0;
            return MKV_ERR;
        }
        fronts[1].fds = server_fds[1];
        fronts[1].daemon = s3_daemon;
        nfronts = 2;
    }
    server_nfronts = nfronts;
    if (loops_start(cfg->threads, fronts, nfronts, conns, cfg->client_timeout_s, err) !=
        MKV_OK) {
        close_fronts();
        return MKV_ERR;
    }
    store_on_orphan(on_orphan);
    return MKV_OK;
}

void server_stop(long grace_ms) {
    store_on_orphan(NULL); /* the loops are about to go */
    loops_stop(grace_ms);
    bio_stop();
    close_fronts();
    http_fini();
}
