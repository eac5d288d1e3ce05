/* put.c -- PUT: stream the body to every replica at once, then record it.
 *
 * Everything happens on the request's loop. The body goes into a ring
 * (ring.h) that each replica's transfer reads at its own pace: a replica
 * that has caught up pauses (CURL_READFUNC_PAUSE) until more arrives; a
 * full ring suspends the client until the slowest replica has taken half.
 *
 * Order of durability: the record is first written marked DELETED (a
 * pending write, invisible to GET), then every replica is written, and
 * only when all of them answered is the record made live (and, with
 * --sync, fsynced) before the 201. If anything fails -- a volume, the
 * client, the index -- the copies written and the record are removed
 * before the answer, so a failed PUT leaves nothing behind.
 *
 * Disk space: a PUT is refused (507, with the reason) before anything is
 * written while the index is read-only (store_admit). A volume that
 * answers 500 -- nginx's answer for a full disk, among others -- has its
 * free space read (volspace.h) while the PUT is undone: when it lacks
 * room for the value the answer is 507 and the volume is marked full. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/evp.h>

#include "bio.h"
#include "cleanup.h"
#include "http.h"
#include "key.h"
#include "locks.h"
#include "log.h"
#include "loop.h"
#include "metrics.h"
#include "placement.h"
#include "put.h"
#include "req.h"
#include "ring.h"
#include "space.h"
#include "store.h"
#include "volclient.h"
#include "volspace.h"

/* Upload ring per PUT: memory is flat at this much whatever the size. */
#define PUT_RING (1024 * 1024)

/* The volumes are not contacted until this much of the body is in (or
 * all of it): a client that sends headers and stalls costs no volume
 * connection, and a small value goes out in one piece. */
#define PUT_START (64 * 1024)

/* After a PUT has failed mid-body (a volume failed, or --max-size), the
 * rest of the body is read and dropped so the client hears the status
 * (libmicrohttpd answers only before the body or after it); past this
 * much the connection is closed instead. */
#define PUT_DISCARD_MAX (16 * 1024 * 1024)

struct put_req;

/* One replica's transfer: the PUT of the value, or the DELETE undoing it. */
struct replica {
    struct loop_xfer x;           /* the PUT, then its DELETE or space read */
    struct put_req *r;
    int paused;                   /* read callback said PAUSE: wants data */
    int running;                  /* the PUT is under way */
    int stored;                   /* the volume answered 201/204 */
    int sent_all;                 /* it was handed the body's last byte */
    int whole;                    /* handed the body with its request */
    int unresolved;               /* its copy may be there: not confirmed gone */
    int timed_out;                /* its volume stopped answering */
    int answered_500;             /* perhaps its disk is full */
    int answered_409;             /* a directory is at the path: no copy,
                                     and no DELETE (it would answer 409) */
    struct loop_timer wait;       /* until its space file is fresh */
    struct vol_small space;       /* its space file, read on undo */
    char url[VOL_URL_MAX];
};

struct put_req {
    struct req r;                 /* first: what MHD's con_cls points at */
    struct ring ring;
    struct put_owner owner;       /* owner.done set: the caller's body */
    EVP_MD_CTX *md5;              /* NULL with --md5sum=false */
    int flags;                    /* enum put_flags */
    int replacing;                /* the key had a live record */
    int started;                  /* pending record written, PUTs started */
    int body_done;                /* the whole body is in (or given up) */
    int client_waiting;           /* suspended for room in the ring */
    int ending;                   /* committing or undoing: no way back */
    int handed_off;               /* the key went to cleanup.c, lock and all */
    unsigned status;              /* the answer once failed, else 0 */
    char why[MKV_ERRLEN];         /* a 507's or a volume's 409's reason */
    int nrunning;                 /* replica transfers (PUT or DELETE) */
    int nstored;                  /* replicas that hold the new value */
    int64_t size;                 /* Content-Length, or -1 for chunked */
    int64_t received;             /* body bytes taken so far */
    int64_t discarded;            /* body bytes dropped after a failure */
    struct record rec;            /* volumes; hash once the body is in */
    struct record old;            /* the record replaced: unlinked (had_old)
                                     or, when replacing, live */
    int had_old;
    int nreplicas;
    size_t keylen;
    char key[MKV_KEY_MAX];
    char volumes[RECORD_MAX_VOLUMES][PLACEMENT_VOLUME_MAX + 8];
    struct replica rep[RECORD_MAX_VOLUMES];
};

