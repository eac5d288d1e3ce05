/* keylist.h -- the index's keys in byte order, kept on disk beside the
 * GDBM file (the directory INDEX.keys, a LevelDB database), so listing
 * needs neither memory that grows with the index nor a scan at start-up.
 *
 * Three sets: live, unlinked and writing keys (the record states of
 * record.h); a key is in at most one. In the database a key of set S is
 * stored as one byte naming S followed by the key's bytes, with an empty
 * value; one record before them all ("\0stamp") says whether the list was
 * closed cleanly and with which GDBM file. GDBM stays the source of
 * truth: the list can always be rebuilt from it, and is trusted at
 * start-up only when it was closed cleanly together with the very GDBM
 * file it describes (keylist_fresh). Keys are 1..MKV_KEY_MAX bytes; order
 * is unsigned byte order, a key before its extensions.
 *
 * Threads: keylist_each may run on any thread at any time; it never waits
 * for a writer and holds nothing between batches. Every other call must
 * be made by one thread at a time (the store's mutex). Writes are not
 * fsynced, except keylist_mark's (the list is rebuilt after a crash). */
#ifndef MKV_KEYLIST_H
#define MKV_KEYLIST_H

#include <stddef.h>
#include <stdint.h>

#include "mkv.h"

enum keylist_set {
    KEYLIST_NONE = -1,            /* in no set: the key has no record */
    KEYLIST_LIVE = 0,
    KEYLIST_UNLINKED,
    KEYLIST_WRITING,
    KEYLIST_NSETS
};

/* What the list remembers of the GDBM file it matched when last closed. */
struct keylist_stamp {
    uint64_t dev, ino, size;
    int64_t mtime_ns;
    uint64_t nrecords;            /* GDBM records, listed or not */
};

/* keylist_open -- open or create the list in directory path. MKV_ERR
 * (err set) when it cannot. */
int keylist_open(const char *path, char *err);

/* keylist_destroy -- remove the list at path (not open), whatever is
 * left of it. */
int keylist_destroy(const char *path, char *err);

/* keylist_close -- close it; safe when not open. */
void keylist_close(void);

/* keylist_fresh -- 1 when the list was closed cleanly with a GDBM file
 * stamped as now is (device, inode, size, mtime), and then sets
 * now->nrecords from the list; 0 when it must be rebuilt. */
int keylist_fresh(struct keylist_stamp *now);

/* keylist_mark -- record the list as in use, so untrusted until closed
 * cleanly (st NULL), or as closed cleanly with the GDBM file stamped st;
 * on disk (fsynced) before it returns. MKV_ERR (err set) on failure. */
int keylist_mark(const struct keylist_stamp *st, char *err);

/* keylist_set -- put key in set (KEYLIST_NONE: in none) in one write.
 * MKV_ERR (err set) when the database cannot be written; the key's
 * place in the list is then unknown. */
int keylist_set(const char *key, size_t keylen, enum keylist_set set, char *err);

/* keylist_move -- key, known to be in set from (KEYLIST_NONE: in none),
 * now belongs in set to: one put and at most one delete, or nothing when
 * from == to. Errors as keylist_set. */
int keylist_move(const char *key, size_t keylen, enum keylist_set from,
                 enum keylist_set to, char *err);

/* keylist_add -- queue key into set, for keylist_flush: the bulk load of
 * a rebuild, which knows the key is in no other set. */
void keylist_add(const char *key, size_t keylen, enum keylist_set set);

/* keylist_flush -- write what keylist_add queued, in one write. */
int keylist_flush(char *err);

/* keylist_clear -- empty every set (for a rebuild from GDBM). */
int keylist_clear(char *err);

/* keylist_each -- call fn(key, keylen, arg) for each key of set that
 * begins with prefix and is >= start (> start when after is set; start
 * may be NULL), in order, until fn returns non-zero. Keys are read in
 * batches, each from a snapshot of its own, so a long walk pins nothing:
 * a key written during the walk appears or not depending on where the
 * walk is. MKV_ERR (err set) when the database cannot be read, or was
 * emptied by keylist_clear during the walk. */
int keylist_each(enum keylist_set set, const char *prefix, size_t plen,
                 const char *start, size_t slen, int after,
                 int (*fn)(const char *key, size_t keylen, void *arg), void *arg,
                 char *err);

#endif
