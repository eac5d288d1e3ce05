/* autoindex.h -- reading nginx's `autoindex_format json` listings:
 *   [ { "name":"60", "type":"directory", "mtime":"..." },
 *     { "name":"L3dl", "type":"file", "mtime":"...", "size":7 } ]
 * The text comes from the network, so every byte is checked. */
#ifndef MKV_AUTOINDEX_H
#define MKV_AUTOINDEX_H

#include <stddef.h>

#include "mkv.h"

/* Longest entry name accepted (a filesystem name is at most 255 bytes). */
#define AUTOINDEX_NAME_MAX 1024

/* autoindex_parse -- call fn(name, namelen, is_dir, arg) for each entry
 * of json[0..len), in order; stop early (returning MKV_OK) when fn
 * returns non-zero. MKV_ERR (err set) when the text is not such a
 * listing; entries before the fault may already have been passed. */
int autoindex_parse(const char *json, size_t len,
                    int (*fn)(const char *name, size_t namelen, int is_dir,
                              void *arg),
                    void *arg, char *err);

#endif
