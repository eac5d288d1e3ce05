/* space.h -- room for the index file to grow: is there enough that a
 * write may go ahead?
 *
 * "Room" is the smaller of
 *   - the index filesystem's free space (statvfs f_bavail) plus the
 *     runway: space preallocated past the end of the index file
 *     (fallocate KEEP_SIZE), which GDBM's growth uses first, so a disk
 *     filled by someone else cannot cut a GDBM update short;
 *   - what the file may still grow under RLIMIT_FSIZE.
 * The index is writable while room is at least the reserve: --min-free,
 * or twice the GDBM directory (the largest single allocation GDBM makes)
 * if that is more. A write admitted at the edge may take it under by its
 * own growth (a few KiB), which the runway and the reserve absorb.
 *
 * Cost: room is measured (fstatvfs, fstat, getrlimit, now and then a
 * fallocate) at most every SPACE_EVERY_MS by the write that finds the
 * measure stale; between measures each admitted write counts its
 * estimated growth down from it. A write is refused only on a measure:
 * when the estimate alone runs out, room is measured again at once; when
 * the last measure itself was short, at most every SPACE_EDGE_MS.
 * Reads never call into this module. Thread-safe: one mutex, taken by
 * writes and health checks only. */
#ifndef MKV_SPACE_H
#define MKV_SPACE_H

#include <stddef.h>
#include <stdint.h>

#include "mkv.h"

#define SPACE_EVERY_MS 100
#define SPACE_EDGE_MS 10

/* The default --min-free: 64 MiB. */
#define SPACE_MIN_FREE_DEFAULT (64ULL * 1024 * 1024)

/* space_open -- watch the filesystem of the index file at path, open as
 * fd (the module keeps a duplicate), keeping min_free bytes in reserve
 * and a runway of min_free / 2. min_free 0 turns every check off (writes
 * are always admitted, nothing is preallocated). MKV_ERR with err set
 * when the directory cannot be opened or measured. */
int space_open(const char *path, int fd, uint64_t min_free, char *err);

/* space_file -- the index file is now fd (a recovery replaced it); its
 * runway is rebuilt at the next measure. */
void space_file(int fd);

/* space_directory -- GDBM's directory is now bytes long: the reserve is
 * at least twice that, as is the runway. */
void space_directory(uint64_t bytes);

/* space_admit -- may a write that grows the file by up to need bytes go
 * ahead? MKV_OK (and need is counted down from the room), or MKV_ERR with
 * a one-line reason in why ("index read-only: 12 MiB free, 64 MiB
 * required"). */
int space_admit(uint64_t need, char *why);

/* space_room -- measure now (if stale) and return the room in bytes
 * (UINT64_MAX with checks off). */
uint64_t space_room(void);

/* space_describe -- the state in words for health: "ok: 1.2 GiB free,
 * 64 MiB required" or "read-only: ...". Measures first if stale.
 * Returns 1 when writes are admitted, 0 when not. */
int space_describe(char *out, size_t len);

/* space_close -- give back the runway (punch it out) and close. */
void space_close(void);

/* space_human -- n bytes as "512 B", "12 KiB", "1.2 GiB" into out. */
void space_human(uint64_t n, char *out, size_t len);

#endif