static void put_destroy(struct req *rq) {
    struct put_req *r = (struct put_req *)rq;
    ring_free(&r->ring);
    EVP_MD_CTX_free(r->md5);
    free(r);
}

static void maybe_end(struct put_req *r);

/* wake_client -- let the source hand us more body (or its end). */
static void wake_client(struct put_req *r) {
    if (!r->client_waiting) return;
    r->client_waiting = 0;
    if (r->owner.wake) r->owner.wake(r->owner.arg);
    else req_resume(&r->r);
}

static void unpause(struct put_req *r);

/* fail -- the PUT cannot succeed; the answer will be status (the first
 * failure's) once what was written is undone. A transfer is never cut
 * off by us once it may have sent its last byte, since its outcome would
 * then be unknown: each one still running either asks for more body and
 * is aborted (the volume drops a body cut short), or ends by itself and
 * its copy, if stored, is removed. */
static void fail(struct put_req *r, unsigned status) {
    if (r->status == 0) r->status = status;
    unpause(r);     /* paused readers hear of it at once */
    wake_client(r); /* the rest of the body is to be dropped */
}

/* readable -- bytes replica i may take now: with PUT_HOLD_LAST the last
 * byte of the body stays in the ring until the body is declared whole. */
static size_t readable(struct put_req *r, int i) {
    size_t n = ring_unread(&r->ring, i);
    if ((r->flags & PUT_HOLD_LAST) && !r->body_done && r->size > 0 && n > 0 &&
        r->ring.tail[i] + n >= (uint64_t)r->size)
        n = (size_t)((uint64_t)r->size - 1 - r->ring.tail[i]);
    return n;
}

/* read_body -- libcurl wants body bytes for replica x. */
static size_t read_body(char *out, size_t sz, size_t n, void *u) {
    struct replica *x = u;
    struct put_req *r = x->r;
    int i = (int)(x - r->rep);
    size_t got, can;

    if (r->status != 0) return CURL_READFUNC_ABORT;
    can = readable(r, i);
    got = ring_read(&r->ring, i, out, sz * n < can ? sz * n : can);
    if (got == 0) {
        if (r->body_done) {
            x->sent_all = 1; /* the end of a chunked body */
            return 0;
        }
        x->paused = 1;
        x->x.idle = 1; /* waiting for the client is not the volume's stall */
        return CURL_READFUNC_PAUSE;
    }
    loop_xfer_moved(&x->x);
    if (r->size >= 0 && r->ring.tail[x - r->rep] == (uint64_t)r->size) x->sent_all = 1;
    if (r->client_waiting && ring_room(&r->ring) >= r->ring.cap / 2) wake_client(r);
    return got;
}

/* unpause -- there is more body (or its end): paused replicas go on. */
static void unpause(struct put_req *r) {
    for (int i = 0; i < r->nreplicas; i++) {
        struct replica *x = &r->rep[i];
        if (!x->paused || !x->running) continue;
        x->paused = 0;
        loop_xfer_moved(&x->x);
        curl_easy_pause(x->x.h, CURLPAUSE_CONT);
    }
}

