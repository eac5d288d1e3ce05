/* nginxconf.h -- prepare a volume directory, find and probe nginx, render its config.
 *
 * The volume launcher does not serve HTTP itself: nginx does, with the DAV
 * module for PUT/DELETE and autoindex for listings. This module gathers
 * everything nginx needs before it can start: the directory laid out, the
 * binary located, its build probed for which modules exist, and a config
 * file written from the template. Every function returns MKV_OK or MKV_ERR
 * with a sentence in the caller's err[MKV_ERRLEN]; none prints. */
#ifndef MKV_NGINXCONF_H
#define MKV_NGINXCONF_H

#include <limits.h>
#include <stddef.h>

#define NGINXCONF_WRITERS_MAX 1024

/* The compiled-in template, generated from conf/nginx-volume.conf.in by
 * scripts/embed.sh into build/nginx_template.c. */
extern const char nginx_template[];

/* What an nginx build offers. dav must be set for a volume to work; the
 * other flags say whether the module's *_temp_path directive exists (an
 * unknown directive is fatal to nginx). */
struct nginxconf_build {
    int dav;
    int proxy;
    int fastcgi;
    int uwsgi;
    int scgi;
};

/* One volume as nginx will see it. Invariants after nginxconf_prepare():
 * root is absolute and resolved (no symlinks, no trailing slash unless it
 * is "/"), state is root + "/.nginx", both exist, and both contain only
 * characters that can sit inside a double-quoted nginx string. user and
 * group are empty unless the launcher runs as root, in which case they name
 * the owner of root (or "root" when the owner has no passwd/group entry). */
struct nginxconf_volume {
    char root[PATH_MAX];
    char state[PATH_MAX];
    char user[256];
    char group[256];
    int port;
    char writers[NGINXCONF_WRITERS_MAX]; /* "CIDR,CIDR": who may PUT/DELETE;
                                            "" for anyone */
};

/* nginxconf_writers -- check list ("CIDR[,CIDR...]": IPv4 or IPv6
 * addresses, each with an optional /prefix) and copy it into out
 * (NGINXCONF_WRITERS_MAX bytes). Rendered as nginx's limit_except GET
 * { allow ...; deny all; } at @WRITERS@: only those addresses may PUT or
 * DELETE; GET and HEAD stay open. */
int nginxconf_writers(const char *list, char *out, char *err);

/* nginxconf_prepare -- create path (like mkdir -p) and its hidden state
 * directory path/.nginx, resolve path, check it is a writable directory,
 * and fill *v for port. */
int nginxconf_prepare(const char *path, int port, struct nginxconf_volume *v,
                      char *err);

/* nginxconf_find -- locate the nginx binary: $NGINX if set (it must be an
 * executable file), else "nginx" on $PATH, else /usr/sbin/nginx. Writes the
 * path into out[outlen]. */
int nginxconf_find(char *out, size_t outlen, char *err);

/* nginxconf_probe -- run `nginx -V` once and fill *b from its configure
 * arguments. Fails if nginx cannot be run or lacks the DAV module. */
int nginxconf_probe(const char *nginx, struct nginxconf_build *b, char *err);

/* nginxconf_template -- the template to render: the file named by
 * $MKV_VOLUME_TEMPLATE if that is set, else the compiled-in one. On success
 * *text points at it; if it was read from a file, *owned is the same
 * malloc'd buffer and the caller frees it, else *owned is NULL. */
int nginxconf_template(const char **text, char **owned, char *err);

/* nginxconf_render -- fill the template's @PLACEHOLDERS@ for v and b and
 * write the result to a new file $TMPDIR/mkv-volume-XXXXXX.conf (or under
 * /tmp). Its path goes into out[outlen]; the caller removes the file.
 * An unknown @UPPER_CASE@ placeholder is an error, so a typo in a custom
 * template is caught here rather than by nginx; so is a template without
 * @WRITERS@ when v->writers is set, which would leave writes open. On failure no file is
 * left behind. */
int nginxconf_render(const char *tmpl, const struct nginxconf_volume *v,
                     const struct nginxconf_build *b, char *out,
                     size_t outlen, char *err);

#endif
