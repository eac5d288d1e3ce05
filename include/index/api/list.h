/* list.h -- GET /PREFIX?list and ?unlinked (list.c). */
#ifndef MKV_LIST_H
#define MKV_LIST_H

#include "http.h"

/* list_answer -- the JSON listing of the keys under k's path, streamed
 * from the key list (k->q says which set, start, limit, encoding). */
enum MHD_Result list_answer(struct call *k);

#endif
