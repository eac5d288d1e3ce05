/* req.h -- a request whose answer waits for work on its loop (volume
 * transfers, an fsync), and its lifetime.
 *
 * A req lives on the loop that accepted it, from the first call of the
 * access handler that needs one to the moment both are over: libmicrohttpd
 * is done with the connection (conn NULL) and no work is under way (busy
 * 0). Only that loop touches it, so it has no lock. It owns every string
 * it uses after the first call (url); method is a static string.
 *
 * Each loop keeps its live reqs in a list (thread-local), for shutdown. */
#ifndef MKV_REQ_H
#define MKV_REQ_H

#include <microhttpd.h>

enum req_kind { REQ_REFUSED = 1, REQ_GET, REQ_PROBE, REQ_HEALTH, REQ_PUT, REQ_DELETE,
                REQ_S3 };

struct req {
    enum req_kind kind;           /* first member: what MHD's con_cls is */
    struct req *prev, *next;      /* this loop's live reqs */
    struct MHD_Connection *conn;  /* NULL once MHD is done with it */
    const char *method;           /* a static string */
    char *url;                    /* our copy of the request's path */
    int suspended;                /* we suspended conn and owe a resume */
    int done;                     /* status is final */
    unsigned status;              /* the answer, once done */
    int busy;                     /* work under way for it */
    int (*abort)(struct req *);   /* shutdown: stop the work now; 0 if it
                                     cannot (it ends by itself); or NULL */
    void (*destroy)(struct req *); /* free the enclosing struct */
};

/* req_init -- a live req for conn, with a copy of url. MKV_ERR when out
 * of memory (nothing to undo). */
int req_init(struct req *r, enum req_kind kind, struct MHD_Connection *conn,
             const char *method, const char *url, int (*abort)(struct req *),
             void (*destroy)(struct req *));

/* req_suspend -- inside the access handler: stop MHD calling it until
 * req_resume. */
void req_suspend(struct req *r);

/* req_resume -- have MHD call the access handler again, if suspended. */
void req_resume(struct req *r);

/* req_finish -- the answer is status (unless one was already given, as
 * by a shutdown's 503); wakes the handler to send it. */
void req_finish(struct req *r, unsigned status);

/* req_closed -- MHD's completion callback: the connection is gone. */
void req_closed(struct req *r);

/* req_release -- the owner ended a piece of work (busy--): frees r if
 * nothing holds it any more. r may be gone after this. */
void req_release(struct req *r);

/* For the loop's shutdown: reqs not yet answered (with a connection),
 * reqs whose connection MHD has not finished, reqs suspended, reqs
 * alive; and req_abort_undone calls each undone req's abort and answers
 * it 503 if it could be stopped, returning how many. */
int req_count_undone(void);
int req_count_open(void);
int req_count_suspended(void);
int req_count_live(void);
int req_abort_undone(void);

#endif
