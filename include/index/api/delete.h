/* delete.h -- DELETE and UNLINK of a key (delete.c, on erase.c). */
#ifndef MKV_DELETE_H
#define MKV_DELETE_H

#include "http.h"

/* delete_handle -- k->method is "DELETE" or "UNLINK". Called for every
 * call of the request. */
enum MHD_Result delete_handle(struct call *k);
void delete_completed(void *con_cls, enum MHD_RequestTerminationCode toe);

#endif
