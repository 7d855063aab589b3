/* JSON writer (layout, escaping, numbers) and reader (values, escapes, errors), and round trips. */
#include "testutil.h"

#include "satprobe/json.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void test_compact_layout(void **state)
{
    (void)state;
    sp_strbuf sb;
    sp_strbuf_init(&sb);
    sp_json_writer w;
    sp_json_writer_init(&w, &sb, false);
    sp_json_object_begin(&w);
    sp_json_key(&w, "string");
    sp_json_string(&w, "( [ ] )");
    sp_json_key(&w, "length");
    sp_json_uint(&w, 4);
    sp_json_key(&w, "label");
    sp_json_bool(&w, true);
    sp_json_key(&w, "edits");
    sp_json_null(&w);
    sp_json_key(&w, "next");
    sp_json_array_begin(&w);
    sp_json_array_begin(&w);
    sp_json_string(&w, "(");
    sp_json_string(&w, "[");
    sp_json_array_end(&w);
    sp_json_array_begin(&w);
    sp_json_array_end(&w);
    sp_json_array_end(&w);
    sp_json_key(&w, "e");
    sp_json_object_begin(&w);
    sp_json_object_end(&w);
    sp_json_object_end(&w);
    assert_string_equal(sb.buf, "{\"string\": \"( [ ] )\", \"length\": 4, \"label\": true, "
                                "\"edits\": null, \"next\": [[\"(\", \"[\"], []], \"e\": {}}");
    sp_strbuf_free(&sb);
}

static void test_pretty_layout(void **state)
{
    (void)state;
    sp_strbuf sb;
    sp_strbuf_init(&sb);
    sp_json_writer w;
    sp_json_writer_init(&w, &sb, true);
    sp_json_object_begin(&w);
    sp_json_key(&w, "a");
    sp_json_int(&w, -3);
    sp_json_key(&w, "rows");
    sp_json_array_begin(&w);
    sp_json_object_begin_inline(&w);
    sp_json_key(&w, "n");
    sp_json_int(&w, 1);
    sp_json_key(&w, "v");
    sp_json_array_begin(&w); /* inside an inline container: stays on the line */
    sp_json_int(&w, 1);
    sp_json_int(&w, 2);
    sp_json_array_end(&w);
    sp_json_object_end(&w);
    sp_json_object_begin_inline(&w);
    sp_json_object_end(&w);
    sp_json_array_end(&w);
    sp_json_key(&w, "empty");
    sp_json_array_begin(&w);
    sp_json_array_end(&w);
    sp_json_object_end(&w);
    assert_string_equal(sb.buf, "{\n  \"a\": -3,\n  \"rows\": [\n    {\"n\": 1, \"v\": [1, 2]},\n"
                                "    {}\n  ],\n  \"empty\": []\n}");
    sp_strbuf_free(&sb);
}

static void test_escapes(void **state)
{
    (void)state;
    sp_strbuf sb;
    sp_strbuf_init(&sb);
    sp_json_writer w;
    sp_json_writer_init(&w, &sb, false);
    const char raw[] = "q\"b\\s/\b\f\n\r\t\x01\x1f\x7f \xc3\xa9\xe2\x82\xac";
    sp_json_string_n(&w, raw, sizeof raw - 1);
    assert_string_equal(sb.buf, "\"q\\\"b\\\\s/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f \xc3\xa9\xe2\x82\xac\"");
    /* An embedded NUL is escaped too and comes back. */
    sp_strbuf_clear(&sb);
    sp_json_writer_init(&w, &sb, false);
    sp_json_string_n(&w, "a\0b", 3);
    assert_string_equal(sb.buf, "\"a\\u0000b\"");
    sp_json_value *v;
    sp_error err;
    assert_int_equal(sp_json_parse(sb.buf, sb.len, &v, &err), SP_OK);
    assert_int_equal(v->len, 3);
    assert_memory_equal(v->str, "a\0b", 3);
    sp_json_free(v);
    sp_strbuf_free(&sb);
}

