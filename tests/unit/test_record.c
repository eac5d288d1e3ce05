/* test_record.c -- the index's value for a key, read and written back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "record.h"

/* set_volumes -- r names exactly the n volumes given. */
static void set_volumes(struct record *r, int n, ...) {
    va_list ap;
    record_clear_volumes(r);
    va_start(ap, n);
    for (int i = 0; i < n; i++) assert_int_equal(record_add_volume(r, va_arg(ap, const char *)), MKV_OK);
    va_end(ap);
}

/* md5("hello"), from Python: hashlib.md5(b"hello").hexdigest() */
#define HELLO_MD5 "5d41402abc4b2a76b9719d911017c592"

/* decode_str -- record_decode a NUL-terminated string. */
static int decode_str(const char *s, struct record *r, char *err) {
    return record_decode(s, strlen(s), r, err);
}

/* assert_rejected_n -- data[0..len) is not a record, and err says so. */
static void assert_rejected_n(const char *data, size_t len) {
    static struct record r;
    char err[MKV_ERRLEN];

    err[0] = '\0';
    assert_int_equal(record_decode(data, len, &r, err), MKV_ERR);
    assert_true(strlen(err) > 0);
}

static void assert_rejected(const char *s) {
    assert_rejected_n(s, strlen(s));
}

/* assert_round_trip -- s decodes, and encodes back to exactly s. */
static void assert_round_trip(const char *s) {
    static struct record r;
    static char out[RECORD_MAX];
    char err[MKV_ERRLEN];
    int n;

    assert_int_equal(decode_str(s, &r, err), MKV_OK);
    n = record_encode(&r, out, err);
    assert_int_equal(n, (int)strlen(s));
    assert_memory_equal(out, s, strlen(s));
}

/* volume_of -- buf = n copies of c, NUL-terminated. */
static char *volume_of(char *buf, size_t n, char c) {
    memset(buf, c, n);
    buf[n] = '\0';
    return buf;
}

static void a_pymkv_record_is_one_bare_volume(void **state) {
    static struct record r;
    char err[MKV_ERRLEN];

    (void)state;
    assert_int_equal(decode_str("localhost:3001", &r, err), MKV_OK);
    assert_int_equal(r.deleted, 0);
    assert_string_equal(r.hash, "");
    assert_int_equal(r.nvolumes, 1);
    assert_string_equal(record_volume(&r, 0), "localhost:3001");
}

static void a_record_may_name_several_volumes(void **state) {
    static struct record r;
    char err[MKV_ERRLEN];

    (void)state;
    assert_int_equal(decode_str("localhost:3001,localhost:3002,10.0.0.1:80",
                                &r, err), MKV_OK);
    assert_int_equal(r.deleted, 0);
    assert_string_equal(r.hash, "");
    assert_int_equal(r.nvolumes, 3);
    assert_string_equal(record_volume(&r, 0), "localhost:3001");
    assert_string_equal(record_volume(&r, 1), "localhost:3002");
    assert_string_equal(record_volume(&r, 2), "10.0.0.1:80");
}

static void a_hash_prefix_gives_the_values_md5(void **state) {
    static struct record r;
    char err[MKV_ERRLEN];

    (void)state;
    assert_int_equal(decode_str("HASH" HELLO_MD5 "localhost:3001,localhost:3002",
                                &r, err), MKV_OK);
    assert_int_equal(r.deleted, 0);
    assert_string_equal(r.hash, HELLO_MD5);
    assert_int_equal(r.nvolumes, 2);
    assert_string_equal(record_volume(&r, 0), "localhost:3001");
    assert_string_equal(record_volume(&r, 1), "localhost:3002");
}

static void a_deleted_prefix_marks_a_deleted_key(void **state) {
    static struct record r;
    char err[MKV_ERRLEN];

    (void)state;
    assert_int_equal(decode_str("DELETEDlocalhost:3001", &r, err), MKV_OK);
    assert_int_equal(r.deleted, 1);
    assert_string_equal(r.hash, "");
    assert_int_equal(r.nvolumes, 1);
    assert_string_equal(record_volume(&r, 0), "localhost:3001");
}