static void replica_done(struct loop_xfer *xf, CURLcode rc, long code) {
    struct replica *x = MKV_CONTAINER(xf, struct replica, x);
    struct put_req *r = x->r;
    const char *vol = r->volumes[x - r->rep];
    char err[MKV_ERRLEN];
    long vs;
    enum vol_result vr = vol_result_of(rc, xf->nofd, code, &vs, err);

    x->running = 0;
    r->nrunning--;
    /* A body handed over whole counts as sent once libcurl sent the
     * request and the body's last byte (not when nothing reached the
     * volume). */
    if (x->whole && xf->asked > 0 && xf->sent == r->received) x->sent_all = 1;
    if (vr == VOL_OK && (vs == 201 || vs == 204)) {
        x->stored = 1;
        volspace_stored(http_volume_index(vol));
        r->nstored++;
    } else if (vr == VOL_ABORTED && r->status != 0) {
        /* cut short by fail(): nothing stored, nothing to say */
    } else if (vr == VOL_OK && vs == 409) {
        /* nginx's DAV answers 409 for a PUT onto a directory: the key's
         * path is a directory of an old nested key's (placement.h). */
        if (r->status == 0)
            snprintf(r->why, sizeof(r->why), "the key's path on volume %s is a directory "
                     "(a key stored in pymkv's nested form lies below it)", vol);
        log_limited(log_kind_volume(http_volume_index(vol)),
                    "PUT %s: volume %s has a directory at the key's path", r->r.url, vol);
        x->answered_409 = 1;
        fail(r, 409);
    } else {
        int kind = log_kind_volume(http_volume_index(vol));
        if (vr == VOL_NOFD) {
            log_limited(LOG_NOFD, "PUT %s: out of file descriptors", r->r.url);
        } else {
            metrics_volume_error(vol);
            if (xf->stalled)
                log_limited(kind, "PUT %s: volume %s moved no byte for %ld ms", r->r.url,
                            vol, xf->stall_ms);
            else if (vr == VOL_OK)
                log_limited(kind, "PUT %s: volume %s answered %ld", r->r.url, vol, vs);
            else
                log_limited(kind, "PUT %s: volume %s: %s", r->r.url, vol, err);
        }
        x->timed_out = xf->stalled || vr == VOL_TIMEOUT;
        x->answered_500 = vr == VOL_OK && vs == 500;
        fail(r, xf->stalled ? 504 : vol_http_status(vr));
    }
    maybe_end(r);
    req_release(&r->r);
}

/* start -- write the pending record (a new key's), then start every
 * replica's PUT. A live record being replaced stays as it is meanwhile:
 * each volume swaps its file whole when its PUT ends. */
static void start(struct put_req *r) {
    char err[MKV_ERRLEN];
    int rc;
    /* A small body already in whole lies at the ring's start, unread:
     * each replica is handed it at once, with its request. */
    int whole = r->body_done && r->received < VOL_ONE_SEND &&
                (uint64_t)r->received == r->ring.head && r->ring.head <= r->ring.cap;

    r->started = 1; /* a failed write may have left the record: undo it */
    r->rec.writing = 1;
    if (!r->replacing && (rc = store_put(r->key, r->keylen, &r->rec, err)) != MKV_OK) {
        log_limited(LOG_INDEX, "PUT %s: %s", r->r.url, err);
        if (rc == STORE_ERR_SPACE) snprintf(r->why, sizeof(r->why), "%s", err);
        fail(r, rc == STORE_ERR_SPACE ? 507 : 503);
        return;
    }
    for (int i = 0; i < r->nreplicas; i++) {
        struct replica *x = &r->rep[i];
        CURL *h = loop_xfer_handle(&x->x);
        if (h == NULL) {
            fail(r, 503);
            return;
        }
        if ((x->whole = whole)) {
            vol_setup_put_bytes(h, x->url, r->ring.buf, (size_t)r->received);
        } else {
            vol_setup_put(h, x->url, r->size, read_body, x);
        }
        x->x.done = replica_done;
        x->x.stall_ms = vol_stall_ms();
        if (loop_xfer_start(&x->x) != MKV_OK) {
            log_limited(LOG_NOFD, "PUT %s: cannot start the transfer to %s", r->r.url,
                        r->volumes[i]);
            fail(r, 503);
            return;
        }
        x->running = 1;
        r->nrunning++;
        r->r.busy++;
    }
}

/* forget_record -- the write failed: the record goes back to what it
 * was (an unlinked key stays unlinked), or goes. */
