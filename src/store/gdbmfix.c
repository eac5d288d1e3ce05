/* gdbmfix.c -- GDBM 1.23's _gdbm_put_av_elem without its merge bug
 * (gdbmfix.h). */
#include <string.h>

#include "gdbmfix.h"

#if GDBMFIX

#define IGNORE_SIZE 4 /* gdbmconst.h: smaller free blocks are not kept */

/* drop -- remove av_table[i]. */
static void drop(struct gdbm_avail_elem av_table[], int *av_count, int i) {
    memmove(&av_table[i], &av_table[i + 1],
            (size_t)(*av_count - i - 1) * sizeof(av_table[0]));
    --*av_count;
}

void _gdbm_put_av_elem(struct gdbm_avail_elem el, struct gdbm_avail_elem av_table[],
                       int *av_count, int can_merge) {
    int i;

    if (el.av_size <= IGNORE_SIZE) return;
    if (can_merge == 1) {
        /* Join el with each element right before or right after it; after
         * a join, look again from the start, as el has grown. */
        i = 0;
        while (i < *av_count) {
            if (av_table[i].av_adr + av_table[i].av_size == el.av_adr) {
                el.av_adr = av_table[i].av_adr;
                el.av_size += av_table[i].av_size;
            } else if (el.av_adr + el.av_size == av_table[i].av_adr) {
                el.av_size += av_table[i].av_size;
            } else {
                i++;
                continue;
            }
            drop(av_table, av_count, i);
            i = 0;
        }
    }
    /* The first element at least as large: the table stays sorted. */
    for (i = 0; i < *av_count && av_table[i].av_size < el.av_size; i++)
        ;
    memmove(&av_table[i + 1], &av_table[i], (size_t)(*av_count - i) * sizeof(av_table[0]));
    av_table[i] = el;
    ++*av_count;
}

#endif
