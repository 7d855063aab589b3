/* Regex parser (a PCRE2 subset) to a syntax tree, and the tree to a Thompson NFA. */
#include "regex.h"
#include "satprobe/alloc.h"
#include "satprobe/error.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Syntax tree. Children of CAT and ALT form a list through first/next; REP has one child
 * (first). Nodes live in one array and refer to each other by index, because the array grows. */
enum { N_SET, N_CAT, N_ALT, N_REP };
#define REP_INF (-1)

typedef struct node {
    int type;
    int first, last; /* CAT, ALT: children; REP: first is the child */
    int next;        /* next sibling, -1 at the end */
    int set;         /* SET: index into the parser's symbol sets */
    int min, max;    /* REP: bounds, max == REP_INF for none */
} node;

/* 256-bit set of bytes, used while reading classes before intersecting with the alphabet. */
typedef struct byteset {
    uint64_t w[4];
} byteset;

typedef struct parser {
    const unsigned char *re;
    size_t len, pos;
    const int *byte_sym; /* [256] */
    size_t k, words;
    node *nodes; /* [nn] */
    size_t nn, ncap;
    uint64_t *sets; /* [nsets * words] */
    size_t nsets, scap;
    int depth;  /* open groups */
    bool quote; /* inside \Q...\E: every character is a literal */
    sp_regex_error *err;
} parser;

/* Returned by parse_atom when the item produces nothing ((?#...), \E, \Q). */
#define NO_NODE (-1)

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static int fail(parser *p, sp_regex_fault f, size_t off, const char *fmt, ...)
{
    p->err->fault = f;
    p->err->offset = off;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->err->msg, sizeof p->err->msg, fmt, ap);
    va_end(ap);
    return -1;
}

static const char not_regular[] = "is not regular; satprobe compiles regexes to DFAs";

/* Byte at pos + i, or -1 past the end. */
static int peek(const parser *p, size_t i)
{
    return p->pos + i < p->len ? p->re[p->pos + i] : -1;
}

