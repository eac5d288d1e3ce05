/* store.h -- the key -> record index, a GDBM file shared with pymkv.
 *
 * GDBM record key: the key's bytes, no trailing NUL. GDBM value: the
 * record's on-disk form (record.h). One process holds the file as writer
 * (GDBM's own lock); inside it, every public function takes store's one
 * mutex, because a GDBM handle is not thread-safe. */
#ifndef MKV_STORE_H
#define MKV_STORE_H

#include <stddef.h>

#include "mkv.h"
#include "record.h"

/* store_open -- open or create the index at path. MKV_ERR with err set
 * when it cannot (locked by another process, unreadable, not GDBM). */
int store_open(const char *path, char *err);

/* store_close -- flush and close; safe to call when not open. */
void store_close(void);

/* store_get -- look key up. Returns 1 and fills r when present, 0 when
 * absent, MKV_ERR (err set) on an I/O error or a malformed record. */
int store_get(const char *key, size_t keylen, struct record *r, char *err);

/* store_insert -- add key -> r if key is absent. Returns 0 when added,
 * 1 when the key was already there (nothing written), MKV_ERR on error. */
int store_insert(const char *key, size_t keylen, const struct record *r,
                 char *err);

/* store_delete -- remove key. Returns 0 when removed, 1 when it was
 * absent, MKV_ERR on error. */
int store_delete(const char *key, size_t keylen, char *err);

#endif
