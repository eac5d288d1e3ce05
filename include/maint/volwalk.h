/* volwalk.h -- reading every file of every volume through nginx's
 * autoindex JSON, many directories at once: what rebuild and reconcile
 * compare with the index.
 *
 * A volume's tree: "/" holds the "xx" directories (or "svXX" subvolume
 * roots that hold them), each "xx" the "yy" ones, and each of those the
 * names placement_path writes, in either form, with the directories a
 * nested name or a long name's pieces make. A key may nest over a
 * thousand directories, so the walk keeps the ones still to read on the
 * heap, never on the C stack. */
#ifndef MKV_VOLWALK_H
#define MKV_VOLWALK_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "placement.h"

/* Threads reading listings at once. */
#define VOLWALK_THREADS 16

/* One file found (valid only during the callback). */
struct volwalk_file {
    int vol;                      /* index into the volumes walked */
    const char *volume;           /* "host:port" or "host:port/svXX", as a
                                     record names it */
    const char *path;             /* "/xx/yy/NAME" on volume (vol_url) */
    const char *key;              /* the key NAME is of, or NULL when NAME
                                     is not one cmkv writes in that place */
    size_t keylen;
    int flat;                     /* NAME's form (placement_unname) */
    int64_t mtime;                /* from the listing; -1 when unknown */
    const char *why;              /* key NULL: why, in words */
};

/* volwalk_run -- walk volumes[0..n) and call fn(f, arg) for each file
 * below an "xx/yy" directory, from any of VOLWALK_THREADS threads (fn
 * locks what it shares; each thread's volclient handle is freed at its
 * end). what ("rebuild") begins log lines. A name of bytes cmkv never
 * writes (so that its path might need escaping in a URL), or too long to
 * hold, is logged, counted in *errors and neither passed on nor entered;
 * every other file is passed on, with key NULL when its name is not a
 * key's name in that place. Sets
 * incomplete[v] to 1 for each volume v whose tree could not be read in
 * full (a listing failed, or memory ran out), else leaves it alone. */
void volwalk_run(char *const *volumes, int n, const char *what, atomic_long *errors,
                 void (*fn)(const struct volwalk_file *f, void *arg), void *arg,
                 int *incomplete);

#endif
