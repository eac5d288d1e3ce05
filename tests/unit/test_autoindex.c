/* test_autoindex.c -- reading nginx's JSON directory listings, which come
 * from the network: real listings parse, anything else is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "autoindex.h"

/* A listing as nginx's `autoindex_format json` writes it, byte for byte. */
static const char real_listing[] =
    "[\n"
    "{ \"name\":\"60\", \"type\":\"directory\", "
    "\"mtime\":\"Tue, 24 Nov 2026 20:36:07 GMT\" },\n"
    "{ \"name\":\"L3dlaGF2ZQ==\", \"type\":\"file\", "
    "\"mtime\":\"Tue, 24 Nov 2026 20:36:07 GMT\", \"size\":7 }\n"
    "]\n";

#define MAX_ENTRIES 8

/* The entries autoindex_parse passed, in order; returns non-zero after
 * stop_after of them when that is not 0. */
struct entries {
    size_t n;
    size_t stop_after;
    char names[MAX_ENTRIES][AUTOINDEX_NAME_MAX + 1];
    size_t lens[MAX_ENTRIES];
    int is_dir[MAX_ENTRIES];
    int64_t mtime[MAX_ENTRIES];
};

static int collect(const struct autoindex_entry *a, void *arg) {
    struct entries *e = arg;

    assert_true(e->n < MAX_ENTRIES);
    assert_in_range(a->namelen, 1, AUTOINDEX_NAME_MAX);
    assert_int_equal(strlen(a->name), a->namelen);
    memcpy(e->names[e->n], a->name, a->namelen);
    e->lens[e->n] = a->namelen;
    e->is_dir[e->n] = a->is_dir;
    e->mtime[e->n] = a->mtime;
    e->n++;
    return e->stop_after != 0 && e->n == e->stop_after;
}

/* parse_n -- autoindex_parse json[0..len) from a heap copy of exactly len
 * bytes (so a read past the end is caught by ASan), into e. On MKV_ERR
 * the reason must be set. */
static int parse_n(const char *json, size_t len, struct entries *e) {
    char *copy = malloc(len > 0 ? len : 1);
    char err[MKV_ERRLEN];
    int rc;

    assert_non_null(copy);
    memcpy(copy, json, len);
    e->n = 0;
    err[0] = '\0';
    rc = autoindex_parse(copy, len, collect, e, err);
    free(copy);
    if (rc != MKV_OK) {
        assert_int_equal(rc, MKV_ERR);
        assert_true(strlen(err) > 0);
    }
    return rc;
}

static int parse(const char *json, struct entries *e) {
    return parse_n(json, strlen(json), e);
}

static void assert_entry(const struct entries *e, size_t i, const char *name,
                         size_t namelen, int is_dir) {
    assert_true(i < e->n);
    assert_int_equal(e->lens[i], namelen);
    assert_memory_equal(e->names[i], name, namelen);
    assert_int_equal(e->is_dir[i], is_dir);
}

/* The entries a test got. They are big (MAX_ENTRIES names of 1 KiB), so
 * they live here rather than on the stack. */
static struct entries got;

/* assert_refused -- json is not a listing. */
static void assert_refused(const char *json) {
    got.stop_after = 0;
    if (parse(json, &got) != MKV_ERR)
        fail_msg("accepted as a listing: %s", json);
}

/* entry_with_name -- "[{ "name":"<name>", "type":"file" }]" into buf. */
static void entry_with_name(char *buf, const char *name) {
    strcpy(buf, "[{ \"name\":\"");
    strcat(buf, name);
    strcat(buf, "\", \"type\":\"file\" }]");
}