static void forget_record(struct put_req *r) {
    char err[MKV_ERRLEN];
    int rc;
    /* A live record being replaced was not touched: it stays unless a
     * copy of the new value was stored (the old value is then gone from
     * that volume, so the key goes). */
    if (!r->started || (r->replacing && r->nstored == 0)) return;
    if (r->replacing) log_msg("PUT %s: failed over a live value: the key is removed", r->r.url);
    rc = r->had_old ? store_put(r->key, r->keylen, &r->old, err)
                    : store_delete(r->key, r->keylen, err);
    if (rc < 0) log_limited(LOG_INDEX, "PUT %s: %s", r->r.url, err);
}

/* finished -- the end: release the key (unless cleanup.c has it) and
 * answer. */
static void finished(struct put_req *r, unsigned status) {
    if (!r->handed_off) locks_release(r->key, r->keylen);
    req_finish(&r->r, status);
    if (r->owner.done) r->owner.done(r->owner.arg, r->r.status);
}


/* settle_undo -- the undo DELETEs are over: copies not confirmed gone go
 * to the background clean-up (record and lock with them); else the
 * record goes back to what it was. */
static void settle_undo(struct put_req *r) {
    struct record left = r->rec;

    record_clear_volumes(&left);
    for (int i = 0; i < r->nreplicas; i++)
        if (r->rep[i].unresolved) record_add_volume(&left, record_volume(&r->rec, i));
    if (left.nvolumes > 0 && cleanup_start(r->key, r->keylen, &left) == MKV_OK) {
        log_msg("PUT %s: %d cop%s not confirmed gone; removing in the background",
                r->r.url, left.nvolumes, left.nvolumes == 1 ? "y" : "ies");
        r->handed_off = 1;
    } else {
        forget_record(r);
    }
    finished(r, r->status);
}

/* undo_step -- one transfer (or space check) of the undo ended: after
 * the last, settle. */
static void undo_step(struct put_req *r) {
    if (--r->nrunning == 0) settle_undo(r);
}

static void undo_done(struct loop_xfer *xf, CURLcode rc, long code) {
    struct replica *x = MKV_CONTAINER(xf, struct replica, x);
    struct put_req *r = x->r;
    char err[MKV_ERRLEN];
    long vs;
    enum vol_result vr = vol_result_of(rc, xf->nofd, code, &vs, err);

    x->running = 0;
    if (!vol_gone(vr, vs)) {
        log_limited(log_kind_volume(http_volume_index(r->volumes[x - r->rep])),
                    "PUT %s: cannot remove the copy on %s: %s", r->r.url,
                    r->volumes[x - r->rep], vr == VOL_OK ? "an error answer" : err);
        x->unresolved = 1;
    }
    undo_step(r);
    req_release(&r->r);
}

/* space_read -- the space file of a volume that answered 500: short of
 * room for the value, its disk was full and the answer is 507. */
static void space_read(struct loop_xfer *xf, CURLcode rc, long code) {
    struct replica *x = MKV_CONTAINER(xf, struct replica, x);
    struct put_req *r = x->r;
    const char *vol = r->volumes[x - r->rep];
    uint64_t free, total, need = (uint64_t)(r->size > r->received ? r->size : r->received) +
                                 VOLSPACE_MARGIN;
    char err[MKV_ERRLEN], have[32], want[32];
    long vs;

    x->running = 0;
    if (vol_result_of(rc, xf->nofd, code, &vs, err) == VOL_OK && vs == 200 &&
        x->space.dropped == 0 &&
        volspace_parse(x->space.data, x->space.len, &free, &total) == MKV_OK &&
        free < need) {
        volspace_mark_full(http_volume_index(vol), need);
        space_human(free, have, sizeof(have));
        space_human(need, want, sizeof(want));
        snprintf(r->why, sizeof(r->why), "volume %s is out of space: %s free, %s needed",
                 vol, have, want);
        log_limited(log_kind_volume(http_volume_index(vol)), "PUT %s: %s", r->r.url,
                    r->why);
        r->status = 507;
    }
    undo_step(r);
    req_release(&r->r);
}

