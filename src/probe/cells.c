/* A probe's cells (language × model × seed) in a fixed order, and the shards that split them
 * across machines. The order is the probe file's: languages as expanded (sorted paths), models
 * in file order, seeds in file order, the seed varying fastest. Shard I of N takes the cells
 * whose index is I - 1 modulo N, so that each shard gets every language and a similar mix of
 * cell sizes. */
#include "satprobe/probe.h"

#include <stdlib.h>
#include <string.h>

size_t sp_probe_cell_count(const sp_probe *p)
{
    return p->nlanguages * p->nmodels * p->nseeds;
}

sp_probe_cell sp_probe_cell_at(const sp_probe *p, size_t index)
{
    SP_ASSERT(index < sp_probe_cell_count(p));
    sp_probe_cell c;
    c.index = index;
    c.seed = index % p->nseeds;
    c.model = index / p->nseeds % p->nmodels;
    c.language = index / p->nseeds / p->nmodels;
    return c;
}

/* A whole decimal number in [lo, hi], nothing before or after it. */
static bool parse_count(const char *s, size_t len, unsigned long lo, unsigned long hi, unsigned long *out)
{
    if (len == 0 || len > 9) return false;
    unsigned long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (unsigned long)(s[i] - '0');
    }
    if (v < lo || v > hi) return false;
    *out = v;
    return true;
}

int sp_shard_parse(const char *s, sp_shard *out, sp_error *err)
{
    const char *slash = strchr(s, '/');
    unsigned long i, n;
    if (!slash || !parse_count(slash + 1, strlen(slash + 1), 1, SP_SHARD_MAX, &n) ||
        !parse_count(s, (size_t)(slash - s), 1, SP_SHARD_MAX, &i))
        return sp_error_set(err, SP_EINPUT, NULL, 0, 0,
                            "--shard wants I/N with 1 <= I <= N <= %d (e.g. 2/8), not '%s'", SP_SHARD_MAX,
                            s);
    if (i > n)
        return sp_error_set(err, SP_EINPUT, NULL, 0, 0,
                            "--shard %s: the shard number %lu is above the count %lu", s, i, n);
    out->index = (size_t)i;
    out->count = (size_t)n;
    return SP_OK;
}

/* The value of an environment variable as a count, or an error naming it. */
static int env_count(const char *name, unsigned long lo, unsigned long *out, sp_error *err)
{
    const char *v = getenv(name);
    if (!v || !parse_count(v, strlen(v), lo, SP_SHARD_MAX, out))
        return sp_error_set(err, SP_EINPUT, NULL, 0, 0, "%s is '%s', not a whole number in [%lu, %d]", name,
                            v ? v : "(unset)", lo, SP_SHARD_MAX);
    return SP_OK;
}

int sp_shard_from_env(sp_shard *out, bool *found, sp_error *err)
{
    *found = false;
    const char *id = getenv("SLURM_ARRAY_TASK_ID");
    if (!id) return SP_OK;
    /* Slurm numbers array tasks from the first value of the --array range (0 in most scripts,
     * 1 in others), in steps of SLURM_ARRAY_TASK_STEP; the shard is the task's place in the
     * range. */
    unsigned long task, count, min = 0, step = 1;
    if (env_count("SLURM_ARRAY_TASK_ID", 0, &task, err) ||
        env_count("SLURM_ARRAY_TASK_COUNT", 1, &count, err))
        return SP_EINPUT;
    if (getenv("SLURM_ARRAY_TASK_MIN") && env_count("SLURM_ARRAY_TASK_MIN", 0, &min, err))
        return SP_EINPUT;
    if (getenv("SLURM_ARRAY_TASK_STEP") && env_count("SLURM_ARRAY_TASK_STEP", 1, &step, err))
        return SP_EINPUT;
    if (task < min || (task - min) % step || (task - min) / step >= count)
        return sp_error_set(err, SP_EINPUT, NULL, 0, 0,
                            "SLURM_ARRAY_TASK_ID %lu is not in the array SLURM_ARRAY_TASK_MIN %lu, "
                            "SLURM_ARRAY_TASK_STEP %lu, SLURM_ARRAY_TASK_COUNT %lu",
                            task, min, step, count);
    out->index = (size_t)((task - min) / step + 1);
    out->count = (size_t)count;
    *found = true;
    return SP_OK;
}

bool sp_shard_has(const sp_shard *s, size_t cell_index)
{
    return cell_index % s->count == s->index - 1;
}