static void a_writing_prefix_marks_a_write_in_progress(void **state) {
    static struct record r;
    char err[MKV_ERRLEN], out[RECORD_MAX];

    (void)state;
    assert_int_equal(decode_str("WRITINGHASH" HELLO_MD5 "a:1,b:2", &r, err), MKV_OK);
    assert_int_equal(r.writing, 1);
    assert_int_equal(r.deleted, 0);
    assert_string_equal(r.hash, HELLO_MD5);
    assert_int_equal(r.nvolumes, 2);
    assert_round_trip("WRITINGlocalhost:3001");
    r.deleted = 1; /* both states at once cannot be written */
    assert_int_equal(record_encode(&r, out, err), MKV_ERR);
    assert_rejected("DELETEDWRITINGlocalhost:3001"); /* one prefix at most */
}

static void deleted_comes_before_hash(void **state) {
    static struct record r;
    char err[MKV_ERRLEN];

    (void)state;
    assert_int_equal(decode_str("DELETEDHASH" HELLO_MD5 "localhost:3001",
                                &r, err), MKV_OK);
    assert_int_equal(r.deleted, 1);
    assert_string_equal(r.hash, HELLO_MD5);
    assert_int_equal(r.nvolumes, 1);
    assert_string_equal(record_volume(&r, 0), "localhost:3001");
}

static void a_flat_prefix_marks_the_flat_name(void **state) {
    struct record r;
    char err[MKV_ERRLEN];

    (void)state;
    assert_int_equal(decode_str("FLAT" "a:1", &r, err), MKV_OK);
    assert_int_equal(r.flat, 1);
    assert_int_equal(r.deleted, 0);
    assert_string_equal(record_volume(&r, 0), "a:1");
    assert_int_equal(decode_str("DELETEDFLATHASH" HELLO_MD5 "a:1,b:2", &r, err), MKV_OK);
    assert_int_equal(r.flat, 1);
    assert_int_equal(r.deleted, 1);
    assert_string_equal(r.hash, HELLO_MD5);
    assert_int_equal(r.nvolumes, 2);
    assert_int_equal(decode_str("WRITINGFLATb:2", &r, err), MKV_OK);
    assert_int_equal(r.flat, 1);
    assert_int_equal(r.writing, 1);
    /* Without it: the nested name, as pymkv's records. */
    assert_int_equal(decode_str("HASH" HELLO_MD5 "a:1", &r, err), MKV_OK);
    assert_int_equal(r.flat, 0);
    assert_round_trip("FLATlocalhost:3001");
    assert_round_trip("DELETEDFLATHASH" HELLO_MD5 "localhost:3001,localhost:3002");
    /* It comes after the state and before the hash, nowhere else. */
    assert_rejected("HASH" HELLO_MD5 "FLATa:1");
    assert_rejected("FLATDELETEDa:1");
    assert_rejected("FLATFLATa:1");
    assert_rejected("FLAT");
    /* A volume may not begin with it, or it would read as the marker. */
    assert_int_equal(record_volume_ok("FLATBOX:3001"), 0);
}

static void decoding_a_new_record_forgets_the_old_one(void **state) {
    static struct record r;
    char err[MKV_ERRLEN];

    (void)state;
    assert_int_equal(decode_str("DELETEDHASH" HELLO_MD5 "a:1,b:2", &r, err),
                     MKV_OK);
    assert_int_equal(decode_str("c:3", &r, err), MKV_OK);
    assert_int_equal(r.deleted, 0);
    assert_string_equal(r.hash, "");
    assert_int_equal(r.nvolumes, 1);
    assert_string_equal(record_volume(&r, 0), "c:3");
}

static void records_encode_back_byte_for_byte(void **state) {
    (void)state;
    assert_round_trip("localhost:3001");
    assert_round_trip("localhost:3001,localhost:3002,localhost:3003");
    assert_round_trip("HASH" HELLO_MD5 "localhost:3001");
    assert_round_trip("HASH" HELLO_MD5 "localhost:3001,localhost:3002");
    assert_round_trip("DELETEDlocalhost:3001");
    assert_round_trip("DELETEDHASH" HELLO_MD5 "localhost:3001,10.0.0.1:80");
    assert_round_trip("[::1]:3001");
}