static void a_real_nginx_listing_gives_its_entries_in_order(void **state) {
    (void)state;
    got.stop_after = 0;
    assert_int_equal(parse(real_listing, &got), MKV_OK);
    assert_int_equal(got.n, 2);
    assert_entry(&got, 0, "60", 2, 1);
    assert_entry(&got, 1, "L3dlaGF2ZQ==", 12, 0);
    /* Python: calendar.timegm(email.utils.parsedate("Tue, 24 Nov 2026
     * 20:36:07 GMT")) */
    assert_int_equal(got.mtime[0], 1795552567);
    assert_int_equal(got.mtime[1], 1795552567);
}

static void an_entry_without_an_mtime_has_minus_one(void **state) {
    (void)state;
    got.stop_after = 0;
    assert_int_equal(parse("[{ \"name\":\"Lw==\", \"type\":\"file\" }]", &got), MKV_OK);
    assert_int_equal(got.mtime[0], -1);
    assert_int_equal(parse("[{ \"name\":\"Lw==\", \"type\":\"file\", "
                           "\"mtime\":\"Thu, 01 Jan 1970 00:00:00 GMT\" }]", &got), MKV_OK);
    assert_int_equal(got.mtime[0], 0);
}

static void a_malformed_mtime_is_refused(void **state) {
    static const char *const bad[] = {
        "x", "", "Tue, 24 Nov 2026 20:36:07 UTC", "Tue, 24 Nov 2026 20:36:07 GMT ",
        "Tue, 24 Nov 2026 20:36:07", "Tux, 24 Nov 2026 20:36:07 GMT",
        "Tue, 24 Nox 2026 20:36:07 GMT", "Tue, 00 Nov 2026 20:36:07 GMT",
        "Tue, 24 Nov 2026 24:36:07 GMT", "Tue, 24 Nov 2026 20:60:07 GMT",
        "Tue, 24 Nov 1969 20:36:07 GMT", "Tue, 2x Nov 2026 20:36:07 GMT",
        "Tue; 24 Nov 2026 20:36:07 GMT", "Tue, 24 Nov 2026 20-36-07 GMT",
    };
    char buf[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        snprintf(buf, sizeof(buf), "[{ \"name\":\"Lw==\", \"type\":\"file\", "
                 "\"mtime\":\"%s\" }]", bad[i]);
        assert_refused(buf);
    }
    assert_refused("[{ \"name\":\"Lw==\", \"type\":\"file\", \"mtime\":7 }]");
    assert_refused("[{ \"name\":\"Lw==\", \"type\":\"file\", "
                   "\"mtime\":\"Tue, 24 Nov 2026 20:36:07 GMT\", "
                   "\"mtime\":\"Tue, 24 Nov 2026 20:36:07 GMT\" }]");
}

static void an_empty_listing_has_no_entries(void **state) {
    (void)state;
    got.stop_after = 0;
    assert_int_equal(parse("[\n]\n", &got), MKV_OK);
    assert_int_equal(got.n, 0);
    assert_int_equal(parse("[]", &got), MKV_OK);
    assert_int_equal(got.n, 0);
}

static void entries_of_other_types_are_passed_over(void **state) {
    (void)state;
    got.stop_after = 0;
    assert_int_equal(parse("[\n"
                           "{ \"name\":\"60\", \"type\":\"directory\" },\n"
                           "{ \"name\":\"link\", \"type\":\"other\" },\n"
                           "{ \"name\":\"L3dlaGF2ZQ==\", \"type\":\"file\" }\n"
                           "]\n", &got), MKV_OK);
    assert_int_equal(got.n, 2);
    assert_entry(&got, 0, "60", 2, 1);
    assert_entry(&got, 1, "L3dlaGF2ZQ==", 12, 0);
}

static void fields_may_come_in_any_order(void **state) {
    (void)state;
    got.stop_after = 0;
    assert_int_equal(parse("[{ \"size\":7, \"type\":\"file\", "
                           "\"mtime\":\"Tue, 24 Nov 2026 20:36:07 GMT\", "
                           "\"name\":\"Lw==\" }]", &got), MKV_OK);
    assert_int_equal(got.n, 1);
    assert_entry(&got, 0, "Lw==", 4, 0);
}