/* space_fresh -- the volume has rewritten its space file since it
 * failed the PUT: read it. */
static void space_fresh(struct loop_timer *t) {
    struct replica *x = MKV_CONTAINER(t, struct replica, wait);
    struct put_req *r = x->r;
    const char *vol = r->volumes[x - r->rep];
    size_t n = strcspn(vol, "/"); /* the volume, not its /svXX */
    char url[VOL_URL_MAX];
    CURL *h = loop_xfer_handle(&x->x);

    snprintf(url, sizeof(url), "http://%.*s%s", (int)n, vol, VOLSPACE_PATH);
    if (h != NULL) {
        vol_setup_get_small(h, url, &x->space);
        x->x.done = space_read;
        x->x.stall_ms = 0;
        if (loop_xfer_start(&x->x) == MKV_OK) {
            x->running = 1;
            return;
        }
    }
    undo_step(r); /* cannot tell: the answer stays a 502 */
    req_release(&r->r);
}

/* undo -- no copy and no record may outlive a failed write: DELETE the
 * copies written, then the pending record. A volume that answered 500
 * has its space file read meanwhile, once it has been rewritten after
 * the failure (two of the writer's periods).
 * A replaced key none of whose volumes took the new value keeps its old
 * record and files. */
static void undo(struct put_req *r) {
    for (int i = 0; i < r->nreplicas; i++) {
        struct replica *x = &r->rep[i];
        CURL *h;
        if (r->replacing && r->nstored == 0) break;
        if (x->answered_500 && !x->stored) {
            x->wait.done = space_fresh;
            loop_timer_start(&x->wait, 2 * VOLSPACE_EVERY_MS);
            r->nrunning++;
            r->r.busy++;
            continue;
        }
        /* A copy may be there if the volume said so, or if it was handed
         * the last byte: a timeout or a reset after that is no proof the
         * volume did not store it (a 404 to this DELETE is fine). A key
         * replaced and partly overwritten goes from every volume. */
        if ((!x->stored && !x->sent_all && !r->replacing) || x->answered_409) continue;
        if (x->timed_out) {
            /* It would time out again now: straight to the clean-up,
             * so the client hears at once. */
            x->unresolved = 1;
            continue;
        }
        if ((h = loop_xfer_handle(&x->x)) == NULL) {
            x->unresolved = 1;
            continue;
        }
        vol_setup_simple(h, x->url, "DELETE");
        x->x.done = undo_done;
        x->x.stall_ms = 0;
        if (loop_xfer_start(&x->x) != MKV_OK) {
            x->unresolved = 1;
            continue;
        }
        x->running = 1;
        r->nrunning++;
        r->r.busy++;
    }
    if (r->nrunning == 0) settle_undo(r);
}

/* committed -- bio_sync's answer for the live record. */
static void committed(void *arg, int ok) {
    struct put_req *r = arg;
    if (ok == MKV_OK) {
        finished(r, 201);
    } else {
        r->status = 500;
        undo(r);
    }
    req_release(&r->r);
}

/* maybe_end -- once every transfer is over and the body is in (or the
 * PUT failed): commit, or undo. */
static void maybe_end(struct put_req *r) {
    char err[MKV_ERRLEN];

    if (r->ending || r->nrunning > 0 || (!r->body_done && r->status == 0)) return;
    r->ending = 1;
    if (r->status == 0 && !r->started) r->status = 500; /* cannot happen */
    if (r->status == 0) {
        int rc;
        r->rec.writing = 0;
        if ((rc = store_put(r->key, r->keylen, &r->rec, err)) != MKV_OK) {
            log_limited(LOG_INDEX, "PUT %s: %s", r->r.url, err);
            if (rc == STORE_ERR_SPACE) snprintf(r->why, sizeof(r->why), "%s", err);
            r->status = rc == STORE_ERR_SPACE ? 507 : 500;
        } else {
            r->r.busy++;
            if (bio_sync(committed, r) != MKV_OK) committed(r, MKV_ERR);
            return;
        }
    }
    undo(r);
}