static void a_record_built_by_hand_encodes_to_minikeyvalues_layout(void **state) {
    static struct record r;
    static char out[RECORD_MAX];
    static const char want[] = "DELETEDHASH" HELLO_MD5 "localhost:3001,localhost:3002";
    char err[MKV_ERRLEN];

    (void)state;
    memset(&r, 0, sizeof(r));
    r.deleted = 1;
    strcpy(r.hash, HELLO_MD5);
    set_volumes(&r, 2, "localhost:3001", "localhost:3002");
    assert_int_equal(record_encode(&r, out, err), (int)strlen(want));
    assert_memory_equal(out, want, strlen(want));
}

static void a_record_without_hash_or_deleted_encodes_as_pymkv(void **state) {
    static struct record r;
    static char out[RECORD_MAX];
    char err[MKV_ERRLEN];

    (void)state;
    memset(&r, 0, sizeof(r));
    set_volumes(&r, 1, "localhost:3001");
    assert_int_equal(record_encode(&r, out, err), 14);
    assert_memory_equal(out, "localhost:3001", 14);
}

static void sixteen_volumes_are_allowed(void **state) {
    static struct record r;
    static char out[RECORD_MAX];
    static const char sixteen[] =
        "v:1,v:2,v:3,v:4,v:5,v:6,v:7,v:8,"
        "v:9,v:10,v:11,v:12,v:13,v:14,v:15,v:16";
    char err[MKV_ERRLEN];

    (void)state;
    assert_int_equal(RECORD_MAX_VOLUMES, 16);
    assert_int_equal(decode_str(sixteen, &r, err), MKV_OK);
    assert_int_equal(r.nvolumes, 16);
    assert_string_equal(record_volume(&r, 15), "v:16");
    assert_int_equal(record_encode(&r, out, err), (int)strlen(sixteen));
    assert_memory_equal(out, sixteen, strlen(sixteen));
}

static void the_largest_record_round_trips(void **state) {
    static char data[RECORD_MAX];
    static char out[RECORD_MAX];
    static struct record r;
    char err[MKV_ERRLEN];
    size_t n = 0;

    (void)state;
    /* DELETED, a hash and sixteen 255-byte volumes: RECORD_MAX - 1. */
    memcpy(data, "DELETEDHASH" HELLO_MD5, 43);
    n = 43;
    for (int i = 0; i < RECORD_MAX_VOLUMES; i++) {
        if (i > 0) data[n++] = ',';
        memset(data + n, 'a' + i, RECORD_VOLUME_MAX);
        n += RECORD_VOLUME_MAX;
    }
    assert_int_equal(n, 43 + 16 * 255 + 15);
    assert_true(n <= RECORD_MAX);
    assert_int_equal(record_decode(data, n, &r, err), MKV_OK);
    assert_int_equal(r.nvolumes, 16);
    assert_int_equal(strlen(record_volume(&r, 15)), 255);
    assert_int_equal(record_encode(&r, out, err), (int)n);
    assert_memory_equal(out, data, n);
}

static void an_empty_record_is_rejected(void **state) {
    (void)state;
    assert_rejected_n("", 0);
}

static void empty_volumes_are_rejected(void **state) {
    (void)state;
    assert_rejected(",");
    assert_rejected("a,,b");
    assert_rejected("a,");
    assert_rejected(",a");
    assert_rejected("localhost:3001,");
}

static void a_prefix_without_a_volume_is_rejected(void **state) {
    (void)state;
    assert_rejected("DELETED");
    assert_rejected("HASH" HELLO_MD5);
    assert_rejected("DELETEDHASH" HELLO_MD5);
}

static void a_volume_with_a_space_is_rejected(void **state) {
    (void)state;
    assert_rejected("local host:3001");
    assert_rejected("localhost:3001 ");
    assert_rejected("localhost:3001,localhost:3002 ");
    assert_rejected("localhost:3001\t");
}

static void a_volume_with_a_nul_byte_is_rejected(void **state) {
    (void)state;
    assert_rejected_n("localhost\0:3001", 15);
    assert_rejected_n("localhost:3001\0", 15);
}

