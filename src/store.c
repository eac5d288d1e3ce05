/* store.c -- the GDBM index file, behind one mutex. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <gdbm.h>

#include "store.h"

static GDBM_FILE store_db;
static pthread_mutex_t store_mu = PTHREAD_MUTEX_INITIALIZER;

int store_open(const char *path, char *err) {
    store_db = gdbm_open(path, 0, GDBM_WRCREAT, 0644, NULL);
    if (store_db == NULL) {
        if (gdbm_errno == GDBM_CANT_BE_WRITER)
            mkv_seterr(err, "index %s is in use by another process", path);
        else
            mkv_seterr(err, "cannot open index %s: %s%s%s", path,
                       gdbm_strerror(gdbm_errno), errno ? ": " : "",
                       errno ? strerror(errno) : "");
        return MKV_ERR;
    }
    return MKV_OK;
}

void store_close(void) {
    pthread_mutex_lock(&store_mu);
    if (store_db != NULL) {
        gdbm_sync(store_db);
        gdbm_close(store_db);
        store_db = NULL;
    }
    pthread_mutex_unlock(&store_mu);
}

static datum mkdatum(const char *p, size_t n) {
    datum d;
    d.dptr = (char *)p;
    d.dsize = (int)n;
    return d;
}

int store_get(const char *key, size_t keylen, struct record *r, char *err) {
    datum v;
    int rc;

    pthread_mutex_lock(&store_mu);
    v = gdbm_fetch(store_db, mkdatum(key, keylen));
    if (v.dptr == NULL) {
        rc = gdbm_errno == GDBM_ITEM_NOT_FOUND ? 0 : MKV_ERR;
        if (rc) mkv_seterr(err, "index read: %s", gdbm_db_strerror(store_db));
        pthread_mutex_unlock(&store_mu);
        return rc;
    }
    pthread_mutex_unlock(&store_mu);
    rc = record_decode(v.dptr, (size_t)v.dsize, r, err) ? MKV_ERR : 1;
    free(v.dptr);
    return rc;
}

int store_insert(const char *key, size_t keylen, const struct record *r,
                 char *err) {
    char buf[RECORD_MAX];
    int n = record_encode(r, buf, err), rc;

    if (n < 0) return MKV_ERR;
    pthread_mutex_lock(&store_mu);
    rc = gdbm_store(store_db, mkdatum(key, keylen), mkdatum(buf, (size_t)n),
                    GDBM_INSERT);
    if (rc < 0) mkv_seterr(err, "index write: %s", gdbm_db_strerror(store_db));
    pthread_mutex_unlock(&store_mu);
    return rc < 0 ? MKV_ERR : rc;
}

int store_delete(const char *key, size_t keylen, char *err) {
    int rc;

    pthread_mutex_lock(&store_mu);
    rc = gdbm_delete(store_db, mkdatum(key, keylen));
    if (rc != 0) {
        if (gdbm_errno == GDBM_ITEM_NOT_FOUND) {
            rc = 1;
        } else {
            mkv_seterr(err, "index delete: %s", gdbm_db_strerror(store_db));
            rc = MKV_ERR;
        }
    }
    pthread_mutex_unlock(&store_mu);
    return rc;
}
