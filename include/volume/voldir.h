/* voldir.h -- lay out a volume directory for nginx: create it and its
 * hidden state directory, resolve it, and name who owns it.
 *
 * Returns MKV_OK or MKV_ERR with a sentence in the caller's
 * err[MKV_ERRLEN]; never prints. */
#ifndef MKV_VOLDIR_H
#define MKV_VOLDIR_H

#include <limits.h>

/* One volume directory. Invariants after voldir_prepare(): root is
 * absolute and resolved (no symlinks, no trailing slash unless it is
 * "/"), state is root + "/.nginx", both exist, and every field passes
 * voldir_quotable(). user and group are empty unless the launcher runs as
 * root, in which case they name the owner of root (or "root" when the
 * owner has no passwd/group entry). */
struct voldir {
    char root[PATH_MAX];
    char state[PATH_MAX];
    char user[256];
    char group[256];
};

/* voldir_quotable -- MKV_OK if s can sit between double quotes in nginx
 * config unchanged: no double quote, backslash, `$` or control byte.
 * what names s in the message. */
int voldir_quotable(const char *what, const char *s, char *err);

/* voldir_prepare -- create path (like mkdir -p) and its hidden state
 * directory path/.nginx, resolve path, check it is a writable directory,
 * and fill *d. As root, the state directory is handed to path's owner. */
int voldir_prepare(const char *path, struct voldir *d, char *err);

#endif
