/* volume_main.c -- mkv-volume PORT PATH: serve a volume directory through a supervised nginx. */
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "buf.h"
#include "conffile.h"
#include "log.h"
#include "mkv.h"
#include "nginxbin.h"
#include "nginxconf.h"
#include "supervise.h"
#include "volspace.h"

/* usage -- print the usage line to f. */
static void usage(FILE *f) {
    fprintf(f, "usage: mkv-volume [--writers CIDR[,CIDR...]] PORT PATH\n"
               "Serve the blobs under PATH over HTTP on PORT (1..65535) with "
               "nginx:\nPUT and DELETE via WebDAV, GET, and JSON directory "
               "listings.\n--writers: only those addresses may PUT or DELETE "
               "(default: anyone).\nEnvironment: NGINX (the nginx binary), "
               "MKV_VOLUME_TEMPLATE (a config template),\nTMPDIR (where the "
               "rendered config goes).\n");
}

/* parse_port -- the port in s, which must be 1..65535 in plain decimal
 * digits; -1 if it is not. */
static int parse_port(const char *s) {
    long v = 0;
    size_t i, n = strlen(s);
    if (n == 0 || n > 5) return -1;
    for (i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v >= 1 && v <= 65535 ? (int)v : -1;
}

/* port_free -- MKV_OK if a TCP socket can bind 0.0.0.0:port (with
 * SO_REUSEADDR, as nginx binds). Checked up front because nginx itself
 * retries a busy port for 2.5 s before giving up. */
static int port_free(int port, char *err) {
    struct sockaddr_in sa;
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

    if (fd < 0) {
        mkv_seterr(err, "socket: %s", strerror(errno));
        return MKV_ERR;
    }
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_addr.s_addr = htonl(INADDR_ANY);
    sa.sin_port = htons((unsigned short)port);
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
        if (errno == EADDRINUSE)
            mkv_seterr(err, "port %d is already in use", port);
        else
            mkv_seterr(err, "cannot bind port %d: %s", port, strerror(errno));
        close(fd);
        return MKV_ERR;
    }
    close(fd);
    return MKV_OK;
}

int main(int argc, char **argv) {
    char err[MKV_ERRLEN];
    char nginx[PATH_MAX];
    char conf[PATH_MAX];
    char prefix[PATH_MAX + 1];
    char body_temp[PATH_MAX + 8];
    struct nginxconf_volume vol;
    struct nginxbin_build build;
    struct buf text = {NULL, 0, 0, 0};
    const char *tmpl;
    char *owned_tmpl = NULL;
    char writers[NGINXCONF_WRITERS_MAX] = "";
    int port, rc, shift;

    log_setprog("mkv-volume");
    if (argc == 2 && (strcmp(argv[1], "--help") == 0 ||
                      strcmp(argv[1], "-h") == 0)) {
        usage(stdout);
        return 0;
    }
    if (argc == 2 && strcmp(argv[1], "--version") == 0) {
        printf("mkv-volume " MKV_VERSION "\n");
        return 0;
    }
    if (argc >= 2 && strncmp(argv[1], "--writers", 9) == 0 &&
        (argv[1][9] == '\0' || argv[1][9] == '=')) {
        const char *list = argv[1][9] == '=' ? argv[1] + 10 : argc > 2 ? argv[2] : "";
        if (nginxconf_writers(list, writers, err) != MKV_OK) {
            fprintf(stderr, "mkv-volume: %s\n", err);
            usage(stderr);
            return 2;
        }
        shift = argv[1][9] == '=' ? 1 : 2;
        argc -= shift;
        argv += shift;
    }
    if (argc != 3) {
        usage(stderr);
        return 2;
    }
    port = parse_port(argv[1]);
    if (port < 0) {
        fprintf(stderr, "mkv-volume: invalid port '%s' (want 1..65535)\n",
                argv[1]);
        usage(stderr);
        return 2;
    }
    if (argv[2][0] == '\0') {
        fprintf(stderr, "mkv-volume: PATH is empty\n");
        usage(stderr);
        return 2;
    }

    /* Signals wait for the supervisor loop from here on, so nothing below
     * is cut short between creating the config file and removing it. */
    if (supervise_init(err) != MKV_OK ||
        voldir_prepare(argv[2], &vol.dir, err) != MKV_OK) {
        log_msg("%s", err);
        return 1;
    }
    vol.port = port;
    memcpy(vol.writers, writers, sizeof(writers));
    if (port_free(port, err) != MKV_OK ||
        nginxbin_find(nginx, sizeof(nginx), err) != MKV_OK ||
        nginxbin_probe(nginx, &build, err) != MKV_OK ||
        conffile_template(&tmpl, &owned_tmpl, err) != MKV_OK ||
        nginxconf_render(tmpl, &vol, &build, &text, err) != MKV_OK ||
        conffile_write(text.p, text.len, conf, sizeof(conf), err) != MKV_OK) {
        log_msg("%s", err);
        buf_free(&text);
        free(owned_tmpl);
        return 1;
    }
    buf_free(&text);
    free(owned_tmpl);
    snprintf(prefix, sizeof(prefix), "%s/", vol.dir.state);
    snprintf(body_temp, sizeof(body_temp), "%s/body", vol.dir.state);
    /* The free-space file the index reads (volspace.h), kept up to date
     * from the supervisor's loop. */
    if (volspace_open(vol.dir.root, vol.dir.state, err) != MKV_OK) {
        log_msg("%s", err);
        unlink(conf);
        return 1;
    }
    supervise_every(VOLSPACE_EVERY_MS, volspace_update);

    {
        char *nargv[] = {nginx, "-e", "stderr", "-p", prefix, "-c", conf,
                         NULL};
        log_msg("serving %s on port %d with %s (config %s); writers: %s", vol.dir.root, port,
                nginx, conf, vol.writers[0] ? vol.writers : "anyone");
        rc = supervise_run(nargv, body_temp, err);
    }
    volspace_close();
    if (unlink(conf) != 0)
        log_msg("cannot remove %s: %s", conf, strerror(errno));
    if (rc != MKV_OK) {
        log_msg("%s", err);
        return 1;
    }
    log_msg("stopped");
    return 0;
}
