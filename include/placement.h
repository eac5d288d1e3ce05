/* placement.h -- which volume holds a key, and where on it (pymkv's rule). */
#ifndef MKV_PLACEMENT_H
#define MKV_PLACEMENT_H

#include <stddef.h>

#include "mkv.h"

/* Room for "/xx/yy/" + base64 of a MKV_KEY_MAX key + NUL. */
#define PLACEMENT_PATH_MAX (7 + 4 * ((MKV_KEY_MAX + 2) / 3) + 1)

/* Longest name one directory entry may have on the volume's filesystem. */
#define PLACEMENT_NAME_MAX 255

/* placement_volume -- index into volumes[0..n) of the volume whose
 * md5(volume || key), compared as unsigned bytes, is greatest; the first
 * such volume wins a tie, as in pymkv. n must be at least 1. */
int placement_volume(char *const *volumes, int n, const char *key,
                     size_t keylen);

/* placement_path -- write "/%02x/%02x/%s" (md5(key) bytes 0 and 1, then
 * the standard padded base64 of the key) into out, which must hold
 * PLACEMENT_PATH_MAX bytes, NUL-terminated. Returns its length, or
 * MKV_ERR (with err set) when a '/'-separated segment of the name would
 * exceed PLACEMENT_NAME_MAX bytes and so cannot be stored. */
int placement_path(const char *key, size_t keylen, char *out, char *err);

#endif
