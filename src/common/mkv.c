/* mkv.c -- what every module shares (mkv.h): the monotonic clock, growing
 * an array, and the error sentence. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "mkv.h"

double mkv_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void *mkv_grow(void *arr, size_t *cap, size_t n, size_t size, size_t first) {
    size_t want;
    void *p;
    if (n < *cap) return arr;
    want = *cap ? 2 * *cap : first;
    if ((p = realloc(arr, want * size)) == NULL) return NULL;
    *cap = want;
    return p;
}

void mkv_seterr(char *err, const char *fmt, ...) {
    va_list ap;
    if (err == NULL) return;
    va_start(ap, fmt);
    vsnprintf(err, MKV_ERRLEN, fmt, ap);
    va_end(ap);
}
