/* get.h -- GET and HEAD of a key: the 302 to a volume (get.c). */
#ifndef MKV_GET_H
#define MKV_GET_H

#include "http.h"

/* get_handle -- answer k: a redirect from the index alone, or, with
 * --probe, once a replica answered a HEAD (the request waits suspended,
 * its probes on this loop). Called for every call of the request. */
enum MHD_Result get_handle(struct call *k);

/* get_completed -- libmicrohttpd is done with a request get_handle kept. */
void get_completed(void *con_cls, enum MHD_RequestTerminationCode toe);

#endif
