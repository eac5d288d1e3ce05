/* store.h -- the key -> record index: a GDBM file shared with pymkv, and
 * in memory the ordered sets of live and of unlinked keys for listing.
 *
 * GDBM record key: the key's bytes, no trailing NUL. GDBM value: the
 * record's on-disk form (record.h). One process holds the file as writer
 * (GDBM's own lock). Inside it every public function takes the locks it
 * needs: a mutex for GDBM (a handle is not thread-safe) and a rwlock for
 * the key sets, so a long listing never holds up GET. Invariant: a key is
 * in exactly one key set iff it is in the GDBM file, in the unlinked set
 * iff its record is marked deleted. */
#ifndef MKV_STORE_H
#define MKV_STORE_H

#include <stddef.h>

#include "mkv.h"
#include "record.h"

/* How store_open opens the file. */
enum store_mode {
    STORE_SERVE,                  /* open or create; load the key sets in
                                     the background */
    STORE_NEW                     /* create empty (truncate), for rebuild */
};

/* store_open -- open path. With sync, every write is fsynced before it
 * returns. MKV_ERR (err set) when it cannot: locked by another process,
 * unreadable, not GDBM. */
int store_open(const char *path, enum store_mode mode, int sync, char *err);

/* store_lock -- hold GDBM's writer lock on path (created empty if
 * missing) until store_unlock, through a handle of its own: for rebuild,
 * which writes another file and renames it over path at the end, so no
 * server can open path meanwhile. MKV_ERR (err set) when path is in use
 * or cannot be opened. */
int store_lock(const char *path, char *err);

/* store_unlock -- let go of store_lock's file. */
void store_unlock(void);

/* store_close -- flush and close; safe to call when not open. */
void store_close(void);

/* store_get -- look key up. Returns 1 and fills r when present, 0 when
 * absent, MKV_ERR (err set) on an I/O error or a malformed record. */
int store_get(const char *key, size_t keylen, struct record *r, char *err);

/* store_put -- set key -> r, replacing any record. MKV_ERR on error. */
int store_put(const char *key, size_t keylen, const struct record *r,
              char *err);

/* store_delete -- remove key. Returns 0 when removed, 1 when it was
 * absent, MKV_ERR on error. */
int store_delete(const char *key, size_t keylen, char *err);

/* store_list -- call fn(key, keylen, arg) for the live (or, with
 * unlinked, the soft-deleted) keys that begin with prefix and are >=
 * start (NULL for no start), in byte order, until fn returns non-zero. */
void store_list(int unlinked, const char *prefix, size_t plen,
                const char *start, size_t slen,
                int (*fn)(const char *key, size_t keylen, void *arg), void *arg);

/* store_on_orphan -- fn(key, keylen) is called, from the loader thread
 * with the store's lock held (so fn must not call store_*), for every
 * WRITING record the start-up scan finds: a write a crash cut short, or
 * one under way. Those found before fn is set are handed to it then.
 * With NULL, no more calls come once it returns. */
void store_on_orphan(void (*fn)(const char *key, size_t keylen));

/* store_fsync -- make every write so far durable (fsync of the file).
 * Takes no lock: a reader or writer on another thread never waits for
 * it (the writes are in the kernel's cache once store_put returns). */
int store_fsync(char *err);

/* store_count -- records in the index file (live, unlinked, pending). */
size_t store_count(void);

/* store_listable -- 1 once the key sets are loaded (a loader thread fills
 * them after store_open, so start-up does not wait for a big index);
 * waits up to wait_ms for that. Until then store_list sees only part. */
int store_listable(long wait_ms);

#endif
