/* rebalance.c -- `mkv-index rebalance`: move every key to where placement
 * puts it for the given volumes and replica count.
 *
 * Per key: copy the value to each new replica (streamed from a current
 * one), then write the copies no longer named to the stale-copy journal
 * (INDEX.stale, fsynced), then rewrite the record, then delete those
 * copies. Until the record is rewritten the old copies are untouched, so
 * a failure or an interruption at any point loses nothing; and a copy
 * left behind (its volume down, or the run killed) stays in the journal,
 * which every run works off first: running the command again finishes
 * the work, and it exits 1 while anything is left. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "maint.h"
#include "placement.h"
#include "progress.h"
#include "store.h"
#include "volclient.h"

#include <unistd.h>

#define REBALANCE_THREADS 8

static const struct opts *rl_opts;
static struct progress rl_progress;
static struct maint_keys rl_keys;
static atomic_long rl_moved, rl_left;

/* The stale-copy journal: "VOLUME HEXKEY" lines, one per copy that a
 * rewritten record no longer names and that is not known to be gone;
 * " FLAT" follows when the copy has the flat name (placement.h). */
struct stale {
    char volume[PLACEMENT_VOLUME_MAX + 8];
    char *key;
    size_t len;
    int flat;                     /* the copy's name form */
    int done;                     /* removed (or named again): not kept */
};
static pthread_mutex_t rl_stale_mu = PTHREAD_MUTEX_INITIALIZER;
static struct stale *rl_stale;
static size_t rl_nstale, rl_capstale;
static int rl_journal = -1;       /* INDEX.stale, appended to */
static char rl_journal_path[4096];

/* stale_add -- remember a stale copy; rl_stale_mu held. Returns its
 * index, or -1 when out of memory. */
static long do_stale_add(const char *volume, const char *key, size_t len, int flat) {
    struct stale *s;
    if ((s = mkv_grow(rl_stale, &rl_capstale, rl_nstale, sizeof(*s), 256)) == NULL) return -1;
    rl_stale = s;
    s = &rl_stale[rl_nstale];
    if ((s->key = malloc(len)) == NULL) return -1;
    snprintf(s->volume, sizeof(s->volume), "%s", volume);
    memcpy(s->key, key, len);
    s->len = len;
    s->flat = flat;
    s->done = 0;
    return (long)rl_nstale++;
}

/* journal_line -- "VOLUME HEXKEY[ FLAT]\n" into out; its length. */
static size_t journal_line(const struct stale *s, char *out) {
    static const char hex[] = "0123456789abcdef";
    size_t n = (size_t)sprintf(out, "%s ", s->volume);
    for (size_t i = 0; i < s->len; i++) {
        out[n++] = hex[(unsigned char)s->key[i] >> 4];
        out[n++] = hex[(unsigned char)s->key[i] & 15];
    }
    if (s->flat) n += (size_t)sprintf(out + n, " FLAT");
    out[n++] = '\n';
    return n;
}

/* journal_load -- read what an earlier run left; MKV_ERR on a bad file. */
static int journal_load(char *err) {
    FILE *f = fopen(rl_journal_path, "r");
    char line[PLACEMENT_VOLUME_MAX + 16 + 2 * MKV_KEY_MAX];
    if (f == NULL) {
        if (errno == ENOENT) return MKV_OK;
        mkv_seterr(err, "%s: %s", rl_journal_path, strerror(errno));
        return MKV_ERR;
    }
    while (fgets(line, sizeof(line), f)) {
        char key[MKV_KEY_MAX], *sp = strchr(line, ' ');
        size_t hl, i;
        int flat;
        if (sp == NULL) goto bad;
        *sp++ = '\0';
        hl = strcspn(sp, " \n");
        sp[hl + strcspn(sp + hl, "\n")] = '\0'; /* the last line may lack it */
        flat = strcmp(sp + hl, " FLAT") == 0;
        if (hl == 0 || hl % 2 || hl / 2 > MKV_KEY_MAX || !record_volume_ok(line) ||
            (!flat && sp[hl] != '\0'))
            goto bad;
        for (i = 0; i < hl / 2; i++) {
            unsigned v;
            if (sscanf(sp + 2 * i, "%2x", &v) != 1) goto bad;
            key[i] = (char)v;
        }
        if (do_stale_add(line, key, hl / 2, flat) < 0) goto bad;
    }
    fclose(f);
    return MKV_OK;
bad:
    fclose(f);
    mkv_seterr(err, "%s: not a stale-copy journal; fix or remove it", rl_journal_path);
    return MKV_ERR;
}

