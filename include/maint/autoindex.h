/* autoindex.h -- reading nginx's `autoindex_format json` listings:
 *   [ { "name":"60", "type":"directory", "mtime":"..." },
 *     { "name":"L3dl", "type":"file", "mtime":"...", "size":7 } ]
 * The text comes from the network, so every byte is checked. */
#ifndef MKV_AUTOINDEX_H
#define MKV_AUTOINDEX_H

#include <stddef.h>
#include <stdint.h>

#include "mkv.h"

/* Longest entry name accepted (a filesystem name is at most 255 bytes). */
#define AUTOINDEX_NAME_MAX 1024

/* One entry of a listing, as autoindex_parse hands it on. */
struct autoindex_entry {
    const char *name;             /* namelen bytes, NUL-terminated, no NUL */
    size_t namelen;               /* 1..AUTOINDEX_NAME_MAX */
    int is_dir;                   /* "directory" (else "file") */
    int64_t mtime;                /* "mtime" ("Tue, 24 Nov 2026 20:36:07
                                     GMT") in seconds since the epoch, or
                                     -1 when the entry has none */
};

/* autoindex_parse -- call fn(entry, arg) for each directory and file of
 * json[0..len), in order (the entry lives only during the call); stop
 * early (returning MKV_OK) when fn returns non-zero. MKV_ERR (err set)
 * when the text is not such a listing, an mtime included; entries before
 * the fault may already have been passed. */
int autoindex_parse(const char *json, size_t len,
                    int (*fn)(const struct autoindex_entry *e, void *arg),
                    void *arg, char *err);

#endif