/* put_abort -- shutdown: stop, and what was written is undone; but not
 * once the PUT is committing or undoing, which ends by itself. */
static int put_abort(struct req *rq) {
    struct put_req *r = (struct put_req *)rq;
    if (r->ending) return 0;
    fail(r, 503);
    maybe_end(r);
    return 1;
}

unsigned put_open(struct MHD_Connection *conn, const struct put_owner *owner,
                  const char *method, const char *url, const char *key,
                  size_t keylen, int64_t size, int flags, char *why,
                  struct put_req **out) {
    char path[PLACEMENT_PATH_MAX], err[MKV_ERRLEN];
    struct record old;
    struct put_req *r;
    int held, replacing = 0, had_old = 0;
    enum store_admission admitted;
    enum store_found found;
    size_t cap;

    if (why) why[0] = '\0';
    admitted = store_admit(STORE_PUT_GROWTH(keylen), err);
    if (admitted != STORE_ADMITTED) {
        log_limited(LOG_INDEX, "%s %s: refused: %s", method, url, err);
        if (why) snprintf(why, MKV_ERRLEN, "%s", err);
        return admitted == STORE_NO_ROOM ? 507 : 503;
    }
    held = locks_acquire(key, keylen);
    if (held <= 0) return held == 0 ? 409 : 503;
    found = store_get(key, keylen, &old, err);
    if (found < 0) {
        locks_release(key, keylen);
        log_limited(found == STORE_BAD ? LOG_RECORD : LOG_INDEX, "%s %s: %s", method, url, err);
        return found == STORE_BAD ? 500 : 503;
    }
    if (found == STORE_FOUND && old.deleted) {
        had_old = 1; /* unlinked: may be written again, and stays so if that fails */
    } else if (found == STORE_FOUND && !old.writing) { /* (a cut-short write is replaced) */
        if (!(flags & PUT_REPLACE)) {
            locks_release(key, keylen);
            return 409;
        }
        replacing = 1;
    }

    cap = size > 0 && size < PUT_RING ? (size_t)size : size == 0 ? 1 : PUT_RING;
    r = calloc(1, sizeof(*r));
    if (r == NULL || ring_init(&r->ring, cap, http_cfg->replicas) != MKV_OK ||
        ((http_cfg->md5sum || (flags & PUT_MD5)) &&
         ((r->md5 = EVP_MD_CTX_new()) == NULL ||
          !EVP_DigestInit_ex(r->md5, EVP_md5(), NULL))) ||
        req_init(&r->r, REQ_PUT, conn, method, url, put_abort, put_destroy) != MKV_OK) {
        if (r) put_destroy(&r->r);
        locks_release(key, keylen);
        return 503;
    }
    if (owner) {
        r->owner = *owner;
        r->r.busy++; /* the owner's hold, until put_close */
    }
    r->flags = flags;
    r->replacing = replacing;
    r->had_old = had_old;
    if (replacing || had_old) r->old = old;
    r->size = size;
    r->keylen = keylen;
    memcpy(r->key, key, keylen);
    r->nreplicas = http_cfg->replicas;
    placement_replicas(http_cfg->volumes, http_cfg->nvolumes, r->nreplicas,
                       http_cfg->subvolumes, key, keylen, r->volumes);
    /* A new key's files take the flat name; a write over a record keeps
     * that record's name, so it replaces the files where they are. */
    r->rec.flat = found == STORE_FOUND ? old.flat : placement_nests(key, keylen);
    placement_path(key, keylen, r->rec.flat, path);
    record_clear_volumes(&r->rec);
    for (int i = 0; i < r->nreplicas; i++) {
        record_add_volume(&r->rec, r->volumes[i]);
        r->rep[i].r = r;
        vol_url(r->rep[i].url, r->volumes[i], path);
    }
    *out = r;
    /* An owned put's body comes from libcurl callbacks, inside which no
     * transfer may be added: its replicas start now, and wait. */
    if (owner) start(r);
    return 0;
}

