/* mkv.c -- what every module shares (mkv.h): the monotonic clock and the error sentence. */
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "mkv.h"

double mkv_now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

void mkv_seterr(char *err, const char *fmt, ...) {
    va_list ap;
    if (err == NULL) return;
    va_start(ap, fmt);
    vsnprintf(err, MKV_ERRLEN, fmt, ap);
    va_end(ap);
}
