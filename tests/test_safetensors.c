/* safetensors: round trips, the exact bytes of a tiny file, and every way a header can be wrong. */
#include "testutil.h"

#include "satprobe/alloc.h"
#include "satprobe/safetensors.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int setup(void **state)
{
    (void)state;
    return tu_tmp_dir_make("st");
}

static int teardown(void **state)
{
    (void)state;
    return tu_tmp_dir_remove();
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *b = sp_malloc((size_t)n, 1);
    assert_int_equal(fread(b, 1, (size_t)n, f), (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

/* A file image: 8-byte little-endian length of `header`, the header, then `data_len` bytes
 * (0x00, 0x01, ...). `hlen` overrides the length field when not (uint64_t)-1. */
static unsigned char *image(const char *header, uint64_t hlen, size_t data_len, size_t *len)
{
    size_t h = strlen(header);
    if (hlen == (uint64_t)-1) hlen = h;
    *len = 8 + h + data_len;
    unsigned char *b = sp_malloc(*len, 1);
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)(hlen >> (8 * i));
    memcpy(b + 8, header, h);
    for (size_t i = 0; i < data_len; i++) b[8 + h + i] = (unsigned char)i;
    return b;
}

/* Reading must fail with status and a message that names the file and contains needle. */
static void expect_reject_bytes(const unsigned char *b, size_t len, int status, const char *needle)
{
    sp_st_file *f = (sp_st_file *)1;
    sp_error err;
    sp_error_clear(&err);
    int got = sp_st_read_buffer("bad.safetensors", b, len, &f, &err);
    if (got != status || !strstr(err.msg, needle)) {
        fprintf(stderr, "want status %d and '%s', got %d: %s: %s\n", status, needle, got, err.file, err.msg);
        fail();
    }
    assert_null(f);
    assert_string_equal(err.file, "bad.safetensors");
}

static void expect_reject(const char *header, size_t data_len, const char *needle)
{
    size_t len;
    unsigned char *b = image(header, (uint64_t)-1, data_len, &len);
    expect_reject_bytes(b, len, SP_EINPUT, needle);
    free(b);
}

static sp_st_file *expect_accept(const char *header, size_t data_len)
{
    size_t len;
    unsigned char *b = image(header, (uint64_t)-1, data_len, &len);
    sp_st_file *f = NULL;
    sp_error err;
    sp_error_clear(&err);
    int got = sp_st_read_buffer("good.safetensors", b, len, &f, &err);
    if (got) fprintf(stderr, "%s: %s\n", err.file, err.msg);
    assert_int_equal(got, SP_OK);
    free(b);
    return f;
}

static void test_round_trip(void **state)
{
    (void)state;
    float emb[3 * 4], bias[5], scalar = -0.0f;
    for (int i = 0; i < 12; i++) emb[i] = (float)i * 0.25f - 1.0f;
    for (int i = 0; i < 5; i++) bias[i] = 1e-30f * (float)(i + 1);
    bias[4] = 3.4028235e38f;
    float cube[2 * 1 * 3 * 2];
    for (int i = 0; i < 12; i++) cube[i] = (float)(i * i) / 7.0f;
    sp_st_tensor t[] = {
        {"embed.weight", 2, {3, 4}, emb},
        {"layers.0.ff.bias", 1, {5}, bias},
        {"empty", 2, {0, 7}, NULL},
        {"scale", 0, {0}, &scalar},
        {"cube", 4, {2, 1, 3, 2}, cube},
    };
    sp_st_meta meta[] = {
        {"format", "pt"},
        {"satprobe_version", "0.1.0"},
        {"config", "{\"layers\": 1, \"name\": \"a \\\"quoted\\\" one\"}"},
    };
    const char *path = tu_tmp_path("rt.safetensors");
    sp_error err;
    assert_int_equal(sp_st_write(path, t, 5, meta, 3, &err), SP_OK);

    size_t len;
    unsigned char *b = slurp(path, &len);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | b[i];
    assert_int_equal(hlen % 8, 0);
    assert_int_equal(len, 8 + hlen + 4 * (12 + 5 + 0 + 1 + 12));
    assert_int_equal(b[8], '{');
    free(b);

    sp_st_file *f = NULL;
    assert_int_equal(sp_st_read(path, &f, &err), SP_OK);
    assert_int_equal(sp_st_count(f), 5);
    for (size_t i = 0; i < 5; i++) {
        const sp_st_tensor *r = sp_st_at(f, i);
        assert_string_equal(r->name, t[i].name);
        assert_ptr_equal(sp_st_find(f, t[i].name), r);
        assert_int_equal(r->ndim, t[i].ndim);
        size_t count = 1;
        for (size_t d = 0; d < r->ndim; d++) {
            assert_int_equal(r->shape[d], t[i].shape[d]);
            count *= r->shape[d];
        }
        assert_non_null(r->data);
        if (count) assert_memory_equal(r->data, t[i].data, count * sizeof(float));
    }
    assert_null(sp_st_find(f, "missing"));
    assert_int_equal(sp_st_metadata_count(f), 3);
    for (size_t i = 0; i < 3; i++) {
        assert_string_equal(sp_st_metadata_at(f, i).key, meta[i].key);
        assert_string_equal(sp_st_metadata(f, meta[i].key), meta[i].value);
    }
    assert_null(sp_st_metadata(f, "nope"));
    sp_st_free(f);

    /* Writing again replaces the file whole and leaves no temporary file behind. */
    assert_int_equal(sp_st_write(path, t, 1, NULL, 0, &err), SP_OK);
    assert_int_equal(sp_st_read(path, &f, &err), SP_OK);
    assert_int_equal(sp_st_count(f), 1);
    assert_int_equal(sp_st_metadata_count(f), 0);
    sp_st_free(f);
    char cmd[160];
    snprintf(cmd, sizeof cmd, "test $(ls -A '%s' | wc -l) -eq 1", tu_tmp_dir());
    assert_int_equal(system(cmd), 0);
}

/* Every header length from 1 to 16 bytes of name pads to a multiple of 8. */
static void test_padding(void **state)
{
    (void)state;
    char name[20];
    float x = 1.0f;
    for (size_t k = 1; k <= 16; k++) {
        memset(name, 'n', k);
        name[k] = 0;
        sp_st_tensor t = {name, 1, {1}, &x};
        sp_error err;
        const char *path = tu_tmp_path("pad.safetensors");
        assert_int_equal(sp_st_write(path, &t, 1, NULL, 0, &err), SP_OK);
        size_t len;
        unsigned char *b = slurp(path, &len);
        uint64_t hlen = b[0] | (uint64_t)b[1] << 8;
        assert_int_equal(hlen % 8, 0);
        assert_int_equal(len, 8 + hlen + 4);
        assert_true(b[8 + hlen - 1] == '}' || b[8 + hlen - 1] == ' ');
        free(b);
    }
}

/* A tiny file, byte for byte: the header is 95 bytes of JSON plus one space, 96 = 0x60. */
static void test_exact_bytes(void **state)
{
    (void)state;
    float a[2] = {1.0f, -2.0f};
    sp_st_tensor t = {"a", 1, {2}, a};
    sp_st_meta m = {"format", "pt"};
    const char *path = tu_tmp_path("tiny.safetensors");
    sp_error err;
    assert_int_equal(sp_st_write(path, &t, 1, &m, 1, &err), SP_OK);
    const char *json = "{\"__metadata__\": {\"format\": \"pt\"}, "
                       "\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}} ";
    unsigned char want[8 + 96 + 8] = {0x60, 0, 0, 0, 0, 0, 0, 0};
    assert_int_equal(strlen(json), 96);
    memcpy(want + 8, json, 96);
    const unsigned char data[8] = {0x00, 0x00, 0x80, 0x3f, 0x00, 0x00, 0x00, 0xc0};
    memcpy(want + 104, data, 8);
    size_t len;
    unsigned char *b = slurp(path, &len);
    assert_int_equal(len, sizeof want);
    assert_memory_equal(b, want, sizeof want);
    free(b);

    /* And the bytes read back on any host. */
    sp_st_file *f = NULL;
    assert_int_equal(sp_st_read_buffer("tiny", want, sizeof want, &f, &err), SP_OK);
    const sp_st_tensor *r = sp_st_find(f, "a");
    assert_non_null(r);
    assert_true(r->data[0] == 1.0f && r->data[1] == -2.0f);
    sp_st_free(f);
}

static void test_writer_rejects(void **state)
{
    (void)state;
    float x = 0;
    sp_error err;
    const char *path = tu_tmp_path("never.safetensors");
    sp_st_tensor dup[2] = {{"w", 1, {1}, &x}, {"w", 1, {1}, &x}};
    assert_int_equal(sp_st_write(path, dup, 2, NULL, 0, &err), SP_EINPUT);
    assert_non_null(strstr(err.msg, "duplicate tensor name 'w'"));
    sp_st_tensor meta_name = {"__metadata__", 1, {1}, &x};
    assert_int_equal(sp_st_write(path, &meta_name, 1, NULL, 0, &err), SP_EINPUT);
    sp_st_tensor big = {"big", 2, {SIZE_MAX / 2, 3}, &x};
    assert_int_equal(sp_st_write(path, &big, 1, NULL, 0, &err), SP_EINPUT);
    assert_non_null(strstr(err.msg, "too large"));
    sp_st_tensor dims = {"d", 5, {1, 1, 1, 1}, &x};
    assert_int_equal(sp_st_write(path, &dims, 1, NULL, 0, &err), SP_EINPUT);
    sp_st_meta m[2] = {{"k", "1"}, {"k", "2"}};
    assert_int_equal(sp_st_write(path, NULL, 0, m, 2, &err), SP_EINPUT);
    assert_non_null(strstr(err.msg, "duplicate metadata key 'k'"));
    assert_int_equal(access(path, F_OK), -1);
    assert_int_equal(sp_st_write("/nonexistent-dir/x.safetensors", NULL, 0, NULL, 0, &err), SP_EIO);
}

#define E(name, off) "\"" name "\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": " off "}"

static void test_rejects_framing(void **state)
{
    (void)state;
    const unsigned char short_file[5] = {1, 0, 0, 0, 0};
    expect_reject_bytes(short_file, 5, SP_EINPUT, "truncated: 5 bytes");
    size_t len;
    unsigned char *b = image("{}", 3, 0, &len);
    expect_reject_bytes(b, len, SP_EINPUT, "header length 3 goes beyond the end of the file");
    free(b);
    b = image("{}", (uint64_t)1 << 40, 0, &len);
    expect_reject_bytes(b, len, SP_ELIMIT, "exceeds the limit");
    free(b);
    b = image("{}", (uint64_t)-2, 0, &len);
    expect_reject_bytes(b, len, SP_ELIMIT, "exceeds the limit");
    free(b);
    expect_reject("", 0, "does not start with '{'");
    expect_reject(" {}", 0, "does not start with '{'");
    expect_reject("{\"a\": ", 0, "not valid JSON");
    expect_reject("{\"a\": {}} x", 0, "not valid JSON");
    expect_reject("{\"a\": 1}", 0, "tensor 'a' is a number, not an object");
}

static void test_rejects_entries(void **state)
{
    (void)state;
    expect_reject("{\"w\": {\"dtype\": \"F16\", \"shape\": [2], \"data_offsets\": [0, 4]}}", 4,
                  "tensor 'w': dtype 'F16' is not supported (only F32)");
    expect_reject("{\"w\": {\"dtype\": \"BF16\", \"shape\": [2], \"data_offsets\": [0, 4]}}", 4, "'BF16'");
    expect_reject("{\"w\": {\"dtype\": 32, \"shape\": [2], \"data_offsets\": [0, 8]}}", 8, "not a string");
    expect_reject("{\"w\": {\"shape\": [2], \"data_offsets\": [0, 8]}}", 8, "tensor 'w' lacks 'dtype'");
    expect_reject("{\"w\": {\"dtype\": \"F32\", \"data_offsets\": [0, 8]}}", 8, "lacks 'shape'");
    expect_reject("{\"w\": {\"dtype\": \"F32\", \"shape\": [2]}}", 8, "lacks 'data_offsets'");
    expect_reject("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8], \"x\": 1}}", 8,
                  "unknown key 'x'");
    expect_reject("{\"w\": {\"dtype\": \"F32\", \"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}",
                  8, "repeats a key");
    expect_reject("{\"w\": {\"dtype\": \"F32\", \"shape\": [-2], \"data_offsets\": [0, 8]}}", 8,
                  "shape entry 0 is not a non-negative integer");
    expect_reject("{\"w\": {\"dtype\": \"F32\", \"shape\": [2.5], \"data_offsets\": [0, 8]}}", 8,
                  "shape entry 0");
    expect_reject("{\"w\": {\"dtype\": \"F32\", \"shape\": 2, \"data_offsets\": [0, 8]}}", 8, "not an array");
    expect_reject("{\"w\": {\"dtype\": \"F32\", \"shape\": [1, 1, 1, 1, 2], \"data_offsets\": [0, 8]}}", 8,
                  "5 dimensions");
    expect_reject("{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 8,
                  "tensor 'w': shape needs 12 bytes but data_offsets [0, 8] hold 8");
    expect_reject("{\"w\": {\"dtype\": \"F32\", \"shape\": [4611686018427387904, 4], \"data_offsets\": [0, 0]}}",
                  0, "shape is too large");
    expect_reject("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [8, 0]}}", 8,
                  "end before they begin");
    expect_reject("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0]}}", 8,
                  "not [begin, end]");
    expect_reject("{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 1e1]}}", 8,
                  "not [begin, end]");
    expect_reject("{\"\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 8, "empty name");
}

static void test_rejects_layout(void **state)
{
    (void)state;
    expect_reject("{" E("a", "[0, 8]") ", " E("b", "[12, 20]") "}", 20,
                  "gap in the data section: bytes [8, 12) belong to no tensor (before 'b')");
    expect_reject("{" E("a", "[4, 12]") "}", 12, "gap in the data section: bytes [0, 4)");
    expect_reject("{" E("a", "[0, 8]") ", " E("b", "[4, 12]") "}", 12,
                  "tensor 'b': data_offsets [4, 12] overlap 'a'");
    expect_reject("{" E("a", "[0, 8]") ", " E("b", "[0, 8]") "}", 8, "overlap");
    expect_reject("{" E("a", "[0, 8]") "}", 9, "1 trailing bytes after the last tensor");
    expect_reject("{" E("a", "[0, 8]") "}", 7, "data_offsets end 8 is beyond the data section (7 bytes)");
    expect_reject("{}", 4, "4 trailing bytes");
    expect_reject("{" E("a", "[0, 8]") ", " E("a", "[8, 16]") "}", 16, "duplicate tensor name 'a'");
    expect_reject("{\"__metadata__\": {}, \"__metadata__\": {}}", 0, "duplicate tensor name '__metadata__'");
    /* A zero-size tensor inside another one's bytes overlaps it. */
    expect_reject("{" E("a", "[0, 8]") ", \"z\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [4, 4]}}",
                  8, "tensor 'z': data_offsets [4, 4] overlap 'a' (which ends at 8)");
}

static void test_rejects_metadata(void **state)
{
    (void)state;
    expect_reject("{\"__metadata__\": {\"format\": \"pt\", \"n\": 3}}", 0,
                  "__metadata__: 'n' is a number, not a string");
    expect_reject("{\"__metadata__\": {\"c\": {\"a\": \"b\"}}}", 0, "'c' is an object, not a string");
    expect_reject("{\"__metadata__\": [\"pt\"]}", 0, "__metadata__ is an array, not an object");
    expect_reject("{\"__metadata__\": {\"k\": \"a\", \"k\": \"b\"}}", 0, "duplicate key 'k'");
    expect_reject("{\"__metadata__\": {\"k\": \"a\\u0000b\"}}", 0, "NUL");
}

/* Accepted corner cases: entries in any order, zero-size tensors (a 0 dimension, begin == end),
 * scalars (shape []), an empty file, padding, no metadata. */
static void test_accepts(void **state)
{
    (void)state;
    sp_st_file *f = expect_accept("{" E("b", "[8, 16]") ", " E("a", "[0, 8]") "}  ", 16);
    assert_int_equal(sp_st_count(f), 2);
    assert_string_equal(sp_st_at(f, 0)->name, "b");
    /* Data bytes are 0x00 0x01 ... so b's first float has bytes 08 09 0a 0b. */
    uint32_t u;
    memcpy(&u, &sp_st_find(f, "b")->data[0], 4);
    assert_int_equal(u, 0x0b0a0908u);
    memcpy(&u, &sp_st_find(f, "a")->data[1], 4);
    assert_int_equal(u, 0x07060504u);
    sp_st_free(f);

    f = expect_accept("{\"z\": {\"dtype\": \"F32\", \"shape\": [3, 0], \"data_offsets\": [0, 0]}, "
                      "\"s\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [0, 4]}, "
                      "\"y\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [4, 4]}}", 4);
    const sp_st_tensor *z = sp_st_find(f, "z");
    assert_int_equal(z->ndim, 2);
    assert_int_equal(z->shape[0], 3);
    assert_int_equal(z->shape[1], 0);
    assert_non_null(z->data);
    assert_int_equal(sp_st_find(f, "s")->ndim, 0);
    sp_st_free(f);

    f = expect_accept("{}", 0);
    assert_int_equal(sp_st_count(f), 0);
    assert_int_equal(sp_st_metadata_count(f), 0);
    sp_st_free(f);

    /* Files that do not exist or are not regular are I/O errors. */
    sp_error err;
    assert_int_equal(sp_st_read(tu_tmp_path("absent"), &f, &err), SP_EIO);
    assert_null(f);
    assert_int_equal(sp_st_read(tu_tmp_dir(), &f, &err), SP_EIO);
}

/* The committed fuzz seeds stay readable. */
static void test_fixtures(void **state)
{
    (void)state;
    const char *names[] = {"tiny.safetensors", "model.safetensors", "empty.safetensors"};
    for (size_t i = 0; i < 3; i++) {
        char rel[128];
        snprintf(rel, sizeof rel, "tests/fixtures/safetensors/%s", names[i]);
        sp_st_file *f = NULL;
        sp_error err;
        int got = sp_st_read(tu_src_path(rel), &f, &err);
        if (got) sp_error_print(&err, stderr);
        assert_int_equal(got, SP_OK);
        sp_st_free(f);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),      cmocka_unit_test(test_padding),
        cmocka_unit_test(test_exact_bytes),     cmocka_unit_test(test_writer_rejects),
        cmocka_unit_test(test_rejects_framing), cmocka_unit_test(test_rejects_entries),
        cmocka_unit_test(test_rejects_layout),  cmocka_unit_test(test_rejects_metadata),
        cmocka_unit_test(test_accepts),         cmocka_unit_test(test_fixtures),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