void put_feed(struct put_req *r, const char *data, size_t *size) {
    size_t took;

    if (r->status != 0 || r->r.done) { /* failed: drop the rest */
        r->discarded += (int64_t)*size;
        *size = 0;
        return;
    }
    if (http_cfg->max_size > 0 && r->received + (int64_t)*size > http_cfg->max_size) {
        log_msg("%s %s: refused: body over --max-size", r->r.method, r->r.url);
        fail(r, 413);
        maybe_end(r);
        r->discarded += (int64_t)*size;
        *size = 0;
        return;
    }
    took = ring_write(&r->ring, data, *size);
    if (r->md5) EVP_DigestUpdate(r->md5, data, took);
    r->received += (int64_t)took;
    if (r->r.conn) http_bytes_in(r->r.conn, took);
    *size -= took;
    /* Once the whole of a known size is in, put_end starts the replicas. */
    if (!r->started && r->received != r->size &&
        (ring_room(&r->ring) == 0 || r->received >= PUT_START))
        start(r);
    if (r->started) unpause(r);
    if (*size > 0 && r->status == 0) {
        r->client_waiting = 1;
        if (!r->owner.done) req_suspend(&r->r);
    }
}

const char *put_md5(struct put_req *r) {
    unsigned char d[16];
    unsigned int n = 16;

    if (r->md5 && r->rec.hash[0] == '\0' && EVP_DigestFinal_ex(r->md5, d, &n)) {
        for (int i = 0; i < 16; i++) snprintf(r->rec.hash + 2 * i, 3, "%02x", d[i]);
    }
    return r->rec.hash;
}

void put_fail(struct put_req *r, unsigned status) {
    if (r->ending) return;
    fail(r, status);
    maybe_end(r);
}

void put_end(struct put_req *r) {
    if (r->body_done) return;
    r->body_done = 1;
    if (r->status == 0) {
        put_md5(r);
        if (!r->started) start(r);
        if (r->started) unpause(r);
    }
    maybe_end(r);
}

int put_wait(struct put_req *r) {
    if (r->r.done) return 0;
    req_suspend(&r->r);
    return 1;
}

unsigned put_status(const struct put_req *r) { return r->r.done ? r->r.status : 0; }

int put_replaced(const struct put_req *r) { return r->replacing; }

int64_t put_received(const struct put_req *r) { return r->received; }

size_t put_room(const struct put_req *r) {
    if (r->status != 0 || r->r.done) return (size_t)-1; /* dropped anyway */
    return ring_room(&r->ring);
}

void put_want_room(struct put_req *r) {
    if (r->status == 0 && !r->r.done) r->client_waiting = 1;
}

int put_failed(const struct put_req *r) { return r->status != 0 || r->r.done; }

void put_close(struct put_req *r) {
    int owned = r->owner.done != NULL;
    r->owner.done = NULL; /* the owner is gone: tell it nothing more */
    r->owner.wake = NULL;
    /* A source gone mid-body: no volume may keep a short value. */
    if (!r->body_done && !r->ending) {
        fail(r, 400);
        maybe_end(r);
    }
    if (owned) req_release(&r->r);
    else req_closed(&r->r);
}

/* Every Content-Length header must say the same (RFC 9112 6.3). */
struct lengths {
    const char *first;
    int disagree;
};

static enum MHD_Result check_length(void *cls, enum MHD_ValueKind kind,
                                    const char *name, const char *value) {
    struct lengths *l = cls;
    (void)kind;
    if (strcasecmp(name, MHD_HTTP_HEADER_CONTENT_LENGTH) != 0) return MHD_YES;
    if (l->first == NULL) l->first = value;
    else if (strcmp(l->first, value) != 0) l->disagree = 1;
    return MHD_YES;
}

/* put_body_size -- the body's length from the headers: >0, -1 for chunked,
 * 0 for none (411), -2 when malformed (400): a Content-Length that is
 * not a number or two that disagree, or a Transfer-Encoding other than
 * chunked. */
