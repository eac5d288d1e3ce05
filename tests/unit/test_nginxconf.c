/* test_nginxconf.c -- rendering nginx's config for a volume: the shipped
 * template against golden files computed independently (with Python, by
 * tests/unit/golden/nginx_golden.py), placeholders anywhere, nginx's own
 * @names passed through, bad templates and inputs refused, and the
 * config file written under TMPDIR (conffile.c). */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "buf.h"
#include "conffile.h"
#include "mkv.h"
#include "nginxconf.h"

#define GOLDEN "tests/unit/golden/"

static char tmpdir[] = "/tmp/cmkv-test-nginxconf.XXXXXX";

/* slurp -- the whole of path, NUL-terminated (the test fails if it
 * cannot be read). */
static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    char *p;
    long n;
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    n = ftell(f);
    assert_true(n >= 0);
    rewind(f);
    p = malloc((size_t)n + 1);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)n, f), (size_t)n);
    p[n] = '\0';
    fclose(f);
    return p;
}

/* files_in_tmpdir -- how many entries the test's TMPDIR holds. */
static int files_in_tmpdir(void) {
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    int n = 0;
    assert_non_null(d);
    while ((e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

/* render -- tmpl rendered for v and b; MKV_OK with *text (the caller's)
 * or MKV_ERR with err set and nothing allocated. */
static int render(const char *tmpl, const struct nginxconf_volume *v,
                  const struct nginxbin_build *b, char **text, char *err) {
    struct buf out = {NULL, 0, 0, 0};
    size_t len;
    int rc = nginxconf_render(tmpl, v, b, &out, err);
    *text = NULL;
    if (rc != MKV_OK) {
        assert_null(out.p);
        return rc;
    }
    *text = buf_take(&out, &len);
    assert_non_null(*text);
    assert_int_equal(strlen(*text), len);
    return MKV_OK;
}

/* The volume of nginx-root.conf: as root, writers limited. */
static void root_volume(struct nginxconf_volume *v, struct nginxbin_build *b) {
    memset(v, 0, sizeof(*v));
    strcpy(v->dir.root, "/srv/vol");
    strcpy(v->dir.state, "/srv/vol/.nginx");
    strcpy(v->dir.user, "www-data");
    strcpy(v->dir.group, "adm");
    v->port = 3001;
    strcpy(v->writers, "127.0.0.1,::1/128,10.0.0.0/8");
    b->dav = b->proxy = b->fastcgi = b->uwsgi = b->scgi = 1;
}

static void the_shipped_template_as_root_matches_its_golden_file(void **state) {
    struct nginxconf_volume v;
    struct nginxbin_build b;
    char err[MKV_ERRLEN] = "", *got, *want = slurp(GOLDEN "nginx-root.conf");
    (void)state;
    root_volume(&v, &b);
    assert_int_equal(render(nginx_template, &v, &b, &got, err), MKV_OK);
    assert_string_equal(got, want);
    free(got);
    free(want);
}

static void the_shipped_template_as_a_user_matches_its_golden_file(void **state) {
    struct nginxconf_volume v;
    struct nginxbin_build b = {1, 1, 0, 1, 0};
    char err[MKV_ERRLEN] = "", *got, *want = slurp(GOLDEN "nginx-user.conf");
    (void)state;
    memset(&v, 0, sizeof(v));
    strcpy(v.dir.root, "/tmp/a volume");
    strcpy(v.dir.state, "/tmp/a volume/.nginx");
    v.port = 65535;
    assert_int_equal(render(nginx_template, &v, &b, &got, err), MKV_OK);
    assert_string_equal(got, want);
    free(got);
    free(want);
}

static void placeholders_are_filled_anywhere_and_other_at_signs_kept(void **state) {
    struct nginxconf_volume v;
    struct nginxbin_build b;
    char err[MKV_ERRLEN] = "", *got;
    (void)state;
    root_volume(&v, &b);
    v.writers[0] = '\0';
    assert_int_equal(render("a@PORT@b location @fallback; x@ @@ @port@ @PORT@@ROOT@\n@",
                            &v, &b, &got, err), MKV_OK);
    assert_string_equal(got, "a3001b location @fallback; x@ @@ @port@ 3001\"/srv/vol\"\n@");
    free(got);
}

static void an_unknown_placeholder_is_refused(void **state) {
    struct nginxconf_volume v;
    struct nginxbin_build b;
    char err[MKV_ERRLEN] = "", *got;
    (void)state;
    root_volume(&v, &b);
    assert_int_equal(render("listen @PORTS@; @WRITERS@", &v, &b, &got, err), MKV_ERR);
    assert_string_equal(err, "unknown placeholder @PORTS@ in the nginx template");
    assert_int_equal(render("@WRITERS@\n# @ROOT_DIR@ in a comment\n", &v, &b, &got, err),
                     MKV_ERR);
    assert_string_equal(err, "unknown placeholder @ROOT_DIR@ in the nginx template");
}

static void writers_need_the_writers_placeholder(void **state) {
    struct nginxconf_volume v;
    struct nginxbin_build b;
    char err[MKV_ERRLEN] = "", *got;
    (void)state;
    root_volume(&v, &b);
    assert_int_equal(render("listen @PORT@;\n", &v, &b, &got, err), MKV_ERR);
    assert_string_equal(err, "the nginx template has no @WRITERS@, so --writers "
                             "cannot be applied");
    v.writers[0] = '\0'; /* anyone may write: no need for it */
    assert_int_equal(render("listen @PORT@;\n", &v, &b, &got, err), MKV_OK);
    assert_string_equal(got, "listen 3001;\n");
    free(got);
}

static void a_path_nginx_cannot_quote_is_refused(void **state) {
    struct nginxconf_volume v;
    struct nginxbin_build b;
    char err[MKV_ERRLEN] = "", *got;
    (void)state;
    root_volume(&v, &b);
    strcpy(v.dir.root, "/srv/a\"b");
    assert_int_equal(render(nginx_template, &v, &b, &got, err), MKV_ERR);
    assert_string_equal(err, "volume path /srv/a\"b contains a character nginx config "
                             "cannot hold (double quote, backslash, $ or a control "
                             "character); choose another");
    root_volume(&v, &b);
    strcpy(v.dir.group, "a$b");
    assert_int_equal(render(nginx_template, &v, &b, &got, err), MKV_ERR);
    assert_int_equal(strncmp(err, "group name a$b contains", 23), 0);
}

static void a_port_out_of_range_is_refused(void **state) {
    struct nginxconf_volume v;
    struct nginxbin_build b;
    char err[MKV_ERRLEN] = "", *got;
    (void)state;
    root_volume(&v, &b);
    v.port = 65536;
    assert_int_equal(render(nginx_template, &v, &b, &got, err), MKV_ERR);
    assert_string_equal(err, "port 65536 is out of range");
}

static void writers_lists_are_checked(void **state) {
    char out[NGINXCONF_WRITERS_MAX], err[MKV_ERRLEN];
    (void)state;
    assert_int_equal(nginxconf_writers("::1,10.0.0.0/8,192.0.2.1/32", out, err), MKV_OK);
    assert_string_equal(out, "::1,10.0.0.0/8,192.0.2.1/32");
    assert_int_equal(nginxconf_writers("10.0.0.0/33", out, err), MKV_ERR);
    assert_string_equal(err, "--writers: '10.0.0.0/33' is not an IPv4 or IPv6 address or CIDR");
    assert_int_equal(nginxconf_writers("1.2.3.4,", out, err), MKV_ERR);
    assert_string_equal(err, "--writers: a trailing ','");
    assert_int_equal(nginxconf_writers("", out, err), MKV_ERR);
    assert_int_equal(nginxconf_writers("1.2.3.4/", out, err), MKV_ERR);
    assert_int_equal(nginxconf_writers("example.com", out, err), MKV_ERR);
}

static void the_config_file_holds_the_text_and_goes_under_tmpdir(void **state) {
    char path[4096], err[MKV_ERRLEN] = "", *got;
    size_t n = strlen(tmpdir);
    (void)state;
    assert_int_equal(conffile_write("listen 1;\n", 10, path, sizeof(path), err), MKV_OK);
    assert_int_equal(strncmp(path, tmpdir, n), 0);
    assert_int_equal(strncmp(path + n, "/mkv-volume-", 12), 0);
    assert_string_equal(path + strlen(path) - 5, ".conf");
    got = slurp(path);
    assert_string_equal(got, "listen 1;\n");
    free(got);
    assert_int_equal(unlink(path), 0);
    /* No room for the path: refused, and no file made. */
    assert_int_equal(conffile_write("x", 1, path, n + 10, err), MKV_ERR);
    assert_int_equal(strncmp(err, "TMPDIR=", 7), 0);
    assert_int_equal(files_in_tmpdir(), 0);
}

static int setup(void **state) {
    (void)state;
    if (mkdtemp(tmpdir) == NULL) return -1;
    return setenv("TMPDIR", tmpdir, 1);
}

static int teardown(void **state) {
    (void)state;
    return rmdir(tmpdir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(the_shipped_template_as_root_matches_its_golden_file),
        cmocka_unit_test(the_shipped_template_as_a_user_matches_its_golden_file),
        cmocka_unit_test(placeholders_are_filled_anywhere_and_other_at_signs_kept),
        cmocka_unit_test(an_unknown_placeholder_is_refused),
        cmocka_unit_test(writers_need_the_writers_placeholder),
        cmocka_unit_test(a_path_nginx_cannot_quote_is_refused),
        cmocka_unit_test(a_port_out_of_range_is_refused),
        cmocka_unit_test(writers_lists_are_checked),
        cmocka_unit_test(the_config_file_holds_the_text_and_goes_under_tmpdir),
    };
    return cmocka_run_group_tests_name("nginxconf", tests, setup, teardown);
}
