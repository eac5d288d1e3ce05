/* test_creds.c -- the credentials file: keys found, comments and blanks
 * skipped, bad lines refused with their number, the old table kept. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "creds.h"
#include "mkv.h"

static char path[64];

static void write_file(const char *text) {
    FILE *f;
    snprintf(path, sizeof(path), "/tmp/test_creds.%d", (int)getpid());
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void keys_are_found_and_comments_skipped(void **state) {
    char err[MKV_ERRLEN], secret[CREDS_SECRET_MAX + 1];
    (void)state;
    write_file("# the team's keys\n\nAKID1:secret/one+x\r\n  AKID2:s:with:colons  \n");
    assert_int_equal(creds_load(path, err), MKV_OK);
    assert_int_equal(creds_count(), 2);
    assert_int_equal(creds_secret("AKID1", secret), 1);
    assert_string_equal(secret, "secret/one+x");
    assert_int_equal(creds_secret("AKID2", secret), 1);
    assert_string_equal(secret, "s:with:colons");
    assert_int_equal(creds_secret("AKID3", secret), 0);
    unlink(path);
}

static void a_bad_file_is_refused_and_the_old_keys_stay(void **state) {
    char err[MKV_ERRLEN], secret[CREDS_SECRET_MAX + 1];
    (void)state;
    write_file("OK1:s1\n");
    assert_int_equal(creds_load(path, err), MKV_OK);
    write_file("OK2:s2\nno colon here\n");
    assert_int_equal(creds_load(path, err), MKV_ERR);
    assert_non_null(strstr(err, "line 2"));
    write_file("A:1\nA:2\n");
    assert_int_equal(creds_load(path, err), MKV_ERR);
    write_file("# nothing\n");
    assert_int_equal(creds_load(path, err), MKV_ERR);
    write_file("bad id!:s\n");
    assert_int_equal(creds_load(path, err), MKV_ERR);
    assert_int_equal(creds_secret("OK1", secret), 1);
    assert_int_equal(creds_secret("OK2", secret), 0);
    unlink(path);
    assert_int_equal(creds_load(path, err), MKV_ERR); /* gone */
    creds_free();
    assert_int_equal(creds_count(), 0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(keys_are_found_and_comments_skipped),
        cmocka_unit_test(a_bad_file_is_refused_and_the_old_keys_stay),
    };
    return cmocka_run_group_tests_name("creds", tests, NULL, NULL);
}
