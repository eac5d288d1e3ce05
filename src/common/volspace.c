/* volspace.c -- a volume's free space: written by mkv-volume, read and
 * remembered by the index (volspace.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "log.h"
#include "placement.h"
#include "volspace.h"

/* The volume's side: one thread (the launcher's loop). */
static int volspace_root = -1;  /* the volume directory, for fstatvfs */
static int volspace_fd = -1;    /* state_dir/space */
static char volspace_name[4096];

void volspace_format(uint64_t free, uint64_t total, char *out) {
    snprintf(out, VOLSPACE_LINE + 1, "free %020llu total %020llu\n",
             (unsigned long long)free, (unsigned long long)total);
}

/* digits20 -- exactly 20 decimal digits at p, into *v. */
static int digits20(const char *p, uint64_t *v) {
    uint64_t n = 0;
    for (int i = 0; i < 20; i++) {
        if (p[i] < '0' || p[i] > '9') return MKV_ERR;
        if (n > (UINT64_MAX - (uint64_t)(p[i] - '0')) / 10) return MKV_ERR;
        n = n * 10 + (uint64_t)(p[i] - '0');
    }
    *v = n;
    return MKV_OK;
}

int volspace_parse(const char *buf, size_t len, uint64_t *free, uint64_t *total) {
    if (len != VOLSPACE_LINE || memcmp(buf, "free ", 5) != 0 ||
        memcmp(buf + 25, " total ", 7) != 0 || buf[52] != '\n' ||
        digits20(buf + 5, free) != MKV_OK || digits20(buf + 32, total) != MKV_OK ||
        *free > *total)
        return MKV_ERR;
    return MKV_OK;
}

int volspace_open(const char *root, const char *state_dir, char *err) {
    volspace_root = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (volspace_root < 0) {
        mkv_seterr(err, "cannot open %s: %s", root, strerror(errno));
        return MKV_ERR;
    }
    snprintf(volspace_name, sizeof(volspace_name), "%s/%s", state_dir, VOLSPACE_FILE);
    volspace_update();
    return MKV_OK;
}

void volspace_update(void) {
    char line[VOLSPACE_LINE + 1];
    struct statvfs sv;

    if (volspace_root < 0) return;
    if (volspace_fd < 0) {
        volspace_fd = open(volspace_name, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
        if (volspace_fd < 0) {
            log_limited(LOG_VOLUME, "cannot open %s: %s", volspace_name, strerror(errno));
            return;
        }
    }
    if (fstatvfs(volspace_root, &sv) != 0) {
        log_limited(LOG_VOLUME, "statvfs of the volume: %s", strerror(errno));
        return;
    }
    volspace_format((uint64_t)sv.f_bavail * sv.f_frsize,
                    (uint64_t)sv.f_blocks * sv.f_frsize, line);
    /* Same length at the same place: once written, never a new block. */
    if (pwrite(volspace_fd, line, VOLSPACE_LINE, 0) != VOLSPACE_LINE)
        log_limited(LOG_VOLUME, "cannot write %s: %s", volspace_name, strerror(errno));
}

void volspace_close(void) {
    if (volspace_fd >= 0) close(volspace_fd);
    if (volspace_root >= 0) close(volspace_root);
    volspace_fd = volspace_root = -1;
}

/* The index's side: per volume, the bytes the PUT that found it full
 * needed (0: not full). Relaxed atomics: any loop may update them. */
static atomic_ullong volspace_need[PLACEMENT_MAX_VOLUMES];

void volspace_mark_full(int i, uint64_t need) {
    if (i < 0 || i >= PLACEMENT_MAX_VOLUMES) return;
    atomic_store_explicit(&volspace_need[i], need ? need : 1, memory_order_relaxed);
}

void volspace_stored(int i) {
    if (i < 0 || i >= PLACEMENT_MAX_VOLUMES) return;
    if (atomic_load_explicit(&volspace_need[i], memory_order_relaxed))
        atomic_store_explicit(&volspace_need[i], 0, memory_order_relaxed);
}

void volspace_seen(int i, uint64_t free) {
    unsigned long long need;
    if (i < 0 || i >= PLACEMENT_MAX_VOLUMES) return;
    need = atomic_load_explicit(&volspace_need[i], memory_order_relaxed);
    if (need != 0 && free >= need)
        atomic_compare_exchange_strong(&volspace_need[i], &need, 0);
}

int volspace_full(int i, uint64_t *need) {
    unsigned long long n;
    if (i < 0 || i >= PLACEMENT_MAX_VOLUMES) return 0;
    n = atomic_load_explicit(&volspace_need[i], memory_order_relaxed);
    if (need) *need = n;
    return n != 0;
}
