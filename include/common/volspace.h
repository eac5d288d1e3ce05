/* volspace.h -- how a volume tells the index its free space, and what
 * the index makes of it.
 *
 * nginx cannot say why a PUT failed: it answers 500 for a full disk as
 * for any other write error. So mkv-volume, which can statvfs its PATH,
 * rewrites the file PATH/.nginx/space every VOLSPACE_EVERY_MS with one
 * line of fixed width (bytes, as an unprivileged writer sees them):
 *
 *     free 00000000000000123456 total 00000000000001048576\n
 *
 * in place, so keeping it up to date needs no new block on a full disk.
 * nginx serves it as GET VOLSPACE_PATH (the rest of /.nginx stays
 * denied). The index reads it:
 *   - after a volume answered a PUT with 500: when the volume then has
 *     less free space than the value needed plus VOLSPACE_MARGIN, the
 *     disk was full; the PUT answers 507 and the volume is marked full,
 *     until it stores a value again or shows room for what failed;
 *   - for GET /?health, for every volume.
 * A volume without the file (plain nginx, an old template) is never
 * called full. */
#ifndef MKV_VOLSPACE_H
#define MKV_VOLSPACE_H

#include <stddef.h>
#include <stdint.h>

#include "mkv.h"

#define VOLSPACE_PATH "/.nginx/space"
#define VOLSPACE_FILE "space"          /* in PATH/.nginx */
#define VOLSPACE_LINE 53               /* bytes, newline included */
#define VOLSPACE_EVERY_MS 250
#define VOLSPACE_MARGIN (64 * 1024)

/* --- the volume's side (mkv-volume) --- */

/* volspace_open -- write state_dir/space for the filesystem of root,
 * now and on each volspace_update. MKV_ERR (err set) when root cannot
 * be opened; a file that cannot be written yet is retried each update. */
int volspace_open(const char *root, const char *state_dir, char *err);

/* volspace_update -- measure and rewrite the file; failures are logged
 * (rate-limited) and retried next time. */
void volspace_update(void);

/* volspace_close -- close the files (the space file stays). */
void volspace_close(void);

/* --- the format --- */

/* volspace_format -- the line for free and total into out (VOLSPACE_LINE
 * bytes and a NUL). */
void volspace_format(uint64_t free, uint64_t total, char *out);

/* volspace_parse -- read a line written by volspace_format: MKV_OK with
 * *free and *total set, MKV_ERR when buf is anything else (a torn read,
 * a 404 page). */
int volspace_parse(const char *buf, size_t len, uint64_t *free, uint64_t *total);

/* --- the index's side: volume i of the configured list --- */

/* volspace_mark_full -- a PUT of need bytes to volume i failed for want
 * of space. */
void volspace_mark_full(int i, uint64_t need);

/* volspace_stored -- volume i stored a value: it is not full. */
void volspace_stored(int i);

/* volspace_seen -- volume i reported free bytes: not full any more if
 * that is room for what last failed. */
void volspace_seen(int i, uint64_t free);

/* volspace_full -- 1 if volume i is marked full (*need: the bytes the
 * failed PUT needed), else 0. */
int volspace_full(int i, uint64_t *need);

#endif
