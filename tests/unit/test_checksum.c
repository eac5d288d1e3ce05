/* test_checksum.c -- S3's additional checksums against the standard check
 * values ("123456789": CRC32 cbf43926, CRC32C e3069283) and Python's
 * zlib/hashlib for the base64 forms. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "checksum.h"
#include "mkv.h"

static void sum(enum checksum_kind k, const char *parts[], char out[48]) {
    struct checksum c;
    assert_int_equal(checksum_init(&c, k), MKV_OK);
    for (int i = 0; parts[i]; i++) checksum_update(&c, parts[i], strlen(parts[i]));
    checksum_base64(&c, out);
    checksum_free(&c);
}

static void the_check_values_come_out_whole_or_in_pieces(void **state) {
    const char *whole[] = {"123456789", NULL}, *pieces[] = {"1234", "", "56789", NULL};
    char a[48], b[48];
    (void)state;
    sum(CHECKSUM_CRC32, whole, a);
    sum(CHECKSUM_CRC32, pieces, b);
    assert_string_equal(a, "y/Q5Jg=="); /* cbf43926 */
    assert_string_equal(b, a);
    sum(CHECKSUM_CRC32C, whole, a);
    assert_string_equal(a, "4waSgw=="); /* e3069283 */
    sum(CHECKSUM_SHA1, whole, a);
    assert_string_equal(a, "98O8HYCOBHMq32eZZczDTKeuNEE=");
    sum(CHECKSUM_SHA256, whole, a);
    assert_string_equal(a, "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU=");
}

static void header_names_pick_the_kind(void **state) {
    (void)state;
    assert_int_equal(checksum_kind_of("x-amz-checksum-crc32"), CHECKSUM_CRC32);
    assert_int_equal(checksum_kind_of("X-Amz-Checksum-CRC32C"), CHECKSUM_CRC32C);
    assert_int_equal(checksum_kind_of("x-amz-checksum-sha256"), CHECKSUM_SHA256);
    assert_int_equal(checksum_kind_of("x-amz-checksum-crc64nvme"), CHECKSUM_NONE);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_check_values_come_out_whole_or_in_pieces),
        cmocka_unit_test(header_names_pick_the_kind),
    };
    return cmocka_run_group_tests_name("checksum", tests, NULL, NULL);
}