int64_t put_body_size(struct MHD_Connection *c) {
    const char *te = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
                                                 MHD_HTTP_HEADER_TRANSFER_ENCODING);
    struct lengths l = {NULL, 0};
    char *end;
    long long v;

    if (te != NULL) return strcasecmp(te, "chunked") == 0 ? -1 : -2;
    MHD_get_connection_values(c, MHD_HEADER_KIND, check_length, &l);
    if (l.disagree) return -2;
    if (l.first == NULL) return 0;
    if (*l.first < '0' || *l.first > '9') return -2;
    errno = 0;
    v = strtoll(l.first, &end, 10);
    if (errno || *end != '\0') return -2;
    return v;
}

/* max_size_over -- n bytes are more than --max-size allows. */
static int max_size_over(int64_t n) {
    return http_cfg->max_size > 0 && n > http_cfg->max_size;
}

/* put_begin -- first call of a native PUT: check the request and open
 * the put. Nothing is written anywhere until the body begins to arrive. */
static enum MHD_Result put_begin(struct MHD_Connection *c, const char *url,
                                 void **con_cls) {
    const char *m = MHD_HTTP_METHOD_PUT;
    char key[MKV_KEY_MAX], err[MKV_ERRLEN];
    struct put_req *r;
    enum MHD_Result ret;
    size_t keylen;
    int64_t size;
    unsigned st;

    if (http_key(c, m, url, key, &keylen, &ret) != MKV_OK) return ret;
    if (key_reserved(key, keylen)) {
        log_msg("PUT %s: refused: keys under %s are the S3 endpoint's", url, KEY_RESERVED);
        return http_respond(c, m, url, 403);
    }
    size = put_body_size(c);
    if (size == 0) return http_respond(c, m, url, 411);
    if (size == -2) {
        log_msg("PUT %s: refused: malformed or conflicting Content-Length "
                "or Transfer-Encoding", url);
        return http_respond(c, m, url, 400);
    }
    if (max_size_over(size)) {
        log_msg("PUT %s: refused: %lld bytes is over --max-size", url, (long long)size);
        return http_respond(c, m, url, 413);
    }
    st = put_open(c, NULL, "PUT", url, key, keylen, size, 0, err, &r);
    if (st != 0 && err[0]) return http_reason(c, m, url, st, err);
    if (st != 0) return http_respond(c, m, url, st);
    *con_cls = r; /* from here MHD's completion callback lets go of r */
    return MHD_YES;
}

enum MHD_Result put_handle(struct call *k) {
    struct MHD_Connection *c = k->c;
    const char *url = k->url, *upload_data = k->upload_data;
    size_t *upload_data_size = k->upload_size;
    struct put_req *r = *k->con_cls;

    if (r == NULL) return put_begin(c, url, k->con_cls);
    if (*upload_data_size > 0) {
        if (loop_stopping() && put_failed(r)) {
            log_msg("PUT %s: closing: shutting down", r->r.url);
            return MHD_NO; /* the rest of the body would hold the shutdown */
        }
        put_feed(r, upload_data, upload_data_size);
        if (r->discarded > PUT_DISCARD_MAX) {
            log_msg("PUT %s: closing: too much body after a failure", r->r.url);
            return MHD_NO;
        }
        return MHD_YES;
    }
    if (!r->body_done && r->received == 0 && r->status == 0) {
        /* A chunked body that was empty: as with Content-Length: 0. */
        log_msg("PUT %s: refused: an empty body", r->r.url);
        put_fail(r, 411);
    }
    put_end(r);
    if (!r->r.done) {
        req_suspend(&r->r);
        return MHD_YES;
    }
    if ((r->r.status == 507 || r->r.status == 409) && r->why[0])
        return http_reason(c, r->r.method, url, r->r.status, r->why);
    return http_respond(c, r->r.method, url, r->r.status);
}

void put_completed(void *con_cls, enum MHD_RequestTerminationCode toe) {
    (void)toe;
    put_close(con_cls);
}
