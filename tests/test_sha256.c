/* SHA-256 against the FIPS 180-4 / NIST example vectors, split updates, padding edges, files. */
#include "testutil.h"

#include "satprobe/alloc.h"
#include "satprobe/sha256.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void expect_hex(const char *msg, size_t len, const char *want)
{
    char hex[65];
    sp_sha256_hex(msg, len, hex);
    assert_string_equal(hex, want);
}

static void test_vectors(void **state)
{
    (void)state;
    expect_hex("", 0, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    expect_hex("abc", 3, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const char *m448 = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    expect_hex(m448, strlen(m448), "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    const char *m896 = "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
                       "ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";
    expect_hex(m896, strlen(m896), "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void test_million_a(void **state)
{
    (void)state;
    char *a = sp_malloc(1000000, 1);
    memset(a, 'a', 1000000);
    expect_hex(a, 1000000, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    /* The same message in uneven pieces through update(). */
    sp_sha256 c;
    sp_sha256_init(&c);
    size_t done = 0, step = 1;
    while (done < 1000000) {
        size_t take = step < 1000000 - done ? step : 1000000 - done;
        sp_sha256_update(&c, a + done, take);
        done += take;
        step = step * 7 % 131 + 1;
    }
    unsigned char d[32];
    sp_sha256_final(&c, d);
    assert_int_equal(d[0], 0xcd);
    assert_int_equal(d[31], 0xd0);
    free(a);
}

/* Around the padding edges (55, 56, 63, 64, 65 bytes) one-shot and byte-at-a-time agree, and
 * every length gives a different digest. */
static void test_padding_edges(void **state)
{
    (void)state;
    char msg[130], prev[65] = "";
    for (size_t len = 50; len < 130; len++) {
        memset(msg, 'x', len);
        char one[65];
        sp_sha256_hex(msg, len, one);
        sp_sha256 c;
        sp_sha256_init(&c);
        for (size_t i = 0; i < len; i++) sp_sha256_update(&c, msg + i, 1);
        unsigned char d[32];
        sp_sha256_final(&c, d);
        char hex[65];
        for (int i = 0; i < 32; i++) snprintf(hex + 2 * i, 3, "%02x", d[i]);
        assert_string_equal(one, hex);
        assert_string_not_equal(one, prev);
        memcpy(prev, one, sizeof prev);
    }
}

static void test_file(void **state)
{
    (void)state;
    char path[] = "/tmp/sp-sha256-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "abc", 3), 3);
    close(fd);
    char hex[65];
    sp_error err;
    assert_int_equal(sp_sha256_file(path, hex, &err), SP_OK);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    unlink(path);
    assert_int_equal(sp_sha256_file(path, hex, &err), SP_EIO);
    assert_non_null(strstr(err.msg, "cannot open"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_vectors),
        cmocka_unit_test(test_million_a),
        cmocka_unit_test(test_padding_edges),
        cmocka_unit_test(test_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
