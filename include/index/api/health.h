/* health.h -- the operator's endpoints, GET /?health and /?metrics
 * (health.c). */
#ifndef MKV_HEALTH_H
#define MKV_HEALTH_H

#include "http.h"

/* health_handle -- GET /?health: HEAD every volume at once, answer 200
 * with JSON when all are up and the index is writable, 503 otherwise. */
enum MHD_Result health_handle(struct call *k);
void health_completed(void *con_cls, enum MHD_RequestTerminationCode toe);

/* health_metrics -- GET /?metrics: the Prometheus text. */
enum MHD_Result health_metrics(struct call *k);

#endif
