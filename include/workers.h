/* workers.h -- threads that run the blocking volume transfers, so the
 * HTTP event threads never wait on a volume. Threads are started on
 * demand up to a maximum and then kept; jobs beyond that wait in FIFO
 * order for a free thread. */
#ifndef MKV_WORKERS_H
#define MKV_WORKERS_H

#include "mkv.h"

/* workers_start -- allow up to max threads. */
int workers_start(int max, char *err);

/* workers_submit -- run fn(arg) on a worker. MKV_ERR when out of memory
 * or no thread can be had at all (the caller answers 503). */
int workers_submit(void (*fn)(void *), void *arg);

/* workers_stop -- let queued jobs finish, then join every thread. */
void workers_stop(void);

#endif
