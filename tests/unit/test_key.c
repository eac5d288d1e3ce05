/* test_key.c -- a request's URL path becomes its key, byte for byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "key.h"

/* key_decode may write MKV_KEY_MAX bytes and no more; the bytes after
 * that are a guard the tests check is untouched. */
#define GUARD 16
#define GUARD_BYTE 0x5a

struct decoded {
    char out[MKV_KEY_MAX + GUARD];
    size_t len;
};

/* decode -- key_decode raw[0..rawlen) into d, after filling d with the
 * guard byte; checks the guard survived and returns the status. */
static enum key_status decode_n(const char *raw, size_t rawlen,
                                struct decoded *d) {
    enum key_status st;

    memset(d->out, GUARD_BYTE, sizeof(d->out));
    d->len = (size_t)-1;
    st = key_decode(raw, rawlen, d->out, &d->len);
    for (size_t i = MKV_KEY_MAX; i < sizeof(d->out); i++)
        assert_int_equal((unsigned char)d->out[i], GUARD_BYTE);
    return st;
}

static enum key_status decode(const char *raw, struct decoded *d) {
    return decode_n(raw, strlen(raw), d);
}

/* assert_key -- raw decodes with KEY_OK to exactly want[0..wantlen). */
static void assert_key(const char *raw, const char *want, size_t wantlen) {
    struct decoded d;

    assert_int_equal(decode(raw, &d), KEY_OK);
    assert_int_equal(d.len, wantlen);
    assert_memory_equal(d.out, want, wantlen);
}

static void assert_rejected(const char *raw, enum key_status want) {
    struct decoded d;

    assert_int_equal(decode(raw, &d), want);
}

static void plain_path_is_the_key_including_its_leading_slash(void **state) {
    (void)state;
    assert_key("/wehave", "/wehave", 7);
    assert_key("/hello.txt", "/hello.txt", 10);
}

static void the_root_path_is_the_one_byte_key_slash(void **state) {
    (void)state;
    assert_key("/", "/", 1);
}

static void percent_20_decodes_to_a_space(void **state) {
    (void)state;
    assert_key("/hello%20world", "/hello world", 12);
    assert_key("/%20", "/ ", 2);
}

static void utf8_escapes_decode_to_their_bytes(void **state) {
    (void)state;
    /* "/café": é is c3 a9 in UTF-8. */
    assert_key("/caf%C3%A9", "/caf\xc3\xa9", 6);
    /* "/日本": two three-byte characters. */
    assert_key("/%E6%97%A5%E6%9C%AC", "/\xe6\x97\xa5\xe6\x9c\xac", 7);
}

static void raw_utf8_bytes_pass_through_unchanged(void **state) {
    (void)state;
    assert_key("/caf\xc3\xa9", "/caf\xc3\xa9", 6);
}

static void nested_slashes_are_kept(void **state) {
    (void)state;
    assert_key("/a/b/c/d.txt", "/a/b/c/d.txt", 12);
    assert_key("//double//slash/", "//double//slash/", 16);
    /* An escaped slash is just a slash byte in the key. */
    assert_key("/a%2Fb", "/a/b", 4);
}

static void plus_stays_plus(void **state) {
    (void)state;
    /* A path is not a form body: '+' is not a space. */
    assert_key("/a+b", "/a+b", 4);
    assert_key("/+", "/+", 2);
    assert_key("/a%2Bb", "/a+b", 4);
}

static void upper_and_lower_case_hex_decode_alike(void **state) {
    (void)state;
    assert_key("/caf%c3%a9", "/caf\xc3\xa9", 6);
    assert_key("/caf%C3%A9", "/caf\xc3\xa9", 6);
    assert_key("/caf%c3%A9", "/caf\xc3\xa9", 6);
    assert_key("/%fF%Ff", "/\xff\xff", 3);
    assert_key("/%41%61", "/Aa", 3);
}

