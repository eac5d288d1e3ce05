/* pending.h -- a request whose answer comes from a worker thread.
 *
 * The HTTP event thread must not block, so a PUT or DELETE hands its
 * volume transfer to a worker and suspends the client's connection until
 * the worker has an answer (or, for a PUT, until the upload ring has
 * room again). A pending request is shared by two owners, the connection
 * and the job, and freed when both have let go (refs).
 *
 * Lock order: a stream's mu, then the registry's, then a pending's mu;
 * never the other way round. */
#ifndef MKV_PENDING_H
#define MKV_PENDING_H

#include <pthread.h>

#include <microhttpd.h>

enum req_kind { REQ_REFUSED = 1, REQ_GET, REQ_PROBE, REQ_HEALTH, REQ_PUT, REQ_DELETE };

struct pending {
    enum req_kind kind;           /* first member: what MHD's con_cls is */
    struct pending *prev, *next;  /* the registry of live requests */
    int in_mhd_suspend;           /* suspended and not yet re-entered */
    void (*abort)(struct pending *); /* stop the job early, or NULL */
    pthread_mutex_t mu;
    struct MHD_Connection *conn;  /* NULL once MHD is done with it */
    int refs;                     /* owners left: connection, job */
    int suspended;                /* we suspended conn and owe a resume */
    int done;                     /* the job has set status */
    unsigned status;              /* HTTP status for the client */
    const char *method;           /* for the request log */
    void (*destroy)(struct pending *);
};

/* pending_init -- two owners: the connection and the job to come. */
void pending_init(struct pending *p, enum req_kind kind,
                  struct MHD_Connection *conn, const char *method,
                  void (*destroy)(struct pending *));

/* pending_suspend -- event thread, inside the access handler: suspend the
 * connection until pending_resume or pending_complete. */
void pending_suspend(struct pending *p);

/* pending_resume -- any thread: resume the connection if we suspended it
 * and it is still open. */
void pending_resume(struct pending *p);

/* pending_wait -- event thread: 1 if the job is done (answer with
 * p->status), else 0 after suspending until it is. */
int pending_wait(struct pending *p);

/* pending_is_done -- 1 once the job has completed (p->status is final). */
int pending_is_done(struct pending *p);

/* pending_complete -- worker: record the answer (unless one was already
 * given, as by pending_drain) and wake the client. */
void pending_complete(struct pending *p, unsigned status);

/* pending_closed -- MHD finished with the connection (completion
 * callback); drops the connection's reference. */
void pending_closed(struct pending *p);

/* pending_unref -- drop one reference; the last frees the request. */
void pending_unref(struct pending *p);

/* pending_entered -- event thread: MHD called the handler for p again (so
 * it is no longer suspended). */
void pending_entered(struct pending *p);

/* pending_drain -- at shutdown, after the server stopped accepting: wait
 * up to grace_ms for requests under way to finish, then abort the rest
 * (answer 503) and wait until libmicrohttpd has resumed every connection
 * we suspended, so it can be stopped. Returns how many were aborted. */
int pending_drain(long grace_ms);

#endif
