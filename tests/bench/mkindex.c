/* mkindex.c -- write an index file of N keys quickly, for `make bench`:
 * keys "/bench/KKKKKKKKKKKKKKKK" (16 hex digits of a mixed counter, so
 * GDBM sees them in no order), each a pymkv record naming VOLUME.
 * Usage: mkindex PATH N VOLUME
 *
 * GDBM's bucket cache is made big enough for every bucket of 100M keys
 * (about 1M; the cache grows only as buckets are read), so no bucket is
 * written back before the close. What still grows with N is GDBM's own:
 * each bucket split rewrites the whole directory (8 bytes a bucket), so
 * the time per key grows with the file; on a tmpfs here 100M keys take
 * about 40 minutes, and on this VM's disk much longer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gdbm.h>

int main(int argc, char **argv) {
    GDBM_FILE db;
    unsigned long long n, i;
    size_t cache = 4u << 20; /* buckets kept in memory, at most */
    char key[64];
    datum k, v;

    if (argc != 4) {
        fprintf(stderr, "usage: mkindex PATH N VOLUME\n");
        return 2;
    }
    n = strtoull(argv[2], NULL, 10);
    db = gdbm_open(argv[1], 4096, GDBM_NEWDB | GDBM_NOLOCK | GDBM_NOMMAP, 0644, NULL);
    if (db == NULL) {
        fprintf(stderr, "mkindex: %s: %s\n", argv[1], gdbm_strerror(gdbm_errno));
        return 1;
    }
    gdbm_setopt(db, GDBM_SETCACHESIZE, &cache, sizeof(cache));
    v.dptr = argv[3];
    v.dsize = (int)strlen(argv[3]);
    for (i = 0; i < n; i++) {
        /* A bijection of i (odd multiplier), so every key is distinct. */
        unsigned long long x = i * 0x9E3779B97F4A7C15ULL;
        k.dsize = snprintf(key, sizeof(key), "/bench/%016llx", x);
        k.dptr = key;
        if (gdbm_store(db, k, v, GDBM_INSERT) != 0) {
            fprintf(stderr, "mkindex: store: %s\n", gdbm_db_strerror(db));
            return 1;
        }
        if (i % 10000000 == 9999999) fprintf(stderr, "mkindex: %llu keys\n", i + 1);
    }
    if (gdbm_close(db) != 0) {
        fprintf(stderr, "mkindex: close: %s\n", gdbm_strerror(gdbm_errno));
        return 1;
    }
    return 0;
}
