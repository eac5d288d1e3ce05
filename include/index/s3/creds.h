/* creds.h -- the S3 endpoint's access keys, from --s3-credentials FILE.
 *
 * FILE has one ACCESS_KEY_ID:SECRET_ACCESS_KEY a line; blank lines and
 * lines whose first non-blank is '#' are ignored. An id is 1..128 bytes
 * of A-Z a-z 0-9 and "-_.", a secret 1..256 printable ASCII bytes (the
 * first ':' ends the id); an id may appear once. Anything else is an
 * error with its line number, and a file that cannot be read or holds no
 * key is refused.
 *
 * The table in force is immutable. The main thread loads a new one (at
 * start, and on SIGHUP) and swaps it in atomically; the old one is freed
 * once every loop has run a posted callback after the swap, which is
 * when none can still be reading it (a loop reads it only inside one
 * event, never across). */
#ifndef MKV_CREDS_H
#define MKV_CREDS_H

#include <stddef.h>

#include "mkv.h"

#define CREDS_ID_MAX 128
#define CREDS_SECRET_MAX 256

/* creds_load -- read path and make its table the one in force. MKV_ERR
 * (err set) when the file is bad: the table in force is then kept. */
int creds_load(const char *path, char *err);

/* creds_count -- keys in the table in force. */
size_t creds_count(void);

/* creds_secret -- copy the secret of access key id into secret
 * (CREDS_SECRET_MAX + 1 bytes). 1 when found, 0 when unknown. */
int creds_secret(const char *id, char secret[CREDS_SECRET_MAX + 1]);

/* creds_free -- at exit, after the loops stopped: free the table. */
void creds_free(void);

#endif
