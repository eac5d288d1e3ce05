/* test_placement.c -- which volume holds a key and where, as pymkv says.
 *
 * Every expected index and path below was computed independently with
 * Python's hashlib and base64 (not with the code under test):
 *
 *   vol  = max(range(len(vs)), key=lambda i:
 *              (hashlib.md5(vs[i].encode() + k).digest(), -i))
 *   d    = hashlib.md5(k).digest()
 *   path = "/%02x/%02x/%s" % (d[0], d[1], base64.b64encode(k).decode())
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "placement.h"

/* The volume sets every key is placed over, in this order. */
static char *one[] = {"localhost:3001"};
static char *two[] = {"localhost:3001", "localhost:3002"};
static char *three[] = {"localhost:3001", "localhost:3002", "localhost:3003"};
static char *five[] = {"localhost:3001", "localhost:3002", "localhost:3003",
                       "localhost:3004", "localhost:3005"};
static char *tennet[] = {"10.0.0.1:80", "10.0.0.2:80", "10.0.0.3:80"};

/* The five-volume set in another order; the same volume string must win. */
static char *five_shuffled[] = {"localhost:3004", "localhost:3002",
                                "localhost:3005", "localhost:3001",
                                "localhost:3003"};

struct volume_set {
    char **volumes;
    int n;
};

static const struct volume_set sets[] = {
    {one, 1}, {two, 2}, {three, 3}, {five, 5}, {tennet, 3},
};
#define NSETS (sizeof(sets) / sizeof(sets[0]))

struct vector {
    const char *key;
    size_t keylen;
    int volume[NSETS];   /* chosen index in one, two, three, five, tennet */
    const char *path;
    int pathlen;
};

static const struct vector vectors[] = {
    /* pymkv's README example. */
    {"/wehave", 7, {0, 0, 0, 0, 1}, "/60/08/L3dlaGF2ZQ==", 19},
    /* A space, as "/hello%20world" decodes. */
    {"/hello world", 12, {0, 0, 0, 0, 1}, "/da/7b/L2hlbGxvIHdvcmxk", 23},
    /* UTF-8 "/café". */
    {"/caf\xc3\xa9", 6, {0, 0, 0, 3, 1}, "/fa/9b/L2NhZsOp", 15},
    /* UTF-8 "/日本語/ファイル": its base64 holds both '+' and '/'. */
    {"/\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e/"
     "\xe3\x83\x95\xe3\x82\xa1\xe3\x82\xa4\xe3\x83\xab", 23, {0, 0, 0, 3, 1},
     "/41/79/L+aXpeacrOiqni/jg5XjgqHjgqTjg6s=", 39},
    /* Nested slashes. */
    {"/a/b/c/d.txt", 12, {0, 1, 1, 1, 0}, "/38/54/L2EvYi9jL2QudHh0", 23},
    /* ASCII whose base64 holds '+' and '/'. */
    {"/~~~>>>???", 10, {0, 0, 0, 0, 0}, "/a7/24/L35+fj4+Pj8/Pw==", 23},
    /* The one-byte key. */
    {"/", 1, {0, 0, 0, 0, 2}, "/66/66/Lw==", 11},
    {"/1", 2, {0, 0, 0, 0, 1}, "/5b/58/LzE=", 11},
    /* '+' stays '+' in a key. */
    {"/x+y=z", 6, {0, 0, 2, 4, 1}, "/92/62/L3greT16", 15},
    {"/some/key.jpg", 13, {0, 0, 0, 4, 0}, "/83/14/L3NvbWUva2V5LmpwZw==", 27},
    {"/hello", 6, {0, 1, 1, 1, 1}, "/3e/d1/L2hlbGxv", 15},
    {"/photos/cat.png", 15, {0, 1, 1, 3, 2}, "/ba/3a/L3Bob3Rvcy9jYXQucG5n", 27},
    {"/key1", 5, {0, 1, 2, 2, 0}, "/36/da/L2tleTE=", 15},
    {"/mp3/song.mp3", 13, {0, 1, 2, 3, 2}, "/40/99/L21wMy9zb25nLm1wMw==", 27},
    {"/b", 2, {0, 0, 2, 2, 0}, "/97/aa/L2I=", 11},
    /* A long key: 188 bytes, whose base64 is one 252-byte name. */
    {"/logs/2024/01/01/app-server-"
     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
     "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
     "0123456789abcdef0123456789abcdef", 188, {0, 1, 2, 2, 1},
     "/6e/18/"
     "L2xvZ3MvMjAyNC8wMS8wMS9hcHAtc2VydmVyLTAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2"
     "Nzg5YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5"
     "YWJjZGVmMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWYwMTIzNDU2Nzg5YWJj"
     "ZGVmMDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=", 259},
};
#define NVECTORS (sizeof(vectors) / sizeof(vectors[0]))

