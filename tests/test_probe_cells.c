/* A probe's cells: their order, and shards that split them: every cell in exactly one shard,
 * --shard I/N and Slurm's array variables parsed, bad values rejected with a message. */
#include "testutil.h"

#include "satprobe/probe.h"
#include "sp_config.h"

#include <stdlib.h>
#include <string.h>

static sp_probe *probe(void)
{
    const char *yaml = "name: t\n"
                       "languages: [grammars/tomita-1.yaml, grammars/tomita-2.yaml, grammars/dyck-1.yaml]\n"
                       "models: [{name: a}, {name: b}]\n"
                       "seeds: [7, 3, 5, 1]\n";
    return tu_parse_probe(yaml);
}

static void test_order(void **state)
{
    (void)state;
    sp_probe *p = probe();
    assert_int_equal(sp_probe_cell_count(p), 3 * 2 * 4);
    size_t i = 0;
    for (size_t l = 0; l < 3; l++)
        for (size_t m = 0; m < 2; m++)
            for (size_t s = 0; s < 4; s++, i++) {
                sp_probe_cell c = sp_probe_cell_at(p, i);
                assert_int_equal(c.index, i);
                assert_int_equal(c.language, l);
                assert_int_equal(c.model, m);
                assert_int_equal(c.seed, s);
            }
    /* languages are sorted paths: dyck-1 before tomita-1 */
    assert_non_null(strstr(p->languages[sp_probe_cell_at(p, 0).language], "dyck-1.yaml"));
    assert_int_equal(p->seeds[sp_probe_cell_at(p, 1).seed], 3);
    sp_probe_destroy(p);
}

static void test_shards_partition(void **state)
{
    (void)state;
    for (size_t n = 1; n <= 30; n++) {
        size_t cells = 24;
        size_t *owner = calloc(cells, sizeof *owner), per[31] = {0};
        for (size_t i = 1; i <= n; i++) {
            sp_shard s = {i, n};
            for (size_t c = 0; c < cells; c++)
                if (sp_shard_has(&s, c)) {
                    assert_int_equal(owner[c], 0);
                    owner[c] = i;
                    per[i]++;
                }
        }
        for (size_t c = 0; c < cells; c++) assert_true(owner[c] >= 1);
        /* as even as it can be: sizes differ by at most one */
        for (size_t i = 1; i <= n; i++) assert_true(per[i] == cells / n || per[i] == cells / n + 1);
        free(owner);
    }
}

static void test_shard_parse(void **state)
{
    (void)state;
    sp_shard s;
    sp_error err;
    assert_int_equal(sp_shard_parse("2/8", &s, &err), SP_OK);
    assert_true(s.index == 2 && s.count == 8);
    assert_int_equal(sp_shard_parse("1/1", &s, &err), SP_OK);
    static const char *const bad[] = {"", "3", "0/4", "5/4", "1/0", "a/4", "1/4x", "-1/4", "1//4", " 1/4",
                                      "1/100001", "1/4/", "9999999999/1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        sp_error_clear(&err);
        if (sp_shard_parse(bad[i], &s, &err) != SP_EINPUT) fail_msg("'%s' was accepted", bad[i]);
        assert_non_null(strstr(err.msg, "--shard"));
    }
    assert_int_equal(sp_shard_parse("5/4", &s, &err), SP_EINPUT);
    assert_non_null(strstr(err.msg, "above the count"));
}

static void set_env(const char *id, const char *count, const char *min, const char *step)
{
    const char *names[] = {"SLURM_ARRAY_TASK_ID", "SLURM_ARRAY_TASK_COUNT", "SLURM_ARRAY_TASK_MIN",
                           "SLURM_ARRAY_TASK_STEP"};
    const char *values[] = {id, count, min, step};
    for (int i = 0; i < 4; i++) {
        if (values[i]) setenv(names[i], values[i], 1);
        else unsetenv(names[i]);
    }
}

static void test_shard_from_env(void **state)
{
    (void)state;
    sp_shard s = {0, 0};
    bool found = true;
    sp_error err;
    set_env(NULL, "4", NULL, NULL);
    assert_int_equal(sp_shard_from_env(&s, &found, &err), SP_OK);
    assert_false(found);
    /* --array=0-3 */
    set_env("0", "4", "0", NULL);
    assert_int_equal(sp_shard_from_env(&s, &found, &err), SP_OK);
    assert_true(found && s.index == 1 && s.count == 4);
    set_env("3", "4", "0", NULL);
    assert_int_equal(sp_shard_from_env(&s, &found, &err), SP_OK);
    assert_true(s.index == 4 && s.count == 4);
    /* --array=1-4, and no MIN at all (taken as 0) */
    set_env("1", "4", "1", NULL);
    assert_int_equal(sp_shard_from_env(&s, &found, &err), SP_OK);
    assert_true(s.index == 1 && s.count == 4);
    set_env("2", "3", NULL, NULL);
    assert_int_equal(sp_shard_from_env(&s, &found, &err), SP_OK);
    assert_true(s.index == 3 && s.count == 3);
    /* --array=10-40:10 */
    set_env("30", "4", "10", "10");
    assert_int_equal(sp_shard_from_env(&s, &found, &err), SP_OK);
    assert_true(s.index == 3 && s.count == 4);
    /* not in the array, or not numbers */
    static const char *const bad[][4] = {
        {"4", "4", "0", NULL}, {"0", "4", "1", NULL},    {"15", "4", "10", "10"}, {"x", "4", NULL, NULL},
        {"1", NULL, NULL, NULL}, {"1", "0", NULL, NULL}, {"1", "4", "-1", NULL},  {"1", "4", NULL, "0"}};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        set_env(bad[i][0], bad[i][1], bad[i][2], bad[i][3]);
        sp_error_clear(&err);
        if (sp_shard_from_env(&s, &found, &err) != SP_EINPUT) fail_msg("case %zu was accepted", i);
        assert_non_null(strstr(err.msg, "SLURM_ARRAY_TASK"));
    }
    set_env(NULL, NULL, NULL, NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order),
        cmocka_unit_test(test_shards_partition),
        cmocka_unit_test(test_shard_parse),
        cmocka_unit_test(test_shard_from_env),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
