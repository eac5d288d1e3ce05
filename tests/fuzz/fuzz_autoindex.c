/* fuzz_autoindex.c -- libFuzzer target: any bytes as an nginx autoindex
 * JSON listing (what rebuild reads from a volume over the network).
 *
 * autoindex_parse must never read past the input, and every name it
 * passes on is 1..AUTOINDEX_NAME_MAX bytes with no NUL; it accepts or
 * refuses with a message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "autoindex.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int entry(const struct autoindex_entry *e, void *arg) {
    (void)arg;
    CHECK(e->namelen >= 1 && e->namelen <= AUTOINDEX_NAME_MAX);
    CHECK(strlen(e->name) == e->namelen); /* NUL-terminated, no NUL inside */
    CHECK(e->is_dir == 0 || e->is_dir == 1);
    CHECK(e->mtime >= -1);
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[MKV_ERRLEN];
    /* A copy of exactly size bytes, so ASan sees any read past the end. */
    char *json = malloc(size ? size : 1);

    if (json == NULL) return 0;
    memcpy(json, data, size);
    err[0] = '\0';
    if (autoindex_parse(json, size, entry, NULL, err) != MKV_OK)
        CHECK(err[0] != '\0');
    free(json);
    return 0;
}
