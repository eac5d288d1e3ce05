/* put.h -- the one PUT path: stream a body to every replica of a key at
 * once, then make its record live. The native front (route.c), the S3
 * front (s3obj.c) and the index's own copies (CopyObject, multipart
 * completion) all write through it.
 *
 * A put lives on its loop (it is a req, req.h). Its body comes from a
 * source: a libmicrohttpd client (conn given: a full ring suspends conn,
 * room resumes it) or the caller itself (conn NULL: a full ring makes
 * put_feed take less, and owner.wake says when there is room again).
 * The answer is final once put_status is non-zero; a client put then
 * resumes conn, an owned one calls owner.done.
 *
 * Order of durability: a new key's record is first written marked
 * DELETED (invisible), then every replica, then the record goes live
 * (and, with --sync, is fsynced) before success. Any failure removes the
 * copies written and a new key's record, so a failed put leaves nothing
 * behind. With PUT_HOLD_LAST the volumes never get the body's last byte
 * until put_end, so a caller that finds the body bad (a digest, a
 * signature) and calls put_fail first leaves no copy at all: for a key
 * being replaced, the old value then stays as it was. */
#ifndef MKV_PUT_H
#define MKV_PUT_H

#include <stddef.h>
#include <stdint.h>

#include <microhttpd.h>

#include "http.h"
#include "mkv.h"

struct put_req;

enum put_flags {
    PUT_REPLACE = 1,              /* a live key may be overwritten (S3) */
    PUT_MD5 = 2,                  /* record the md5 even with --md5sum=false */
    PUT_HOLD_LAST = 4             /* keep the last byte back until put_end */
};

/* For a put whose body the caller produces (conn NULL). */
struct put_owner {
    void (*wake)(void *arg);      /* the ring has room: feed again */
    void (*done)(void *arg, unsigned status); /* the answer is final */
    void *arg;
};

/* put_open -- begin a put of key (keylen bytes) with a body of size
 * bytes (-1: unknown, sent chunked; 0 allowed). Takes the key's write
 * lock; refuses a live key unless PUT_REPLACE. Returns 0 and sets *out,
 * or the status to answer: 409 (key exists, or a write of it is in
 * flight), 500 (index error), 503 (out of memory), 507 or 503 when the
 * index takes no write (store_admit), with the one-line reason in why
 * (MKV_ERRLEN bytes, may be NULL; else set to ""). With owner NULL the
 * body comes from conn's client; else conn is NULL. method and url are
 * for the logs. */
unsigned put_open(struct MHD_Connection *conn, const struct put_owner *owner,
                  const char *method, const char *url, const char *key,
                  size_t keylen, int64_t size, int flags, char *why,
                  struct put_req **out);

/* put_feed -- take up to *n body bytes from data; *n is left at what was
 * not taken (the ring is full: a client put suspends conn; an owned one
 * waits for owner.wake). Bytes offered after a failure are dropped. */
void put_feed(struct put_req *p, const char *data, size_t *n);

/* put_room -- bytes put_feed would take now (all, once failed). */
size_t put_room(const struct put_req *p);

/* put_want_room -- an owned put's caller found too little room: call
 * owner.wake once the slowest replica has taken half the ring. */
void put_want_room(struct put_req *p);

/* put_md5 -- after the whole body was fed: the md5 of the value, as 32
 * lowercase hex digits (also what the record will carry). */
const char *put_md5(struct put_req *p);

/* put_fail -- the put cannot succeed; the answer will be status (the
 * first failure's) once what was written is undone. */
void put_fail(struct put_req *p, unsigned status);

/* put_end -- the body is complete (or the caller failed it): commit, or
 * undo. */
void put_end(struct put_req *p);

/* put_status -- 0 while under way, else the final status (201 done). */
unsigned put_status(const struct put_req *p);

/* put_wait -- inside the access handler of a client put: 1 (conn is
 * suspended until the answer is final) while under way, else 0. */
int put_wait(struct put_req *p);

/* put_replaced -- non-zero when the put overwrote a live value. */
int put_replaced(const struct put_req *p);

/* put_received -- body bytes taken so far. */
int64_t put_received(const struct put_req *p);

/* put_close -- the source is gone (a client's connection closed; an
 * owner lets go): a body cut short is failed, and p is freed once its
 * transfers are over. p must not be used after this. */
void put_close(struct put_req *p);

/* put_failed -- non-zero once the put has failed (its later body bytes
 * are dropped): the caller may stop sending. */
int put_failed(const struct put_req *p);

/* put_body_size -- a request body's length from its headers: > 0, 0 for
 * none, -1 for chunked, -2 when malformed (a Content-Length that is not
 * a number, two that disagree, a Transfer-Encoding other than chunked). */
int64_t put_body_size(struct MHD_Connection *c);

/* put_handle -- the native PUT of k's key, for every call of the request
 * (route.c); put_completed -- libmicrohttpd is done with it. */
enum MHD_Result put_handle(struct call *k);
void put_completed(void *con_cls, enum MHD_RequestTerminationCode toe);

#endif
