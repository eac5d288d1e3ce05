/* test_query.c -- a GET's query string: ?list, ?unlinked, start, limit. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "query.h"

/* parse -- query_parse the NUL-terminated raw into q. */
static int parse(struct query *q, const char *raw) {
    memset(q, 0x5a, sizeof(*q)); /* no field may be left unset */
    return query_parse(q, raw, strlen(raw));
}

/* assert_refused -- raw is refused (400) with a reason. */
static void assert_refused(const char *raw) {
    struct query q;

    if (parse(&q, raw) != MKV_ERR)
        fail_msg("query '%s' was accepted", raw);
    assert_true(q.bad);
    assert_true(strlen(q.err) > 0);
}

static void no_query_is_a_plain_lookup(void **state) {
    struct query q;

    (void)state;
    assert_int_equal(parse(&q, ""), MKV_OK);
    assert_int_equal(q.op, QUERY_NONE);
    assert_false(q.bad);
    assert_false(q.has_start);
    assert_int_equal(q.limit, 0);
}

static void list_asks_for_live_keys_without_a_limit(void **state) {
    struct query q;

    (void)state;
    assert_int_equal(parse(&q, "list"), MKV_OK);
    assert_int_equal(q.op, QUERY_LIST);
    assert_false(q.bad);
    assert_false(q.has_start);
    assert_int_equal(q.limit, 0);
}

static void unlinked_asks_for_soft_deleted_keys(void **state) {
    struct query q;

    (void)state;
    assert_int_equal(parse(&q, "unlinked"), MKV_OK);
    assert_int_equal(q.op, QUERY_UNLINKED);
    assert_false(q.has_start);
    assert_int_equal(q.limit, 0);
}

static void an_empty_value_for_list_is_no_value(void **state) {
    struct query q;

    (void)state;
    assert_int_equal(parse(&q, "list="), MKV_OK);
    assert_int_equal(q.op, QUERY_LIST);
    assert_int_equal(parse(&q, "unlinked="), MKV_OK);
    assert_int_equal(q.op, QUERY_UNLINKED);
}

static void start_is_percent_decoded_and_limit_is_read(void **state) {
    struct query q;

    (void)state;
    assert_int_equal(parse(&q, "list&start=%2Fb&limit=10"), MKV_OK);
    assert_int_equal(q.op, QUERY_LIST);
    assert_true(q.has_start);
    assert_int_equal(q.startlen, 2);
    assert_memory_equal(q.start, "/b", 2);
    assert_int_equal(q.limit, 10);
}

static void start_and_limit_may_come_before_the_operation(void **state) {
    struct query q;

    (void)state;
    assert_int_equal(parse(&q, "limit=3&start=/a&unlinked"), MKV_OK);
    assert_int_equal(q.op, QUERY_UNLINKED);
    assert_true(q.has_start);
    assert_int_equal(q.startlen, 2);
    assert_memory_equal(q.start, "/a", 2);
    assert_int_equal(q.limit, 3);
}

static void start_keeps_every_byte_it_decodes_to(void **state) {
    struct query q;

    (void)state;
    /* "/café", the é as UTF-8 c3 a9; '+' stays '+'. */
    assert_int_equal(parse(&q, "list&start=%2Fcaf%C3%A9+x"), MKV_OK);
    assert_int_equal(q.startlen, 8);
    assert_memory_equal(q.start, "/caf\xc3\xa9+x", 8);
}

static void a_limit_of_zero_means_no_limit(void **state) {
    struct query q;

    (void)state;
    assert_int_equal(parse(&q, "list&limit=0"), MKV_OK);
    assert_int_equal(q.op, QUERY_LIST);
    assert_int_equal(q.limit, 0);
}

static void the_largest_limit_is_accepted(void **state) {
    struct query q;

    (void)state;
    assert_int_equal(parse(&q, "list&limit=1000000000"), MKV_OK);
    assert_int_equal(q.limit, QUERY_LIMIT_MAX);
}

static void an_operation_with_a_value_is_refused(void **state) {
    (void)state;
    assert_refused("list=1");
    assert_refused("unlinked=yes");
}

static void two_operations_are_refused(void **state) {
    (void)state;
    assert_refused("list&unlinked");
    assert_refused("unlinked&list");
    assert_refused("list&list");
}

static void start_or_limit_without_an_operation_is_refused(void **state) {
    (void)state;
    assert_refused("start=/a");
    assert_refused("start=%2F");
    assert_refused("limit=5");
    assert_refused("start=/a&limit=5");
}

static void a_malformed_limit_is_refused(void **state) {
    (void)state;
    assert_refused("list&limit=x");
    assert_refused("list&limit=-1");
    assert_refused("list&limit=");
    assert_refused("list&limit");
    assert_refused("list&limit=1x");
    assert_refused("list&limit=99999999999999999999999");
}