static void a_volume_with_a_byte_above_ascii_is_rejected(void **state) {
    (void)state;
    assert_rejected("localhost\x80:3001");
    assert_rejected("caf\xc3\xa9:3001");
    assert_rejected("localhost:3001\x7f");
}

static void a_hash_of_31_hex_digits_is_rejected(void **state) {
    (void)state;
    /* One digit short: the volume's 'l' is not a hex digit. */
    assert_rejected("HASH5d41402abc4b2a76b9719d911017c59localhost:3001");
    /* One digit short and nothing after it. */
    assert_rejected("HASH5d41402abc4b2a76b9719d911017c59");
}

static void a_hash_in_uppercase_hex_is_rejected(void **state) {
    (void)state;
    assert_rejected("HASH5D41402ABC4B2A76B9719D911017C592localhost:3001");
    assert_rejected("HASH5d41402abc4b2a76b9719d911017c59Blocalhost:3001");
}

static void more_than_sixteen_volumes_are_rejected(void **state) {
    (void)state;
    assert_rejected("v:1,v:2,v:3,v:4,v:5,v:6,v:7,v:8,"
                    "v:9,v:10,v:11,v:12,v:13,v:14,v:15,v:16,v:17");
}

static void a_255_byte_volume_is_accepted_and_256_rejected(void **state) {
    static struct record r;
    char vol[RECORD_VOLUME_MAX + 2];
    char err[MKV_ERRLEN];

    (void)state;
    volume_of(vol, 255, 'a');
    assert_int_equal(decode_str(vol, &r, err), MKV_OK);
    assert_int_equal(strlen(record_volume(&r, 0)), 255);
    volume_of(vol, 256, 'a');
    assert_rejected(vol);
}

static void valid_volume_strings(void **state) {
    char vol[RECORD_VOLUME_MAX + 1];

    (void)state;
    assert_true(record_volume_ok("localhost:3001"));
    assert_true(record_volume_ok("10.0.0.1:80"));
    assert_true(record_volume_ok("[::1]:3001"));
    assert_true(record_volume_ok("a"));
    assert_true(record_volume_ok(volume_of(vol, 255, 'a')));
}

static void invalid_volume_strings(void **state) {
    char vol[RECORD_VOLUME_MAX + 2];

    (void)state;
    assert_false(record_volume_ok(""));
    assert_false(record_volume_ok("local host:3001"));
    assert_false(record_volume_ok("a:1,b:2"));
    assert_false(record_volume_ok("localhost:3001\t"));
    assert_false(record_volume_ok("localhost:3001\n"));
    assert_false(record_volume_ok("localhost\x80:3001"));
    assert_false(record_volume_ok("localhost\x7f:3001"));
    assert_false(record_volume_ok(volume_of(vol, 256, 'a')));
}

static void encode_rejects_a_record_without_volumes(void **state) {
    static struct record r;
    static char out[RECORD_MAX];
    char err[MKV_ERRLEN];

    (void)state;
    memset(&r, 0, sizeof(r));
    err[0] = '\0';
    assert_int_equal(record_encode(&r, out, err), MKV_ERR);
    assert_true(strlen(err) > 0);
}

static void encode_rejects_more_than_sixteen_volumes(void **state) {
    static struct record r;
    static char out[RECORD_MAX];
    char err[MKV_ERRLEN];

    (void)state;
    memset(&r, 0, sizeof(r));
    for (int i = 0; i < RECORD_MAX_VOLUMES; i++)
        assert_int_equal(record_add_volume(&r, "v:1"), MKV_OK);
    assert_int_equal(record_add_volume(&r, "v:1"), MKV_ERR); /* a 17th */
    assert_int_equal(r.nvolumes, RECORD_MAX_VOLUMES);
    r.nvolumes = RECORD_MAX_VOLUMES + 1; /* as a caller's bug would */
    err[0] = '\0';
    assert_int_equal(record_encode(&r, out, err), MKV_ERR);
    assert_true(strlen(err) > 0);
}

