/* locks.h -- the table of keys with a write (PUT or DELETE) in flight.
 *
 * Invariant: a key is in the table from the moment a write of it is
 * accepted until that write has answered, so two writes of one key never
 * overlap; the second is refused (409) rather than queued. */
#ifndef MKV_LOCKS_H
#define MKV_LOCKS_H

#include <stddef.h>

/* locks_acquire -- add key; 1 when acquired, 0 when already held, -1 when
 * out of memory. */
int locks_acquire(const char *key, size_t keylen);

/* locks_release -- remove key, which the caller acquired. */
void locks_release(const char *key, size_t keylen);

#endif
