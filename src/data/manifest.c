/* manifest.json: what was asked, what exists, what was written, per split and per length, and
 * the accuracy of the trivial rules on each split, computed from the written counts. */
#include "gen_impl.h"
#include "sp_config.h"
#include "satprobe/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void count_value(sp_json_writer *w, long double c)
{
    if (isinf(c)) {
        sp_json_null(w);
        return;
    }
    char buf[64];
    sp_lang_format_count(c, buf, sizeof buf);
    sp_json_raw(w, buf, strlen(buf));
}

static void range_value(sp_json_writer *w, sp_range r)
{
    sp_json_array_begin_inline(w);
    sp_json_uint(w, r.lo);
    sp_json_uint(w, r.hi);
    sp_json_array_end(w);
}

static void key_uint(sp_json_writer *w, const char *key, uint64_t v)
{
    sp_json_key(w, key);
    sp_json_uint(w, v);
}

static void key_str_or_null(sp_json_writer *w, const char *key, const char *v)
{
    sp_json_key(w, key);
    if (v) sp_json_string(w, v);
    else sp_json_null(w);
}

static void options(sp_json_writer *w, const sp_gen_options *o)
{
    sp_json_key(w, "options");
    sp_json_object_begin(w);
    sp_json_key(w, "task");
    sp_json_string(w, sp_gen_task_name(o->task));
    sp_json_key(w, "format");
    sp_json_string(w, sp_gen_format_name(o->format));
    key_uint(w, "train", o->train);
    sp_json_key(w, "train_lengths");
    range_value(w, o->train_lengths);
    sp_json_key(w, "test_bins");
    sp_json_array_begin_inline(w);
    for (size_t i = 0; i < o->nbins; i++) range_value(w, o->bins[i]);
    sp_json_array_end(w);
    key_uint(w, "per_bin", o->per_bin);
    key_uint(w, "seed", o->seed);
    sp_json_key(w, "near_miss");
    sp_json_double(w, o->near_miss);
    sp_json_key(w, "length_dist");
    sp_json_string(w, sp_gen_length_dist_name(o->length_dist));
    sp_json_object_end(w);
}

static void length_row(sp_json_writer *w, const gen_length *L)
{
    sp_json_object_begin_inline(w);
    key_uint(w, "length", L->n);
    sp_json_key(w, "members");
    count_value(w, L->members);
    sp_json_key(w, "nonmembers");
    count_value(w, L->nonmembers);
    key_uint(w, "positives", L->got[CAT_POS]);
    key_uint(w, "negatives", L->got[CAT_NEAR] + L->got[CAT_RANDOM]);
    key_uint(w, "near_miss", L->got[CAT_NEAR]);
    key_uint(w, "random", L->got[CAT_RANDOM]);
    key_uint(w, "near_miss_fallback", L->near_fallback);
    key_str_or_null(w, "limited_by", L->limited_by);
    key_str_or_null(w, "dropped", L->dropped);
    sp_json_object_end(w);
}

/* Accuracy of always answering the more frequent label, and of answering at each length the
 * label more frequent at that length; null for an empty split. */
static void baselines(sp_json_writer *w, const gen_split *sp)
{
    uint64_t pos = sp->total[CAT_POS], neg = sp->total[CAT_NEAR] + sp->total[CAT_RANDOM];
    uint64_t best = 0;
    for (size_t i = 0; i < sp->nlen; i++) {
        const gen_length *L = &sp->len[i];
        uint64_t p = L->got[CAT_POS], n = L->got[CAT_NEAR] + L->got[CAT_RANDOM];
        best += p > n ? p : n;
    }
    sp_json_key(w, "baselines");
    sp_json_object_begin_inline(w);
    sp_json_key(w, "majority_class");
    if (sp->lines) sp_json_double(w, (double)(pos > neg ? pos : neg) / (double)sp->lines);
    else sp_json_null(w);
    sp_json_key(w, "best_length_only");
    if (sp->lines) sp_json_double(w, (double)best / (double)sp->lines);
    else sp_json_null(w);
    sp_json_object_end(w);
}