static void a_lone_percent_is_a_bad_escape(void **state) {
    (void)state;
    assert_rejected("/%", KEY_BAD_ESCAPE);
    assert_rejected("/a%", KEY_BAD_ESCAPE);
}

static void a_percent_with_one_hex_digit_is_a_bad_escape(void **state) {
    (void)state;
    assert_rejected("/%4", KEY_BAD_ESCAPE);
    assert_rejected("/x%4", KEY_BAD_ESCAPE);
}

static void a_percent_with_non_hex_digits_is_a_bad_escape(void **state) {
    (void)state;
    assert_rejected("/%zz", KEY_BAD_ESCAPE);
    assert_rejected("/%4z", KEY_BAD_ESCAPE);
    assert_rejected("/%z4", KEY_BAD_ESCAPE);
    assert_rejected("/%g0", KEY_BAD_ESCAPE);
    assert_rejected("/% 1", KEY_BAD_ESCAPE);
    assert_rejected("/%%41", KEY_BAD_ESCAPE);
    assert_rejected("/ok/%zz/more", KEY_BAD_ESCAPE);
}

static void an_escape_cut_short_by_rawlen_is_a_bad_escape(void **state) {
    struct decoded d;

    (void)state;
    /* The escape's digits lie beyond rawlen, so they are not the key's. */
    assert_int_equal(decode_n("/%41", 3, &d), KEY_BAD_ESCAPE);
    assert_int_equal(decode_n("/%41", 2, &d), KEY_BAD_ESCAPE);
}

static void only_rawlen_bytes_are_read(void **state) {
    struct decoded d;

    (void)state;
    assert_int_equal(decode_n("/abc", 2, &d), KEY_OK);
    assert_int_equal(d.len, 2);
    assert_memory_equal(d.out, "/a", 2);
}

static void percent_00_is_rejected_as_a_nul(void **state) {
    (void)state;
    assert_rejected("/%00", KEY_NUL);
    assert_rejected("/a%00b", KEY_NUL);
}

static void a_raw_nul_byte_is_rejected_as_a_nul(void **state) {
    struct decoded d;

    (void)state;
    assert_int_equal(decode_n("/a\0b", 4, &d), KEY_NUL);
}

static void a_path_without_a_leading_slash_is_rejected(void **state) {
    struct decoded d;

    (void)state;
    assert_rejected("wehave", KEY_BAD_START);
    assert_rejected("%2Fwehave", KEY_BAD_START);
    assert_rejected(" /wehave", KEY_BAD_START);
    assert_int_equal(decode_n("", 0, &d), KEY_BAD_START);
}

/* fill_key -- raw = "/" followed by nbytes-1 copies of 'x'. */
static size_t fill_key(char *raw, size_t nbytes) {
    raw[0] = '/';
    memset(raw + 1, 'x', nbytes - 1);
    return nbytes;
}

/* fill_escaped_key -- raw = "/" followed by nbytes-1 copies of "%41", a
 * path that decodes to nbytes bytes from about three times as many. */
static size_t fill_escaped_key(char *raw, size_t nbytes) {
    raw[0] = '/';
    for (size_t i = 1; i < nbytes; i++)
        memcpy(raw + 1 + 3 * (i - 1), "%41", 3);
    return 1 + 3 * (nbytes - 1);
}

static void a_key_of_exactly_1024_raw_bytes_is_accepted(void **state) {
    static char raw[MKV_KEY_MAX];
    static struct decoded d;
    size_t n = fill_key(raw, MKV_KEY_MAX);

    (void)state;
    assert_int_equal(MKV_KEY_MAX, 1024);
    assert_int_equal(decode_n(raw, n, &d), KEY_OK);
    assert_int_equal(d.len, 1024);
    assert_memory_equal(d.out, raw, 1024);
}

