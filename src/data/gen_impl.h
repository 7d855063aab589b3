/* Private to src/data: the generator's per-split and per-length state, string hashing and sets,
 * pools of enumerated strings, negative construction, and the output writers. */
#ifndef SATPROBE_GEN_IMPL_H
#define SATPROBE_GEN_IMPL_H

#include "satprobe/dataset.h"
#include "satprobe/fsutil.h"
#include "satprobe/oracle.h"

#include <stdint.h>

/* ---- string hashes and sets (strset.c) ---- */

/* 64-bit hash of s[0..n) (the length is mixed in). Never 0. */
uint64_t sp_strhash(const int *s, size_t n);

/* Open addressing on hashes only: the strings themselves are never kept. */
typedef struct sp_strset {
    uint64_t *slot; /* [cap], 0 = empty */
    size_t cap, n;
} sp_strset;

void sp_strset_init(sp_strset *set, size_t expected);
void sp_strset_free(sp_strset *set);
bool sp_strset_has(const sp_strset *set, uint64_t h);
/* Insert; false if h was already there. */
bool sp_strset_add(sp_strset *set, uint64_t h);
/* Start loading h's slot into the cache; the table is far larger than the cache for big
 * splits, so callers do other work on the string before the _has/_add that needs the slot. */
void sp_strset_prefetch(const sp_strset *set, uint64_t h);

/* ---- pools: every candidate of one length, for lengths where most will be taken (pool.c) ---- */

typedef struct sp_pool {
    size_t n;       /* string length */
    size_t count;   /* strings not yet taken */
    uint16_t *data; /* [count * n] symbols (alphabets have at most 1024 symbols) */
    size_t cap;     /* strings data has room for */
} sp_pool;

/* Largest pools: members found by search, and strings enumerated to find non-members. */
#define SP_POOL_MAX_MEMBERS 65536u
#define SP_POOL_MAX_STRINGS 65536u

/* Members of length n, by depth-first search over viable prefixes (sp_lang_next), except those
 * in `exclude` (may be NULL). NULL when there are more than SP_POOL_MAX_MEMBERS or the search
 * would take too many steps. `work` has room for n + 1 ints. */
sp_pool *sp_pool_members(const sp_lang *lang, size_t n, const sp_strset *exclude, int *work);
/* The same for languages with at most a few hundred members of length n (`members`, exact):
 * drawn with the sampler until every one has been seen, which is far cheaper than a search
 * when viable prefixes abound (a^n b^n c^n). NULL if that takes too long. */
#define SP_POOL_COLLECT_MAX 256u
sp_pool *sp_pool_collect(sp_lang *lang, size_t n, size_t members, gsl_rng *r,
                         const sp_strset *exclude, int *work);
/* Non-members of length n by enumerating all k^n strings (caller checks k^n <=
 * SP_POOL_MAX_STRINGS), except those in `exclude`. */
sp_pool *sp_pool_nonmembers(const sp_lang *lang, size_t n, const sp_strset *exclude, int *work);
/* Take one string uniformly at random out of the pool into out[0..n); false when empty. */
bool sp_pool_take(sp_pool *p, gsl_rng *r, int *out);
void sp_pool_destroy(sp_pool *p);

/* ---- negatives (negatives.c) ---- */

/* Uniform random symbols from a caller-owned gsl_rng, buffering its bits. */
typedef struct sp_symdraw {
    gsl_rng *r;
    size_t k;
    unsigned bits;   /* log2(k) when k is a power of two, else 0 */
    uint64_t buf;    /* unused random bits */
    unsigned avail;  /* how many */
} sp_symdraw;

void sp_symdraw_init(sp_symdraw *d, gsl_rng *r, size_t k);
/* out[0..n) uniform over the alphabet. */
void sp_random_string(sp_symdraw *d, int *out, size_t n);
/* Apply K ~ Geometric(1/2) (K >= 1) length-preserving edits to s[0..n) in place and return K.
 * Each edit changes the string: a substitution, a swap of two different adjacent symbols, or
 * deleting one symbol and inserting one elsewhere. Needs k >= 2 and n >= 1; `tmp` holds n ints. */
unsigned sp_near_miss_edit(sp_symdraw *d, int *s, size_t n, int *tmp);

/* ---- per-length and per-split state (plan.c) ---- */

typedef enum { CAT_POS, CAT_NEAR, CAT_RANDOM, NCAT } gen_cat;

