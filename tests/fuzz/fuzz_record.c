/* fuzz_record.c -- libFuzzer target: any bytes as a GDBM value through
 * record_decode, then record_encode and record_decode again.
 *
 * The index reads records written by pymkv, minikeyvalue and itself, and
 * may have to write back any record it read, so for every x decode
 * accepts: encode(decode(x)) must succeed and decode(encode(decode(x)))
 * must equal decode(x); encode's output is canonical (a fixed point).
 * Whatever decode refuses it refuses with a message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "record.h"


/* same -- two decoded records say the same thing. */
static int same(const struct record *a, const struct record *b) {
    if (a->deleted != b->deleted || strcmp(a->hash, b->hash) != 0 ||
        a->nvolumes != b->nvolumes)
        return 0;
    for (int i = 0; i < a->nvolumes; i++)
        if (strcmp(record_volume(a, i), record_volume(b, i)) != 0) return 0;
    return 1;
}

/* valid -- what record.h promises of a decoded record. */
static void check_valid(const struct record *r) {
    size_t h = strlen(r->hash);

    CHECK(r->deleted == 0 || r->deleted == 1);
    CHECK(h == 0 || h == 32);
    for (size_t i = 0; i < h; i++)
        CHECK((r->hash[i] >= '0' && r->hash[i] <= '9') ||
              (r->hash[i] >= 'a' && r->hash[i] <= 'f'));
    CHECK(r->nvolumes >= 1 && r->nvolumes <= RECORD_MAX_VOLUMES);
    for (int i = 0; i < r->nvolumes; i++) {
        const char *v = record_volume(r, i);
        size_t n = strlen(v);
        CHECK(v >= r->buf && v + n < r->buf + sizeof(r->buf));
        CHECK(n >= 1 && n <= RECORD_VOLUME_MAX);
        for (size_t j = 0; j < n; j++)
            CHECK(v[j] > ' ' && v[j] < 127 && v[j] != ',');
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* Heap copies of exactly the sizes the header documents, so ASan
     * sees any access past them. */
    char *in = malloc(size ? size : 1), *enc = malloc(RECORD_MAX),
         *enc2 = malloc(RECORD_MAX);
    struct record *r1 = malloc(sizeof(*r1)), *r2 = malloc(sizeof(*r2));
    char err[MKV_ERRLEN];
    int n, n2;

    CHECK(in && enc && enc2 && r1 && r2);
    memcpy(in, data, size);
    err[0] = '\0';
    if (record_decode(in, size, r1, err) != MKV_OK) {
        CHECK(err[0] != '\0' && memchr(err, '\0', sizeof(err)) != NULL);
        goto out;
    }
    check_valid(r1);
    n = record_encode(r1, enc, err);
    if (n < 0) fprintf(stderr, "fuzz_record: encode refused a decoded record: %s\n", err);
    CHECK(n > 0 && n <= RECORD_MAX);
    CHECK(record_decode(enc, (size_t)n, r2, err) == MKV_OK);
    CHECK(same(r1, r2));
    n2 = record_encode(r2, enc2, err);
    CHECK(n2 == n && memcmp(enc, enc2, (size_t)n) == 0);
out:
    free(in);
    free(enc);
    free(enc2);
    free(r1);
    free(r2);
    return 0;
}
