/* test_opts.c -- mkv-index's command line, as a user would type it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "opts.h"

/* ARGV("mkv-index", "--port", "3001", ...) -- a NULL-terminated word list. */
#define ARGV(...) ((const char *const[]){__VA_ARGS__, NULL})

/* The last command line parsed. opts may keep pointers into argv (--index
 * does), so the writable copies live as long as the results are read.
 *
 * Every parse gets words never used before, as a real process's argv
 * would be: opts.c restarts getopt with optind = 1, and glibc then keeps
 * reading the previous argv through its saved position (see the skipped
 * test help_in_a_cluster_does_not_leak_into_the_next_parse). Reusing one
 * buffer would make unrelated tests fail on that one bug. */
static char words_arena[1 << 16];
static size_t words_used;
static struct {
    char *argv[64];
    int argc;
} cmdline;
static struct opts o;
static char err[MKV_ERRLEN];

/* parse -- copy words into fresh writable storage, build argv, run
 * opts_parse. */
static int parse(const char *const *words) {
    memset(&cmdline, 0, sizeof(cmdline));
    memset(err, 0, sizeof(err));
    for (cmdline.argc = 0; words[cmdline.argc] != NULL; cmdline.argc++) {
        size_t len = strlen(words[cmdline.argc]) + 1;
        assert_true(cmdline.argc < 63);
        assert_true(words_used + len <= sizeof(words_arena));
        memcpy(words_arena + words_used, words[cmdline.argc], len);
        cmdline.argv[cmdline.argc] = words_arena + words_used;
        words_used += len;
    }
    cmdline.argv[cmdline.argc] = NULL;
    return opts_parse(&o, cmdline.argc, cmdline.argv, err);
}

/* assert_rejected -- the command line fails, and err says why. */
static void assert_rejected(const char *const *words) {
    assert_int_equal(parse(words), MKV_ERR);
    assert_true(strlen(err) > 0);
}

static void min_free_defaults_to_64_mib_and_takes_suffixes(void **state) {
    (void)state;
    assert_int_equal(parse(ARGV("mkv-index", "localhost:3001")), MKV_OK);
    assert_true(o.min_free == 64ULL << 20);
    assert_int_equal(parse(ARGV("mkv-index", "--min-free", "0", "localhost:3001")), MKV_OK);
    assert_true(o.min_free == 0);
    assert_int_equal(parse(ARGV("mkv-index", "--min-free", "65536", "localhost:3001")),
                     MKV_OK);
    assert_true(o.min_free == 65536);
    assert_int_equal(parse(ARGV("mkv-index", "--min-free=64K", "localhost:3001")), MKV_OK);
    assert_true(o.min_free == 65536);
    assert_int_equal(parse(ARGV("mkv-index", "--min-free", "2M", "localhost:3001")), MKV_OK);
    assert_true(o.min_free == 2ULL << 20);
    assert_int_equal(parse(ARGV("mkv-index", "--min-free", "1G", "localhost:3001")), MKV_OK);
    assert_true(o.min_free == 1ULL << 30);
}

static void bad_min_free_values_are_refused(void **state) {
    (void)state;
    assert_rejected(ARGV("mkv-index", "--min-free", "", "localhost:3001"));
    assert_rejected(ARGV("mkv-index", "--min-free", "-1", "localhost:3001"));
    assert_rejected(ARGV("mkv-index", "--min-free", "12X", "localhost:3001"));
    assert_rejected(ARGV("mkv-index", "--min-free", "12KB", "localhost:3001"));
    assert_rejected(ARGV("mkv-index", "--min-free", "K", "localhost:3001"));
    assert_rejected(ARGV("mkv-index", "--min-free", "99999999999G", "localhost:3001"));
}

