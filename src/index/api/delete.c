/* delete.c -- the native DELETE (erase.c: every replica at once, then the
 * record) and UNLINK (soft delete: mark the record, leave the files).
 * Both answer once the record is settled and, with --sync, durable. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bio.h"
#include "erase.h"
#include "delete.h"
#include "http.h"
#include "key.h"
#include "locks.h"
#include "log.h"
#include "req.h"
#include "store.h"

struct delete_req {
    struct req r;                 /* first: what MHD's con_cls points at */
    struct erase *e;              /* the DELETE under way, or NULL */
    size_t keylen;
    char key[MKV_KEY_MAX];
};

static void delete_destroy(struct req *r) { free(r); }

/* erased -- erase.c's answer for a DELETE. */
static void erased(void *arg, unsigned status) {
    struct delete_req *r = arg;
    r->e = NULL;
    req_finish(&r->r, status);
    req_release(&r->r);
}

/* delete_abort -- shutdown: stop the DELETEs under way (erase.c hands
 * the replicas not confirmed removed to the clean-up) and answer 503;
 * but not once the record is being settled, which ends by itself. */
static int delete_abort(struct req *rq) {
    struct delete_req *r = (struct delete_req *)rq;
    if (r->e == NULL || erase_settling(r->e)) return 0;
    erase_cancel(r->e);
    r->e = NULL;
    r->r.busy--; /* erased will not be called; req_abort_undone holds r */
    return 1;
}

/* unlinked -- bio_sync's answer for an UNLINK. */
static void unlinked(void *arg, int ok) {
    struct delete_req *r = arg;
    locks_release(r->key, r->keylen);
    req_finish(&r->r, ok == MKV_OK ? r->r.status : 500);
    req_release(&r->r);
}

/* unlink_key -- mark the record deleted; answer once durable. */
static void unlink_key(struct delete_req *r) {
    char err[MKV_ERRLEN];
    struct record rec;
    int held = locks_acquire(r->key, r->keylen), wrote;
    enum store_found found;

    if (held <= 0) {
        req_finish(&r->r, held == 0 ? 409 : 503);
        return;
    }
    found = store_get(r->key, r->keylen, &rec, err);
    if (found < 0)
        log_limited(found == STORE_BAD ? LOG_RECORD : LOG_INDEX, "UNLINK %s: %s", r->r.url, err);
    if (found != STORE_FOUND || rec.deleted || rec.writing) {
        locks_release(r->key, r->keylen);
        req_finish(&r->r, found == STORE_BAD ? 500 : found == STORE_DOWN ? 503 : 404);
        return;
    }
    rec.deleted = 1;
    r->r.status = 204;
    if ((wrote = store_put(r->key, r->keylen, &rec, err)) != MKV_OK) {
        log_limited(LOG_INDEX, "UNLINK %s: %s", r->r.url, err);
        r->r.status = wrote == STORE_ERR_SPACE ? 507 : 500;
    }
    r->r.busy++;
    if (bio_sync(unlinked, r) != MKV_OK) unlinked(r, MKV_ERR);
}

/* delete_begin -- check the request, then start: a DELETE on its first
 * call, an UNLINK once it is read. Sets *con_cls unless it answered. */
static enum MHD_Result delete_begin(struct MHD_Connection *c, const char *m,
                                    const char *url, void **con_cls) {
    char key[MKV_KEY_MAX], err[MKV_ERRLEN];
    struct delete_req *r;
    enum MHD_Result ret;
    size_t keylen;
    int unlink = m[0] == 'U';

    if (http_key(c, m, url, key, &keylen, &ret) != MKV_OK) return ret;
    if (key_reserved(key, keylen)) {
        log_msg("%s %s: refused: keys under %s are the S3 endpoint's", m, url, KEY_RESERVED);
        return http_respond(c, m, url, 403);
    }
    /* The index takes no write while read-only, a DELETE's included:
     * removing a record makes no room in its file. */
    switch (store_admit(STORE_SMALL_GROWTH(keylen) + (unlink ? keylen : 0), err)) {
    case STORE_ADMITTED: break;
    case STORE_NO_ROOM:
        log_limited(LOG_INDEX, "%s %s: refused: %s", m, url, err);
        return http_reason(c, m, url, 507, err);
    case STORE_BROKEN:
        log_limited(LOG_INDEX, "%s %s: refused: %s", m, url, err);
        return http_reason(c, m, url, 503, err);
    }
    r = calloc(1, sizeof(*r));
    if (r == NULL || req_init(&r->r, REQ_DELETE, c, unlink ? "UNLINK" : "DELETE", url,
                              unlink ? NULL : delete_abort, delete_destroy) != MKV_OK) {
        free(r);
        return http_respond(c, m, url, 503);
    }
    *con_cls = r; /* from here MHD's completion callback lets go of r */
    r->keylen = keylen;
    memcpy(r->key, key, keylen);
    if (unlink) {
        unlink_key(r);
        return MHD_YES;
    }
    r->r.busy++; /* until erased */
    if (erase_start(&r->e, key, keylen, http_cfg->protect ? ERASE_PROTECT : 0, "DELETE",
                    url, erased, r) != MKV_OK) {
        r->r.busy--;
        req_finish(&r->r, 503);
    }
    return MHD_YES;
}

enum MHD_Result delete_handle(struct call *k) {
    struct MHD_Connection *c = k->c;
    const char *method = k->method, *url = k->url;
    size_t *upload_data_size = k->upload_size;
    void **con_cls = k->con_cls;
    struct delete_req *r = *con_cls;

    if (r == NULL) {
        enum MHD_Result ret = delete_begin(c, method, url, con_cls);
        r = *con_cls;
        if (r == NULL || method[0] != 'U') return ret;
    } else if (*upload_data_size > 0) { /* no body is needed: ignore it */
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (!r->r.done) {
        req_suspend(&r->r);
        return MHD_YES;
    }
    return http_respond(c, r->r.method, url, r->r.status);
}

void delete_completed(void *con_cls, enum MHD_RequestTerminationCode toe) {
    (void)toe;
    req_closed(con_cls);
}
