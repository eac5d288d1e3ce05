/* voldir.c -- lay out a volume directory for nginx (voldir.h). */
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <unistd.h>

#include "mkv.h"
#include "voldir.h"

/* Backslash and double quote would need escaping, `$` would be read as a
 * variable by `root`, and control bytes (newline above all) have no
 * business in a path; rather than escape, voldir_quotable refuses them. */
int voldir_quotable(const char *what, const char *s, char *err) {
    const unsigned char *p;
    for (p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p == '"' || *p == '\\' || *p == '$' || *p < 0x20 || *p == 0x7f) {
            mkv_seterr(err, "%s %s contains a character nginx config cannot "
                       "hold (double quote, backslash, $ or a control "
                       "character); choose another", what, s);
            return MKV_ERR;
        }
    }
    return MKV_OK;
}

/* mkdir_p -- create path and any missing parents with mode 0755, like
 * mkdir -p. MKV_OK when path exists as a directory afterwards. */
static int mkdir_p(const char *path, char *err) {
    char buf[PATH_MAX];
    struct stat st;
    size_t i, n = strlen(path);

    if (n == 0) {
        mkv_seterr(err, "the volume path is empty");
        return MKV_ERR;
    }
    if (n >= sizeof(buf)) {
        mkv_seterr(err, "the volume path is too long (%zu bytes)", n);
        return MKV_ERR;
    }
    memcpy(buf, path, n + 1);
    /* Create every prefix ending before a slash, then the whole path. */
    for (i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0') continue;
        if (buf[i - 1] == '/') continue; /* "a//b": nothing new here */
        buf[i] = '\0';
        if (mkdir(buf, 0755) != 0 && errno != EEXIST) {
            mkv_seterr(err, "cannot create %s: %s", buf, strerror(errno));
            return MKV_ERR;
        }
        if (i < n) buf[i] = '/';
    }
    if (stat(path, &st) != 0) {
        mkv_seterr(err, "cannot use %s: %s", path, strerror(errno));
        return MKV_ERR;
    }
    if (!S_ISDIR(st.st_mode)) {
        mkv_seterr(err, "%s exists and is not a directory", path);
        return MKV_ERR;
    }
    return MKV_OK;
}

/* owner_names -- the user and group names owning st, for nginx's `user`
 * directive; "root" stands in for an id without a passwd/group entry. */
static int owner_names(const struct stat *st, struct voldir *d,
                       char *err) {
    struct passwd *pw = getpwuid(st->st_uid);
    struct group *gr = getgrgid(st->st_gid);
    const char *u = pw != NULL ? pw->pw_name : "root";
    const char *g = gr != NULL ? gr->gr_name : "root";

    if (strlen(u) >= sizeof(d->user) || strlen(g) >= sizeof(d->group)) {
        mkv_seterr(err, "the owner name of %s is too long", d->root);
        return MKV_ERR;
    }
    strcpy(d->user, u);
    strcpy(d->group, g);
    if (voldir_quotable("user name", d->user, err) != MKV_OK) return MKV_ERR;
    return voldir_quotable("group name", d->group, err);
}

int voldir_prepare(const char *path, struct voldir *d, char *err) {
    struct stat st;
    int n;

    memset(d, 0, sizeof(*d));
    /* Refuse an unusable name before creating anything; the resolved path
     * is checked again below, since a symlink may bring in new names. */
    if (voldir_quotable("volume path", path, err) != MKV_OK) return MKV_ERR;
    if (mkdir_p(path, err) != MKV_OK) return MKV_ERR;
    if (realpath(path, d->root) == NULL) {
        mkv_seterr(err, "cannot resolve %s: %s", path, strerror(errno));
        return MKV_ERR;
    }
    if (voldir_quotable("volume path", d->root, err) != MKV_OK) return MKV_ERR;
    if (access(d->root, W_OK | X_OK) != 0) {
        mkv_seterr(err, "volume path %s is not writable: %s", d->root,
                   strerror(errno));
        return MKV_ERR;
    }
    n = snprintf(d->state, sizeof(d->state), "%s/.nginx",
                 strcmp(d->root, "/") == 0 ? "" : d->root);
    /* Room for the longest name put under state: "/fastcgi". */
    if (n < 0 || (size_t)n + sizeof("/fastcgi") > sizeof(d->state)) {
        mkv_seterr(err, "volume path %s is too long", d->root);
        return MKV_ERR;
    }
    if (mkdir(d->state, 0755) != 0 && errno != EEXIST) {
        mkv_seterr(err, "cannot create %s: %s", d->state, strerror(errno));
        return MKV_ERR;
    }
    if (lstat(d->state, &st) != 0 || !S_ISDIR(st.st_mode)) {
        mkv_seterr(err, "%s exists and is not a directory", d->state);
        return MKV_ERR;
    }
    if (stat(d->root, &st) != 0) {
        mkv_seterr(err, "cannot stat %s: %s", d->root, strerror(errno));
        return MKV_ERR;
    }
    if (geteuid() == 0) {
        /* Workers will run as the volume's owner; hand them the state
         * directory too, so a later run as that user can write its pid
         * file there. nginx chowns the temp dirs it creates itself. */
        if (owner_names(&st, d, err) != MKV_OK) return MKV_ERR;
        if (chown(d->state, st.st_uid, st.st_gid) != 0) {
            mkv_seterr(err, "cannot chown %s: %s", d->state, strerror(errno));
            return MKV_ERR;
        }
    } else if (access(d->state, W_OK | X_OK) != 0) {
        mkv_seterr(err, "%s is not writable: %s", d->state, strerror(errno));
        return MKV_ERR;
    }
    return MKV_OK;
}
