/* metrics.h -- counters for GET /?metrics (Prometheus text format).
 * Every update is a relaxed atomic add: nothing on the request path
 * takes a lock or allocates. */
#ifndef MKV_METRICS_H
#define MKV_METRICS_H

#include <stddef.h>
#include <stdint.h>

/* metrics_init -- name the volumes whose errors are counted. */
void metrics_init(char *const *volumes, int nvolumes);

/* metrics_request -- a request answered: method, status, its duration
 * and the body bytes it received and sent. */
void metrics_request(const char *method, unsigned status, double seconds,
                     uint64_t bytes_in, uint64_t bytes_out);

/* metrics_in_flight -- +1 when a request starts, -1 when it ends. */
void metrics_in_flight(int delta);

/* metrics_volume_error -- a transfer to volume (a "host:port", maybe
 * with "/svXX") failed. */
void metrics_volume_error(const char *volume);

/* metrics_cleanup_round -- a round of background clean-up began. */
void metrics_cleanup_round(void);

/* metrics_render -- the Prometheus text into a malloc'd buffer (*len
 * bytes), or NULL when out of memory; keys is the index's record count,
 * writable whether it takes writes (store_state), cleanups the keys
 * waiting for a background clean-up. */
char *metrics_render(size_t keys, int writable, long cleanups, size_t *len);

#endif
