/* test_s3xml.c -- the XML reader: the bodies S3 clients send parse to
 * their elements and text; malformed documents are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "buf.h"
#include "mkv.h"
#include "s3xml.h"

/* collect -- "a/b=text;" for every element closed. */
static int collect(void *arg, char path[][S3XML_NAME], int depth, const char *text, size_t len) {
    struct buf *b = arg;
    for (int i = 0; i < depth; i++) buf_addf(b, "%s%s", i ? "/" : "", path[i]);
    buf_add(b, "=", 1);
    buf_add(b, text, len);
    buf_add(b, ";", 1);
    return MKV_OK;
}

static const char *parse(const char *x, struct buf *b) {
    buf_free(b);
    buf_add(b, "", 0);
    return s3xml_parse(x, strlen(x), collect, b) == MKV_OK ? b->p : NULL;
}

static void a_delete_body_parses(void **state) {
    struct buf b = {0};
    (void)state;
    assert_string_equal(
        parse("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
              "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
              "<Object><Key>a &amp; b&#x41;&#66;</Key></Object><Quiet>true</Quiet></Delete>",
              &b),
        "Delete/Object/Key=a & bAB;Delete/Object=;Delete/Quiet=true;Delete=;");
    buf_free(&b);
}

static void empty_elements_and_prefixes_parse(void **state) {
    struct buf b = {0};
    (void)state;
    assert_string_equal(parse("<s3:A><B/><!-- c --><C x='1'>t</C></s3:A>", &b), "A/B=;A/C=t;A=;");
    buf_free(&b);
}

static void malformed_documents_are_refused(void **state) {
    struct buf b = {0};
    static const char *const bad[] = {
        "", "<A>", "<A></B>", "<A>&bogus;</A>", "<A>&#0;</A>", "<A></A><B></B>", "text<A/>",
        "<A x=1></A>", "<!DOCTYPE x><A/>", "<A><B></A></B>", "<1/",
    };
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (parse(bad[i], &b) != NULL) fail_msg("accepted: %s", bad[i]);
    }
    buf_free(&b);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(a_delete_body_parses),
        cmocka_unit_test(empty_elements_and_prefixes_parse),
        cmocka_unit_test(malformed_documents_are_refused),
    };
    return cmocka_run_group_tests_name("s3xml", tests, NULL, NULL);
}