static void with_only_a_volume_every_setting_has_its_default(void **state) {
    (void)state;
    assert_int_equal(parse(ARGV("mkv-index", "localhost:3001")), MKV_OK);
    assert_int_equal(o.port, 3000);
    assert_string_equal(o.index, "/tmp/indexdb");
    assert_int_equal(o.verbose, 0);
    assert_int_equal(o.threads, (int)sysconf(_SC_NPROCESSORS_ONLN));
    assert_int_equal(o.workers_given, 0);
    assert_int_equal(o.max_connections, 16384);
    assert_int_equal(o.client_timeout_s, 30);
    assert_int_equal(o.connect_timeout_ms, 1000);
    assert_int_equal(o.voltimeout_ms, 1000);
    assert_int_equal(o.stall_timeout_ms, 5000);
    assert_int_equal(o.command, OPTS_SERVE);
    assert_int_equal(o.replicas, 1);
    assert_int_equal(o.subvolumes, 1);
    assert_int_equal(o.md5sum, 1);
    assert_int_equal(o.probe, 0);
    assert_int_equal(o.protect, 0);
    assert_int_equal(o.sync, 0);
    assert_int_equal(o.max_size, 0);
    assert_null(o.fallback);
    assert_int_equal(o.help, 0);
    assert_int_equal(o.version, 0);
    assert_int_equal(o.nvolumes, 1);
    assert_string_equal(o.volumes[0], "localhost:3001");
}

static void port_as_a_separate_argument(void **state) {
    (void)state;
    assert_int_equal(parse(ARGV("mkv-index", "--port", "3001", "localhost:3002")),
                     MKV_OK);
    assert_int_equal(o.port, 3001);
    assert_int_equal(o.nvolumes, 1);
    assert_string_equal(o.volumes[0], "localhost:3002");
}

static void port_after_an_equals_sign(void **state) {
    (void)state;
    assert_int_equal(parse(ARGV("mkv-index", "--port=3001", "localhost:3002")),
                     MKV_OK);
    assert_int_equal(o.port, 3001);
    assert_int_equal(o.nvolumes, 1);
}

static void ports_1_and_65535_are_the_limits(void **state) {
    (void)state;
    assert_int_equal(parse(ARGV("mkv-index", "--port", "1", "a:1")), MKV_OK);
    assert_int_equal(o.port, 1);
    assert_int_equal(parse(ARGV("mkv-index", "--port=65535", "a:1")), MKV_OK);
    assert_int_equal(o.port, 65535);
}

static void bad_ports_are_rejected(void **state) {
    static const char *const bad[] = {
        "0", "65536", "12x", "-1", "", " 1", "+1", "0x10", "3001 ",
        "99999999999999999999999",
    };
    char eq[64];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_rejected(ARGV("mkv-index", "--port", bad[i], "localhost:3001"));
        snprintf(eq, sizeof(eq), "--port=%s", bad[i]);
        assert_rejected(ARGV("mkv-index", eq, "localhost:3001"));
    }
}

static void index_sets_the_database_path(void **state) {
    (void)state;
    assert_int_equal(parse(ARGV("mkv-index", "--index", "/var/lib/mkv/indexdb",
                                "localhost:3001")), MKV_OK);
    assert_string_equal(o.index, "/var/lib/mkv/indexdb");
    assert_int_equal(parse(ARGV("mkv-index", "--index=/tmp/other",
                                "localhost:3001")), MKV_OK);
    assert_string_equal(o.index, "/tmp/other");
}

static void an_empty_index_path_is_rejected(void **state) {
    (void)state;
    assert_rejected(ARGV("mkv-index", "--index", "", "localhost:3001"));
    assert_rejected(ARGV("mkv-index", "--index=", "localhost:3001"));
}

static void v_turns_on_request_logging(void **state) {
    (void)state;
    assert_int_equal(parse(ARGV("mkv-index", "-v", "localhost:3001")), MKV_OK);
    assert_int_equal(o.verbose, 1);
    assert_int_equal(parse(ARGV("mkv-index", "--verbose", "localhost:3001")),
                     MKV_OK);
    assert_int_equal(o.verbose, 1);
}

static void threads_workers_and_timeouts_are_set(void **state) {
    (void)state;
    assert_int_equal(parse(ARGV("mkv-index", "--threads", "4", "--workers=128",
                                "--connect-timeout", "250", "--max-connections=20000",
                                "--client-timeout", "5",
                                "--voltimeout=30000", "localhost:3001")),
                     MKV_OK);
    assert_int_equal(o.threads, 4);
    assert_int_equal(o.workers_given, 1); /* obsolete: accepted, ignored */
    assert_int_equal(o.max_connections, 20000);
    assert_int_equal(o.client_timeout_s, 5);
    assert_int_equal(o.connect_timeout_ms, 250);
    assert_int_equal(o.voltimeout_ms, 30000);
}

