/* The YAML tree: positions, shapes, and the error messages of the checked accessors. */
#include "testutil.h"
#include "satprobe/yaml.h"

#include <string.h>

static void parse_ok(sp_yaml_doc *doc, const char *text)
{
    sp_error err;
    sp_error_clear(&err);
    if (sp_yaml_parse(doc, "t.yaml", text, strlen(text), &err)) {
        sp_error_print(&err, stderr);
        fail_msg("parse failed");
    }
}

static void test_positions(void **state)
{
    (void)state;
    sp_yaml_doc doc;
    parse_ok(&doc, "name: x\nlist:\n  - a\n  - [b, c]\n");
    assert_int_equal(doc.root->type, SP_YAML_MAP);
    assert_int_equal(doc.root->n, 2);
    const sp_yaml_node *list = sp_yaml_get(doc.root, "list");
    assert_non_null(list);
    assert_int_equal(list->type, SP_YAML_SEQ);
    assert_int_equal(list->n, 2);
    assert_int_equal(list->items[0]->line, 3);
    assert_int_equal(list->items[0]->col, 5);
    assert_int_equal(list->items[1]->items[1]->line, 4);
    assert_int_equal(list->items[1]->items[1]->col, 9);
    assert_string_equal(list->items[1]->items[1]->str, "c");
    assert_null(sp_yaml_get(doc.root, "missing"));
    sp_yaml_free(&doc);
}

static void expect_parse_error(const char *text, int line, const char *needle)
{
    sp_yaml_doc doc;
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(sp_yaml_parse(&doc, "t.yaml", text, strlen(text), &err), SP_EINPUT);
    if (!strstr(err.msg, needle) || err.line != line) {
        sp_error_print(&err, stderr);
        fail_msg("expected '%s' at line %d", needle, line);
    }
    assert_string_equal(err.file, "t.yaml");
}

static void test_errors(void **state)
{
    (void)state;
    expect_parse_error("a: [1, 2\n", 2, "malformed YAML");
    expect_parse_error("a: 1\na: 2\n", 2, "duplicate key 'a'");
    expect_parse_error("a: &x 1\nb: *x\n", 2, "aliases");
    expect_parse_error("a: 1\n---\nb: 2\n", 2, "one YAML document");
    expect_parse_error("? [a]\n: 1\n", 1, "mapping keys");
    char deep[400];
    size_t n = 0;
    for (int i = 0; i < 70; i++) deep[n++] = '[';
    deep[n] = '\0';
    expect_parse_error(deep, 1, "nesting deeper");
}

static void test_accessors(void **state)
{
    (void)state;
    sp_yaml_doc doc;
    parse_ok(&doc, "n: 12\nb: true\ns: 'x'\nz: ~\nq: \"~\"\nbad: 1x\n");
    sp_error err;
    long v;
    bool b;
    const char *s;
    assert_int_equal(sp_yaml_int(&doc, sp_yaml_get(doc.root, "n"), "n", 0, 100, &v, &err), SP_OK);
    assert_int_equal(v, 12);
    assert_int_equal(sp_yaml_int(&doc, sp_yaml_get(doc.root, "n"), "n", 0, 10, &v, &err), SP_EINPUT);
    assert_non_null(strstr(err.msg, "between 0 and 10"));
    assert_int_equal(sp_yaml_int(&doc, sp_yaml_get(doc.root, "bad"), "bad", 0, 10, &v, &err),
                     SP_EINPUT);
    assert_int_equal(err.line, 6);
    assert_int_equal(err.col, 6);
    assert_int_equal(sp_yaml_bool(&doc, sp_yaml_get(doc.root, "b"), "b", &b, &err), SP_OK);
    assert_true(b);
    assert_int_equal(sp_yaml_bool(&doc, sp_yaml_get(doc.root, "s"), "s", &b, &err), SP_EINPUT);
    assert_int_equal(sp_yaml_string(&doc, sp_yaml_get(doc.root, "s"), "s", &s, &err), SP_OK);
    assert_string_equal(s, "x");
    assert_true(sp_yaml_is_null(sp_yaml_get(doc.root, "z")));
    assert_false(sp_yaml_is_null(sp_yaml_get(doc.root, "q")));
    const sp_yaml_node *out;
    assert_int_equal(sp_yaml_require(&doc, doc.root, "nope", &out, &err), SP_EINPUT);
    assert_non_null(strstr(err.msg, "missing required key 'nope'"));
    assert_int_equal(err.line, 1);
    assert_int_equal(sp_yaml_require(&doc, doc.root, "z", &out, &err), SP_EINPUT);
    static const char *const allowed[] = {"n", "b", "s", "z", "q", NULL};
    assert_int_equal(sp_yaml_check_keys(&doc, doc.root, allowed, "the test", &err), SP_EINPUT);
    assert_non_null(strstr(err.msg, "unknown key 'bad'"));
    assert_int_equal(err.line, 6);
    assert_int_equal(err.col, 1);
    sp_yaml_free(&doc);
}

/* Position of value byte `off` of key's scalar must be line:col. */
static void expect_pos(const sp_yaml_doc *doc, const char *key, size_t off, int line, int col)
{
    int l, c;
    sp_yaml_scalar_pos(doc, sp_yaml_get(doc->root, key), off, &l, &c);
    if (l != line || c != col)
        fail_msg("%s[%zu]: got %d:%d, expected %d:%d", key, off, l, c, line, col);
}

static void test_scalar_positions(void **state)
{
    (void)state;
    sp_yaml_doc doc;
    parse_ok(&doc, "plain: abc x\n"
                   "single: 'a''b''x'\n"
                   "double: \"a\\tb\\x41x\"\n"
                   "block: |\n"
                   "  ab\n"
                   "  cx\n"
                   "folded: >-\n"
                   "    ab\n"
                   "    cd\n"
                   "multi: 'ab\n"
                   "  cx'\n"
                   "utf8: 'é x'\n");
    expect_pos(&doc, "plain", 4, 1, 12);
    expect_pos(&doc, "single", 0, 2, 10);
    expect_pos(&doc, "single", 4, 2, 16); /* 'a''b''x': x is value byte 4, source column 16 */
    expect_pos(&doc, "double", 3, 3, 14); /* "a\tb\x41x": b after the two-byte escape */
    expect_pos(&doc, "double", 5, 3, 19); /* x after \x41 */
    expect_pos(&doc, "block", 0, 5, 3);
    expect_pos(&doc, "block", 4, 6, 4);
    expect_pos(&doc, "folded", 3, 9, 5);
    expect_pos(&doc, "multi", 4, 11, 4);
    expect_pos(&doc, "utf8", 3, 12, 10); /* columns count characters, not bytes */
    expect_pos(&doc, "plain", 99, 1, 8);  /* beyond the value: the node itself */
    sp_yaml_free(&doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_positions),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_accessors),
        cmocka_unit_test(test_scalar_positions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
