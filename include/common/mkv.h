/* mkv.h -- conventions shared by every cmkv module.
 *
 * Errors: library-like functions return MKV_OK (0) or MKV_ERR (-1) and,
 * on failure, write one human sentence into a caller-owned buffer of
 * MKV_ERRLEN bytes (the Redis anet habit). They never print; the caller
 * decides whether to log, retry or answer 5xx. */
#ifndef MKV_H
#define MKV_H

#include <stddef.h> /* offsetof, size_t */

#define MKV_OK 0
#define MKV_ERR -1
#define MKV_ERRLEN 256

#define MKV_VERSION "0.1.0"

/* Longest key accepted, in bytes after percent-decoding (S3's limit). */
#define MKV_KEY_MAX 1024

/* MKV_CONTAINER -- the struct of type that holds member at ptr. */
#define MKV_CONTAINER(ptr, type, member) \
    ((type *)(void *)((char *)(ptr) - offsetof(type, member)))

/* mkv_now_ms -- the monotonic clock every module reads, in milliseconds
 * (mkv.c). */
double mkv_now_ms(void);

/* mkv_grow -- room for one more element after the n used of arr, an
 * array of *cap elements of size bytes: arr itself while n < *cap, else
 * arr reallocated to twice *cap (first, when *cap is 0), with *cap set.
 * NULL when out of memory; arr and *cap are then unchanged. */
void *mkv_grow(void *arr, size_t *cap, size_t n, size_t size, size_t first);

/* mkv_seterr -- format a message into err (which may be NULL). */
void mkv_seterr(char *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
