/* key.h -- turning a request's URL path into a key, byte for byte. */
#ifndef MKV_KEY_H
#define MKV_KEY_H

#include <stddef.h>

#include "mkv.h"

/* Outcome of key_decode; the HTTP front maps each to a status. */
enum key_status {
    KEY_OK = 0,
    KEY_BAD_START,   /* does not begin with '/'             -> 400 */
    KEY_BAD_ESCAPE,  /* '%' not followed by two hex digits  -> 400 */
    KEY_NUL,         /* "%00": a NUL would truncate the key -> 400 */
    KEY_TOO_LONG     /* more than MKV_KEY_MAX decoded bytes -> 414 */
};

/* key_decode -- percent-decode the raw path raw[0..rawlen) into out,
 * which must hold MKV_KEY_MAX bytes. The key is the whole path, leading
 * '/' included, as pymkv keys are; '+' stays '+'. On KEY_OK *outlen is
 * the key's length (out is not NUL-terminated). */
enum key_status key_decode(const char *raw, size_t rawlen, char *out,
                           size_t *outlen);

/* key_unescape -- strict percent-decoding of raw[0..rawlen) into out
 * (cap bytes) with the same rules as key_decode but no leading '/'
 * required: KEY_BAD_ESCAPE, KEY_NUL, or KEY_TOO_LONG past cap. */
enum key_status key_unescape(const char *raw, size_t rawlen, char *out,
                             size_t cap, size_t *outlen);

/* Keys under this prefix are the S3 endpoint's own (multipart parts, see
 * s3multi.c): no S3 bucket name can begin with '.', so no object maps
 * there, and the native API neither lists nor touches them. */
#define KEY_RESERVED "/.s3/"

/* key_reserved -- non-zero when key[0..keylen) is under KEY_RESERVED. */
int key_reserved(const char *key, size_t keylen);

/* key_status_text -- a short sentence for a non-OK status. */
const char *key_status_text(enum key_status st);

#endif
