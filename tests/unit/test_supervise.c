/* test_supervise.c -- the restart backoff: 100 ms doubling to 5 s, and
 * back to 100 ms after nginx has run for 10 s. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "supervise.h"

static void a_crash_loop_waits_100_ms_doubling_up_to_5_s(void **state) {
    static const long want[] = {100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000};
    long backoff = SUPERVISE_BACKOFF_MIN_MS;
    (void)state;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        assert_int_equal(supervise_backoff(&backoff, 0), want[i]);
    assert_int_equal(backoff, 5000);
}

static void a_run_of_10_s_resets_the_backoff(void **state) {
    long backoff = SUPERVISE_BACKOFF_MIN_MS;
    (void)state;
    for (int i = 0; i < 5; i++) supervise_backoff(&backoff, 500);
    assert_int_equal(backoff, 3200);
    assert_int_equal(supervise_backoff(&backoff, 10000), 100);
    assert_int_equal(backoff, 200);
    assert_int_equal(supervise_backoff(&backoff, 10000), 100);
}

static void a_run_just_short_of_10_s_keeps_doubling(void **state) {
    long backoff = 1600;
    (void)state;
    assert_int_equal(supervise_backoff(&backoff, 9999), 1600);
    assert_int_equal(supervise_backoff(&backoff, 9999), 3200);
    assert_int_equal(supervise_backoff(&backoff, 9999), 5000);
}

static void the_figures_are_those_the_readme_gives(void **state) {
    (void)state;
    assert_int_equal(SUPERVISE_BACKOFF_MIN_MS, 100);
    assert_int_equal(SUPERVISE_BACKOFF_MAX_MS, 5000);
    assert_int_equal(SUPERVISE_STABLE_MS, 10000);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_crash_loop_waits_100_ms_doubling_up_to_5_s),
        cmocka_unit_test(a_run_of_10_s_resets_the_backoff),
        cmocka_unit_test(a_run_just_short_of_10_s_keeps_doubling),
        cmocka_unit_test(the_figures_are_those_the_readme_gives),
    };
    return cmocka_run_group_tests_name("supervise", tests, NULL, NULL);
}
