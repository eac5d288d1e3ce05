/* test_ring.c -- the upload ring: every reader gets every byte, in
 * order, at its own pace, and the writer never overwrites unread bytes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mkv.h"
#include "ring.h"

static void a_new_ring_is_empty_with_all_its_room(void **state) {
    struct ring r;
    (void)state;
    assert_int_equal(ring_init(&r, 16, 3), MKV_OK);
    assert_int_equal(ring_room(&r), 16);
    for (int i = 0; i < 3; i++) assert_int_equal(ring_unread(&r, i), 0);
    ring_free(&r);
}

static void the_writer_takes_only_what_fits(void **state) {
    struct ring r;
    char out[32];
    (void)state;
    assert_int_equal(ring_init(&r, 8, 1), MKV_OK);
    assert_int_equal(ring_write(&r, "0123456789", 10), 8);
    assert_int_equal(ring_room(&r), 0);
    assert_int_equal(ring_write(&r, "x", 1), 0);
    assert_int_equal(ring_read(&r, 0, out, sizeof(out)), 8);
    assert_memory_equal(out, "01234567", 8);
    assert_int_equal(ring_read(&r, 0, out, sizeof(out)), 0);
    ring_free(&r);
}

static void bytes_come_out_in_order_across_the_wrap(void **state) {
    struct ring r;
    char out[8];
    (void)state;
    assert_int_equal(ring_init(&r, 8, 1), MKV_OK);
    assert_int_equal(ring_write(&r, "abcdef", 6), 6);
    assert_int_equal(ring_read(&r, 0, out, 5), 5);
    assert_memory_equal(out, "abcde", 5);
    /* head at 6, tail at 5: "ghijklm" wraps past the end of the buffer */
    assert_int_equal(ring_write(&r, "ghijklm", 7), 7);
    assert_int_equal(ring_room(&r), 0);
    assert_int_equal(ring_read(&r, 0, out, 8), 8);
    assert_memory_equal(out, "fghijklm", 8);
    ring_free(&r);
}

static void the_slowest_reader_holds_the_room(void **state) {
    struct ring r;
    char out[16];
    (void)state;
    assert_int_equal(ring_init(&r, 10, 2), MKV_OK);
    assert_int_equal(ring_write(&r, "0123456789", 10), 10);
    assert_int_equal(ring_read(&r, 0, out, 10), 10);
    assert_int_equal(ring_room(&r), 0); /* reader 1 has taken nothing */
    assert_int_equal(ring_read(&r, 1, out, 4), 4);
    assert_memory_equal(out, "0123", 4);
    assert_int_equal(ring_room(&r), 4);
    assert_int_equal(ring_unread(&r, 0), 0);
    assert_int_equal(ring_unread(&r, 1), 6);
    assert_int_equal(ring_write(&r, "abcdefgh", 8), 4);
    assert_int_equal(ring_read(&r, 1, out, 16), 10);
    assert_memory_equal(out, "456789abcd", 10);
    assert_int_equal(ring_read(&r, 0, out, 16), 4);
    assert_memory_equal(out, "abcd", 4);
    ring_free(&r);
}

/* A long stream in odd-sized pieces through a small ring, two readers
 * at different paces: both see exactly the bytes written. */
static void a_long_stream_reaches_every_reader_whole(void **state) {
    enum { TOTAL = 100000 };
    struct ring r;
    uint64_t wrote = 0, got[2] = {0, 0};
    unsigned char in[37], out[53];
    int bad = 0;
    (void)state;
    assert_int_equal(ring_init(&r, 61, 2), MKV_OK);
    while (got[0] < TOTAL || got[1] < TOTAL) {
        size_t n = 0, want = sizeof(in);
        if (wrote + want > TOTAL) want = (size_t)(TOTAL - wrote);
        for (size_t i = 0; i < want; i++) in[i] = (unsigned char)((wrote + i) * 7 % 251);
        wrote += ring_write(&r, (char *)in, want);
        for (int k = 0; k < 2; k++) {
            n = ring_read(&r, k, (char *)out, k == 0 ? sizeof(out) : 5);
            for (size_t i = 0; i < n; i++)
                bad += out[i] != (unsigned char)((got[k] + i) * 7 % 251);
            got[k] += n;
        }
    }
    assert_int_equal(wrote, TOTAL);
    assert_int_equal(bad, 0);
    ring_free(&r);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_new_ring_is_empty_with_all_its_room),
        cmocka_unit_test(the_writer_takes_only_what_fits),
        cmocka_unit_test(bytes_come_out_in_order_across_the_wrap),
        cmocka_unit_test(the_slowest_reader_holds_the_room),
        cmocka_unit_test(a_long_stream_reaches_every_reader_whole),
    };
    return cmocka_run_group_tests_name("ring", tests, NULL, NULL);
}
