/* test_gdbmdir.c -- GDBM's directory written by its changed pages
 * (gdbmdir.h): libgdbm's own calls reach this copy of _gdbm_full_write,
 * and a file put through many stores, deletes, directory doublings and a
 * reopen is byte for byte the file libgdbm writes alone, while most of
 * the directory's pages were left unwritten. */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "gdbmdir.h"

#define KEYS 60000

static char dir[] = "/tmp/test_gdbmdir.XXXXXX";

static GDBM_FILE open_file(const char *path, int flags) {
    /* Small blocks: many buckets, so a large directory from few keys. */
    GDBM_FILE db = gdbm_open(path, 512, flags | GDBM_NOMMAP | GDBM_NOLOCK, 0644, NULL);
    assert_non_null(db);
    assert_int_equal(gdbmdir_watch(db), MKV_OK);
    return db;
}

static void close_file(GDBM_FILE db) {
    gdbmdir_forget(db);
    assert_int_equal(gdbm_close(db), 0);
}

static void put(GDBM_FILE db, unsigned i) {
    char k[32], v[48];
    datum kd, vd;
    kd.dptr = k;
    kd.dsize = snprintf(k, sizeof(k), "/k/%08x", i * 2654435761u);
    vd.dptr = v;
    vd.dsize = snprintf(v, sizeof(v), "localhost:3001,value %u", i);
    assert_int_equal(gdbm_store(db, kd, vd, GDBM_REPLACE), 0);
}

static void del(GDBM_FILE db, unsigned i) {
    char k[32];
    datum kd;
    kd.dptr = k;
    kd.dsize = snprintf(k, sizeof(k), "/k/%08x", i * 2654435761u);
    assert_int_equal(gdbm_delete(db, kd), 0);
}

/* build -- the same writes into path, in two sessions. */
static void build(const char *path) {
    GDBM_FILE db = open_file(path, GDBM_NEWDB);
    for (unsigned i = 0; i < KEYS; i++) put(db, i);
    for (unsigned i = 0; i < KEYS; i += 3) del(db, i);
    close_file(db);
    db = open_file(path, GDBM_WRITER);
    for (unsigned i = KEYS; i < 2 * KEYS; i++) put(db, i);
    for (unsigned i = 1; i < 2 * KEYS; i += 7)
        if (i % 3 != 0) del(db, i);
    close_file(db);
}

/* slurp -- the whole file at path (*n bytes; free it). */
static char *slurp(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    char *p;
    long len;
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    len = ftell(f);
    assert_true(len > 0);
    rewind(f);
    p = malloc((size_t)len);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return p;
}

static void libgdbm_calls_this_copy(void **state) {
    (void)state;
    assert_ptr_equal(dlsym(RTLD_DEFAULT, "_gdbm_full_write"), (void *)_gdbm_full_write);
}

static void the_file_is_the_one_libgdbm_writes_alone(void **state) {
    char whole[64], paged[64];
    size_t na, nb;
    char *a, *b;
    unsigned long before;
    GDBM_FILE db;
    gdbm_count_t n;
    int bits = 0;

    (void)state;
    snprintf(whole, sizeof(whole), "%s/whole.db", dir);
    snprintf(paged, sizeof(paged), "%s/paged.db", dir);
    gdbmdir_tune(0, 4096);
    build(whole);
    before = gdbmdir_skipped();
    assert_int_equal(before, 0);
    gdbmdir_tune(1, 4096);
    build(paged);
    gdbmdir_tune(1, GDBMDIR_MIN);
    /* The directory was large and written by pages most of the time. */
    db = gdbm_open(paged, 0, GDBM_READER | GDBM_NOLOCK, 0644, NULL);
    assert_non_null(db);
    assert_int_equal(gdbm_setopt(db, GDBM_GETDIRDEPTH, &bits, sizeof(bits)), 0);
    assert_true((sizeof(off_t) << bits) >= 64 * 1024);
    assert_int_equal(gdbm_count(db, &n), 0);
    assert_true(n > KEYS);
    assert_int_equal(gdbm_close(db), 0);
    assert_true(gdbmdir_skipped() > 1000);
    a = slurp(whole, &na);
    b = slurp(paged, &nb);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na);
    free(a);
    free(b);
    unlink(whole);
    unlink(paged);
}

static void a_handle_not_watched_is_written_whole(void **state) {
    char path[64];
    unsigned long before = gdbmdir_skipped();
    GDBM_FILE db;

    (void)state;
    snprintf(path, sizeof(path), "%s/unwatched.db", dir);
    gdbmdir_tune(1, 4096);
    db = gdbm_open(path, 512, GDBM_NEWDB | GDBM_NOMMAP | GDBM_NOLOCK, 0644, NULL);
    assert_non_null(db);
    for (unsigned i = 0; i < 20000; i++) put(db, i);
    assert_int_equal(gdbm_close(db), 0);
    gdbmdir_tune(1, GDBMDIR_MIN);
    assert_int_equal(gdbmdir_skipped(), before);
    unlink(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(libgdbm_calls_this_copy),
        cmocka_unit_test(the_file_is_the_one_libgdbm_writes_alone),
        cmocka_unit_test(a_handle_not_watched_is_written_whole),
    };
    int rc;
    if (mkdtemp(dir) == NULL) return 1;
    rc = cmocka_run_group_tests(tests, NULL, NULL);
    rmdir(dir);
    return rc;
}