static void a_repeated_argument_is_refused(void **state) {
    (void)state;
    assert_refused("list&limit=1&limit=2");
    assert_refused("list&limit=1&limit=1");
    assert_refused("list&start=/a&start=/b");
}

static void an_unknown_name_is_refused(void **state) {
    (void)state;
    assert_refused("foo");
    assert_refused("list&foo");
    assert_refused("foo=1&list");
    assert_refused("LIST");
}

static void a_start_that_is_not_a_key_is_refused(void **state) {
    (void)state;
    /* A NUL would cut the key short. */
    assert_refused("start=%00");
    assert_refused("list&start=%00");
    assert_refused("list&start=%2Fa%00b");
    /* Broken escapes. */
    assert_refused("list&start=%");
    assert_refused("list&start=%2");
    assert_refused("list&start=%zz");
    assert_refused("list&start");
}

static void a_start_longer_than_a_key_is_refused(void **state) {
    char raw[16 + MKV_KEY_MAX + 2];
    struct query q;

    (void)state;
    /* MKV_KEY_MAX bytes: the longest key, accepted. */
    strcpy(raw, "list&start=/");
    memset(raw + 12, 'a', MKV_KEY_MAX - 1);
    raw[12 + MKV_KEY_MAX - 1] = '\0';
    assert_int_equal(parse(&q, raw), MKV_OK);
    assert_int_equal(q.startlen, MKV_KEY_MAX);
    /* One more byte is refused. */
    strcat(raw, "a");
    assert_refused(raw);
}

static void only_len_bytes_of_the_raw_string_count(void **state) {
    struct query q;

    (void)state;
    assert_int_equal(query_parse(&q, "list&foo", 4), MKV_OK);
    assert_int_equal(q.op, QUERY_LIST);
    assert_int_equal(query_parse(&q, "list&limit=12", 12), MKV_OK);
    assert_int_equal(q.limit, 1);
    assert_int_equal(query_parse(&q, "list", 0), MKV_OK);
    assert_int_equal(q.op, QUERY_NONE);
}

static void pairs_can_be_added_one_by_one(void **state) {
    struct query q;

    (void)state;
    /* As libmicrohttpd hands them over: still percent-encoded. */
    query_init(&q);
    query_add(&q, "list", NULL);
    query_add(&q, "start", "%2Fb");
    query_add(&q, "limit", "7");
    assert_int_equal(query_done(&q), MKV_OK);
    assert_int_equal(q.op, QUERY_LIST);
    assert_int_equal(q.startlen, 2);
    assert_memory_equal(q.start, "/b", 2);
    assert_int_equal(q.limit, 7);

    /* An empty query is a plain lookup. */
    query_init(&q);
    assert_int_equal(query_done(&q), MKV_OK);
    assert_int_equal(q.op, QUERY_NONE);
    assert_int_equal(q.limit, 0);
}

static void the_first_fault_is_reported_by_query_done(void **state) {
    struct query q;

    (void)state;
    query_init(&q);
    query_add(&q, "foo", NULL);
    assert_true(q.bad);
    query_add(&q, "list", NULL);
    assert_int_equal(query_done(&q), MKV_ERR);
    assert_true(strlen(q.err) > 0);

    /* start without an operation is only known to be wrong at the end. */
    query_init(&q);
    query_add(&q, "start", "/a");
    assert_int_equal(query_done(&q), MKV_ERR);
    assert_true(q.bad);
    assert_true(strlen(q.err) > 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(no_query_is_a_plain_lookup),
        cmocka_unit_test(list_asks_for_live_keys_without_a_limit),
        cmocka_unit_test(unlinked_asks_for_soft_deleted_keys),
        cmocka_unit_test(an_empty_value_for_list_is_no_value),
        cmocka_unit_test(start_is_percent_decoded_and_limit_is_read),
        cmocka_unit_test(start_and_limit_may_come_before_the_operation),
        cmocka_unit_test(start_keeps_every_byte_it_decodes_to),
        cmocka_unit_test(a_limit_of_zero_means_no_limit),
        cmocka_unit_test(the_largest_limit_is_accepted),
        cmocka_unit_test(an_operation_with_a_value_is_refused),
        cmocka_unit_test(two_operations_are_refused),
        cmocka_unit_test(start_or_limit_without_an_operation_is_refused),
        cmocka_unit_test(a_malformed_limit_is_refused),
        cmocka_unit_test(a_repeated_argument_is_refused),
        cmocka_unit_test(an_unknown_name_is_refused),
        cmocka_unit_test(a_start_that_is_not_a_key_is_refused),
        cmocka_unit_test(a_start_longer_than_a_key_is_refused),
        cmocka_unit_test(only_len_bytes_of_the_raw_string_count),
        cmocka_unit_test(pairs_can_be_added_one_by_one),
        cmocka_unit_test(the_first_fault_is_reported_by_query_done),
    };
    return cmocka_run_group_tests_name("query", tests, NULL, NULL);
}