static void escaped_quotes_and_backslashes_are_unescaped(void **state) {
    char buf[128];

    (void)state;
    got.stop_after = 0;
    /* JSON "a\"b\\c\/d" is the bytes 61 22 62 5c 63 2f 64 (Python's
     * json.loads). */
    entry_with_name(buf, "a\\\"b\\\\c\\/d");
    assert_int_equal(parse(buf, &got), MKV_OK);
    assert_int_equal(got.n, 1);
    assert_entry(&got, 0, "a\"b\\c/d", 7, 0);
}

static void unicode_escapes_become_utf8(void **state) {
    char buf[128];

    (void)state;
    got.stop_after = 0;
    /* Expected bytes from Python: json.loads(s).encode("utf-8"). */
    entry_with_name(buf, "caf\\u00e9");
    assert_int_equal(parse(buf, &got), MKV_OK);
    assert_entry(&got, 0, "caf\xc3\xa9", 5, 0);

    entry_with_name(buf, "\\u20AC");
    assert_int_equal(parse(buf, &got), MKV_OK);
    assert_entry(&got, 0, "\xe2\x82\xac", 3, 0);

    /* One, two and three bytes at each boundary. */
    entry_with_name(buf, "\\u0041\\u007f\\u0080\\u07ff\\u0800\\uffff");
    assert_int_equal(parse(buf, &got), MKV_OK);
    assert_entry(&got, 0, "\x41\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80\xef\xbf\xbf",
                 12, 0);
}

static void a_surrogate_pair_becomes_four_bytes(void **state) {
    char buf[128];

    (void)state;
    got.stop_after = 0;
    /* U+1F600, and the first and last code points past the BMP. */
    entry_with_name(buf, "\\ud83d\\ude00");
    assert_int_equal(parse(buf, &got), MKV_OK);
    assert_entry(&got, 0, "\xf0\x9f\x98\x80", 4, 0);

    entry_with_name(buf, "\\ud800\\udc00");
    assert_int_equal(parse(buf, &got), MKV_OK);
    assert_entry(&got, 0, "\xf0\x90\x80\x80", 4, 0);

    entry_with_name(buf, "\\udbff\\udfff");
    assert_int_equal(parse(buf, &got), MKV_OK);
    assert_entry(&got, 0, "\xf4\x8f\xbf\xbf", 4, 0);
}

static void parsing_stops_when_the_callback_says_so(void **state) {
    (void)state;
    got.stop_after = 1;
    assert_int_equal(parse(real_listing, &got), MKV_OK);
    assert_int_equal(got.n, 1);
    assert_entry(&got, 0, "60", 2, 1);
    got.stop_after = 0;
}

static void every_truncation_of_a_real_listing_is_refused(void **state) {
    size_t len = strlen(real_listing);
    size_t last = len - 2;   /* the final ']' */

    (void)state;
    got.stop_after = 0;
    assert_int_equal(real_listing[last], ']');
    for (size_t n = 0; n <= last; n++) {
        if (parse_n(real_listing, n, &got) != MKV_ERR)
            fail_msg("the first %zu bytes were accepted as a listing", n);
    }
    /* With the ']' it is whole, newline or not. */
    assert_int_equal(parse_n(real_listing, last + 1, &got), MKV_OK);
    assert_int_equal(got.n, 2);
    assert_int_equal(parse_n(real_listing, len, &got), MKV_OK);
    assert_int_equal(got.n, 2);
}

static void an_entry_without_a_name_or_type_is_refused(void **state) {
    (void)state;
    assert_refused("[{ \"type\":\"file\", \"size\":7 }]");
    assert_refused("[{ \"name\":\"Lw==\", \"size\":7 }]");
    assert_refused("[{}]");
    assert_refused("[{ \"name\":\"\", \"type\":\"file\" }]");
    /* A name or type that is not a string. */
    assert_refused("[{ \"name\":7, \"type\":\"file\" }]");
    assert_refused("[{ \"name\":\"Lw==\", \"type\":1 }]");
}

