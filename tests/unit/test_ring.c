/* test_ring.c -- the upload ring: every reader gets every byte, in
 * order, at its own pace, and the writer never overwrites unread bytes;
 * and its threaded wrapper (stream.c): an abort frees a blocked writer
 * and blocked readers, an end lets readers drain first. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "mkv.h"
#include "ring.h"
#include "stream.h"

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

/* Three readers taking 1, 7 and 64 bytes a turn through a ring of 13
 * bytes that wraps thousands of times: at every step the writer's room is
 * exactly what the slowest reader has freed, and every reader gets the
 * bytes in order. */
static void readers_at_three_speeds_each_get_every_byte(void **state) {
    enum { TOTAL = 50000, CAP = 13 };
    static const size_t pace[3] = {1, 7, 64};
    struct ring r;
    uint64_t wrote = 0, got[3] = {0, 0, 0};
    unsigned char in[5], out[64];
    int bad = 0, bad_room = 0;
    (void)state;
    assert_int_equal(ring_init(&r, CAP, 3), MKV_OK);
    while (got[0] < TOTAL) {
        size_t want = sizeof(in), slowest = 0;
        if (wrote + want > TOTAL) want = (size_t)(TOTAL - wrote);
        for (size_t i = 0; i < want; i++) in[i] = (unsigned char)((wrote + i) % 253);
        wrote += ring_write(&r, (char *)in, want);
        for (int k = 0; k < 3; k++) {
            size_t n = ring_read(&r, k, (char *)out, pace[k]);
            for (size_t i = 0; i < n; i++)
                bad += out[i] != (unsigned char)((got[k] + i) % 253);
            got[k] += n;
            if (ring_unread(&r, k) > slowest) slowest = ring_unread(&r, k);
        }
        bad_room += ring_room(&r) != CAP - slowest;
    }
    assert_int_equal(wrote, TOTAL);
    assert_int_equal(got[1], TOTAL);
    assert_int_equal(got[2], TOTAL);
    assert_int_equal(bad, 0);
    assert_int_equal(bad_room, 0);
    assert_true(r.head > 1000 * CAP); /* it did wrap, many times */
    ring_free(&r);
}

/* A reader that reads exactly up to the end of the buffer, then across
 * it in one call: the copy is split at the wrap, not cut short. */
static void one_read_spans_the_wrap(void **state) {
    struct ring r;
    char out[8];
    (void)state;
    assert_int_equal(ring_init(&r, 6, 1), MKV_OK);
    assert_int_equal(ring_write(&r, "abcd", 4), 4);
    assert_int_equal(ring_read(&r, 0, out, 4), 4);
    assert_int_equal(ring_write(&r, "efghij", 6), 6); /* 2 at the end, 4 at the start */
    assert_int_equal(ring_read(&r, 0, out, 3), 3);
    assert_memory_equal(out, "efg", 3);
    assert_int_equal(ring_read(&r, 0, out, 8), 3);
    assert_memory_equal(out, "hij", 3);
    ring_free(&r);
}

/* The threaded side: a thread blocked in stream_write or stream_read,
 * and what it got back. */
struct side {
    struct stream *s;
    int reader;                   /* -1: the writer */
    long result;
    volatile int done;
};

static void *side_run(void *arg) {
    struct side *d = arg;
    char b[64];
    if (d->reader < 0) {
        d->result = stream_write(d->s, "0123456789abcdef0123", 20);
    } else {
        long n = 0, total = 0;
        while ((n = stream_read(d->s, d->reader, b, sizeof(b))) > 0) total += n;
        d->result = n < 0 ? -1 : total;
    }
    __atomic_store_n(&d->done, 1, __ATOMIC_SEQ_CST);
    return NULL;
}

/* finished -- wait up to 2 s for d's thread to return. */
static int finished(struct side *d) {
    struct timespec nap = {0, 1000000L};
    for (int i = 0; i < 2000; i++) {
        if (__atomic_load_n(&d->done, __ATOMIC_SEQ_CST)) return 1;
        nanosleep(&nap, NULL);
    }
    return 0;
}

/* Static: should an abort fail to wake them, the threads left blocked
 * still point at live memory when the test fails. */
static struct stream abort_stream;
static struct side abort_sides[3];

static void an_abort_frees_the_blocked_writer_and_readers(void **state) {
    struct stream *s = &abort_stream;
    pthread_t t[3];
    (void)state;
    /* 16 bytes of room for a 20-byte write: the writer blocks on a full
     * ring, reader 1 has all of it waiting, reader 2 never reads. */
    assert_int_equal(stream_init(s, 16, 2), MKV_OK);
    abort_sides[0] = (struct side){s, -1, 0, 0};
    assert_int_equal(pthread_create(&t[0], NULL, side_run, &abort_sides[0]), 0);
    {
        struct timespec nap = {0, 50 * 1000000L};
        nanosleep(&nap, NULL);
    }
    assert_false(abort_sides[0].done); /* still waiting for room */
    abort_sides[1] = (struct side){s, 1, 0, 0};
    assert_int_equal(pthread_create(&t[1], NULL, side_run, &abort_sides[1]), 0);
    stream_abort(s);
    if (!finished(&abort_sides[0])) fail_msg("stream_abort left the writer blocked");
    if (!finished(&abort_sides[1])) fail_msg("stream_abort left a reader blocked");
    assert_int_equal(abort_sides[0].result, MKV_ERR);
    assert_int_equal(abort_sides[1].result, -1);
    /* After the abort, bytes still in the ring are not handed out. */
    abort_sides[2] = (struct side){s, 0, 0, 0};
    assert_int_equal(pthread_create(&t[2], NULL, side_run, &abort_sides[2]), 0);
    if (!finished(&abort_sides[2])) fail_msg("a read after stream_abort blocked");
    assert_int_equal(abort_sides[2].result, -1);
    for (int i = 0; i < 3; i++) pthread_join(t[i], NULL);
    stream_destroy(s);
}

static struct stream finish_stream;
static struct side finish_sides[2];

static void readers_drain_what_was_written_before_the_end(void **state) {
    struct stream *s = &finish_stream;
    pthread_t t[2];
    (void)state;
    assert_int_equal(stream_init(s, 8, 2), MKV_OK);
    for (int k = 0; k < 2; k++) {
        finish_sides[k] = (struct side){s, k, 0, 0};
        assert_int_equal(pthread_create(&t[k], NULL, side_run, &finish_sides[k]), 0);
    }
    /* 100 bytes through 8 of room: the writer waits for both readers. */
    for (int i = 0; i < 10; i++) assert_int_equal(stream_write(s, "0123456789", 10), MKV_OK);
    stream_finish(s);
    for (int k = 0; k < 2; k++) {
        if (!finished(&finish_sides[k])) fail_msg("reader %d did not see the end", k);
        assert_int_equal(finish_sides[k].result, 100);
        pthread_join(t[k], NULL);
    }
    stream_destroy(s);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_new_ring_is_empty_with_all_its_room),
        cmocka_unit_test(the_writer_takes_only_what_fits),
        cmocka_unit_test(bytes_come_out_in_order_across_the_wrap),
        cmocka_unit_test(the_slowest_reader_holds_the_room),
        cmocka_unit_test(a_long_stream_reaches_every_reader_whole),
        cmocka_unit_test(readers_at_three_speeds_each_get_every_byte),
        cmocka_unit_test(one_read_spans_the_wrap),
        cmocka_unit_test(an_abort_frees_the_blocked_writer_and_readers),
        cmocka_unit_test(readers_drain_what_was_written_before_the_end),
    };
    return cmocka_run_group_tests_name("ring", tests, NULL, NULL);
}
