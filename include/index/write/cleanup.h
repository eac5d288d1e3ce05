/* cleanup.h -- copies whose fate is unknown, removed in the background.
 *
 * A timeout (or a reset) is not a failure: the volume may still do the
 * work later. When a PUT that failed cannot confirm that a copy it may
 * have written is gone, or a DELETE cannot confirm a replica removed, the
 * key is handed here. Its record stays WRITING (GET answers 404, no
 * listing shows it) naming the volumes still to clean, and the key stays
 * locked (a write of it answers 409), so nothing can race a late arrival
 * of the old request. Each round DELETEs the copy on every volume left;
 * a volume is done once two rounds at least a second apart both found
 * the copy gone (a late PUT landing between them is caught by the
 * second). Then the record is removed and the key unlocked. Rounds back
 * off from 1 s to 60 s. A WRITING record found at start-up (a crash cut
 * its write short) is cleaned the same way, but at once and with one
 * round: nothing of the dead process's requests can still arrive. */
#ifndef MKV_CLEANUP_H
#define MKV_CLEANUP_H

#include <stddef.h>

#include "record.h"

/* cleanup_start -- on a loop, with key locked (locks.c) by the caller:
 * take the key over (lock included) and remove its copies on rec's
 * volumes in the background. The record is (re)written WRITING. MKV_ERR
 * when out of memory; the caller then keeps the key. */
int cleanup_start(const char *key, size_t keylen, const struct record *rec);

/* cleanup_adopt -- on a loop: a WRITING record found at start-up; locks
 * the key and cleans it, unless a write of it is under way or the record
 * is no longer WRITING. */
void cleanup_adopt(const char *key, size_t keylen);

/* cleanup_pending -- keys being cleaned, over all loops. */
long cleanup_pending(void);

/* cleanup_abandon -- the loop ends: drop this loop's clean-ups (their
 * records stay WRITING, to be cleaned at the next start). */
void cleanup_abandon(void);

#endif
