/* keyset.h -- an ordered set of keys in memory (a crit-bit tree), so
 * listing by prefix and start key costs O(key length + keys returned)
 * however large the index grows; GDBM itself has no order.
 *
 * Keys are byte strings without NUL (the HTTP front refuses %00) of at
 * most MKV_KEY_MAX bytes; order is unsigned byte order, a prefix first.
 * Not thread-safe: the caller (store.c) holds a lock around every call. */
#ifndef MKV_KEYSET_H
#define MKV_KEYSET_H

#include <stddef.h>

struct keyset {
    void *root;                   /* NULL, a leaf, or an internal node */
    size_t count;
};

/* keyset_add -- insert key; 1 when added, 0 when already present, -1 when
 * out of memory. */
int keyset_add(struct keyset *ks, const char *key, size_t keylen);

/* keyset_remove -- 1 when removed, 0 when absent. */
int keyset_remove(struct keyset *ks, const char *key, size_t keylen);

/* keyset_free -- remove everything. */
void keyset_free(struct keyset *ks);

/* keyset_each -- call fn(key, keylen, arg) for each key that begins with
 * prefix and is >= start (start may be NULL), in order, until fn returns
 * non-zero. */
void keyset_each(const struct keyset *ks, const char *prefix, size_t plen,
                 const char *start, size_t slen,
                 int (*fn)(const char *key, size_t keylen, void *arg),
                 void *arg);

#endif
