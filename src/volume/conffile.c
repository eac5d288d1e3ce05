/* conffile.c -- read the nginx template, write the rendered config (conffile.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conffile.h"
#include "mkv.h"

/* Largest template accepted from $MKV_VOLUME_TEMPLATE; a few KiB in
 * practice. */
#define CONFFILE_TEMPLATE_MAX (1024 * 1024)

int conffile_template(const char **text, char **owned, char *err) {
    const char *file = getenv("MKV_VOLUME_TEMPLATE");
    struct stat st;
    char *buf;
    size_t len = 0;
    int fd;

    *text = nginx_template;
    *owned = NULL;
    if (file == NULL || file[0] == '\0') return MKV_OK;
    fd = open(file, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        mkv_seterr(err, "MKV_VOLUME_TEMPLATE=%s: %s", file, strerror(errno));
        return MKV_ERR;
    }
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
        st.st_size > CONFFILE_TEMPLATE_MAX) {
        mkv_seterr(err, "MKV_VOLUME_TEMPLATE=%s is not a regular file of at "
                   "most %d bytes", file, CONFFILE_TEMPLATE_MAX);
        close(fd);
        return MKV_ERR;
    }
    buf = malloc((size_t)st.st_size + 1);
    if (buf == NULL) {
        mkv_seterr(err, "out of memory reading %s", file);
        close(fd);
        return MKV_ERR;
    }
    while (len < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + len, (size_t)st.st_size - len);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) break; /* the file shrank: use what was there */
        len += (size_t)r;
    }
    close(fd);
    buf[len] = '\0';
    if (memchr(buf, '\0', len) != NULL) {
        mkv_seterr(err, "MKV_VOLUME_TEMPLATE=%s contains a NUL byte", file);
        free(buf);
        return MKV_ERR;
    }
    *text = buf;
    *owned = buf;
    return MKV_OK;
}

int conffile_write(const char *text, size_t len, char *out, size_t outlen,
                   char *err) {
    const char *tmpdir = getenv("TMPDIR");
    char path[PATH_MAX];
    size_t off = 0;
    int fd, n, werr = 0;

    if (tmpdir == NULL || tmpdir[0] == '\0') tmpdir = "/tmp";
    n = snprintf(path, sizeof(path), "%s/mkv-volume-XXXXXX.conf", tmpdir);
    if (n < 0 || (size_t)n >= sizeof(path) || (size_t)n >= outlen) {
        mkv_seterr(err, "TMPDIR=%s is too long", tmpdir);
        return MKV_ERR;
    }
    fd = mkostemps(path, 5, O_CLOEXEC);
    if (fd < 0) {
        mkv_seterr(err, "cannot create a config file in %s: %s", tmpdir,
                   strerror(errno));
        return MKV_ERR;
    }
    while (off < len && werr == 0) {
        ssize_t w = write(fd, text + off, len - off);
        if (w < 0 && errno != EINTR) werr = errno;
        if (w == 0) werr = EIO; /* cannot happen for a regular file */
        if (w > 0) off += (size_t)w;
    }
    if (close(fd) != 0 && werr == 0) werr = errno;
    if (werr != 0) {
        mkv_seterr(err, "cannot write %s: %s", path, strerror(werr));
        unlink(path);
        return MKV_ERR;
    }
    memcpy(out, path, (size_t)n + 1);
    return MKV_OK;
}