static void a_nul_in_a_name_is_refused(void **state) {
    static const char raw_nul[] =
        "[{ \"name\":\"L\0w==\", \"type\":\"file\" }]";

    (void)state;
    assert_refused("[{ \"name\":\"L\\u0000w==\", \"type\":\"file\" }]");
    /* A raw NUL byte, and a raw control character. */
    got.stop_after = 0;
    assert_int_equal(parse_n(raw_nul, sizeof(raw_nul) - 1, &got), MKV_ERR);
    assert_refused("[{ \"name\":\"L\nw==\", \"type\":\"file\" }]");
}

static void a_lone_surrogate_is_refused(void **state) {
    char buf[128];

    (void)state;
    entry_with_name(buf, "\\ud83d");
    assert_refused(buf);
    entry_with_name(buf, "\\ud83dx");
    assert_refused(buf);
    entry_with_name(buf, "\\ude00");
    assert_refused(buf);
    entry_with_name(buf, "\\ude00\\ud83d");
    assert_refused(buf);
    entry_with_name(buf, "\\ud83d\\u0041");
    assert_refused(buf);
    entry_with_name(buf, "\\ud83d\\ud83d");
    assert_refused(buf);
}

static void malformed_escapes_are_refused(void **state) {
    char buf[128];

    (void)state;
    entry_with_name(buf, "\\x41");
    assert_refused(buf);
    entry_with_name(buf, "\\u12g4");
    assert_refused(buf);
    entry_with_name(buf, "\\u12");
    assert_refused(buf);
    assert_refused("[{ \"name\":\"a\\");
    assert_refused("[{ \"name\":\"a\\u00");
}

static void trailing_garbage_is_refused(void **state) {
    char buf[sizeof(real_listing) + 8];

    (void)state;
    assert_refused("[\n]\nx");
    assert_refused("[]]");
    assert_refused("[][]");
    strcpy(buf, real_listing);
    strcat(buf, "]");
    assert_refused(buf);
    strcpy(buf, real_listing);
    strcat(buf, "\n{");
    assert_refused(buf);
}

static void text_that_is_not_a_listing_is_refused(void **state) {
    (void)state;
    assert_refused("");
    assert_refused("\n");
    assert_refused("{}");
    assert_refused("<html></html>");
    assert_refused("[,]");
    assert_refused("[{ \"name\":\"a\", \"type\":\"file\" },]");
    assert_refused("[{ \"name\":\"a\", \"type\":\"file\" }"
                   "{ \"name\":\"b\", \"type\":\"file\" }]");
    assert_refused("[{ \"name\" \"a\", \"type\":\"file\" }]");
    assert_refused("[{ \"name\":\"a\" \"type\":\"file\" }]");
    assert_refused("[{ \"name\":\"a\", \"type\":\"file\", }]");
    assert_refused("[\"a\"]");
}

static void a_name_of_the_longest_length_is_accepted(void **state) {
    static char buf[AUTOINDEX_NAME_MAX + 64];
    static char name[AUTOINDEX_NAME_MAX + 1];

    (void)state;
    got.stop_after = 0;
    memset(name, 'n', AUTOINDEX_NAME_MAX);
    name[AUTOINDEX_NAME_MAX] = '\0';
    entry_with_name(buf, name);
    assert_int_equal(parse(buf, &got), MKV_OK);
    assert_int_equal(got.n, 1);
    assert_entry(&got, 0, name, AUTOINDEX_NAME_MAX, 0);
}