static void the_vector_table_is_consistent(void **state) {
    (void)state;
    /* Guard the literals themselves: each key's length matches. */
    for (size_t i = 0; i < NVECTORS; i++) {
        assert_int_equal(strlen(vectors[i].key), vectors[i].keylen);
        assert_int_equal(strlen(vectors[i].path), (size_t)vectors[i].pathlen);
    }
    assert_true(NVECTORS >= 12);
}

static void a_single_volume_holds_every_key(void **state) {
    (void)state;
    for (size_t i = 0; i < NVECTORS; i++)
        assert_int_equal(placement_volume(one, 1, vectors[i].key,
                                          vectors[i].keylen), 0);
}

static void each_key_goes_to_the_volume_pymkv_picks(void **state) {
    (void)state;
    for (size_t i = 0; i < NVECTORS; i++) {
        for (size_t s = 0; s < NSETS; s++) {
            int got = placement_volume(sets[s].volumes, sets[s].n,
                                       vectors[i].key, vectors[i].keylen);
            if (got != vectors[i].volume[s])
                print_error("key %zu (%s) over set %zu: want %d, got %d\n",
                            i, vectors[i].key, s, vectors[i].volume[s], got);
            assert_int_equal(got, vectors[i].volume[s]);
        }
    }
}

static void the_order_of_the_volume_list_does_not_change_the_volume(void **state) {
    (void)state;
    for (size_t i = 0; i < NVECTORS; i++) {
        /* sets[3] is the five-volume set. */
        const char *want = five[vectors[i].volume[3]];
        int got = placement_volume(five_shuffled, 5, vectors[i].key,
                                   vectors[i].keylen);
        assert_in_range(got, 0, 4);
        assert_string_equal(five_shuffled[got], want);
    }
}

static void the_first_of_two_equal_volumes_wins_a_tie(void **state) {
    static char *twice[] = {"localhost:3001", "localhost:3002", "localhost:3002"};
    static char *first[] = {"localhost:3002", "localhost:3002", "localhost:3001"};

    (void)state;
    /* "/hello" goes to localhost:3002 over {3001, 3002}; listed twice,
     * both copies score the same and the first copy is chosen. */
    assert_int_equal(placement_volume(twice, 3, "/hello", 6), 1);
    assert_int_equal(placement_volume(first, 3, "/hello", 6), 0);
}

static void each_key_is_stored_at_pymkvs_path(void **state) {
    char out[PLACEMENT_PATH_MAX];
    char err[MKV_ERRLEN];

    (void)state;
    for (size_t i = 0; i < NVECTORS; i++) {
        int n = placement_path(vectors[i].key, vectors[i].keylen, out, err);
        assert_int_equal(n, vectors[i].pathlen);
        assert_string_equal(out, vectors[i].path);
    }
}

static void only_keylen_bytes_of_the_key_count(void **state) {
    char out[PLACEMENT_PATH_MAX], err[MKV_ERRLEN];

    (void)state;
    /* The first six bytes of "/hello world" are the key "/hello". */
    assert_int_equal(placement_volume(five, 5, "/hello world", 6), 1);
    assert_int_equal(placement_path("/hello world", 6, out, err), 15);
    assert_string_equal(out, "/3e/d1/L2hlbGxv");
}

/* key_of -- key = "/" followed by n-1 copies of c. */
static void key_of(char *key, size_t n, char c) {
    key[0] = '/';
    memset(key + 1, c, n - 1);
}

static void a_189_byte_key_fits_in_one_252_byte_name(void **state) {
    char key[189], want[PLACEMENT_PATH_MAX], out[PLACEMENT_PATH_MAX];
    char err[MKV_ERRLEN];

    (void)state;
    /* base64("/" + 188 * "a") = "L2Fh" + 62 * "YWFh": 252 bytes, no '/'
     * (checked with Python), the longest name base64 can make <= 255. */
    key_of(key, sizeof(key), 'a');
    strcpy(want, "/35/63/L2Fh");
    for (int i = 0; i < 62; i++)
        strcat(want, "YWFh");
    assert_int_equal(strlen(want), 7 + 252);
    assert_int_equal(placement_path(key, sizeof(key), out, err), 259);
    assert_string_equal(out, want);
}