static void encode_rejects_an_invalid_volume(void **state) {
    static struct record r;
    static char out[RECORD_MAX];
    char err[MKV_ERRLEN];

    (void)state;
    memset(&r, 0, sizeof(r));
    set_volumes(&r, 2, "localhost:3001", "local host:3002");
    err[0] = '\0';
    assert_int_equal(record_encode(&r, out, err), MKV_ERR);
    assert_true(strlen(err) > 0);

    set_volumes(&r, 2, "localhost:3001", "a:1,b:2");
    assert_int_equal(record_encode(&r, out, err), MKV_ERR);
    set_volumes(&r, 2, "localhost:3001", "");
    assert_int_equal(record_encode(&r, out, err), MKV_ERR);
}

static void encode_rejects_a_malformed_hash(void **state) {
    static struct record r;
    static char out[RECORD_MAX];
    char err[MKV_ERRLEN];

    (void)state;
    memset(&r, 0, sizeof(r));
    set_volumes(&r, 1, "localhost:3001");
    strcpy(r.hash, "5D41402ABC4B2A76B9719D911017C592");
    assert_int_equal(record_encode(&r, out, err), MKV_ERR);
    strcpy(r.hash, "5d41402abc4b2a76b9719d911017c59");
    assert_int_equal(record_encode(&r, out, err), MKV_ERR);
}

static void a_copy_by_assignment_owns_its_volumes(void **state) {
    static struct record a, b;
    char err[MKV_ERRLEN];

    (void)state;
    assert_int_equal(decode_str("HASH" HELLO_MD5 "a:1,b:2", &a, err), MKV_OK);
    b = a;
    memset(&a, 'x', sizeof(a)); /* nothing of b may point into a */
    assert_int_equal(b.nvolumes, 2);
    assert_string_equal(record_volume(&b, 0), "a:1");
    assert_string_equal(record_volume(&b, 1), "b:2");
    assert_string_equal(b.hash, HELLO_MD5);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_copy_by_assignment_owns_its_volumes),
        cmocka_unit_test(a_pymkv_record_is_one_bare_volume),
        cmocka_unit_test(a_record_may_name_several_volumes),
        cmocka_unit_test(a_hash_prefix_gives_the_values_md5),
        cmocka_unit_test(a_deleted_prefix_marks_a_deleted_key),
        cmocka_unit_test(a_writing_prefix_marks_a_write_in_progress),
        cmocka_unit_test(deleted_comes_before_hash),
        cmocka_unit_test(a_flat_prefix_marks_the_flat_name),
        cmocka_unit_test(decoding_a_new_record_forgets_the_old_one),
        cmocka_unit_test(records_encode_back_byte_for_byte),
        cmocka_unit_test(a_record_built_by_hand_encodes_to_minikeyvalues_layout),
        cmocka_unit_test(a_record_without_hash_or_deleted_encodes_as_pymkv),
        cmocka_unit_test(sixteen_volumes_are_allowed),
        cmocka_unit_test(the_largest_record_round_trips),
        cmocka_unit_test(an_empty_record_is_rejected),
        cmocka_unit_test(empty_volumes_are_rejected),
        cmocka_unit_test(a_prefix_without_a_volume_is_rejected),
        cmocka_unit_test(a_volume_with_a_space_is_rejected),
        cmocka_unit_test(a_volume_with_a_nul_byte_is_rejected),
        cmocka_unit_test(a_volume_with_a_byte_above_ascii_is_rejected),
        cmocka_unit_test(a_hash_of_31_hex_digits_is_rejected),
        cmocka_unit_test(a_hash_in_uppercase_hex_is_rejected),
        cmocka_unit_test(more_than_sixteen_volumes_are_rejected),
        cmocka_unit_test(a_255_byte_volume_is_accepted_and_256_rejected),
        cmocka_unit_test(valid_volume_strings),
        cmocka_unit_test(invalid_volume_strings),
        cmocka_unit_test(encode_rejects_a_record_without_volumes),
        cmocka_unit_test(encode_rejects_more_than_sixteen_volumes),
        cmocka_unit_test(encode_rejects_an_invalid_volume),
        cmocka_unit_test(encode_rejects_a_malformed_hash),
    };
    return cmocka_run_group_tests_name("record", tests, NULL, NULL);
}
