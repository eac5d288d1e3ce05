/* maint.h -- the offline maintenance commands of mkv-index, and what
 * they share. Each command holds the index file's writer lock for its
 * whole run, so none runs beside a server or another command, and
 * returns the process exit status (0 when everything was handled). */
#ifndef MKV_MAINT_H
#define MKV_MAINT_H

#include <stddef.h>

#include "opts.h"

/* rebuild_run -- `mkv-index rebuild`: write a new index from what the
 * volumes hold (their autoindex listings), in parallel; every key, its
 * replicas in placement order. Replaces the index only when every volume
 * could be read completely. */
int rebuild_run(const struct opts *o);

/* rebalance_run -- `mkv-index rebalance`: move every key to the replicas
 * placement names for the given volumes: copy to the new ones, update the
 * record, then delete stale copies. A key whose copy fails keeps its old
 * record, so the command can be interrupted and run again. */
int rebalance_run(const struct opts *o);

/* reconcile_run -- `mkv-index reconcile`: make the volumes agree with the
 * index: delete files no live or unlinked record names once older than
 * --grace, copy back missing replicas (and, with --verify, replicas whose
 * md5 is not the record's) from a good one; with --dry-run only report. */
int reconcile_run(const struct opts *o);

/* maint_threads -- run fn(arg) on n threads (n >= 1) and join them; on
 * the caller's thread alone when none can be started. */
void maint_threads(int n, void *(*fn)(void *), void *arg);

/* Keys read from the open index, each a malloc'd copy. */
struct maint_keys {
    struct maint_key {
        char *key;
        size_t len;
    } *k;
    size_t n, cap;
};

/* maint_keys -- every live and unlinked key of the open index (once its
 * key list is ready, however long that takes) into *out (emptied first).
 * MKV_ERR (err set) when out of memory or when the list cannot be read;
 * *out then holds those read, for maint_keys_free. */
int maint_keys(struct maint_keys *out, char *err);

/* maint_keys_free -- free what maint_keys read. */
void maint_keys_free(struct maint_keys *keys);

struct progress;

/* maint_each_key -- fn(key, keylen) for every key of keys, on n threads
 * taking them in turn; each call counts in p->done, and in p->errors when
 * fn returns MKV_ERR. Each thread frees its volclient handle at its end. */
void maint_each_key(const struct maint_keys *keys, int n, int (*fn)(const char *, size_t),
                    struct progress *p);

#endif
