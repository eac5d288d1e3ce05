/* test_volspace.c -- the volume's free-space line, as mkv-volume writes
 * it and the index reads it, and the sizes health and 507s print. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "space.h"
#include "volspace.h"

static void the_line_has_a_fixed_width(void **state) {
    char line[VOLSPACE_LINE + 1];
    (void)state;
    volspace_format(0, 0, line);
    assert_string_equal(line, "free 00000000000000000000 total 00000000000000000000\n");
    volspace_format(123456, 1048576, line);
    assert_string_equal(line, "free 00000000000000123456 total 00000000000001048576\n");
    volspace_format(UINT64_MAX, UINT64_MAX, line);
    assert_int_equal(strlen(line), VOLSPACE_LINE);
}

static void a_line_reads_back_as_written(void **state) {
    char line[VOLSPACE_LINE + 1];
    uint64_t free, total;
    (void)state;
    volspace_format(4096, 1 << 20, line);
    assert_int_equal(volspace_parse(line, VOLSPACE_LINE, &free, &total), MKV_OK);
    assert_true(free == 4096 && total == 1 << 20);
    volspace_format(UINT64_MAX - 1, UINT64_MAX, line);
    assert_int_equal(volspace_parse(line, VOLSPACE_LINE, &free, &total), MKV_OK);
    assert_true(free == UINT64_MAX - 1 && total == UINT64_MAX);
}

static void anything_else_is_refused(void **state) {
    static const char *const bad[] = {
        "",
        "free 00000000000000123456 total 00000000000001048576",   /* no newline */
        "free 00000000000000123456 total 00000000000001048576\n\n",
        "free  0000000000000123456 total 00000000000001048576\n",
        "free 0000000000000012345x total 00000000000001048576\n",
        "FREE 00000000000000123456 total 00000000000001048576\n",
        "free 00000000000000123456 total 0000000000000104857\n\n",
        "free 99999999999999999999 total 99999999999999999999\n", /* > 2^64 */
        "free 00000000000000000002 total 00000000000000000001\n", /* free > total */
        "<html><body>404 Not Found</body></html>\n",
    };
    uint64_t free, total;
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(volspace_parse(bad[i], strlen(bad[i]), &free, &total), MKV_ERR);
}

static void a_torn_line_is_refused(void **state) {
    char line[VOLSPACE_LINE + 1];
    uint64_t free, total;
    (void)state;
    volspace_format(1, 2, line);
    for (size_t n = 0; n < VOLSPACE_LINE; n++)
        assert_int_equal(volspace_parse(line, n, &free, &total), MKV_ERR);
}

static void a_full_mark_lasts_until_room_or_a_stored_value(void **state) {
    uint64_t need;
    (void)state;
    assert_int_equal(volspace_full(3, NULL), 0);
    volspace_mark_full(3, 300000);
    assert_int_equal(volspace_full(3, &need), 1);
    assert_true(need == 300000);
    volspace_seen(3, 299999);
    assert_int_equal(volspace_full(3, NULL), 1);
    volspace_seen(3, 300000);
    assert_int_equal(volspace_full(3, NULL), 0);
    volspace_mark_full(3, 1);
    volspace_stored(3);
    assert_int_equal(volspace_full(3, NULL), 0);
    volspace_mark_full(-1, 5); /* out of range: ignored */
    volspace_mark_full(64, 5);
    assert_int_equal(volspace_full(64, NULL), 0);
}

static void sizes_read_as_people_write_them(void **state) {
    char out[32];
    (void)state;
    space_human(0, out, sizeof(out));
    assert_string_equal(out, "0 B");
    space_human(1023, out, sizeof(out));
    assert_string_equal(out, "1023 B");
    space_human(1024, out, sizeof(out));
    assert_string_equal(out, "1 KiB");
    space_human(65536, out, sizeof(out));
    assert_string_equal(out, "64 KiB");
    space_human(1536, out, sizeof(out));
    assert_string_equal(out, "1.5 KiB");
    space_human(64ULL << 20, out, sizeof(out));
    assert_string_equal(out, "64 MiB");
    space_human(12ULL << 20 | 1, out, sizeof(out));
    assert_string_equal(out, "12 MiB");
    space_human((uint64_t)(1.2 * (1ULL << 30)), out, sizeof(out));
    assert_string_equal(out, "1.2 GiB");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_line_has_a_fixed_width),
        cmocka_unit_test(a_line_reads_back_as_written),
        cmocka_unit_test(anything_else_is_refused),
        cmocka_unit_test(a_torn_line_is_refused),
        cmocka_unit_test(a_full_mark_lasts_until_room_or_a_stored_value),
        cmocka_unit_test(sizes_read_as_people_write_them),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
