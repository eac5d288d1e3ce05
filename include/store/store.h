/* store.h -- the key -> record index: a GDBM file shared with pymkv, and
 * in memory the ordered sets of live and of unlinked keys for listing.
 *
 * GDBM record key: the key's bytes, no trailing NUL. GDBM value: the
 * record's on-disk form (record.h). One process holds the file as writer
 * (GDBM's own lock). Inside it every public function takes the locks it
 * needs: a mutex for GDBM (a handle is not thread-safe) and a rwlock for
 * the key sets, so a long listing never holds up GET. Invariant: a key is
 * in exactly one key set iff it is in the GDBM file, in the unlinked set
 * iff its record is marked deleted.
 *
 * Failures. A client write is first admitted (store_admit): refused while
 * the index's filesystem lacks room (space.h) or while the index is
 * broken. When GDBM fails anyway (ENOSPC, EFBIG, EIO...) it marks its
 * handle as needing recovery, and every later call on it fails, while
 * what is on disk may be half-updated. The store then recovers at once,
 * in process: gdbm_recover rebuilds the file from the handle's view
 * (which holds every write acknowledged so far) into a new file renamed
 * over the old, which needs room for a copy. Until that succeeds (room
 * checked every 100 ms; a failed attempt retried after 1 s, backing off
 * to 30 s) the store is broken: reads go on from the handle's view,
 * writes are refused, deletes are remembered and done once it is
 * recovered. A file found needing recovery at start-up is recovered the
 * same way before serving. */
#ifndef MKV_STORE_H
#define MKV_STORE_H

#include <stddef.h>
#include <stdint.h>

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

/* store_reserve -- (server) keep min_free bytes of room for the index
 * file (space.h: space_open); 0 turns the check off. */
int store_reserve(uint64_t min_free, char *err);

/* store_close -- flush and close (recovering first if broken); safe to
 * call when not open. */
void store_close(void);

/* What store_get found (and store_delete removed). */
enum store_found {
    STORE_ABSENT = 0,
    STORE_FOUND = 1,
    STORE_BAD = -1,               /* the record is malformed (a 500) */
    STORE_DOWN = -2               /* the index cannot read it now (a 503) */
};

/* store_get -- look key up: fills r when STORE_FOUND; err set on
 * STORE_BAD and STORE_DOWN. */
enum store_found store_get(const char *key, size_t keylen, struct record *r,
                           char *err);

/* How much a write may take of the index's disk, at most, for
 * store_admit: a PUT writes its record twice (pending, then live) and may
 * split a bucket; each record written also appends to the key list's log
 * (keylist.h: the key under each of three sets), which shares the disk. */
#define STORE_LIST_GROWTH(keylen) (3 * ((uint64_t)(keylen) + 32))
#define STORE_PUT_GROWTH(keylen) \
    (2 * ((uint64_t)(keylen) + 512) + 512 + 2 * STORE_LIST_GROWTH(keylen))
#define STORE_SMALL_GROWTH(keylen) (512 + STORE_LIST_GROWTH(keylen))

/* What store_admit says about a client's write. */
enum store_admission {
    STORE_ADMITTED = 0,
    STORE_NO_ROOM,                /* read-only for want of space: a 507 */
    STORE_BROKEN                  /* a write failed, not yet recovered: 503 */
};

/* store_admit -- may a client write growing the file by up to need bytes
 * begin? Anything else: why holds a one-line reason. Writes that finish
 * or undo an admitted one are never refused by this. */
enum store_admission store_admit(uint64_t need, char *why);

/* store_state -- the index's state in words for health ("ok: 1.2 GiB
 * free, 64 MiB required", "read-only: ...", "broken: ..."); 1 when
 * client writes are admitted. */
int store_state(char *out, size_t len);

/* Failed writes return this instead of MKV_ERR when the cause was a
 * want of space (ENOSPC, EFBIG, EDQUOT): the client gets a 507. */
#define STORE_ERR_SPACE (-2)

/* store_put -- set key -> r, replacing any record. MKV_OK, or MKV_ERR /
 * STORE_ERR_SPACE with err set: the record is then the old one or r
 * (the index recovered, or broken), which the caller undoes. */
int store_put(const char *key, size_t keylen, const struct record *r,
              char *err);

/* store_delete -- remove key. Returns STORE_FOUND when it was there and
 * is removed, STORE_ABSENT when it was not there, MKV_ERR (err set) when
 * it cannot be removed now: then it is removed once the index is
 * recovered. */
int store_delete(const char *key, size_t keylen, char *err);

/* store_list -- call fn(key, keylen, arg) for the live (or, with
 * unlinked, the soft-deleted) keys that begin with prefix and are >=
 * start (> start with after; NULL for no start), in byte order, until fn
 * returns non-zero; from the key list (keylist.h), in batches that each
 * see the index as it is then, and never holding up a write. MKV_ERR
 * (err set) when the list cannot be read. */
int store_list(int unlinked, const char *prefix, size_t plen, const char *start,
               size_t slen, int after,
               int (*fn)(const char *key, size_t keylen, void *arg), void *arg,
               char *err);

/* store_on_orphan -- fn(key, keylen) is called, from the loader thread
 * with the store's lock held (so fn must not call store_*), for every
 * WRITING record the start-up scan finds: a write a crash cut short, or
 * one under way. Those found before fn is set are handed to it then.
 * With NULL, no more calls come once it returns. */
void store_on_orphan(void (*fn)(const char *key, size_t keylen));

/* store_fsync -- make every write so far durable (fsync of the file).
 * Takes no lock readers or writers take: a reader or writer on another
 * thread never waits for it (the writes are in the kernel's cache once
 * store_put returns); only a recovery, which replaces the file, waits. */
int store_fsync(char *err);

/* store_count -- records in the index file (live, unlinked, pending). */
size_t store_count(void);

/* store_listable -- 1 while the key list matches the index: at once
 * when it was closed cleanly with the index file; otherwise once a loader
 * thread has rebuilt it from the file after store_open (start-up does not
 * wait for that), or after a write to the list failed. Waits up to
 * wait_ms for that; when 0 is returned, why (may be NULL) says why. Until
 * then store_list may see only part. */
int store_listable(long wait_ms, char *why);

#endif
