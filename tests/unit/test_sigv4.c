/* test_sigv4.c -- Signature Version 4 against AWS's published S3 examples
 * (GET /test.txt with a Range, and the first chunk of the aws-chunked PUT
 * example), with the signing key recomputed independently in Python. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "mkv.h"
#include "sigv4.h"

#define SECRET "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
#define SCOPE "20130524/us-east-1/s3/aws4_request"

static void hex(const unsigned char *k, char *out) {
    for (int i = 0; i < 32; i++) snprintf(out + 2 * i, 3, "%02x", k[i]);
}

static void the_signing_key_chains_four_hmacs(void **state) {
    unsigned char key[32];
    char h[65];
    (void)state;
    sigv4_key(SECRET, "20130524", "us-east-1", "s3", key);
    hex(key, h);
    assert_string_equal(h, "dbb893acc010964918f1fd433add87c70e8b0db6be30c1fbeafefa5ec6ba8378");
}

static void the_get_object_example_signs_as_aws_says(void **state) {
    struct sigv4_header hdrs[] = {
        {"Host", "examplebucket.s3.amazonaws.com"},
        {"Range", "bytes=0-9"},
        {"x-amz-content-sha256", SIGV4_EMPTY_SHA256},
        {"x-amz-date", "20130524T000000Z"},
        {"User-Agent", "not signed"},
    };
    struct buf b = {0};
    char err[MKV_ERRLEN], sig[65];
    unsigned char key[32];
    (void)state;
    assert_int_equal(sigv4_canonical(&b, "GET", "/test.txt", "", 0,
                                     "host;range;x-amz-content-sha256;x-amz-date", hdrs, 5,
                                     SIGV4_EMPTY_SHA256, err),
                     MKV_OK);
    sigv4_key(SECRET, "20130524", "us-east-1", "s3", key);
    sigv4_sign(key, "20130524T000000Z", SCOPE, b.p, b.len, sig);
    assert_string_equal(sig, "f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41");
    buf_free(&b);
}

static void a_chunk_signature_chains_on_the_seed(void **state) {
    static char data[65536];
    char dh[65], sig[65];
    unsigned char key[32];
    (void)state;
    memset(data, 'a', sizeof(data));
    sigv4_sha256_hex(data, sizeof(data), dh);
    sigv4_key(SECRET, "20130524", "us-east-1", "s3", key);
    sigv4_chunk_sign(key, "20130524T000000Z", SCOPE,
                     "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9", dh, sig);
    assert_string_equal(sig, "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648");
}

static void the_query_is_sorted_and_encoded_once(void **state) {
    struct sigv4_header hdrs[] = {{"host", "h"}};
    struct buf b = {0};
    char err[MKV_ERRLEN];
    (void)state;
    assert_int_equal(sigv4_canonical(&b, "GET", "/b/a%20b/c~d!", "prefix=x%2Fy&list-type=2&a",
                                     0, "host", hdrs, 1, "UNSIGNED-PAYLOAD", err),
                     MKV_OK);
    assert_string_equal(b.p, "GET\n/b/a%20b/c~d%21\na=&list-type=2&prefix=x%2Fy\nhost:h\n\nhost\n"
                             "UNSIGNED-PAYLOAD");
    buf_free(&b);
}

static void a_presigned_query_leaves_out_its_signature(void **state) {
    struct sigv4_header hdrs[] = {{"Host", "  h   with  spaces "}};
    struct buf b = {0};
    char err[MKV_ERRLEN];
    (void)state;
    assert_int_equal(sigv4_canonical(&b, "GET", "/k", "X-Amz-Signature=abc&X-Amz-Date=1", 1,
                                     "host", hdrs, 1, "UNSIGNED-PAYLOAD", err),
                     MKV_OK);
    assert_string_equal(b.p, "GET\n/k\nX-Amz-Date=1\nhost:h with spaces\n\nhost\nUNSIGNED-PAYLOAD");
    buf_free(&b);
}

static void a_missing_signed_header_or_bad_escape_is_refused(void **state) {
    struct sigv4_header hdrs[] = {{"host", "h"}};
    struct buf b = {0};
    char err[MKV_ERRLEN];
    (void)state;
    assert_int_equal(sigv4_canonical(&b, "GET", "/k", "", 0, "host;x-amz-date", hdrs, 1, "x",
                                     err),
                     MKV_ERR);
    buf_free(&b);
    assert_int_equal(sigv4_canonical(&b, "GET", "/k%zz", "", 0, "host", hdrs, 1, "x", err),
                     MKV_ERR);
    buf_free(&b);
}

static void signatures_compare_whole(void **state) {
    (void)state;
    assert_true(sigv4_equal("abc", "abc"));
    assert_false(sigv4_equal("abc", "abd"));
    assert_false(sigv4_equal("abc", "ab"));
    assert_false(sigv4_equal("", ""));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_signing_key_chains_four_hmacs),
        cmocka_unit_test(the_get_object_example_signs_as_aws_says),
        cmocka_unit_test(a_chunk_signature_chains_on_the_seed),
        cmocka_unit_test(the_query_is_sorted_and_encoded_once),
        cmocka_unit_test(a_presigned_query_leaves_out_its_signature),
        cmocka_unit_test(a_missing_signed_header_or_bad_escape_is_refused),
        cmocka_unit_test(signatures_compare_whole),
    };
    return cmocka_run_group_tests_name("sigv4", tests, NULL, NULL);
}