static void zero_threads_workers_or_timeouts_are_rejected(void **state) {
    (void)state;
    assert_rejected(ARGV("mkv-index", "--threads", "0", "localhost:3001"));
    assert_rejected(ARGV("mkv-index", "--workers", "0", "localhost:3001"));
    assert_rejected(ARGV("mkv-index", "--max-connections", "0", "localhost:3001"));
    assert_rejected(ARGV("mkv-index", "--client-timeout", "0", "localhost:3001"));
    assert_rejected(ARGV("mkv-index", "--connect-timeout", "0", "localhost:3001"));
    assert_rejected(ARGV("mkv-index", "--voltimeout", "0", "localhost:3001"));
    assert_rejected(ARGV("mkv-index", "--threads", "many", "localhost:3001"));
}

static void volumes_as_separate_arguments_keep_their_order(void **state) {
    (void)state;
    assert_int_equal(parse(ARGV("mkv-index", "localhost:3001", "localhost:3002",
                                "10.0.0.1:80")), MKV_OK);
    assert_int_equal(o.nvolumes, 3);
    assert_string_equal(o.volumes[0], "localhost:3001");
    assert_string_equal(o.volumes[1], "localhost:3002");
    assert_string_equal(o.volumes[2], "10.0.0.1:80");
}

static void comma_separated_volumes_are_split(void **state) {
    (void)state;
    assert_int_equal(parse(ARGV("mkv-index", "a:1,b:2")), MKV_OK);
    assert_int_equal(o.nvolumes, 2);
    assert_string_equal(o.volumes[0], "a:1");
    assert_string_equal(o.volumes[1], "b:2");
}

static void comma_separated_and_separate_volumes_mix(void **state) {
    (void)state;
    assert_int_equal(parse(ARGV("mkv-index", "--port", "3000", "a:1,b:2", "c:3")),
                     MKV_OK);
    assert_int_equal(o.nvolumes, 3);
    assert_string_equal(o.volumes[0], "a:1");
    assert_string_equal(o.volumes[1], "b:2");
    assert_string_equal(o.volumes[2], "c:3");
}

static void splitting_a_volume_list_leaves_argv_alone(void **state) {
    (void)state;
    assert_int_equal(parse(ARGV("mkv-index", "a:1,b:2")), MKV_OK);
    assert_string_equal(cmdline.argv[1], "a:1,b:2");
}

static void a_volume_given_twice_is_rejected(void **state) {
    (void)state;
    assert_rejected(ARGV("mkv-index", "localhost:3001", "localhost:3001"));
    assert_rejected(ARGV("mkv-index", "localhost:3001,localhost:3001"));
    assert_rejected(ARGV("mkv-index", "a:1,b:2", "b:2"));
}

static void no_volumes_is_rejected(void **state) {
    (void)state;
    assert_rejected(ARGV("mkv-index"));
    assert_rejected(ARGV("mkv-index", "--port", "3001", "-v"));
}

static void malformed_volume_lists_are_rejected(void **state) {
    (void)state;
    assert_rejected(ARGV("mkv-index", ""));
    assert_rejected(ARGV("mkv-index", ","));
    assert_rejected(ARGV("mkv-index", ",a:1"));
    assert_rejected(ARGV("mkv-index", "a:1,"));
    assert_rejected(ARGV("mkv-index", "a:1,,b:2"));
    assert_rejected(ARGV("mkv-index", "a:1", ""));
}

static void volumes_that_are_not_host_port_are_rejected(void **state) {
    (void)state;
    assert_rejected(ARGV("mkv-index", "local host:3001"));
    assert_rejected(ARGV("mkv-index", "http://localhost:3001"));
    assert_rejected(ARGV("mkv-index", "localhost:3001/"));
    assert_rejected(ARGV("mkv-index", "caf\xc3\xa9:3001"));
}

