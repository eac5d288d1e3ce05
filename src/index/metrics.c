/* metrics.c -- request, byte, error and latency counters; Prometheus text. */
#include <stdatomic.h>
#include <string.h>

#include "buf.h"
#include "metrics.h"
#include "placement.h"

static const char *const metrics_methods[] = {"GET", "HEAD", "PUT", "DELETE",
                                              "UNLINK", "other"};
#define NMETHODS (sizeof(metrics_methods) / sizeof(metrics_methods[0]))
#define NCODES 600 /* statuses 0..599 */

/* Latency buckets, upper bounds in seconds. */
static const double metrics_le[] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                    0.005,  0.01,    0.025,  0.05,  0.1,
                                    0.25,   0.5,     1,      2.5,   5, 10};
#define NBUCKETS (sizeof(metrics_le) / sizeof(metrics_le[0]))

static atomic_ulong metrics_requests[NMETHODS][NCODES];
static atomic_ulong metrics_buckets[NBUCKETS + 1]; /* last: +Inf */
static atomic_ulong metrics_sum_us, metrics_bytes_in, metrics_bytes_out;
static atomic_long metrics_inflight;
static atomic_ulong metrics_cleanup_rounds;
static char *const *metrics_vols;
static int metrics_nvols;
static atomic_ulong metrics_volerr[PLACEMENT_MAX_VOLUMES + 1]; /* last: other */

void metrics_init(char *const *volumes, int nvolumes) {
    metrics_vols = volumes;
    metrics_nvols = nvolumes;
}

static size_t method_index(const char *m) {
    for (size_t i = 0; i + 1 < NMETHODS; i++)
        if (strcmp(m, metrics_methods[i]) == 0) return i;
    return NMETHODS - 1;
}

void metrics_request(const char *method, unsigned status, double seconds,
                     uint64_t bytes_in, uint64_t bytes_out) {
    size_t b = 0;
    if (status >= NCODES) status = 0;
    atomic_fetch_add_explicit(&metrics_requests[method_index(method)][status], 1,
                              memory_order_relaxed);
    while (b < NBUCKETS && seconds > metrics_le[b]) b++;
    atomic_fetch_add_explicit(&metrics_buckets[b], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&metrics_sum_us, (unsigned long)(seconds * 1e6),
                              memory_order_relaxed);
    if (bytes_in)
        atomic_fetch_add_explicit(&metrics_bytes_in, bytes_in, memory_order_relaxed);
    if (bytes_out)
        atomic_fetch_add_explicit(&metrics_bytes_out, bytes_out, memory_order_relaxed);
}

void metrics_in_flight(int delta) {
    atomic_fetch_add_explicit(&metrics_inflight, delta, memory_order_relaxed);
}

void metrics_volume_error(const char *volume) {
    int i;
    size_t n = strcspn(volume, "/"); /* count a subvolume under its volume */
    for (i = 0; i < metrics_nvols; i++)
        if (strlen(metrics_vols[i]) == n && strncmp(metrics_vols[i], volume, n) == 0)
            break;
    atomic_fetch_add_explicit(&metrics_volerr[i], 1, memory_order_relaxed);
}

void metrics_cleanup_round(void) {
    atomic_fetch_add_explicit(&metrics_cleanup_rounds, 1, memory_order_relaxed);
}

static unsigned long get(atomic_ulong *a) {
    return atomic_load_explicit(a, memory_order_relaxed);
}

char *metrics_render(size_t keys, int writable, long cleanups, size_t *len) {
    struct buf t = {NULL, 0, 0, 0};
    unsigned long cum = 0;

    buf_addf(&t, "# HELP cmkv_requests_total Requests answered, by method and status.\n"
            "# TYPE cmkv_requests_total counter\n");
    for (size_t m = 0; m < NMETHODS; m++)
        for (unsigned c = 0; c < NCODES; c++)
            if (get(&metrics_requests[m][c]))
                buf_addf(&t, "cmkv_requests_total{method=\"%s\",code=\"%u\"} %lu\n",
                    metrics_methods[m], c, get(&metrics_requests[m][c]));
    buf_addf(&t, "# HELP cmkv_requests_in_flight Requests being served.\n"
            "# TYPE cmkv_requests_in_flight gauge\n"
            "cmkv_requests_in_flight %ld\n",
        atomic_load_explicit(&metrics_inflight, memory_order_relaxed));
    buf_addf(&t, "# HELP cmkv_received_bytes_total Request body bytes taken in.\n"
            "# TYPE cmkv_received_bytes_total counter\n"
            "cmkv_received_bytes_total %lu\n"
            "# HELP cmkv_sent_bytes_total Response body bytes sent.\n"
            "# TYPE cmkv_sent_bytes_total counter\n"
            "cmkv_sent_bytes_total %lu\n",
        get(&metrics_bytes_in), get(&metrics_bytes_out));
    buf_addf(&t, "# HELP cmkv_volume_errors_total Failed transfers, by volume.\n"
            "# TYPE cmkv_volume_errors_total counter\n");
    for (int i = 0; i < metrics_nvols; i++)
        buf_addf(&t, "cmkv_volume_errors_total{volume=\"%s\"} %lu\n", metrics_vols[i],
            get(&metrics_volerr[i]));
    buf_addf(&t, "# HELP cmkv_request_duration_seconds Time to answer a request.\n"
            "# TYPE cmkv_request_duration_seconds histogram\n");
    for (size_t b = 0; b < NBUCKETS; b++) {
        cum += get(&metrics_buckets[b]);
        buf_addf(&t, "cmkv_request_duration_seconds_bucket{le=\"%g\"} %lu\n", metrics_le[b], cum);
    }
    cum += get(&metrics_buckets[NBUCKETS]);
    buf_addf(&t, "cmkv_request_duration_seconds_bucket{le=\"+Inf\"} %lu\n"
            "cmkv_request_duration_seconds_sum %.6f\n"
            "cmkv_request_duration_seconds_count %lu\n",
        cum, (double)get(&metrics_sum_us) / 1e6, cum);
    buf_addf(&t, "# HELP cmkv_keys Records in the index.\n"
            "# TYPE cmkv_keys gauge\n"
            "cmkv_keys %zu\n", keys);
    buf_addf(&t, "# HELP cmkv_index_writable 1 when the index takes writes, 0 while it is "
            "read-only or waits to be recovered.\n"
            "# TYPE cmkv_index_writable gauge\n"
            "cmkv_index_writable %d\n", writable ? 1 : 0);
    buf_addf(&t, "# HELP cmkv_cleanups_pending Keys whose copies of unknown fate are being removed.\n"
            "# TYPE cmkv_cleanups_pending gauge\n"
            "cmkv_cleanups_pending %ld\n"
            "# HELP cmkv_cleanup_rounds_total Rounds of background clean-up begun.\n"
            "# TYPE cmkv_cleanup_rounds_total counter\n"
            "cmkv_cleanup_rounds_total %lu\n",
        cleanups, get(&metrics_cleanup_rounds));
    return buf_take(&t, len);
}
