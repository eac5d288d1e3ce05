/* bio.h -- background I/O: one helper thread for what must not block an
 * event loop. Today that is --sync's fsync of the index, done as a group
 * commit: every write waiting when an fsync starts is made durable by
 * it, so a burst of writes costs one fsync, not one each. GET never
 * waits for it: the fsync holds no lock the store's readers take. */
#ifndef MKV_BIO_H
#define MKV_BIO_H

#include "mkv.h"

/* bio_start -- with sync (--sync), start the thread; without, bio_sync
 * has nothing to wait for. MKV_ERR with err set. */
int bio_start(int sync, char *err);

/* bio_stop -- finish the fsyncs asked for, then end the thread. Called
 * after the loops have stopped. */
void bio_stop(void);

/* bio_sync -- on a loop: make every index write so far durable, then
 * call fn(arg, ok) on this loop (ok: MKV_OK, or MKV_ERR when the fsync
 * failed). Without --sync, fn(arg, MKV_OK) is called at once, before
 * bio_sync returns. MKV_ERR when it cannot be queued (fn not called). */
int bio_sync(void (*fn)(void *arg, int ok), void *arg);

#endif