static void expect_double(double x, const char *want)
{
    char buf[40];
    sp_json_format_double(x, buf, sizeof buf);
    assert_string_equal(buf, want);
}

static void test_numbers(void **state)
{
    (void)state;
    expect_double(0.5, "0.5");
    expect_double(0.1, "0.1");
    expect_double(1.0 / 3, "0.3333333333333333");
    expect_double(1e300, "1e+300");
    expect_double(-0.25, "-0.25");
    expect_double(NAN, "null");
    expect_double(INFINITY, "null");
    /* Every double written reads back exactly. */
    double x = 0.7;
    for (int i = 0; i < 200; i++, x = x * 1.37 + 1e-3) {
        char buf[40];
        sp_json_format_double(x, buf, sizeof buf);
        sp_json_value *v;
        sp_error err;
        assert_int_equal(sp_json_parse(buf, strlen(buf), &v, &err), SP_OK);
        assert_true(v->number == x);
        sp_json_free(v);
    }
    sp_strbuf sb;
    sp_strbuf_init(&sb);
    sp_json_writer w;
    sp_json_writer_init(&w, &sb, false);
    sp_json_array_begin(&w);
    sp_json_uint(&w, 18446744073709551615ULL);
    sp_json_int(&w, -9223372036854775807LL - 1);
    sp_json_array_end(&w);
    assert_string_equal(sb.buf, "[18446744073709551615, -9223372036854775808]");
    sp_strbuf_free(&sb);
}

static sp_json_value *parse_ok(const char *text)
{
    sp_json_value *v = NULL;
    sp_error err;
    sp_error_clear(&err);
    if (sp_json_parse(text, strlen(text), &v, &err)) fail_msg("%d:%d: %s", err.line, err.col, err.msg);
    return v;
}

static void test_reader(void **state)
{
    (void)state;
    sp_json_value *v = parse_ok(" {\"s\": \"a b\", \"n\": 12, \"x\": -1.5e2, \"t\": true, \"f\": false,"
                                " \"z\": null, \"arr\": [[\"(\"], [], [1, 2.0]], \"o\": {}} \n");
    assert_int_equal(v->type, SP_JSON_OBJECT);
    assert_int_equal(v->n, 8);
    assert_string_equal(sp_json_get(v, "s")->str, "a b");
    assert_true(sp_json_get(v, "n")->is_int);
    assert_int_equal(sp_json_get(v, "n")->integer, 12);
    assert_false(sp_json_get(v, "x")->is_int);
    assert_true(sp_json_get(v, "x")->number == -150.0);
    assert_true(sp_json_get(v, "t")->boolean);
    assert_false(sp_json_get(v, "f")->boolean);
    assert_int_equal(sp_json_get(v, "z")->type, SP_JSON_NULL);
    const sp_json_value *arr = sp_json_get(v, "arr");
    assert_int_equal(arr->n, 3);
    assert_string_equal(arr->items[0]->items[0]->str, "(");
    assert_int_equal(arr->items[1]->n, 0);
    assert_false(arr->items[2]->items[1]->is_int);
    assert_int_equal(sp_json_get(v, "o")->type, SP_JSON_OBJECT);
    assert_null(sp_json_get(v, "missing"));
    sp_json_free(v);

    v = parse_ok("\"\\u00e9\\u20ac\\ud83d\\ude00\\/\\\"\"");
    assert_string_equal(v->str, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80/\"");
    sp_json_free(v);
    v = parse_ok("99999999999999999999");
    assert_false(v->is_int); /* beyond long long: only the double */
    assert_true(v->number == 1e20);
    sp_json_free(v);
}