static void a_key_of_1025_raw_bytes_is_too_long(void **state) {
    static char raw[MKV_KEY_MAX + 1];
    static struct decoded d;
    size_t n = fill_key(raw, MKV_KEY_MAX + 1);

    (void)state;
    assert_int_equal(decode_n(raw, n, &d), KEY_TOO_LONG);
}

static void a_key_of_1024_bytes_after_decoding_escapes_is_accepted(void **state) {
    static char raw[3 * MKV_KEY_MAX];
    static char want[MKV_KEY_MAX];
    static struct decoded d;
    size_t n = fill_escaped_key(raw, MKV_KEY_MAX);

    (void)state;
    assert_int_equal(n, 3070);
    want[0] = '/';
    memset(want + 1, 'A', MKV_KEY_MAX - 1);
    assert_int_equal(decode_n(raw, n, &d), KEY_OK);
    assert_int_equal(d.len, 1024);
    assert_memory_equal(d.out, want, 1024);
}

static void a_key_of_1025_bytes_after_decoding_escapes_is_too_long(void **state) {
    static char raw[3 * (MKV_KEY_MAX + 1)];
    static struct decoded d;
    size_t n = fill_escaped_key(raw, MKV_KEY_MAX + 1);

    (void)state;
    assert_int_equal(n, 3073);
    assert_int_equal(decode_n(raw, n, &d), KEY_TOO_LONG);
}

static void a_very_long_path_is_too_long_without_overrunning(void **state) {
    static char raw[8 * MKV_KEY_MAX];
    static struct decoded d;
    size_t n = fill_key(raw, sizeof(raw));

    (void)state;
    assert_int_equal(decode_n(raw, n, &d), KEY_TOO_LONG);
}

static void every_status_has_a_sentence(void **state) {
    (void)state;
    assert_string_equal(key_status_text(KEY_OK), "ok");
    assert_true(strlen(key_status_text(KEY_BAD_START)) > 0);
    assert_true(strlen(key_status_text(KEY_BAD_ESCAPE)) > 0);
    assert_true(strlen(key_status_text(KEY_NUL)) > 0);
    assert_true(strlen(key_status_text(KEY_TOO_LONG)) > 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(plain_path_is_the_key_including_its_leading_slash),
        cmocka_unit_test(the_root_path_is_the_one_byte_key_slash),
        cmocka_unit_test(percent_20_decodes_to_a_space),
        cmocka_unit_test(utf8_escapes_decode_to_their_bytes),
        cmocka_unit_test(raw_utf8_bytes_pass_through_unchanged),
        cmocka_unit_test(nested_slashes_are_kept),
        cmocka_unit_test(plus_stays_plus),
        cmocka_unit_test(upper_and_lower_case_hex_decode_alike),
        cmocka_unit_test(a_lone_percent_is_a_bad_escape),
        cmocka_unit_test(a_percent_with_one_hex_digit_is_a_bad_escape),
        cmocka_unit_test(a_percent_with_non_hex_digits_is_a_bad_escape),
        cmocka_unit_test(an_escape_cut_short_by_rawlen_is_a_bad_escape),
        cmocka_unit_test(only_rawlen_bytes_are_read),
        cmocka_unit_test(percent_00_is_rejected_as_a_nul),
        cmocka_unit_test(a_raw_nul_byte_is_rejected_as_a_nul),
        cmocka_unit_test(a_path_without_a_leading_slash_is_rejected),
        cmocka_unit_test(a_key_of_exactly_1024_raw_bytes_is_accepted),
        cmocka_unit_test(a_key_of_1025_raw_bytes_is_too_long),
        cmocka_unit_test(a_key_of_1024_bytes_after_decoding_escapes_is_accepted),
        cmocka_unit_test(a_key_of_1025_bytes_after_decoding_escapes_is_too_long),
        cmocka_unit_test(a_very_long_path_is_too_long_without_overrunning),
        cmocka_unit_test(every_status_has_a_sentence),
    };
    return cmocka_run_group_tests_name("key", tests, NULL, NULL);
}