static bool is_digit(int c) { return c >= '0' && c <= '9'; }
static bool is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static bool is_alnum(int c) { return is_digit(c) || is_alpha(c); }
static bool is_hex(int c)
{
    return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static int hex_value(int c) { return is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10; }

static void bs_add(byteset *s, int c) { s->w[c >> 6] |= (uint64_t)1 << (c & 63); }
static bool bs_has(const byteset *s, int c) { return (s->w[c >> 6] >> (c & 63)) & 1u; }
static void bs_range(byteset *s, int lo, int hi)
{
    for (int c = lo; c <= hi; c++) bs_add(s, c);
}
static void bs_union(byteset *s, const byteset *t)
{
    for (int i = 0; i < 4; i++) s->w[i] |= t->w[i];
}
static void bs_negate(byteset *s)
{
    for (int i = 0; i < 4; i++) s->w[i] = ~s->w[i];
}

/* The named sets of PCRE2's default (C locale) character tables. */
static byteset named_set(int which)
{
    byteset s = {{0}};
    switch (which) {
    case 'd': bs_range(&s, '0', '9'); break;
    case 'w':
        bs_range(&s, '0', '9');
        bs_range(&s, 'A', 'Z');
        bs_range(&s, 'a', 'z');
        bs_add(&s, '_');
        break;
    case 's':
        bs_range(&s, 9, 13);
        bs_add(&s, ' ');
        break;
    case 'h':
        bs_add(&s, 9);
        bs_add(&s, ' ');
        bs_add(&s, 0xa0);
        break;
    case 'v':
        bs_range(&s, 10, 13);
        bs_add(&s, 0x85);
        break;
    default: SP_ASSERT(!"unknown named set");
    }
    return s;
}

/* POSIX class [:name:] in the C locale; false for an unknown name. */
static bool posix_set(const char *name, size_t len, byteset *s)
{
    static const char *const names[] = {"alpha", "digit", "alnum", "upper", "lower", "space",
                                        "blank", "cntrl", "graph", "print", "punct", "xdigit",
                                        "word",  "ascii", NULL};
    int which = -1;
    for (int i = 0; names[i]; i++)
        if (strlen(names[i]) == len && memcmp(names[i], name, len) == 0) which = i;
    if (which < 0) return false;
    memset(s, 0, sizeof *s);
    for (int c = 0; c < 256; c++) {
        bool upper = c >= 'A' && c <= 'Z', lower = c >= 'a' && c <= 'z', digit = is_digit(c);
        bool alnum = upper || lower || digit, graph = c >= 33 && c <= 126;
        bool in = false;
        switch (which) {
        case 0: in = upper || lower; break;
        case 1: in = digit; break;
        case 2: in = alnum; break;
        case 3: in = upper; break;
        case 4: in = lower; break;
        case 5: in = (c >= 9 && c <= 13) || c == ' '; break;
        case 6: in = c == 9 || c == ' '; break;
        case 7: in = c < 32 || c == 127; break;
        case 8: in = graph; break;
        case 9: in = graph || c == ' '; break;
        case 10: in = graph && !alnum; break;
        case 11: in = is_hex(c); break;
        case 12: in = alnum || c == '_'; break;
        case 13: in = c < 128; break;
        }
        if (in) bs_add(s, c);
    }
    return true;
}

/* "'x'" for a printable byte, "character \xHH" otherwise. */
static const char *show_char(int c, char buf[32])
{
    if (c > 32 && c < 127) snprintf(buf, 32, "'%c'", c);
    else snprintf(buf, 32, "character \\x%02x", (unsigned)c);
    return buf;
}

/* The alphabet's characters, for hints in messages. */
static const char *show_alphabet(const parser *p, char buf[160])
{
    size_t used = 0;
    buf[0] = '\0';
    for (int c = 0; c < 256; c++) {
        if (p->byte_sym[c] < 0) continue;
        if (used + 8 >= 160) {
            snprintf(buf + used, 160 - used, " ...");
            break;
        }
        int w = snprintf(buf + used, 160 - used, used ? " %c" : "%c", c);
        used += (size_t)w;
    }
    return buf;
}

static int new_node(parser *p, int type)
{
    SP_GROW(p->nodes, p->ncap, p->nn + 1);
    node *n = &p->nodes[p->nn];
    n->type = type;
    n->first = n->last = n->next = -1;
    n->set = -1;
    n->min = n->max = 0;
    return (int)p->nn++;
}

static void add_child(parser *p, int parent, int child)
{
    node *n = &p->nodes[parent];
    if (n->last < 0) n->first = child;
    else p->nodes[n->last].next = child;
    n->last = child;
}

/* A SET node for the alphabet symbols among the bytes of s, or -1 (nothing made) if there are
 * none. */
static int set_node(parser *p, const byteset *s)
{
    SP_GROW(p->sets, p->scap, (p->nsets + 1) * p->words);
    uint64_t *w = p->sets + p->nsets * p->words;
    memset(w, 0, p->words * sizeof *w);
    bool any = false;
    for (int c = 0; c < 256; c++) {
        int a = p->byte_sym[c];
        if (a < 0 || !bs_has(s, c)) continue;
        w[a / 64] |= (uint64_t)1 << (a % 64);
        any = true;
    }
    if (!any) return -1;
    int n = new_node(p, N_SET);
    p->nodes[n].set = (int)p->nsets++;
    return n;
}

static int literal_node(parser *p, int c, size_t at, int *out)
{
    byteset s = {{0}};
    bs_add(&s, c);
    *out = set_node(p, &s);
    if (*out >= 0) return 0;
    char cb[32], ab[160];
    return fail(p, SP_REGEX_ALPHABET, at, "%s is not in the alphabet (%s)", show_char(c, cb),
                show_alphabet(p, ab));
}

static int class_node(parser *p, const byteset *s, size_t at, size_t end, const char *what,
                      int *out)
{
    *out = set_node(p, s);
    if (*out >= 0) return 0;
    int w = (int)(end - at > 40 ? 40 : end - at);
    char ab[160];
    return fail(p, SP_REGEX_ALPHABET, at, "%s %.*s%s matches no alphabet symbol (%s)", what, w,
                (const char *)p->re + at, end - at > 40 ? "..." : "", show_alphabet(p, ab));
}

/* Whether a {m}, {m,} or {m,n} quantifier starts at pos + i (PCRE2 10.42 reads anything else
 * as literal text). */
static bool brace_quantifier_at(const parser *p, size_t i)
{
    if (peek(p, i) != '{' || !is_digit(peek(p, i + 1))) return false;
    i++;
    while (is_digit(peek(p, i))) i++;
    if (peek(p, i) == '}') return true;
    if (peek(p, i) != ',') return false;
    i++;
    while (is_digit(peek(p, i))) i++;
    return peek(p, i) == '}';
}

static bool quantifier_at(const parser *p)
{
    int c = peek(p, 0);
    return c == '*' || c == '+' || c == '?' || brace_quantifier_at(p, 0);
}

/* A decimal number of a quantifier; values above the cap saturate so nothing overflows. */
static long read_count(parser *p)
{
    long v = 0;
    while (is_digit(peek(p, 0))) {
        if (v <= 1000000) v = v * 10 + (peek(p, 0) - '0');
        p->pos++;
    }
    return v;
}

/* Length of the text of a back-reference or subroutine call that starts with \g or \k at
 * `at`, for messages: up to the closing bracket or over the digits. */
static size_t ref_span(const parser *p, size_t at)
{
    size_t i = at + 2;
    if (i < p->len && (p->re[i] == '{' || p->re[i] == '<' || p->re[i] == '\'')) {
        char close = p->re[i] == '{' ? '}' : p->re[i] == '<' ? '>' : '\'';
        while (i < p->len && i - at < 32 && p->re[i] != close) i++;
        return i < p->len && p->re[i] == close ? i + 1 - at : i - at;
    }
    if (i < p->len && (p->re[i] == '+' || p->re[i] == '-')) i++;
    while (i < p->len && is_digit(p->re[i]) && i - at < 32) i++;
    return i - at;
}

enum { ESC_CHAR, ESC_SET, ESC_NONE };

/* One escape sequence at pos (the backslash). Returns ESC_CHAR with *ch, ESC_SET with *set,
 * ESC_NONE for \E (and \Q, which switches quoting on), or -1 on error. */
static int parse_escape(parser *p, bool in_class, int *ch, byteset *set)
{
    size_t at = p->pos;
    const char *txt = (const char *)p->re + at;
    if (at + 1 >= p->len) return fail(p, SP_REGEX_SYNTAX, at, "\\ at end of pattern");
    int c = p->re[at + 1];
    p->pos = at + 2;
    switch (c) {
    case 'd': case 'w': case 's': case 'h': case 'v':
        *set = named_set(c);
        return ESC_SET;
    case 'D': case 'W': case 'S': case 'H': case 'V':
        *set = named_set(c | 0x20);
        bs_negate(set);
        return ESC_SET;
    case 'N':
        if (in_class || peek(p, 0) == '{')
            return fail(p, SP_REGEX_SYNTAX, at, "\\N is not allowed here");
        memset(set, 0, sizeof *set);
        bs_negate(set);
        set->w[0] &= ~((uint64_t)1 << '\n');
        return ESC_SET;
    case 'a': *ch = 7; return ESC_CHAR;
    case 'e': *ch = 27; return ESC_CHAR;
    case 'f': *ch = 12; return ESC_CHAR;
    case 'n': *ch = 10; return ESC_CHAR;
    case 'r': *ch = 13; return ESC_CHAR;
    case 't': *ch = 9; return ESC_CHAR;
    case 'b':
        if (in_class) {
            *ch = 8; /* backspace, as in PCRE2 */
            return ESC_CHAR;
        }
        return fail(p, SP_REGEX_UNSUPPORTED, at,
                    "anchor \\b (word boundary) is not supported: the regex always matches the "
                    "whole string; remove it");
    case 'B': case 'A': case 'z': case 'Z': case 'G':
        if (in_class)
            return fail(p, SP_REGEX_SYNTAX, at, "escape \\%c is not allowed in a class", c);
        return fail(p, SP_REGEX_UNSUPPORTED, at,
                    "anchor \\%c is not supported: the regex always matches the whole string "
                    "(anchoring is implied); remove it",
                    c);
    case '0': {
        int v = 0;
        for (int i = 0; i < 2 && peek(p, 0) >= '0' && peek(p, 0) <= '7'; i++, p->pos++)
            v = v * 8 + (peek(p, 0) - '0');
        *ch = v;
        return ESC_CHAR;
    }
    case 'o': {
        if (peek(p, 0) != '{' || !(peek(p, 1) >= '0' && peek(p, 1) <= '7'))
            return fail(p, SP_REGEX_SYNTAX, at, "\\o must be followed by {octal digits}");
        p->pos++;
        long v = 0;
        while (peek(p, 0) >= '0' && peek(p, 0) <= '7') {
            if (v < 4096) v = v * 8 + (peek(p, 0) - '0');
            p->pos++;
        }
        if (peek(p, 0) != '}' || v > 255)
            return fail(p, SP_REGEX_SYNTAX, at, "bad \\o{...} character code");
        p->pos++;
        *ch = (int)v;
        return ESC_CHAR;
    }
    case 'x': {
        long v = 0;
        if (peek(p, 0) == '{') {
            p->pos++;
            if (!is_hex(peek(p, 0))) return fail(p, SP_REGEX_SYNTAX, at, "bad \\x{...}");
            while (is_hex(peek(p, 0))) {
                if (v < 4096) v = v * 16 + hex_value(peek(p, 0));
                p->pos++;
            }
            if (peek(p, 0) != '}' || v > 255)
                return fail(p, SP_REGEX_SYNTAX, at, "bad \\x{...} character code");
            p->pos++;
        } else {
            for (int i = 0; i < 2 && is_hex(peek(p, 0)); i++, p->pos++)
                v = v * 16 + hex_value(peek(p, 0));
        }
        *ch = (int)v;
        return ESC_CHAR;
    }
    case 'c': {
        int x = peek(p, 0);
        if (x < 32 || x > 126) return fail(p, SP_REGEX_SYNTAX, at, "bad \\c escape");
        p->pos++;
        if (x >= 'a' && x <= 'z') x -= 32;
        *ch = x ^ 0x40;
        return ESC_CHAR;
    }
    case 'Q':
        if (in_class)
            return fail(p, SP_REGEX_UNSUPPORTED, at,
                        "\\Q...\\E inside a character class is not supported; escape the "
                        "characters one by one");
        p->quote = true;
        return ESC_NONE;
    case 'E': return ESC_NONE;
    case 'p': case 'P':
        return fail(p, SP_REGEX_UNSUPPORTED, at,
                    "Unicode property \\%c is not supported; list the characters in a class", c);
    case 'X': case 'R': case 'C':
        if (in_class)
            return fail(p, SP_REGEX_SYNTAX, at, "escape \\%c is not allowed in a class", c);
        return fail(p, SP_REGEX_UNSUPPORTED, at,
                    "\\%c is not supported; use a class or . for single characters", c);
    default: break;
    }
    if (c >= '1' && c <= '9') {
        if (in_class) {
            /* PCRE2 reads \1..\7 in a class as octal; \8 and \9 are rejected strictly. */
            if (c > '7') return fail(p, SP_REGEX_SYNTAX, at, "\\%c in a class", c);
            int v = c - '0';
            for (int i = 0; i < 2 && peek(p, 0) >= '0' && peek(p, 0) <= '7'; i++, p->pos++)
                v = v * 8 + (peek(p, 0) - '0');
            if (v > 255) return fail(p, SP_REGEX_SYNTAX, at, "octal value is greater than \\377");
            *ch = v;
            return ESC_CHAR;
        }
        size_t n = 2;
        while (at + n < p->len && is_digit(p->re[at + n]) && n < 12) n++;
        /* PCRE2 reads \NN.. as a back-reference or as an octal code depending on how many
         * groups the whole regex has; refuse the ambiguity rather than guess. */
        if (n > 2)
            return fail(p, SP_REGEX_UNSUPPORTED, at,
                        "back-reference or octal escape %.*s is ambiguous; back-references "
                        "are not regular, and a character code is written \\o{...} or \\x{...}",
                        (int)n, txt);
        return fail(p, SP_REGEX_UNSUPPORTED, at, "back-reference %.*s %s", (int)n, txt,
                    not_regular);
    }
    if (c == 'g' || c == 'k') {
        if (in_class)
            return fail(p, SP_REGEX_SYNTAX, at, "escape \\%c is not allowed in a class", c);
        size_t n = ref_span(p, at);
        int open = peek(p, 0);
        if (c == 'g' && (open == '<' || open == '\''))
            return fail(p, SP_REGEX_UNSUPPORTED, at, "subroutine call %.*s %s", (int)n, txt,
                        not_regular);
        return fail(p, SP_REGEX_UNSUPPORTED, at, "back-reference %.*s %s", (int)n, txt,
                    not_regular);
    }
    if (c == 'K') {
        if (in_class)
            return fail(p, SP_REGEX_SYNTAX, at, "escape \\%c is not allowed in a class", c);
        return fail(p, SP_REGEX_UNSUPPORTED, at,
                    "\\K (match start reset) is not supported: the regex always matches the "
                    "whole string");
    }
    if (is_alnum(c)) return fail(p, SP_REGEX_SYNTAX, at, "unrecognized escape \\%c", c);
    /* Any other escaped character stands for itself. */
    *ch = c;
    return ESC_CHAR;
}

/* One class item at pos: ESC_CHAR with *ch or ESC_SET with *set, or -1. */
static int class_item(parser *p, int *ch, byteset *set)
{
    size_t at = p->pos;
    int c = p->re[at];
    if (c == '\\') {
        int r = parse_escape(p, true, ch, set);
        if (r == ESC_NONE) return fail(p, SP_REGEX_SYNTAX, at, "\\E in a class is not supported");
        return r;
    }
    if (c == '[' && (peek(p, 1) == ':' || peek(p, 1) == '.' || peek(p, 1) == '=')) {
        if (peek(p, 1) != ':')
            return fail(p, SP_REGEX_SYNTAX, at, "POSIX collating elements are not supported");
        size_t i = at + 2;
        bool neg = i < p->len && p->re[i] == '^';
        if (neg) i++;
        size_t name = i;
        while (i < p->len && p->re[i] >= 'a' && p->re[i] <= 'z') i++;
        if (i + 1 >= p->len || p->re[i] != ':' || p->re[i + 1] != ']')
            return fail(p, SP_REGEX_SYNTAX, at,
                        "'[:' in a class must start a POSIX class such as [:digit:]; write \\[ "
                        "for a literal '['");
        if (!posix_set((const char *)p->re + name, i - name, set))
            return fail(p, SP_REGEX_SYNTAX, at, "unknown POSIX class name");
        if (neg) bs_negate(set);
        p->pos = i + 2;
        return ESC_SET;
    }
    p->pos++;
    *ch = c;
    return ESC_CHAR;
}

static int parse_class(parser *p, int *out)
{
    size_t open = p->pos++;
    bool neg = peek(p, 0) == '^';
    if (neg) p->pos++;
    byteset s = {{0}};
    for (bool first = true;; first = false) {
        if (p->pos >= p->len)
            return fail(p, SP_REGEX_SYNTAX, open, "missing terminating ] for character class");
        if (p->re[p->pos] == ']' && !first) {
            p->pos++;
            break;
        }
        size_t item = p->pos;
        int lo;
        byteset is;
        int r = class_item(p, &lo, &is);
        if (r < 0) return -1;
        bool range = peek(p, 0) == '-' && peek(p, 1) != ']' && peek(p, 1) != -1;
        if (r == ESC_SET) {
            if (range)
                return fail(p, SP_REGEX_SYNTAX, item, "invalid range in character class");
            bs_union(&s, &is);
            continue;
        }
        if (!range) {
            bs_add(&s, lo);
            continue;
        }
        p->pos++;
        int hi;
        r = class_item(p, &hi, &is);
        if (r < 0) return -1;
        if (r != ESC_CHAR)
            return fail(p, SP_REGEX_SYNTAX, item, "invalid range in character class");
        if (hi < lo) return fail(p, SP_REGEX_SYNTAX, item, "range out of order in character class");
        bs_range(&s, lo, hi);
    }
    if (neg) bs_negate(&s);
    return class_node(p, &s, open, p->pos, "character class", out);
}

static int parse_alt(parser *p, int *out);

/* Skip a group name up to its terminator; pos ends after the terminator. */
static int skip_name(parser *p, size_t at, char close)
{
    size_t i = p->pos;
    if (i >= p->len || !(is_alpha(p->re[i]) || p->re[i] == '_'))
        return fail(p, SP_REGEX_SYNTAX, at, "bad group name");
    while (i < p->len && (is_alnum(p->re[i]) || p->re[i] == '_')) i++;
    if (i >= p->len || p->re[i] != close)
        return fail(p, SP_REGEX_SYNTAX, at, "syntax error in group name");
    p->pos = i + 1;
    return 0;
}

/* (* ... ): verbs, start-of-pattern options and alpha assertions, none of which we support. */
static int parse_verb(parser *p, size_t at)
{
    size_t i = at + 2, name = i;
    while (i < p->len && (is_alnum(p->re[i]) || p->re[i] == '_')) i++;
    size_t n = i - name;
    if (n == 0 && !(i < p->len && p->re[i] == ':'))
        return fail(p, SP_REGEX_SYNTAX, at, "quantifier does not follow a repeatable item");
    const char *nm = (const char *)p->re + name;
#define IS(s) (n == strlen(s) && memcmp(nm, s, n) == 0)
    const char *what = NULL;
    if (IS("pla") || IS("positive_lookahead") || IS("nla") || IS("negative_lookahead") ||
        IS("napla") || IS("non_atomic_positive_lookahead"))
        what = "look-ahead";
    else if (IS("plb") || IS("positive_lookbehind") || IS("nlb") || IS("negative_lookbehind") ||
             IS("naplb") || IS("non_atomic_positive_lookbehind"))
        what = "look-behind";
    else if (IS("atomic"))
        what = "atomic group";
    else if (IS("sr") || IS("script_run") || IS("asr") || IS("atomic_script_run"))
        what = "script run";
#undef IS
    int w = (int)(n > 40 ? 40 : n);
    if (what)
        return fail(p, SP_REGEX_UNSUPPORTED, at, "%s (*%.*s: %s", what, w, nm, not_regular);
    return fail(p, SP_REGEX_UNSUPPORTED, at,
                "backtracking verb or option (*%.*s) is not supported; satprobe compiles regexes "
                "to DFAs",
                w, nm);
}

/* A group at pos ('('). *out is NO_NODE for a comment. */
static int parse_group(parser *p, int *out)
{
    size_t at = p->pos;
    const char *txt = (const char *)p->re + at;
    *out = NO_NODE;
    if (peek(p, 1) == '*') return parse_verb(p, at);
    if (peek(p, 1) == '?') {
        int c = peek(p, 2), d = peek(p, 3);
        p->pos += 3;
        switch (c) {
        case ':': case '|': break; /* (?| only renumbers groups; the language is the same */
        case '=': case '!':
            return fail(p, SP_REGEX_UNSUPPORTED, at, "look-ahead (?%c %s", c, not_regular);
        case '*':
            return fail(p, SP_REGEX_UNSUPPORTED, at, "look-ahead (?* %s", not_regular);
        case '<':
            if (d == '=' || d == '!' || d == '*')
                return fail(p, SP_REGEX_UNSUPPORTED, at, "look-behind (?<%c %s", d, not_regular);
            if (skip_name(p, at, '>')) return -1;
            break;
        case '\'':
            if (skip_name(p, at, '\'')) return -1;
            break;
        case 'P':
            p->pos++;
            if (d == '<') {
                if (skip_name(p, at, '>')) return -1;
                break;
            }
            if (d == '=')
                return fail(p, SP_REGEX_UNSUPPORTED, at, "back-reference (?P= %s", not_regular);
            if (d == '>')
                return fail(p, SP_REGEX_UNSUPPORTED, at, "subroutine call (?P> %s", not_regular);
            return fail(p, SP_REGEX_SYNTAX, at, "unrecognized character after (?P");
        case '>':
            return fail(p, SP_REGEX_UNSUPPORTED, at, "atomic group (?> %s", not_regular);
        case '(':
            return fail(p, SP_REGEX_UNSUPPORTED, at, "conditional group (?( %s", not_regular);
        case 'R':
            return fail(p, SP_REGEX_UNSUPPORTED, at, "recursion (?R) %s", not_regular);
        case '&':
            return fail(p, SP_REGEX_UNSUPPORTED, at, "subroutine call (?& %s", not_regular);
        case 'C':
            return fail(p, SP_REGEX_UNSUPPORTED, at,
                        "callout (?C is not supported; satprobe compiles regexes to DFAs");
        case '#':
            while (p->pos < p->len && p->re[p->pos] != ')') p->pos++;
            if (p->pos >= p->len) return fail(p, SP_REGEX_SYNTAX, at, "missing ) after comment");
            p->pos++;
            return 0;
        default:
            if (is_digit(c) || ((c == '+' || c == '-') && is_digit(d))) {
                size_t n = 2;
                while (at + n < p->len && n < 12 && p->re[at + n] != ')') n++;
                if (at + n < p->len && p->re[at + n] == ')') n++;
                return fail(p, SP_REGEX_UNSUPPORTED, at, "%s %.*s %s",
                            c == '0' ? "recursion" : "subroutine call", (int)n, txt, not_regular);
            }
            if (is_alpha(c) || c == '-' || c == '^') {
                size_t n = 2;
                while (at + n < p->len && n < 24 && p->re[at + n] != ')' && p->re[at + n] != ':')
                    n++;
                if (at + n < p->len) n++;
                return fail(p, SP_REGEX_UNSUPPORTED, at,
                            "inline option %.*s is not supported; write the characters out "
                            "instead (for example [aA] for a case-insensitive a)",
                            (int)n, txt);
            }
            return fail(p, SP_REGEX_SYNTAX, at, "unrecognized character after (?");
        }
    } else {
        p->pos++;
    }
    if (++p->depth > SP_REGEX_MAX_DEPTH)
        return fail(p, SP_REGEX_LIMIT, at, "groups are nested more than %d deep",
                    SP_REGEX_MAX_DEPTH);
    if (parse_alt(p, out)) return -1;
    if (peek(p, 0) != ')') return fail(p, SP_REGEX_SYNTAX, at, "missing closing parenthesis");
    p->pos++;
    p->depth--;
    return 0;
}

/* One item at pos; *out is a node or NO_NODE. */
static int parse_atom(parser *p, int *out)
{
    size_t at = p->pos;
    int c = p->re[at];
    *out = NO_NODE;
    if (p->quote) {
        if (c == '\\' && peek(p, 1) == 'E') {
            p->quote = false;
            p->pos += 2;
            return 0;
        }
        p->pos++;
        if (literal_node(p, c, at, out)) return -1;
        /* A quantifier after \Q..x\E applies to x. */
        if (peek(p, 0) == '\\' && peek(p, 1) == 'E') {
            p->quote = false;
            p->pos += 2;
        }
        return 0;
    }
    switch (c) {
    case '(': return parse_group(p, out);
    case '[': return parse_class(p, out);
    case '.': {
        byteset s = {{0}};
        bs_negate(&s);
        s.w[0] &= ~((uint64_t)1 << '\n');
        p->pos++;
        return class_node(p, &s, at, p->pos, "wildcard", out);
    }
    case '^': case '$':
        return fail(p, SP_REGEX_UNSUPPORTED, at,
                    "anchor %c is not supported: the regex always matches the whole string "
                    "(anchoring is implied); remove it",
                    c);
    case '*': case '+': case '?':
        return fail(p, SP_REGEX_SYNTAX, at, "quantifier does not follow a repeatable item");
    case '{':
        if (brace_quantifier_at(p, 0))
            return fail(p, SP_REGEX_SYNTAX, at, "quantifier does not follow a repeatable item");
        return fail(p, SP_REGEX_UNSUPPORTED, at,
                    "'{' does not start a quantifier {m}, {m,} or {m,n} here; write \\{ for a "
                    "literal brace");
    case '\\': {
        int ch;
        byteset s;
        int r = parse_escape(p, false, &ch, &s);
        if (r < 0) return -1;
        if (r == ESC_NONE) return 0;
        if (r == ESC_CHAR) return literal_node(p, ch, at, out);
        return class_node(p, &s, at, p->pos, "escape", out);
    }
    default:
        p->pos++;
        return literal_node(p, c, at, out);
    }
}

/* Quantifiers after an atom: wrap *atom in a REP node. */
static int parse_quantifier(parser *p, int *atom)
{
    size_t at = p->pos;
    long lo, hi;
    int c = peek(p, 0);
    if (c == '*' || c == '+' || c == '?') {
        lo = c == '+';
        hi = c == '?' ? 1 : REP_INF;
        p->pos++;
    } else {
        p->pos++;
        lo = read_count(p);
        hi = lo;
        if (peek(p, 0) == ',') {
            p->pos++;
            hi = is_digit(peek(p, 0)) ? read_count(p) : REP_INF;
        }
        SP_ASSERT(peek(p, 0) == '}');
        p->pos++;
        int w = (int)(p->pos - at > 40 ? 40 : p->pos - at);
        if (lo > SP_REGEX_MAX_REPEAT || hi > SP_REGEX_MAX_REPEAT)
            return fail(p, SP_REGEX_LIMIT, at,
                        "repetition count in %.*s is larger than the maximum of %d", w,
                        (const char *)p->re + at, SP_REGEX_MAX_REPEAT);
        if (hi != REP_INF && hi < lo)
            return fail(p, SP_REGEX_SYNTAX, at, "numbers out of order in {} quantifier");
    }
    if (peek(p, 0) == '+')
        return fail(p, SP_REGEX_UNSUPPORTED, at,
                    "possessive quantifier %.*s+ is not supported (it changes which strings "
                    "match); use %.*s",
                    (int)(p->pos - at), (const char *)p->re + at, (int)(p->pos - at),
                    (const char *)p->re + at);
    if (peek(p, 0) == '?') p->pos++; /* lazy: the same language under whole-string matching */
    if (quantifier_at(p))
        return fail(p, SP_REGEX_SYNTAX, p->pos, "quantifier does not follow a repeatable item");
    int r = new_node(p, N_REP);
    p->nodes[r].first = *atom;
    p->nodes[r].min = (int)lo;
    p->nodes[r].max = (int)hi;
    *atom = r;
    return 0;
}

static int parse_concat(parser *p, int *out)
{
    int cat = new_node(p, N_CAT);
    while (p->pos < p->len) {
        int c = p->re[p->pos];
        if (!p->quote && (c == '|' || c == ')')) break;
        int atom;
        if (parse_atom(p, &atom)) return -1;
        if (p->quote) {
            if (atom != NO_NODE) add_child(p, cat, atom);
            continue;
        }
        if (quantifier_at(p)) {
            if (atom == NO_NODE)
                return fail(p, SP_REGEX_SYNTAX, p->pos,
                            "quantifier does not follow a repeatable item");
            if (parse_quantifier(p, &atom)) return -1;
        }
        if (atom != NO_NODE) add_child(p, cat, atom);
    }
    *out = cat;
    return 0;
}

static int parse_alt(parser *p, int *out)
{
    int first;
    if (parse_concat(p, &first)) return -1;
    if (p->quote || peek(p, 0) != '|') {
        *out = first;
        return 0;
    }
    int alt = new_node(p, N_ALT);
    add_child(p, alt, first);
    while (!p->quote && peek(p, 0) == '|') {
        p->pos++;
        int next;
        if (parse_concat(p, &next)) return -1;
        add_child(p, alt, next);
    }
    *out = alt;
    return 0;
}

/* ---- NFA construction ---- */

#define SIZE_CAP ((size_t)SP_REGEX_MAX_NFA + 1)

static size_t sat_add(size_t a, size_t b) { return a + b > SIZE_CAP ? SIZE_CAP : a + b; }
static size_t sat_mul(size_t a, size_t b)
{
    if (a != 0 && b > SIZE_CAP / a) return SIZE_CAP;
    return a * b > SIZE_CAP ? SIZE_CAP : a * b;
}

/* NFA states that build() makes for node i, saturated at SIZE_CAP. Must match build(). */
static size_t node_size(const parser *p, int i)
{
    const node *nd = &p->nodes[i];
    size_t s = 0, m = 0;
    switch (nd->type) {
    case N_SET: return 2;
    case N_CAT:
        for (int c = nd->first; c >= 0; c = p->nodes[c].next) s = sat_add(s, node_size(p, c));
        return s ? s : 1;
    case N_ALT:
        for (int c = nd->first; c >= 0; c = p->nodes[c].next, m++) s = sat_add(s, node_size(p, c));
        return sat_add(s, m);
    case N_REP: {
        if (nd->max == 0) return 1;
        size_t c = node_size(p, nd->first);
        s = sat_mul((size_t)nd->min, c);
        if (nd->max == REP_INF) s = sat_add(s, nd->min == 0 ? c + 1 : 1);
        else if (nd->max > nd->min)
            s = sat_add(s, sat_add(sat_mul((size_t)(nd->max - nd->min), c + 1), 1));
        return s;
    }
    }
    SP_ASSERT(!"unknown node type");
    return 0;
}

typedef struct builder {
    const parser *p;
    sp_nfa_state *st;
    size_t n, cap;
} builder;

static int state_new(builder *b, int set)
{
    SP_ASSERT(b->n < b->cap);
    b->st[b->n].out[0] = b->st[b->n].out[1] = -1;
    b->st[b->n].set = set;
    return (int)b->n++;
}

/* Epsilon move from a fragment's end (an epsilon state whose out[0] is free) to `to`. */
static void link(builder *b, int end, int to)
{
    SP_ASSERT(b->st[end].set < 0 && b->st[end].out[0] < 0);
    b->st[end].out[0] = to;
}

/* Append fragment (s, e) to the fragment (*start, *end), which is empty when *start < 0. */
static void append(builder *b, int *start, int *end, int s, int e)
{
    if (*start < 0) *start = s;
    else link(b, *end, s);
    *end = e;
}

/* Build node i as a fragment: start state and end state (an epsilon state with out[0] free). */
static void build(builder *b, int i, int *start, int *end)
{
    const node *nd = &b->p->nodes[i];
    int s = -1, e = -1, cs, ce;
    switch (nd->type) {
    case N_SET:
        s = state_new(b, nd->set);
        e = state_new(b, -1);
        b->st[s].out[0] = e;
        break;
    case N_CAT:
        for (int c = nd->first; c >= 0; c = b->p->nodes[c].next) {
            build(b, c, &cs, &ce);
            append(b, &s, &e, cs, ce);
        }
        if (s < 0) s = e = state_new(b, -1);
        break;
    case N_ALT: {
        /* A chain of splits, one per child but the last, and a join state. */
        e = state_new(b, -1);
        int split = -1;
        for (int c = nd->first; c >= 0; c = b->p->nodes[c].next) {
            int q = -1;
            if (b->p->nodes[c].next >= 0) q = state_new(b, -1);
            build(b, c, &cs, &ce);
            link(b, ce, e);
            int entry = cs;
            if (q >= 0) {
                b->st[q].out[1] = cs;
                entry = q;
            }
            if (split < 0) s = entry;
            else b->st[split].out[0] = entry;
            split = q;
        }
        break;
    }
    case N_REP: {
        if (nd->max == 0) {
            s = e = state_new(b, -1);
            break;
        }
        for (int j = 0; j < nd->min; j++) {
            build(b, nd->first, &cs, &ce);
            if (j == nd->min - 1 && nd->max == REP_INF) {
                /* x+ : loop back from the last mandatory copy. */
                int l = state_new(b, -1);
                link(b, ce, l);
                b->st[l].out[1] = cs;
                ce = l;
            }
            append(b, &s, &e, cs, ce);
        }
        if (nd->max == REP_INF && nd->min == 0) {
            int q = state_new(b, -1);
            build(b, nd->first, &cs, &ce);
            b->st[q].out[1] = cs;
            link(b, ce, q);
            append(b, &s, &e, q, q);
        } else if (nd->max != REP_INF && nd->max > nd->min) {
            /* x{0,r} as (x(x(...)?)?)?: each split may skip to the common end. */
            int join = state_new(b, -1), os = -1, oe = -1;
            for (int j = nd->min; j < nd->max; j++) {
                int q = state_new(b, -1);
                b->st[q].out[0] = join;
                build(b, nd->first, &cs, &ce);
                b->st[q].out[1] = cs;
                append(b, &os, &oe, q, ce);
            }
            link(b, oe, join);
            append(b, &s, &e, os, join);
        }
        break;
    }
    }
    *start = s;
    *end = e;
}

void sp_nfa_free(sp_nfa *nfa)
{
    free(nfa->states);
    free(nfa->sets);
    memset(nfa, 0, sizeof *nfa);
}

int sp_regex_compile(const char *re, size_t len, const int byte_sym[256], size_t k, sp_nfa *nfa,
                     sp_regex_error *e)
{
    memset(nfa, 0, sizeof *nfa);
    e->fault = SP_REGEX_OK;
    e->offset = 0;
    e->msg[0] = '\0';
    SP_ASSERT(k > 0);
    parser p = {.re = (const unsigned char *)re, .len = len, .byte_sym = byte_sym, .k = k,
                .words = (k + 63) / 64, .err = e};
    int root = -1, status = 0;
    if (len > SP_REGEX_MAX_LENGTH) {
        status = fail(&p, SP_REGEX_LIMIT, 0, "the regex is longer than %d characters",
                      SP_REGEX_MAX_LENGTH);
        goto done;
    }
    status = parse_alt(&p, &root);
    if (status == 0 && p.pos < p.len)
        status = fail(&p, SP_REGEX_SYNTAX, p.pos, "unmatched closing parenthesis");
    if (status) goto done;
    size_t size = node_size(&p, root);
    if (size > SP_REGEX_MAX_NFA) {
        status = fail(&p, SP_REGEX_LIMIT, 0,
                      "the regex expands to more than %d NFA states (counted repetitions "
                      "multiply); simplify it or give a dfa:",
                      SP_REGEX_MAX_NFA);
        goto done;
    }
    builder b = {.p = &p, .st = sp_malloc(size, sizeof(sp_nfa_state)), .cap = size};
    int s, end;
    build(&b, root, &s, &end);
    SP_ASSERT(b.n == size);
    nfa->n = b.n;
    nfa->k = k;
    nfa->start = s;
    nfa->accept = end;
    nfa->states = b.st;
    nfa->words = p.words;
    nfa->nsets = p.nsets;
    nfa->sets = p.sets;
    p.sets = NULL;
done:
    free(p.nodes);
    free(p.sets);
    return status;
}