static void sixty_four_volumes_are_allowed_and_sixty_five_are_not(void **state) {
    static char list[1024];
    size_t n = 0;

    (void)state;
    for (int i = 1; i <= OPTS_MAX_VOLUMES + 1; i++)
        n += (size_t)snprintf(list + n, sizeof(list) - n, "%sv:%d",
                              i > 1 ? "," : "", i);
    assert_rejected(ARGV("mkv-index", list));

    /* Cut the list after "v:64". */
    *strstr(list, ",v:65") = '\0';
    assert_int_equal(parse(ARGV("mkv-index", list)), MKV_OK);
    assert_int_equal(o.nvolumes, 64);
    assert_string_equal(o.volumes[63], "v:64");
}

static void an_unknown_option_is_rejected(void **state) {
    (void)state;
    assert_rejected(ARGV("mkv-index", "--bogus", "localhost:3001"));
    assert_rejected(ARGV("mkv-index", "--bogus=1", "localhost:3001"));
    assert_rejected(ARGV("mkv-index", "-x", "localhost:3001"));
}

static void an_option_missing_its_value_is_rejected(void **state) {
    (void)state;
    assert_rejected(ARGV("mkv-index", "--port"));
    assert_rejected(ARGV("mkv-index", "--index"));
}

static void help_sets_the_flag_without_needing_volumes(void **state) {
    (void)state;
    assert_int_equal(parse(ARGV("mkv-index", "--help")), MKV_OK);
    assert_int_equal(o.help, 1);
    assert_int_equal(o.version, 0);
    assert_int_equal(parse(ARGV("mkv-index", "-h")), MKV_OK);
    assert_int_equal(o.help, 1);
    assert_true(strlen(opts_usage()) > 0);
}

static void version_sets_the_flag_without_needing_volumes(void **state) {
    (void)state;
    assert_int_equal(parse(ARGV("mkv-index", "--version")), MKV_OK);
    assert_int_equal(o.version, 1);
    assert_int_equal(o.help, 0);
}

static void each_parse_starts_from_the_defaults(void **state) {
    (void)state;
    assert_int_equal(parse(ARGV("mkv-index", "-v", "--port", "4000", "--index",
                                "/x", "a:1,b:2")), MKV_OK);
    assert_int_equal(parse(ARGV("mkv-index", "c:3")), MKV_OK);
    assert_int_equal(o.port, 3000);
    assert_string_equal(o.index, "/tmp/indexdb");
    assert_int_equal(o.verbose, 0);
    assert_int_equal(o.nvolumes, 1);
    assert_string_equal(o.volumes[0], "c:3");
}

static void minikeyvalue_flags_are_parsed(void **state) {
    (void)state;
    assert_int_equal(parse(ARGV("mkv-index", "--replicas", "2", "--subvolumes=16",
                                "--md5sum=false", "--probe", "--protect", "--sync",
                                "--max-size", "1048576", "--fallback", "f:80",
                                "a:1", "b:2")),
                     MKV_OK);
    assert_int_equal(o.replicas, 2);
    assert_int_equal(o.subvolumes, 16);
    assert_int_equal(o.md5sum, 0);
    assert_int_equal(o.probe, 1);
    assert_int_equal(o.protect, 1);
    assert_int_equal(o.sync, 1);
    assert_int_equal(o.max_size, 1048576);
    assert_string_equal(o.fallback, "f:80");
}

static void fewer_volumes_than_replicas_is_refused(void **state) {
    (void)state;
    assert_rejected(ARGV("mkv-index", "--replicas", "3", "a:1", "b:2"));
    assert_non_null(strstr(err, "replicas"));
}

static void bad_minikeyvalue_values_are_refused(void **state) {
    (void)state;
    assert_rejected(ARGV("mkv-index", "--md5sum=maybe", "a:1"));
    assert_rejected(ARGV("mkv-index", "--subvolumes", "257", "a:1"));
    assert_rejected(ARGV("mkv-index", "--replicas", "0", "a:1"));
    assert_rejected(ARGV("mkv-index", "--fallback", "nocolon", "a:1"));
    assert_rejected(ARGV("mkv-index", "--max-size", "0", "a:1"));
    assert_rejected(ARGV("mkv-index", "a"));           /* no port */
    assert_rejected(ARGV("mkv-index", "DELETEDx:1"));  /* reads as a prefix */
}