static void a_190_byte_key_needs_a_256_byte_name_and_is_refused(void **state) {
    char key[190], out[PLACEMENT_PATH_MAX], err[MKV_ERRLEN];

    (void)state;
    key_of(key, sizeof(key), 'a');
    err[0] = '\0';
    assert_int_equal(placement_path(key, sizeof(key), out, err), MKV_ERR);
    assert_true(strlen(err) > 0);
}

static void a_200_byte_key_of_the_letter_a_is_refused(void **state) {
    char key[200], out[PLACEMENT_PATH_MAX], err[MKV_ERRLEN];

    (void)state;
    memset(key, 'a', sizeof(key));
    err[0] = '\0';
    assert_int_equal(placement_path(key, sizeof(key), out, err), MKV_ERR);
    assert_true(strlen(err) > 0);

    key_of(key, sizeof(key), 'a');
    err[0] = '\0';
    assert_int_equal(placement_path(key, sizeof(key), out, err), MKV_ERR);
    assert_true(strlen(err) > 0);
}

static void a_slash_in_the_base64_splits_the_name(void **state) {
    char key[192], want[PLACEMENT_PATH_MAX], out[PLACEMENT_PATH_MAX];
    char err[MKV_ERRLEN];

    (void)state;
    /* base64("/??" + 189 * "a") = "Lz8/" + 63 * "YWFh": 256 bytes in
     * all, but names of 3 and 252 bytes, so it can be stored. */
    memcpy(key, "/??", 3);
    memset(key + 3, 'a', sizeof(key) - 3);
    strcpy(want, "/0a/e3/Lz8/");
    for (int i = 0; i < 63; i++)
        strcat(want, "YWFh");
    assert_int_equal(placement_path(key, sizeof(key), out, err), 263);
    assert_string_equal(out, want);
}

static void a_name_after_a_slash_longer_than_255_is_refused(void **state) {
    char key[195], out[PLACEMENT_PATH_MAX], err[MKV_ERRLEN];

    (void)state;
    /* base64("/??" + 192 * "a") = "Lz8/" + 256 bytes without a '/'. */
    memcpy(key, "/??", 3);
    memset(key + 3, 'a', sizeof(key) - 3);
    err[0] = '\0';
    assert_int_equal(placement_path(key, sizeof(key), out, err), MKV_ERR);
    assert_true(strlen(err) > 0);
}

static void the_longest_key_fills_the_path_buffer_exactly(void **state) {
    char key[MKV_KEY_MAX], want[PLACEMENT_PATH_MAX], out[PLACEMENT_PATH_MAX];
    char err[MKV_ERRLEN];

    (void)state;
    /* base64("/" + 1023 * "?") = "Lz8/" + 340 * "Pz8/" + "Pw==": 1368
     * bytes, a '/' every fourth, so every name is short. */
    key_of(key, sizeof(key), '?');
    strcpy(want, "/de/c0/Lz8/");
    for (int i = 0; i < 340; i++)
        strcat(want, "Pz8/");
    strcat(want, "Pw==");
    assert_int_equal(strlen(want), PLACEMENT_PATH_MAX - 1);
    assert_int_equal(placement_path(key, sizeof(key), out, err), 1375);
    assert_string_equal(out, want);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_vector_table_is_consistent),
        cmocka_unit_test(a_single_volume_holds_every_key),
        cmocka_unit_test(each_key_goes_to_the_volume_pymkv_picks),
        cmocka_unit_test(the_order_of_the_volume_list_does_not_change_the_volume),
        cmocka_unit_test(the_first_of_two_equal_volumes_wins_a_tie),
        cmocka_unit_test(each_key_is_stored_at_pymkvs_path),
        cmocka_unit_test(only_keylen_bytes_of_the_key_count),
        cmocka_unit_test(a_189_byte_key_fits_in_one_252_byte_name),
        cmocka_unit_test(a_190_byte_key_needs_a_256_byte_name_and_is_refused),
        cmocka_unit_test(a_200_byte_key_of_the_letter_a_is_refused),
        cmocka_unit_test(a_slash_in_the_base64_splits_the_name),
        cmocka_unit_test(a_name_after_a_slash_longer_than_255_is_refused),
        cmocka_unit_test(the_longest_key_fills_the_path_buffer_exactly),
    };
    return cmocka_run_group_tests_name("placement", tests, NULL, NULL);
}
