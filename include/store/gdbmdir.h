/* gdbmdir.h -- GDBM's directory rewritten by the pages that changed.
 *
 * GDBM keeps its hash directory (8 bytes a bucket: 16 MiB at 100M keys)
 * in memory and, whenever a bucket split changes one entry of it, writes
 * all of it back (_gdbm_end_update). At 100M keys that is 16 MiB written,
 * and later flushed to disk, for one PUT in a hundred or so. This module
 * defines _gdbm_full_write, which libgdbm reaches through its PLT as it
 * reaches gdbmfix.h's function. For a handle given to gdbmdir_watch
 * (and opened without mmap), a write of exactly the directory's size, at
 * least GDBMDIR_MIN bytes, to the region this handle last wrote it to, in
 * the same file, is compared with a copy of what was written then, and
 * only the pages that differ are written (pwrite); the file offset ends
 * where the whole write would have left it. Every other write goes to
 * libgdbm's own function, and one that overlaps the kept region drops the
 * copy, as does another file behind the handle (after gdbm_recover). The
 * file's bytes end up the same as without it (test_gdbmdir compares).
 *
 * Compiled with gdbmfix.h's GDBMFIX (GDBM 1.16 to 1.23), whose internal
 * function it replaces; elsewhere the library's own runs and watching
 * does nothing. */
#ifndef MKV_GDBMDIR_H
#define MKV_GDBMDIR_H

#include <stddef.h>

#include <gdbm.h>

#include "gdbmfix.h"
#include "mkv.h"

#define GDBMDIR_MIN (256 * 1024) /* smaller directories are written whole */

#if GDBMFIX
/* _gdbm_full_write -- GDBM's internal "write size bytes at the file
 * offset": 0, or -1 with the handle's error set (by libgdbm's own). */
int _gdbm_full_write(GDBM_FILE dbf, void *buffer, size_t size);
#endif

/* gdbmdir_watch -- write dbf's directory by its changed pages from now
 * on; gdbmdir_forget before closing it. MKV_ERR when it cannot (too many
 * handles watched): its writes then stay whole. */
int gdbmdir_watch(GDBM_FILE dbf);

/* gdbmdir_forget -- stop watching dbf (safe when not watched). */
void gdbmdir_forget(GDBM_FILE dbf);

/* gdbmdir_tune -- on (1, the default) or off (0: every directory is
 * written whole, as libgdbm does), and the smallest directory written by
 * pages (GDBMDIR_MIN by default). For tests. */
void gdbmdir_tune(int on, size_t min);

/* gdbmdir_skipped -- pages of directory left unwritten so far. */
unsigned long gdbmdir_skipped(void);

#endif