static void expect_parse_error(const char *text, int line, int col, const char *needle)
{
    sp_json_value *v = (sp_json_value *)1;
    sp_error err;
    sp_error_clear(&err);
    assert_int_equal(sp_json_parse(text, strlen(text), &v, &err), SP_EINPUT);
    assert_null(v);
    if (!strstr(err.msg, needle)) fail_msg("'%s': message '%s' lacks '%s'", text, err.msg, needle);
    assert_int_equal(err.line, line);
    assert_int_equal(err.col, col);
}

static void test_reader_errors(void **state)
{
    (void)state;
    expect_parse_error("", 1, 1, "expected a value");
    expect_parse_error("{\"a\" 1}", 1, 6, "expected ':'");
    expect_parse_error("[1,\n 2", 2, 3, "expected ',' or ']'");
    expect_parse_error("[1,]", 1, 4, "expected a value");
    expect_parse_error("{1: 2}", 1, 2, "expected a key");
    expect_parse_error("\"abc", 1, 5, "unterminated string");
    expect_parse_error("\"a\tb\"", 1, 3, "control character");
    expect_parse_error("\"\\x\"", 1, 3, "unknown escape");
    expect_parse_error("\"\\ud800x\"", 1, 8, "high surrogate");
    expect_parse_error("\"\\udc00\"", 1, 8, "lone low surrogate");
    expect_parse_error("01", 1, 2, "unexpected text");
    expect_parse_error("1.", 1, 3, "digit after the decimal point");
    expect_parse_error("1e", 1, 3, "digit in the exponent");
    expect_parse_error("-", 1, 2, "expected a value");
    expect_parse_error("tru", 1, 1, "expected a value");
    expect_parse_error("{} x", 1, 4, "unexpected text");
    char deep[200];
    memset(deep, '[', 65);
    memset(deep + 65, ']', 65);
    deep[130] = '\0';
    expect_parse_error(deep, 1, 65, "nested too deeply");
    memset(deep, '[', 64); /* 64 levels are fine */
    memset(deep + 64, ']', 64);
    deep[128] = '\0';
    sp_json_free(parse_ok(deep));
}

/* A parsed value written back gives the same one-line text (integers as written, other numbers
 * exactly), and sp_json_load reads a file and names it in a parse error. */
static void test_write_value_and_load(void **state)
{
    (void)state;
    static const char text[] =
        "{\"a\": [1, -2, 0.1, 1e+300, true, false, null], \"s\": \"x\\ny\\u0000z\", \"o\": {\"k\": []}, "
        "\"e\": {}}";
    sp_json_value *v = NULL;
    sp_error err;
    assert_int_equal(sp_json_parse(text, strlen(text), &v, &err), SP_OK);
    sp_strbuf sb;
    sp_strbuf_init(&sb);
    sp_json_writer w;
    sp_json_writer_init(&w, &sb, false);
    sp_json_write_value(&w, v);
    assert_string_equal(sb.buf, text);
    char path[] = "/tmp/sp-test-json-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, sb.buf, sb.len), (ssize_t)sb.len);
    close(fd);
    sp_json_value *back = NULL;
    assert_int_equal(sp_json_load(path, 1 << 20, &back, &err), SP_OK);
    assert_int_equal(back->n, 4);
    assert_true(sp_json_get(back, "a")->items[2]->number == 0.1);
    sp_json_free(back);
    FILE *f = fopen(path, "w");
    fputs("{\n  \"a\": ,\n}", f);
    fclose(f);
    assert_int_equal(sp_json_load(path, 1 << 20, &back, &err), SP_EINPUT);
    assert_null(back);
    assert_string_equal(err.file, path);
    assert_int_equal(err.line, 2);
    unlink(path);
    assert_int_equal(sp_json_load(path, 1 << 20, &back, &err), SP_EIO);
    sp_strbuf_free(&sb);
    sp_json_free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_compact_layout), cmocka_unit_test(test_pretty_layout),
        cmocka_unit_test(test_escapes),        cmocka_unit_test(test_numbers),
        cmocka_unit_test(test_reader),         cmocka_unit_test(test_reader_errors),
        cmocka_unit_test(test_write_value_and_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