/* journal_write -- append the stale copies [from, to) and fsync. */
static int journal_write(size_t from, size_t to) {
    char line[PLACEMENT_VOLUME_MAX + 16 + 2 * MKV_KEY_MAX];
    for (size_t i = from; i < to; i++) {
        size_t n = journal_line(&rl_stale[i], line);
        if (write(rl_journal, line, n) != (ssize_t)n) return MKV_ERR;
    }
    return fsync(rl_journal) == 0 ? MKV_OK : MKV_ERR;
}

/* journal_finish -- keep in the journal only the copies still there. */
static int journal_finish(void) {
    char tmp[sizeof(rl_journal_path) + 8], line[PLACEMENT_VOLUME_MAX + 16 + 2 * MKV_KEY_MAX];
    size_t left = 0;
    int fd;

    for (size_t i = 0; i < rl_nstale; i++) left += !rl_stale[i].done;
    if (left == 0) return unlink(rl_journal_path) == 0 || errno == ENOENT ? MKV_OK : MKV_ERR;
    snprintf(tmp, sizeof(tmp), "%s.tmp", rl_journal_path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return MKV_ERR;
    for (size_t i = 0; i < rl_nstale; i++) {
        size_t n;
        if (rl_stale[i].done) continue;
        n = journal_line(&rl_stale[i], line);
        if (write(fd, line, n) != (ssize_t)n) {
            close(fd);
            return MKV_ERR;
        }
    }
    if (fsync(fd) != 0 || close(fd) != 0) return MKV_ERR;
    return rename(tmp, rl_journal_path) == 0 ? MKV_OK : MKV_ERR;
}

/* mark_done -- stale copy i is gone (or not stale). */
static void mark_done(size_t i) {
    pthread_mutex_lock(&rl_stale_mu);
    rl_stale[i].done = 1;
    pthread_mutex_unlock(&rl_stale_mu);
}

/* remove_stale -- delete stale copy i, unless its key's record names
 * that file (volume and name) again. MKV_ERR when the copy may still be
 * there. The entry is copied out under the lock: other threads may grow
 * the array. */
static int remove_stale(size_t i) {
    char path[PLACEMENT_PATH_MAX], live[PLACEMENT_PATH_MAX];
    char url[VOL_URL_MAX], err[MKV_ERRLEN];
    struct stale s;
    struct record rec;
    enum vol_result vr;
    long st = 0;
    int found;

    pthread_mutex_lock(&rl_stale_mu);
    s = rl_stale[i];
    pthread_mutex_unlock(&rl_stale_mu);
    found = store_get(s.key, s.len, &rec, err);
    if (found < 0) return MKV_ERR;
    placement_path(s.key, s.len, s.flat, path);
    if (found == 1) placement_path(s.key, s.len, rec.flat, live);
    for (int v = 0; found == 1 && v < rec.nvolumes; v++)
        if (strcmp(record_volume(&rec, v), s.volume) == 0 && strcmp(path, live) == 0) {
            mark_done(i); /* a live copy now: not stale */
            return MKV_OK;
        }
    vol_url(url, s.volume, path);
    vr = vol_delete(url, &st, err);
    if (!vol_gone(vr, st)) {
        log_msg("rebalance: stale copy %s not removed: %s", url, st ? "unexpected status" : err);
        return MKV_ERR;
    }
    mark_done(i);
    return MKV_OK;
}

static int named(const struct record *r, const char *v) {
    for (int i = 0; i < r->nvolumes; i++)
        if (strcmp(record_volume(r, i), v) == 0) return 1;
    return 0;
}

/* move_key -- one key; MKV_ERR when it could not be moved (record kept). */
static int move_key(const char *key, size_t keylen) {
    char want[RECORD_MAX_VOLUMES][PLACEMENT_VOLUME_MAX + 8];
    char path[PLACEMENT_PATH_MAX], src[VOL_URL_MAX], dst[VOL_URL_MAX];
    char err[MKV_ERRLEN];
    struct record rec, next;
    int same = 1, i, j, rc;
    long first, last;

    rc = store_get(key, keylen, &rec, err);
    if (rc <= 0) {
        if (rc < 0) log_msg("rebalance: %s", err);
        return rc < 0 ? MKV_ERR : MKV_OK; /* gone meanwhile: nothing to do */
    }
    placement_replicas(rl_opts->volumes, rl_opts->nvolumes, rl_opts->replicas,
                       rl_opts->subvolumes, key, keylen, want);
    if (rec.nvolumes != rl_opts->replicas) same = 0;
    for (i = 0; same && i < rec.nvolumes; i++)
        if (strcmp(record_volume(&rec, i), want[i]) != 0) same = 0;
    if (same) return MKV_OK;

    placement_path(key, keylen, rec.flat, path);
    next = rec;
    for (i = 0; i < rl_opts->replicas; i++) {
        if (named(&rec, want[i])) continue;
        vol_url(dst, want[i], path);
        for (j = 0; j < rec.nvolumes; j++) {
            vol_url(src, record_volume(&rec, j), path);
            if (vol_copy(src, dst, err) == MKV_OK) break;
            log_msg("rebalance: copy %s -> %s: %s", src, dst, err);
        }
        if (j == rec.nvolumes) {
            log_msg("rebalance: key %.*s kept where it was: no copy could be made",
                    (int)(keylen > 200 ? 200 : keylen), key);
            return MKV_ERR;
        }
    }
    record_clear_volumes(&next);
    for (i = 0; i < rl_opts->replicas; i++) record_add_volume(&next, want[i]);
    /* The copies the new record drops go to the journal first, so none
     * is forgotten if this run stops before they are deleted. */
    pthread_mutex_lock(&rl_stale_mu);
    first = (long)rl_nstale;
    for (i = 0; i < rec.nvolumes; i++) {
        int wanted = 0;
        for (j = 0; j < rl_opts->replicas; j++)
            if (strcmp(record_volume(&rec, i), want[j]) == 0) wanted = 1;
        if (!wanted && do_stale_add(record_volume(&rec, i), key, keylen, rec.flat) < 0) first = -1;
    }
    last = (long)rl_nstale;
    if (first < 0 || journal_write((size_t)first, (size_t)last) != MKV_OK) {
        pthread_mutex_unlock(&rl_stale_mu);
        log_msg("rebalance: cannot write %s; key kept where it was", rl_journal_path);
        return MKV_ERR;
    }
    pthread_mutex_unlock(&rl_stale_mu);
    if (store_put(key, keylen, &next, err) != MKV_OK) {
        log_msg("rebalance: %s", err);
        return MKV_ERR;
    }
    rc = MKV_OK;
    for (long k = first; k < last; k++)
        if (remove_stale((size_t)k) != MKV_OK) rc = MKV_ERR;
    atomic_fetch_add(&rl_moved, 1);
    return rc;
}

int rebalance_run(const struct opts *o) {
    char err[MKV_ERRLEN];
    int partial;

    rl_opts = o;
    err[0] = '\0';
    if (store_open(o->index, STORE_SERVE, 0, err) != MKV_OK) {
        log_msg("rebalance: %s%s", err,
                strstr(err, "in use") ? "; stop the server first" : "");
        return 1;
    }
    if (vol_init(o->connect_timeout_ms, o->voltimeout_ms, o->stall_timeout_ms, err) != MKV_OK) {
        log_msg("rebalance: %s", err);
        store_close();
        return 1;
    }
    snprintf(rl_journal_path, sizeof(rl_journal_path), "%s.stale", o->index);
    if (journal_load(err) != MKV_OK ||
        (rl_journal = open(rl_journal_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0) {
        log_msg("rebalance: %s", rl_journal < 0 && err[0] == '\0' ? strerror(errno) : err);
        store_close();
        vol_cleanup();
        return 1;
    }
    /* First what an earlier run left: its stale copies. */
    for (size_t i = 0, n0 = rl_nstale; i < n0; i++)
        if (remove_stale(i) != MKV_OK) atomic_fetch_add(&rl_progress.errors, 1);
    if (rl_nstale > 0)
        log_msg("rebalance: %zu stale cop%s from an earlier run handled", rl_nstale,
                rl_nstale == 1 ? "y" : "ies");
    partial = maint_keys(&rl_keys, err) != MKV_OK;
    progress_start(&rl_progress, "rebalance", (long)rl_keys.n);
    if (partial) {
        log_msg("rebalance: %s; %zu keys read, the others are left for the next run",
                err, rl_keys.n);
        atomic_fetch_add(&rl_progress.errors, 1);
    }
    maint_each_key(&rl_keys, REBALANCE_THREADS, move_key, &rl_progress);
    progress_stop(&rl_progress, "keys checked");
    if (journal_finish() != MKV_OK) {
        log_msg("rebalance: cannot rewrite %s: %s", rl_journal_path, strerror(errno));
        atomic_fetch_add(&rl_progress.errors, 1);
    }
    for (size_t i = 0; i < rl_nstale; i++) {
        if (!rl_stale[i].done) atomic_fetch_add(&rl_left, 1);
        free(rl_stale[i].key);
    }
    free(rl_stale);
    close(rl_journal);
    log_msg("rebalance: %ld of %zu keys moved, %ld errors, %ld stale cop%s left in %s",
            atomic_load(&rl_moved), rl_keys.n, atomic_load(&rl_progress.errors),
            atomic_load(&rl_left), atomic_load(&rl_left) == 1 ? "y" : "ies",
            atomic_load(&rl_left) ? rl_journal_path : "none");
    store_close();
    vol_cleanup();
    maint_keys_free(&rl_keys);
    return atomic_load(&rl_progress.errors) || atomic_load(&rl_left) ? 1 : 0;
}