static void a_name_of_the_longest_length_may_end_in_an_escaped_quote(void **state) {
    static char buf[AUTOINDEX_NAME_MAX + 64];
    static char name[AUTOINDEX_NAME_MAX + 8];

    (void)state;
    got.stop_after = 0;
    /* 1023 bytes and "\"": a name of AUTOINDEX_NAME_MAX bytes. */
    memset(name, 'n', AUTOINDEX_NAME_MAX - 1);
    strcpy(name + AUTOINDEX_NAME_MAX - 1, "\\\"");
    entry_with_name(buf, name);
    assert_int_equal(parse(buf, &got), MKV_OK);
    assert_int_equal(got.n, 1);
    assert_int_equal(got.lens[0], AUTOINDEX_NAME_MAX);
    assert_int_equal(got.names[0][AUTOINDEX_NAME_MAX - 1], '"');
}

static void a_name_of_the_longest_length_may_end_in_a_unicode_escape(void **state) {
    static char buf[AUTOINDEX_NAME_MAX + 64];
    static char name[AUTOINDEX_NAME_MAX + 8];

    (void)state;
    got.stop_after = 0;
    /* 1022 bytes and "\u00e9" (c3 a9): AUTOINDEX_NAME_MAX bytes in all. */
    memset(name, 'n', AUTOINDEX_NAME_MAX - 2);
    strcpy(name + AUTOINDEX_NAME_MAX - 2, "\\u00e9");
    entry_with_name(buf, name);
    assert_int_equal(parse(buf, &got), MKV_OK);
    assert_int_equal(got.n, 1);
    assert_int_equal(got.lens[0], AUTOINDEX_NAME_MAX);
    assert_memory_equal(got.names[0] + AUTOINDEX_NAME_MAX - 2, "\xc3\xa9", 2);
}

static void a_name_longer_than_the_limit_is_refused(void **state) {
    static char buf[AUTOINDEX_NAME_MAX + 64];
    static char name[AUTOINDEX_NAME_MAX + 8];

    (void)state;
    memset(name, 'n', AUTOINDEX_NAME_MAX + 1);
    name[AUTOINDEX_NAME_MAX + 1] = '\0';
    entry_with_name(buf, name);
    assert_refused(buf);
    /* The same length reached by an escape. */
    memset(name, 'n', AUTOINDEX_NAME_MAX - 1);
    strcpy(name + AUTOINDEX_NAME_MAX - 1, "\\u00e9");
    entry_with_name(buf, name);
    assert_refused(buf);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_real_nginx_listing_gives_its_entries_in_order),
        cmocka_unit_test(an_entry_without_an_mtime_has_minus_one),
        cmocka_unit_test(a_malformed_mtime_is_refused),
        cmocka_unit_test(an_empty_listing_has_no_entries),
        cmocka_unit_test(entries_of_other_types_are_passed_over),
        cmocka_unit_test(fields_may_come_in_any_order),
        cmocka_unit_test(escaped_quotes_and_backslashes_are_unescaped),
        cmocka_unit_test(unicode_escapes_become_utf8),
        cmocka_unit_test(a_surrogate_pair_becomes_four_bytes),
        cmocka_unit_test(parsing_stops_when_the_callback_says_so),
        cmocka_unit_test(every_truncation_of_a_real_listing_is_refused),
        cmocka_unit_test(an_entry_without_a_name_or_type_is_refused),
        cmocka_unit_test(a_nul_in_a_name_is_refused),
        cmocka_unit_test(a_lone_surrogate_is_refused),
        cmocka_unit_test(malformed_escapes_are_refused),
        cmocka_unit_test(trailing_garbage_is_refused),
        cmocka_unit_test(text_that_is_not_a_listing_is_refused),
        cmocka_unit_test(a_name_of_the_longest_length_is_accepted),
        cmocka_unit_test(a_name_of_the_longest_length_may_end_in_an_escaped_quote),
        cmocka_unit_test(a_name_of_the_longest_length_may_end_in_a_unicode_escape),
        cmocka_unit_test(a_name_longer_than_the_limit_is_refused),
    };
    return cmocka_run_group_tests_name("autoindex", tests, NULL, NULL);
}
