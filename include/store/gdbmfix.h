/* gdbmfix.h -- a corrected copy of GDBM 1.23's internal _gdbm_put_av_elem,
 * which libgdbm's own calls reach instead of the library's.
 *
 * GDBM keeps the free space of its file in sorted tables of (size, address)
 * elements; the header's table sits right after the avail block's count
 * and the address of the block on top of its on-disk stack. When
 * pop_avail_block moves a stacked block back into the header table it
 * inserts each element with merging on, and 1.23's merge loop, after
 * joining the element with the table's first entry (index 0), compares it
 * with entry -1: the block's size, count and stack address read as an
 * element. If the joined element ends exactly where the stacked block
 * begins, which a thrasher-like load of small puts and deletes reaches
 * now and then, it "merges" that header too: the table is moved down over
 * the count, the count turns to -1, and the next insertion moves
 * (size_t)-16 bytes. That shifts the heap below the table by 16 bytes --
 * the GDBM handle itself, allocated just before it -- and the index
 * segfaults in _gdbm_alloc, or first fails a GDBM call and runs
 * gdbm_recover with a file name shifted to "", which leaves a 16 KiB
 * ".XXXXXX" copy in the working directory.
 *
 * libgdbm.so calls the function through its PLT, so the definition in the
 * executable takes precedence for every call, the library's included.
 * Compiled only for the GDBM versions whose code this replaces (1.16 to
 * 1.23, the merge loop being the same in all of them); elsewhere GDBMFIX
 * is 0 and the library's own runs. */
#ifndef MKV_GDBMFIX_H
#define MKV_GDBMFIX_H

#include <sys/types.h>

#include <gdbm.h>

#if GDBM_VERSION_MAJOR == 1 && GDBM_VERSION_MINOR >= 16 && GDBM_VERSION_MINOR <= 23
#define GDBMFIX 1
#else
#define GDBMFIX 0
#endif

/* GDBM's avail_elem (gdbmdefs.h), unchanged since 1.8. */
struct gdbm_avail_elem {
    int av_size;                  /* bytes */
    off_t av_adr;                 /* file address */
};

#if GDBMFIX
/* _gdbm_put_av_elem -- insert el into av_table (*av_count elements,
 * sorted by size, with room for one more), first joining it with every
 * element it touches when can_merge is 1 (GDBM's TRUE). Elements of
 * 4 bytes or less are dropped, as GDBM does (IGNORE_SIZE). Never touches
 * memory outside av_table[0 .. *av_count]. */
void _gdbm_put_av_elem(struct gdbm_avail_elem el, struct gdbm_avail_elem av_table[],
                       int *av_count, int can_merge);
#endif

#endif
