/* nginxconf.h -- render nginx's config for one volume from a template.
 *
 * The volume launcher does not serve HTTP itself: nginx does, with the DAV
 * module for PUT/DELETE and autoindex for listings. The template
 * (conf/nginx-volume.conf.in, see conffile.h) holds a fixed set of
 * placeholders, each filled from the volume and the nginx build:
 *   @PID_FILE@ @USER_DIRECTIVE@ @BODY_TEMP@ @OTHER_TEMP_PATHS@ @PORT@
 *   @ROOT@ @WRITERS@
 * Every function returns MKV_OK or MKV_ERR with a sentence in the caller's
 * err[MKV_ERRLEN]; none prints. */
#ifndef MKV_NGINXCONF_H
#define MKV_NGINXCONF_H

#include "buf.h"
#include "nginxbin.h"
#include "voldir.h"

#define NGINXCONF_WRITERS_MAX 1024

/* One volume as nginx will see it: its directory (voldir_prepare), the
 * port it listens on, and who may write. */
struct nginxconf_volume {
    struct voldir dir;
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

/* nginxconf_render -- fill the template's placeholders for v and b into
 * out, which must be empty; on success out holds the config (the caller
 * frees it with buf_free), on failure out is empty again. An '@' not
 * starting an upper-case name closed by another '@' is kept as it is, so
 * nginx's own named locations (location @fallback) pass through. An
 * unknown @UPPER_CASE@ placeholder is an error, so a typo in a custom
 * template is caught here rather than by nginx; so is a template without
 * @WRITERS@ when v->writers is set, which would leave writes open. */
int nginxconf_render(const char *tmpl, const struct nginxconf_volume *v,
                     const struct nginxbin_build *b, struct buf *out,
                     char *err);

#endif
