/* check.h -- CHECK(cond) for the fuzz targets: report the failed
 * condition and abort, so libFuzzer keeps the input as a crash. */
#ifndef MKV_FUZZ_CHECK_H
#define MKV_FUZZ_CHECK_H

#include <stdio.h>
#include <stdlib.h>

#define CHECK(cond)                                                        \
    do {                                                                   \
        if (!(cond)) {                                                     \
            fprintf(stderr, "%s: check failed at line %d: %s\n", __FILE__, \
                    __LINE__, #cond);                                      \
            abort();                                                       \
        }                                                                  \
    } while (0)

#endif
