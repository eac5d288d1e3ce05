/* maint.h -- the offline maintenance commands of mkv-index. Both refuse
 * to run while a server holds the index file. Each returns the process
 * exit status (0 when every key was handled). */
#ifndef MKV_MAINT_H
#define MKV_MAINT_H

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

#endif
