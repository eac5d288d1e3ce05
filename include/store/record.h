/* record.h -- the value stored in the index for each key.
 *
 * On disk (GDBM value, no trailing NUL), minikeyvalue's layout:
 *     ["DELETED" | "WRITING"] ["FLAT"] ["HASH" 32 lowercase hex digits] VOLUME ["," VOLUME]...
 * A pymkv record is one bare VOLUME, so pymkv index files are valid.
 * "FLAT" (cmkv's own): the key's files use the flat name (placement.h),
 * written only for keys whose two names differ (placement_nests), so
 * every other record is exactly minikeyvalue's; without it the files use
 * the nested name, as pymkv and cmkv before "FLAT" wrote them. pymkv
 * cannot read a "FLAT" record (it would take the marker for part of the
 * volume), nor would it find the file under its own name.
 * States: no prefix, live; "DELETED", unlinked (soft-deleted: GET says
 * 404, the files stay until a DELETE); "WRITING", a PUT in progress (or
 * cut short by a crash): GET says 404, no listing shows it, a PUT or
 * DELETE may replace it. Indexes from before "WRITING" existed marked
 * writes in progress "DELETED" as well; those read as unlinked.
 * A VOLUME is 1..RECORD_VOLUME_MAX bytes of printable ASCII other than
 * space and ',', not beginning with a marker ("DELETED", "WRITING",
 * "FLAT", "HASH"). Every record read back from disk is checked against
 * this before use. */
#ifndef MKV_RECORD_H
#define MKV_RECORD_H

#include <stddef.h>
#include <stdint.h>

#include "mkv.h"

#define RECORD_MAX_VOLUMES 16
#define RECORD_VOLUME_MAX 255
#define RECORD_MAX (7 + 4 + 4 + 32 + RECORD_MAX_VOLUMES * (RECORD_VOLUME_MAX + 1))

struct record {
    int deleted;                  /* "DELETED": unlinked */
    int writing;                  /* "WRITING": a PUT in progress */
    int flat;                     /* "FLAT": the files use the flat name */
    char hash[33];                /* md5 hex of the value, or "" */
    int nvolumes;                 /* 1..RECORD_MAX_VOLUMES */
    uint16_t at[RECORD_MAX_VOLUMES]; /* where each volume begins in buf */
    uint16_t used;                /* bytes of buf in use */
    char buf[RECORD_MAX];         /* NUL-terminated volume strings */
};
/* A record owns its bytes (offsets, no pointers into itself), so a plain
 * assignment copies one. Its volumes are read with record_volume and
 * set with record_clear_volumes and record_add_volume. */

/* record_volume -- the i-th volume (0 <= i < nvolumes). */
static inline const char *record_volume(const struct record *r, int i) {
    return r->buf + r->at[i];
}

/* record_clear_volumes -- r names no volume yet. */
static inline void record_clear_volumes(struct record *r) {
    r->nvolumes = 0;
    r->used = 0;
}

/* record_add_volume -- append a copy of v (NUL-terminated). MKV_ERR when
 * r already names RECORD_MAX_VOLUMES volumes or v is longer than
 * RECORD_VOLUME_MAX; r is then unchanged. */
int record_add_volume(struct record *r, const char *v);

/* record_decode -- parse data[0..len) into r. MKV_ERR (err set) when the
 * bytes are not a valid record. */
int record_decode(const char *data, size_t len, struct record *r, char *err);

/* record_encode -- write r's on-disk form into out (RECORD_MAX bytes, not
 * NUL-terminated). Returns the length, or MKV_ERR if r is invalid. */
int record_encode(const struct record *r, char *out, char *err);

/* record_volume_ok -- non-zero if s (NUL-terminated) is a valid VOLUME. */
int record_volume_ok(const char *s);

#endif
