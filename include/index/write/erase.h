/* erase.h -- remove a key for good: DELETE every replica at once on the
 * current loop, then the record, then (with --sync) wait for it to be
 * durable. The native DELETE (delete.c) and the S3 endpoint's deletes
 * (DeleteObject, DeleteObjects, the parts of a finished or abandoned
 * multipart upload) all go through it.
 *
 * A replica whose DELETE fails stays named in the record, so the record
 * never names a copy that is gone, and the answer is that failure. */
#ifndef MKV_ERASE_H
#define MKV_ERASE_H

#include <stddef.h>

#include "mkv.h"

enum erase_flags {
    ERASE_PROTECT = 1             /* a live key answers 403 (--protect) */
};

struct erase;

/* erase_start -- begin removing key; *out is the erase under way until
 * done(arg, status) is called on this loop (it may be, before
 * erase_start returns), which frees it: the caller forgets *out there.
 * status: 204 (removed; a 404 on a volume counts), 404 (no such key),
 * 409 (a write of the key is in flight), 403 (ERASE_PROTECT and the key
 * is live), 500/502/503/504. MKV_ERR when out of memory (done not
 * called). method and url are for the logs. */
int erase_start(struct erase **out, const char *key, size_t keylen, int flags,
                const char *method, const char *url,
                void (*done)(void *arg, unsigned status), void *arg);

/* erase_cancel -- stop the DELETEs under way: the record keeps the
 * replicas not confirmed removed (those cut off go to the background
 * clean-up: their outcome is unknown); done is not called. While the
 * record is being settled, the erase ends by itself, silently. */
void erase_cancel(struct erase *e);

/* erase_settling -- non-zero once every DELETE has answered and the
 * record is being settled (done will come by itself). */
int erase_settling(const struct erase *e);

#endif
