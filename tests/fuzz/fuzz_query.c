/* fuzz_query.c -- libFuzzer target: any bytes as a GET query string.
 *
 * query_parse either accepts, and then the operation is one it knows,
 * the limit is in range and a start key is at most MKV_KEY_MAX bytes with
 * no NUL; or it refuses with a message. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "query.h"


int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct query q;

    if (query_parse(&q, (const char *)data, size) != MKV_OK) {
        CHECK(q.bad && q.err[0] != '\0');
        return 0;
    }
    CHECK(!q.bad);
    CHECK(q.op >= QUERY_NONE && q.op <= QUERY_METRICS);
    CHECK(q.limit >= 0 && q.limit <= QUERY_LIMIT_MAX);
    if (q.has_start) {
        CHECK(q.op == QUERY_LIST || q.op == QUERY_UNLINKED);
        CHECK(q.startlen <= MKV_KEY_MAX);
        CHECK(memchr(q.start, '\0', q.startlen) == NULL);
    }
    return 0;
}
