/* nginxbin.h -- find the nginx binary and learn from `nginx -V` which
 * modules its build has.
 *
 * Returns MKV_OK or MKV_ERR with a sentence in the caller's
 * err[MKV_ERRLEN]; never prints. */
#ifndef MKV_NGINXBIN_H
#define MKV_NGINXBIN_H

#include <stddef.h>

/* What an nginx build offers. dav must be set for a volume to work; the
 * other flags say whether the module's *_temp_path directive exists (an
 * unknown directive is fatal to nginx). */
struct nginxbin_build {
    int dav;
    int proxy;
    int fastcgi;
    int uwsgi;
    int scgi;
};

/* nginxbin_find -- locate the nginx binary: $NGINX if set (it must be an
 * executable file), else "nginx" on $PATH, else /usr/sbin/nginx. Writes the
 * path into out[outlen]. */
int nginxbin_find(char *out, size_t outlen, char *err);

/* nginxbin_probe -- run `nginx -V` once and fill *b from its configure
 * arguments. Fails if nginx cannot be run or lacks the DAV module. */
int nginxbin_probe(const char *nginx, struct nginxbin_build *b, char *err);

#endif