typedef struct gen_length {
    size_t n;
    long double members;    /* strings of length n in the language */
    long double nonmembers; /* k^n - members (may be infinite) */
    uint64_t train_pos;     /* members train took at this length (0 for train itself) */
    uint64_t train_neg;     /* non-members train took */
    uint64_t avail_pos;     /* members not used by train (saturates at SP_AVAIL_MANY) */
    uint64_t avail_neg;     /* non-members not used by train (likewise) */
    uint64_t cap;           /* most positives this length can take */
    const char *dropped;    /* why no strings are drawn here, or NULL */
    const char *limited_by; /* "members" or "non-members" when the quota hit the cap */
    uint64_t want[NCAT];    /* quotas */
    uint64_t got[NCAT];     /* written; got[CAT_RANDOM] includes the near-miss fallbacks */
    uint64_t near_fallback; /* near-miss slots filled with random negatives */
    bool near_given_up;
    sp_pool *pos_pool, *neg_pool;
} gen_length;

#define SP_AVAIL_MANY (UINT64_C(1) << 62)

typedef struct gen_split {
    char name[64];          /* "train", "test-51-100" */
    sp_range range;
    uint64_t requested;
    size_t nlen;
    gen_length *len;        /* [nlen], len[i].n = range.lo + i */
    uint64_t total[NCAT];   /* written per category */
    uint64_t lines;
} gen_split;

/* Counts, drops and caps for every length of sp (train's use of strings is in `train`, NULL when
 * sp is train itself), then the quotas: lengths drawn multinomially (uniform or by count), cut at
 * the caps with the excess drawn again among lengths with room, near misses by randomised
 * rounding. */
void sp_plan_split(gen_split *sp, sp_lang *lang, const gen_split *train, const sp_gen_options *o,
                   gsl_rng *r);

/* The split's warnings and notes (warnings.c), one line per emit() call, in a fixed order. */
void sp_split_warnings(const gen_split *sp, void (*emit)(void *ctx, const char *line), void *ctx);

/* ---- output (emit.c) ---- */

enum { OUT_MAIN, OUT_LABELS, OUT_EDITS, OUT_NEXT, NOUT };

typedef struct gen_out {
    sp_gen_format format;
    bool with_next;
    /* OUT_MAIN: the split's .jsonl, or FLaRe's main.tok; the others are FLaRe's labels.txt,
     * num-edits.txt and next-symbols.jsonl (fd -1 when not open). */
    sp_outfile file[NOUT];
    bool made_datasets;     /* FLaRe's datasets/ directory exists */
    const char **esc;       /* [k] symbols escaped for JSON strings (pointing into esc_text) */
    char *esc_text;
    size_t *esc_len;        /* [k] */
    const char **sym;       /* [k] symbols as written (not owned) */
    size_t *sym_len;        /* [k] */
    size_t max_len;         /* longest escaped symbol */
    int *order;             /* [k] symbol indices sorted by spelling (FLaRe next sets) */
    /* When every escaped symbol has at most SP_OUT_SHORT - 1 bytes: [k][SP_OUT_SHORT] each
     * symbol followed by a space, zero-padded, so that a string is written with one fixed-size
     * copy per symbol. NULL otherwise. */
    char *esc_short, *sym_short;
    size_t k;
} gen_out;

#define SP_OUT_SHORT 8

void sp_out_init(gen_out *out, const sp_lang *lang, sp_gen_format format, bool with_next);
void sp_out_free(gen_out *out);
/* Open the split's files under the temporary directory; rel names them in the manifest. */
int sp_out_open(gen_out *out, sp_outdir *dir, const gen_split *sp, sp_error *err);
/* One example. next: [(n + 1) * k] and end: [n + 1] when with_next and label, else NULL.
 * edits: 0 for positives and random negatives. */
void sp_out_line(gen_out *out, const int *s, size_t n, bool label, unsigned edits,
                 const bool *next, const bool *end);
int sp_out_close(gen_out *out, sp_error *err);
void sp_out_discard(gen_out *out);
/* Where a split's data lives relative to the dataset directory: "train.jsonl", "." or
 * "datasets/test-51-100" (FLaRe keeps training data at the top, like FLaRe's own tools). */
void sp_out_location(sp_gen_format format, const char *split, char *buf, size_t size);

/* ---- manifest (manifest.c) ---- */

int sp_manifest_write(sp_outdir *dir, const sp_lang *lang, const char *grammar_sha256,
                      const sp_gen_options *o, const gen_split *splits, size_t nsplits,
                      char *const *warnings, size_t nwarnings, sp_error *err);

#endif