static void split(sp_json_writer *w, const gen_split *sp, sp_gen_format format)
{
    char loc[256];
    sp_out_location(format, sp->name, loc, sizeof loc);
    uint64_t fallback = 0;
    for (size_t i = 0; i < sp->nlen; i++) fallback += sp->len[i].near_fallback;
    sp_json_object_begin(w);
    sp_json_key(w, "name");
    sp_json_string(w, sp->name);
    sp_json_key(w, "location");
    sp_json_string(w, loc);
    sp_json_key(w, "lengths");
    range_value(w, sp->range);
    key_uint(w, "requested", sp->requested);
    key_uint(w, "strings", sp->lines);
    key_uint(w, "positives", sp->total[CAT_POS]);
    key_uint(w, "negatives", sp->total[CAT_NEAR] + sp->total[CAT_RANDOM]);
    key_uint(w, "near_miss", sp->total[CAT_NEAR]);
    key_uint(w, "random", sp->total[CAT_RANDOM]);
    key_uint(w, "near_miss_fallback", fallback);
    key_uint(w, "shortfall", sp->requested - sp->lines);
    baselines(w, sp);
    sp_json_key(w, "per_length");
    sp_json_array_begin(w);
    for (size_t i = 0; i < sp->nlen; i++) length_row(w, &sp->len[i]);
    sp_json_array_end(w);
    sp_json_object_end(w);
}

int sp_manifest_write(sp_outdir *dir, const sp_lang *lang, const char *grammar_sha256,
                      const sp_gen_options *o, const gen_split *splits, size_t nsplits,
                      char *const *warnings, size_t nwarnings, sp_error *err)
{
    sp_outfile f;
    char *path = sp_outdir_path(dir, "manifest.json");
    int status = sp_outfile_open(&f, path, err);
    free(path);
    if (status) return status;
    sp_json_writer w;
    sp_json_writer_init(&w, &f.buf, true);
    sp_json_object_begin(&w);
    sp_json_key(&w, "satprobe");
    sp_json_string(&w, SP_VERSION);
    sp_json_key(&w, "grammar");
    sp_json_object_begin(&w);
    sp_json_key(&w, "name");
    sp_json_string(&w, sp_lang_name(lang));
    key_str_or_null(&w, "sha256", grammar_sha256);
    sp_json_key(&w, "kind");
    sp_json_string(&w, sp_lang_kind_name(sp_lang_get_kind(lang)));
    sp_json_key(&w, "class");
    sp_json_string(&w, sp_lang_class_name(sp_lang_get_class(lang)));
    sp_json_object_end(&w);
    sp_json_key(&w, "alphabet");
    sp_json_array_begin_inline(&w);
    for (size_t a = 0; a < sp_lang_alphabet_size(lang); a++) sp_json_string(&w, sp_lang_symbol(lang, (int)a));
    sp_json_array_end(&w);
    key_uint(&w, "seed", o->seed);
    sp_json_key(&w, "task");
    sp_json_string(&w, sp_gen_task_name(o->task));
    sp_json_key(&w, "format");
    sp_json_string(&w, sp_gen_format_name(o->format));
    options(&w, o);
    sp_json_key(&w, "splits");
    sp_json_array_begin(&w);
    for (size_t i = 0; i < nsplits; i++) split(&w, &splits[i], o->format);
    sp_json_array_end(&w);
    sp_json_key(&w, "warnings");
    sp_json_array_begin(&w);
    for (size_t i = 0; i < nwarnings; i++) sp_json_string(&w, warnings[i]);
    sp_json_array_end(&w);
    sp_json_object_end(&w);
    sp_strbuf_putc(&f.buf, '\n');
    return sp_outfile_close(&f, err);
}
