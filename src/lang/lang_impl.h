/* Private to src/lang: the language object and the contract each kind implements. */
#ifndef SATPROBE_LANG_IMPL_H
#define SATPROBE_LANG_IMPL_H

#include "satprobe/lang.h"
#include "satprobe/yaml.h"

/* What a kind provides. The generic layer in lang.c checks arguments, keeps `prepared` and
 * calls prepare before count/sample, so the kinds can assume:
 *   - every symbol in a string is in [0, lang->k);
 *   - count(n) and sample(n) are only called with n <= lang->prepared;
 *   - sample(n) only when count(n) > 0.
 * prepare(max_len) is called with a growing max_len (the generic layer at least doubles it);
 * it may rebuild its tables from scratch. */
typedef struct sp_lang_ops {
    bool (*accepts)(const sp_lang *lang, const int *s, size_t n);
    int (*prepare)(sp_lang *lang, size_t max_len, sp_error *err);
    long double (*count)(const sp_lang *lang, size_t n);
    void (*sample)(sp_lang *lang, size_t n, gsl_rng *r, int *out);
    bool (*next)(const sp_lang *lang, const int *p, size_t n, bool *valid, bool *can_end);
    void (*destroy)(void *impl);
} sp_lang_ops;

struct sp_lang {
    char *file;        /* path or buffer name it was loaded from */
    char *name;        /* name: */
    char *description; /* description: */
    char *source;      /* source: literature reference, "" if absent */
    sp_lang_kind kind;
    sp_lang_class cls;
    bool derivations;  /* counts/samples are over derivations (ambiguous CFG allowed) */
    size_t k;          /* alphabet size */
    char **symbols;    /* [k] symbol spellings, unique, non-empty, no white space */
    const sp_lang_ops *ops;
    void *impl;        /* kind state, owned; released by ops->destroy */
    size_t prepared;   /* tables cover lengths 0..prepared when has_tables */
    bool has_tables;
};

/* Kind loaders. Called after the common keys (name, description, source, class, alphabet, kind)
 * have been read into lang. Each reads its own keys from root (and rejects keys it does not know
 * with sp_lang_check_keys), validates them with file:line:col errors, rejects a language with no
 * strings, and sets lang->ops and lang->impl. On error lang->impl must be NULL or freeable by
 * ops->destroy (set ops before impl). */
int sp_regular_load(sp_lang *lang, const sp_yaml_doc *doc, const sp_yaml_node *root, sp_error *err);
int sp_dyck_load(sp_lang *lang, const sp_yaml_doc *doc, const sp_yaml_node *root, sp_error *err);
int sp_counter_load(sp_lang *lang, const sp_yaml_doc *doc, const sp_yaml_node *root, sp_error *err);
int sp_cfg_load(sp_lang *lang, const sp_yaml_doc *doc, const sp_yaml_node *root, sp_error *err);

/* Reject keys of root outside the common keys plus the kind's NULL-terminated `kind_keys`. */
int sp_lang_check_keys(const sp_lang *lang, const sp_yaml_doc *doc, const sp_yaml_node *root,
                       const char *const *kind_keys, sp_error *err);

/* Index of the symbol spelled by the scalar `node` (error at node if not in the alphabet). */
int sp_lang_symbol_at(const sp_lang *lang, const sp_yaml_doc *doc, const sp_yaml_node *node,
                      int *out, sp_error *err);

#endif
