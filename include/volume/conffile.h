/* conffile.h -- the files around nginx's config: the template read in
 * (compiled in, or $MKV_VOLUME_TEMPLATE), the rendered config written out
 * to a temporary file.
 *
 * Returns MKV_OK or MKV_ERR with a sentence in the caller's
 * err[MKV_ERRLEN]; never prints. */
#ifndef MKV_CONFFILE_H
#define MKV_CONFFILE_H

#include <stddef.h>

/* The compiled-in template, generated from conf/nginx-volume.conf.in by
 * scripts/embed.sh into build/nginx_template.c. */
extern const char nginx_template[];

/* conffile_template -- the template to render: the file named by
 * $MKV_VOLUME_TEMPLATE if that is set, else the compiled-in one. On success
 * *text points at it; if it was read from a file, *owned is the same
 * malloc'd buffer and the caller frees it, else *owned is NULL. */
int conffile_template(const char **text, char **owned, char *err);

/* conffile_write -- write text[0..len) to a new file
 * $TMPDIR/mkv-volume-XXXXXX.conf (or under /tmp) and put its path in
 * out[outlen]; the caller removes the file. On failure no file is left
 * behind. */
int conffile_write(const char *text, size_t len, char *out, size_t outlen,
                   char *err);

#endif
