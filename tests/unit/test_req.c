/* test_req.c -- a request's lifetime on its loop (req.c): it is freed
 * exactly once, when both libmicrohttpd and its work are done with it, in
 * either order; its first answer stands; the shutdown's counts and abort.
 * The connection is a stand-in pointer that is never suspended, so no
 * libmicrohttpd call is made. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "mkv.h"
#include "req.h"

struct test_req {
    struct req r;
    int destroyed;                /* how many times destroy ran */
    int can_abort;                /* what abort answers */
    int aborted;                  /* how many times abort ran */
    int abort_ends_work;          /* abort lets go of the work (busy--) */
};

/* Destroyed requests are counted here: the struct stays readable. */
static int destroyed_total;

static void destroy(struct req *r) {
    struct test_req *t = (struct test_req *)r;
    t->destroyed++;
    destroyed_total++;
}

static int abort_fn(struct req *r) {
    struct test_req *t = (struct test_req *)r;
    t->aborted++;
    if (t->abort_ends_work) req_release(r); /* may be the last owner but one */
    return t->can_abort;
}

static struct MHD_Connection *fake_conn(int i) {
    return (struct MHD_Connection *)(uintptr_t)(0x1000 + 16 * i);
}

static void start(struct test_req *t, int i) {
    assert_int_equal(req_init(&t->r, REQ_PUT, fake_conn(i), "PUT", "/k", abort_fn, destroy),
                     MKV_OK);
}

static void freed_once_when_closed_after_its_work(void **state) {
    struct test_req t = {0};
    (void)state;
    start(&t, 1);
    t.r.busy++; /* a transfer under way */
    assert_int_equal(req_count_live(), 1);
    req_release(&t.r);
    assert_int_equal(t.destroyed, 0); /* MHD still has it */
    req_closed(&t.r);
    assert_int_equal(t.destroyed, 1);
    assert_int_equal(req_count_live(), 0);
}

static void freed_once_when_its_work_ends_after_close(void **state) {
    struct test_req t = {0};
    (void)state;
    start(&t, 1);
    t.r.busy += 2;
    req_closed(&t.r); /* the client went away mid-work */
    assert_int_equal(t.destroyed, 0);
    assert_int_equal(req_count_open(), 0);
    assert_int_equal(req_count_live(), 1);
    req_release(&t.r);
    assert_int_equal(t.destroyed, 0);
    req_release(&t.r);
    assert_int_equal(t.destroyed, 1);
    assert_int_equal(req_count_live(), 0);
}

static void the_first_answer_stands(void **state) {
    struct test_req t = {0};
    (void)state;
    start(&t, 1);
    assert_int_equal(req_count_undone(), 1);
    req_finish(&t.r, 503); /* a shutdown's */
    req_finish(&t.r, 201); /* the work's, later */
    assert_true(t.r.done);
    assert_int_equal(t.r.status, 503);
    assert_int_equal(req_count_undone(), 0);
    assert_int_equal(req_count_suspended(), 0);
    req_closed(&t.r);
    assert_int_equal(t.destroyed, 1);
}

static void counts_follow_each_request(void **state) {
    struct test_req a = {0}, b = {0}, c = {0};
    (void)state;
    start(&a, 1);
    start(&b, 2);
    start(&c, 3);
    assert_int_equal(req_count_live(), 3);
    assert_int_equal(req_count_open(), 3);
    assert_int_equal(req_count_undone(), 3);
    req_finish(&b.r, 204);
    assert_int_equal(req_count_undone(), 2);
    /* Unlinking from the middle, the head and the tail of the list. */
    req_closed(&b.r);
    req_closed(&c.r);
    assert_int_equal(req_count_live(), 1);
    req_closed(&a.r);
    assert_int_equal(req_count_live(), 0);
    assert_int_equal(a.destroyed + b.destroyed + c.destroyed, 3);
}

static void shutdown_aborts_what_can_stop_and_answers_it_503(void **state) {
    struct test_req stops = {0}, cannot = {0}, answered = {0}, gone = {0};
    int before = destroyed_total;
    (void)state;
    stops.can_abort = 1;
    stops.abort_ends_work = 1; /* its work ends inside abort */
    start(&stops, 1);
    stops.r.busy++;
    start(&cannot, 2);
    cannot.r.busy++;
    start(&answered, 3);
    req_finish(&answered.r, 201);
    start(&gone, 4);
    gone.r.busy++;
    req_closed(&gone.r); /* no connection: nobody to answer */
    assert_int_equal(req_abort_undone(), 1);
    assert_int_equal(stops.aborted, 1);
    assert_true(stops.r.done);
    assert_int_equal(stops.r.status, 503);
    assert_int_equal(cannot.aborted, 1);
    assert_false(cannot.r.done); /* it ends by itself */
    assert_int_equal(answered.aborted, 0);
    assert_int_equal(answered.r.status, 201);
    assert_int_equal(gone.aborted, 0);
    /* Nothing was freed while its connection or its work held it. */
    assert_int_equal(destroyed_total, before);
    req_closed(&stops.r);
    assert_int_equal(stops.destroyed, 1);
    req_release(&cannot.r);
    req_closed(&cannot.r);
    req_closed(&answered.r);
    req_release(&gone.r);
    assert_int_equal(destroyed_total, before + 4);
    assert_int_equal(req_count_live(), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(freed_once_when_closed_after_its_work),
        cmocka_unit_test(freed_once_when_its_work_ends_after_close),
        cmocka_unit_test(the_first_answer_stands),
        cmocka_unit_test(counts_follow_each_request),
        cmocka_unit_test(shutdown_aborts_what_can_stop_and_answers_it_503),
    };
    return cmocka_run_group_tests_name("req", tests, NULL, NULL);
}