static void the_first_word_may_name_the_command(void **state) {
    (void)state;
    assert_int_equal(parse(ARGV("mkv-index", "rebuild", "--index", "/x", "a:1")), MKV_OK);
    assert_int_equal(o.command, OPTS_REBUILD);
    assert_string_equal(o.index, "/x");
    assert_int_equal(parse(ARGV("mkv-index", "rebalance", "a:1")), MKV_OK);
    assert_int_equal(o.command, OPTS_REBALANCE);
    assert_int_equal(parse(ARGV("mkv-index", "server", "a:1")), MKV_OK);
    assert_int_equal(o.command, OPTS_SERVE);
    assert_int_equal(o.nvolumes, 1);
}

/* Regression tests for bugs found in opts.c. */

static void help_in_a_cluster_does_not_leak_into_the_next_parse(void **state) {
    (void)state;
    /* "-hv" returns at 'h'; getopt still points at the 'v'. */
    assert_int_equal(parse(ARGV("mkv-index", "-hv")), MKV_OK);
    assert_int_equal(o.help, 1);
    assert_int_equal(parse(ARGV("mkv-index", "localhost:3001")), MKV_OK);
    assert_int_equal(o.verbose, 0);
    assert_int_equal(o.help, 0);
    assert_int_equal(o.nvolumes, 1);
}

static void an_option_after_a_volume_is_not_taken_for_a_volume(void **state) {
    (void)state;
    /* Options may come after the volumes, as with most GNU tools. */
    assert_int_equal(parse(ARGV("mkv-index", "localhost:3001", "--port", "3001")),
                     MKV_OK);
    assert_int_equal(o.port, 3001);
    assert_int_equal(o.nvolumes, 1);
    assert_string_equal(o.volumes[0], "localhost:3001");
}

static void a_bad_value_error_names_the_option(void **state) {
    (void)state;
    assert_rejected(ARGV("mkv-index", "--port", "0", "localhost:3001"));
    assert_non_null(strstr(err, "--port"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(with_only_a_volume_every_setting_has_its_default),
        cmocka_unit_test(min_free_defaults_to_64_mib_and_takes_suffixes),
        cmocka_unit_test(bad_min_free_values_are_refused),
        cmocka_unit_test(minikeyvalue_flags_are_parsed),
        cmocka_unit_test(fewer_volumes_than_replicas_is_refused),
        cmocka_unit_test(bad_minikeyvalue_values_are_refused),
        cmocka_unit_test(the_first_word_may_name_the_command),
        cmocka_unit_test(port_as_a_separate_argument),
        cmocka_unit_test(port_after_an_equals_sign),
        cmocka_unit_test(ports_1_and_65535_are_the_limits),
        cmocka_unit_test(bad_ports_are_rejected),
        cmocka_unit_test(index_sets_the_database_path),
        cmocka_unit_test(an_empty_index_path_is_rejected),
        cmocka_unit_test(v_turns_on_request_logging),
        cmocka_unit_test(threads_workers_and_timeouts_are_set),
        cmocka_unit_test(zero_threads_workers_or_timeouts_are_rejected),
        cmocka_unit_test(volumes_as_separate_arguments_keep_their_order),
        cmocka_unit_test(comma_separated_volumes_are_split),
        cmocka_unit_test(comma_separated_and_separate_volumes_mix),
        cmocka_unit_test(splitting_a_volume_list_leaves_argv_alone),
        cmocka_unit_test(a_volume_given_twice_is_rejected),
        cmocka_unit_test(no_volumes_is_rejected),
        cmocka_unit_test(malformed_volume_lists_are_rejected),
        cmocka_unit_test(volumes_that_are_not_host_port_are_rejected),
        cmocka_unit_test(sixty_four_volumes_are_allowed_and_sixty_five_are_not),
        cmocka_unit_test(an_unknown_option_is_rejected),
        cmocka_unit_test(an_option_missing_its_value_is_rejected),
        cmocka_unit_test(help_sets_the_flag_without_needing_volumes),
        cmocka_unit_test(version_sets_the_flag_without_needing_volumes),
        cmocka_unit_test(each_parse_starts_from_the_defaults),
        cmocka_unit_test(help_in_a_cluster_does_not_leak_into_the_next_parse),
        cmocka_unit_test(an_option_after_a_volume_is_not_taken_for_a_volume),
        cmocka_unit_test(a_bad_value_error_names_the_option),
    };
    return cmocka_run_group_tests_name("opts", tests, NULL, NULL);
}
