/* SVG plots: ticks and their labels, every plot kind well-formed and deterministic, values that
 * cannot be drawn, escaping, edge cases, range errors and the atomic writer. With SP_SVG_EXAMPLES
 * set, an example of each plot goes to /tmp/svg-examples/ for a look in a browser. */
#include "testutil.h"

#include "satprobe/alloc.h"
#include "satprobe/svg.h"

#include "satprobe/fsutil.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MINUS "\xe2\x88\x92"
#define TIMES "\xc3\x97"

/* ---- a small XML well-formedness checker ---------------------------------------------------- */

typedef struct xml_state {
    const char *s;
    char stack[64][32]; /* open element names */
    int depth;
    int roots;
} xml_state;

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_' || c == ':' || c == '.';
}

/* An entity or character reference at s ('&'); its length, or 0 if it is not one. */
static size_t reference_len(const char *s)
{
    static const char *const named[] = {"&amp;", "&lt;", "&gt;", "&quot;", "&apos;"};
    for (size_t i = 0; i < 5; i++)
        if (strncmp(s, named[i], strlen(named[i])) == 0) return strlen(named[i]);
    size_t i = 1;
    if (s[i++] != '#') return 0;
    bool hex = s[i] == 'x';
    i += hex;
    size_t digits = 0;
    while (hex ? isxdigit((unsigned char)s[i]) : isdigit((unsigned char)s[i])) i++, digits++;
    return digits && s[i] == ';' ? i + 1 : 0;
}

/* Valid UTF-8 and no control characters but tab and newline; length of the character at s. */
static size_t char_len(const char *s)
{
    unsigned char c = (unsigned char)s[0];
    if (c < 0x20) return c == '\n' || c == '\t' ? 1 : 0;
    if (c < 0x80) return 1;
    size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c <= 0xDF ? 2 : 0;
    if (c >= 0xF5) n = 0;
    for (size_t i = 1; i < n; i++)
        if (((unsigned char)s[i] & 0xC0) != 0x80) return 0;
    return n;
}

/* Character data up to the next '<' (or, inside an attribute, the closing quote). */
static const char *xml_chars(xml_state *x, char stop)
{
    while (*x->s && *x->s != stop && *x->s != '<') {
        if (*x->s == '&') {
            size_t n = reference_len(x->s);
            if (!n) return "'&' that is not a reference";
            x->s += n;
            continue;
        }
        if (*x->s == '>') return "raw '>' in text";
        if (stop == '"' && *x->s == '\'') return "raw quote in an attribute";
        size_t n = char_len(x->s);
        if (!n) return "bad UTF-8 or a control character";
        x->s += n;
    }
    if (stop == '"' && *x->s != '"') return "unterminated attribute value";
    return NULL;
}

static size_t xml_name(xml_state *x, char *out, size_t cap)
{
    size_t n = 0;
    while (name_char(x->s[n])) n++;
    if (n && n < cap) {
        memcpy(out, x->s, n);
        out[n] = '\0';
    }
    x->s += n;
    return n < cap ? n : 0;
}

/* Attributes as name="value", each name once, up to '>' or '/>'. */
static const char *xml_attributes(xml_state *x, bool *empty)
{
    char names[32][32];
    size_t nnames = 0;
    for (;;) {
        bool space = false;
        while (*x->s == ' ' || *x->s == '\n') x->s++, space = true;
        if (*x->s == '>' || (x->s[0] == '/' && x->s[1] == '>')) {
            *empty = *x->s == '/';
            x->s += *empty ? 2 : 1;
            return NULL;
        }
        if (!space) return "no space before an attribute";
        if (nnames == 32 || !xml_name(x, names[nnames], sizeof names[0])) return "bad attribute";
        for (size_t i = 0; i < nnames; i++)
            if (strcmp(names[i], names[nnames]) == 0) return "duplicate attribute";
        nnames++;
        if (x->s[0] != '=' || x->s[1] != '"') return "attribute value not in double quotes";
        x->s += 2;
        const char *bad = xml_chars(x, '"');
        if (bad) return bad;
        x->s++;
    }
}

static const char *xml_tag(xml_state *x)
{
    char name[32];
    if (strncmp(x->s, "<!--", 4) == 0) {
        const char *end = strstr(x->s, "-->");
        if (!end) return "unterminated comment";
        x->s = end + 3;
        return NULL;
    }
    bool closing = x->s[1] == '/';
    x->s += closing ? 2 : 1;
    if (!xml_name(x, name, sizeof name)) return "bad element name";
    if (closing) {
        if (*x->s++ != '>') return "bad closing tag";
        if (x->depth == 0 || strcmp(x->stack[x->depth - 1], name) != 0) return "unbalanced tag";
        x->depth--;
        return NULL;
    }
    if (x->depth == 0 && x->roots++) return "more than one root element";
    bool empty = false;
    const char *bad = xml_attributes(x, &empty);
    if (bad || empty) return bad;
    if (x->depth == 64) return "nested too deeply";
    strcpy(x->stack[x->depth++], name);
    return NULL;
}

/* NULL if doc is well-formed XML (as far as SVG output needs), else what is wrong. */
static const char *xml_check(const char *doc)
{
    xml_state x = {.s = doc};
    if (strncmp(doc, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", 39) != 0)
        return "no XML declaration";
    x.s += 39;
    while (*x.s) {
        if (x.depth == 0) {
            while (*x.s == '\n' || *x.s == ' ') x.s++;
            if (!*x.s) break;
            if (*x.s != '<') return "text outside the root element";
        }
        const char *bad = *x.s == '<' ? xml_tag(&x) : xml_chars(&x, '<');
        if (bad) return bad;
    }
    if (x.depth) return "unclosed element";
    return x.roots == 1 ? NULL : "no root element";
}

/* ---- helpers -------------------------------------------------------------------------------- */

static char *render(const sp_svg_plot *p)
{
    sp_strbuf sb;
    sp_strbuf_init(&sb);
    sp_error err;
    sp_error_clear(&err);
    if (sp_svg_render(p, &sb, &err)) fail_msg("render failed: %s", err.msg);
    return sb.buf;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *s = strstr(hay, needle); s; s = strstr(s + 1, needle)) n++;
    return n;
}

/* Well-formed, standalone, and the same bytes when rendered twice. Returns the document. */
static char *check_render(const sp_svg_plot *p)
{
    char *a = render(p), *b = render(p);
    const char *bad = xml_check(a);
    if (bad) fail_msg("not well-formed: %s", bad);
    assert_string_equal(a, b);
    assert_non_null(strstr(a, "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\""));
    assert_non_null(strstr(a, " viewBox=\"0 0 "));
    assert_non_null(strstr(a, "font-family=\"sans-serif\""));
    assert_null(strstr(a, "<script"));
    assert_null(strstr(a, "href"));
    assert_null(strstr(a, "nan"));
    assert_null(strstr(a, "inf"));
    free(b);
    return a;
}

/* The number of subpaths ('M') in the d of the n-th element that starts with `tag`. */
static size_t subpaths(const char *doc, const char *tag, size_t nth)
{
    const char *s = doc;
    for (size_t i = 0; i <= nth; i++) {
        s = strstr(s, tag);
        assert_non_null(s);
        s++;
    }
    const char *d = strstr(s, " d=\"");
    assert_non_null(d);
    size_t n = 0;
    for (d += 4; *d != '"'; d++) n += *d == 'M';
    return n;
}

/* ---- the plots the project draws ------------------------------------------------------------ */

typedef struct sqrt_fit {
    double a, b;
} sqrt_fit;

static double sqrt_curve(double t, void *ctx)
{
    const sqrt_fit *f = ctx;
    return f->a * sqrt(t) + f->b;
}

/* Accuracy per length bin, one series per attention mode, mean ± sd over seeds. */
static sp_svg_plot *accuracy_plot(void)
{
    static const char *const bins[] = {"1-50", "51-100", "101-150", "151-200"};
    static const char *const modes[] = {"soft", "scaled:1000", "saturated", "hard"};
    sp_svg_plot *p = sp_svg_new("dyck-1: accuracy by length", "length bin", "accuracy");
    sp_svg_x_categories(p, bins, 4);
    sp_svg_axis_range(p, SP_SVG_Y, 0, 1);
    for (size_t m = 0; m < 4; m++) {
        size_t s = sp_svg_series_add(p, SP_SVG_LINE_MARKERS, modes[m]);
        for (size_t b = 0; b < 4; b++)
            sp_svg_point_err(p, s, (double)b, 1.0 - 0.12 * (double)(b * (m + 1)) / 2.5,
                             0.02 + 0.01 * (double)b);
    }
    return p;
}

/* ‖θ_t‖ per language with its fitted a·√t + b, dashed in the same colour. */
static sp_svg_plot *norm_plot(bool loglog)
{
    static const char *const langs[] = {"dyck-1", "tomita-3", "majority"};
    sp_svg_plot *p = sp_svg_new("parameter norm", "step t", "\xe2\x80\x96\xce\xb8\xe2\x80\x96");
    if (loglog) {
        sp_svg_axis_log(p, SP_SVG_X, true);
        sp_svg_axis_log(p, SP_SVG_Y, true);
    }
    for (size_t l = 0; l < 3; l++) {
        sqrt_fit f = {0.4 + 0.25 * (double)l, 10 + 2 * (double)l};
        size_t s = sp_svg_series_add(p, SP_SVG_LINE, langs[l]);
        for (int t = 0; t <= 5000; t += 50)
            sp_svg_point(p, s, t, sqrt_curve(t, &f) * (1 + 0.02 * sin(t * 0.01 + (double)l)));
        const char *name = l == 0 ? "a\xc2\xb7\xe2\x88\x9at + b fit" : NULL; /* one entry */
        size_t fit = sp_svg_series_add_like(p, SP_SVG_FIT, name, s);
        sp_svg_function(p, fit, sqrt_curve, &f, 1, 5000, 100);
    }
    return p;
}

static sp_svg_plot *saturation_plot(void)
{
    sp_svg_plot *p =
        sp_svg_new("saturation level", "step", "cosine similarity (\xce\xb8 vs 1000\xce\xb8)");
    sp_svg_axis_range(p, SP_SVG_Y, 0, 1);
    for (int seed = 1; seed <= 3; seed++) {
        char name[32];
        snprintf(name, sizeof name, "seed %d", seed);
        size_t s = sp_svg_series_add(p, SP_SVG_LINE, name);
        for (int t = 0; t <= 2000; t += 20)
            sp_svg_point(p, s, t, 1 - exp(-t / (300.0 * seed)) * 0.9);
    }
    return p;
}

/* Heads per bin of the mean number of attended positions. */
static sp_svg_plot *histogram_plot(void)
{
    sp_svg_plot *p = sp_svg_new("attention spread", "mean attended positions", "heads");
    double edges[13], counts[12];
    for (int i = 0; i <= 12; i++) edges[i] = 1 + 4 * i;
    for (int i = 0; i < 12; i++) counts[i] = i < 2 ? 14 - 5 * i : (i > 8 ? 2 * (i - 8) : 1);
    size_t s = sp_svg_series_add(p, SP_SVG_BARS, "layer 1");
    sp_svg_bars(p, s, edges, counts, 12);
    return p;
}

/* ---- ticks ---------------------------------------------------------------------------------- */

static void expect_ticks(const sp_svg_tickset *t, const double *want, size_t n)
{
    if (t->n != n) fail_msg("%zu ticks, want %zu", t->n, n);
    for (size_t i = 0; i < n; i++)
        if (fabs(t->v[i] - want[i]) > 1e-12 * fmax(1, fabs(want[i])))
            fail_msg("tick %zu = %.17g, want %.17g", i, t->v[i], want[i]);
}

static void expect_labels(const sp_svg_tickset *t, const char *const *want)
{
    char buf[64];
    for (size_t i = 0; i < t->n; i++) {
        sp_svg_tick_label(t, t->v[i], buf, sizeof buf);
        assert_string_equal(buf, want[i]);
    }
}

static void test_ticks_linear(void **state)
{
    (void)state;
    sp_svg_tickset t;
    sp_svg_ticks(0, 1, false, true, true, &t);
    expect_ticks(&t, (double[]){0, 0.2, 0.4, 0.6, 0.8, 1}, 6);
    expect_labels(&t, (const char *const[]){"0", "0.2", "0.4", "0.6", "0.8", "1"});
    sp_svg_ticks(0, 1, false, false, false, &t); /* fixed ends give the same */
    expect_ticks(&t, (double[]){0, 0.2, 0.4, 0.6, 0.8, 1}, 6);

    sp_svg_ticks(3, 97, false, true, true, &t);
    expect_ticks(&t, (double[]){0, 20, 40, 60, 80, 100}, 6);
    assert_true(t.lo == 0 && t.hi == 100);
    sp_svg_ticks(3, 97, false, false, false, &t); /* fixed: inside only; steps of 10 give 9 */
    expect_ticks(&t, (double[]){20, 40, 60, 80}, 4);
    assert_true(t.lo == 3 && t.hi == 97);

    sp_svg_ticks(-1, 1, false, true, true, &t);
    expect_labels(&t, (const char *const[]){MINUS "1", MINUS "0.5", "0", "0.5", "1"});
    sp_svg_ticks(0, 2e6, false, true, true, &t);
    expect_labels(&t, (const char *const[]){"0", "5" TIMES "10^5", "1" TIMES "10^6",
                                            "1.5" TIMES "10^6", "2" TIMES "10^6"});
    sp_svg_ticks(0, 4000, false, true, true, &t); /* steps of 500 would give 9 */
    expect_labels(&t, (const char *const[]){"0", "1000", "2000", "3000", "4000"});
    assert_int_equal(t.n, 5);
    sp_svg_ticks(0.001, 0.0042, false, true, true, &t);
    expect_labels(&t, (const char *const[]){"0.001", "0.0015", "0.002", "0.0025", "0.003",
                                            "0.0035", "0.004", "0.0045"});
}

/* Any range with free ends: 4 to 8 ticks, evenly spaced, covering it. */
static void test_ticks_property(void **state)
{
    (void)state;
    for (int i = 0; i < 2000; i++) {
        double lo = sin(i * 1.7) * pow(10, (i % 13) - 6);
        double span = (1 + (i % 97)) * pow(10, (i % 11) - 5);
        sp_svg_tickset t;
        sp_svg_ticks(lo, lo + span, false, true, true, &t);
        if (t.n < 4 || t.n > 8) fail_msg("[%g, %g]: %zu ticks", lo, lo + span, t.n);
        double step = t.v[1] - t.v[0], slack = 1e-9 * step; /* ends within 1e-9 step count */
        if (!(t.v[0] <= lo + slack && t.v[t.n - 1] >= lo + span - slack))
            fail_msg("[%.17g, %.17g]: ticks %.17g .. %.17g", lo, lo + span, t.v[0], t.v[t.n - 1]);
        for (size_t j = 1; j < t.n; j++) { /* even, up to rounding of the values themselves */
            double tol = 1e-9 * step + 1e-15 * fabs(t.v[j]);
            if (!(fabs(t.v[j] - t.v[j - 1] - step) <= tol))
                fail_msg("[%g, %g]: uneven ticks at %zu", lo, lo + span, j);
        }
        char a[64], b[64];
        for (size_t j = 1; j < t.n; j++) { /* distinct labels */
            sp_svg_tick_label(&t, t.v[j - 1], a, sizeof a);
            sp_svg_tick_label(&t, t.v[j], b, sizeof b);
            if (strcmp(a, b) == 0) fail_msg("[%g, %g]: two ticks labelled %s", lo, lo + span, a);
        }
    }
}

static void test_ticks_log(void **state)
{
    (void)state;
    sp_svg_tickset t;
    sp_svg_ticks(1e-3, 1e3, true, true, true, &t);
    expect_ticks(&t, (double[]){1e-3, 1e-2, 1e-1, 1, 10, 100, 1000}, 7);
    expect_labels(&t, (const char *const[]){"0.001", "0.01", "0.1", "1", "10", "100", "1000"});
    sp_svg_ticks(3e-3, 700, true, true, true, &t); /* rounded out to decades */
    expect_ticks(&t, (double[]){1e-3, 1e-2, 1e-1, 1, 10, 100, 1000}, 7);

    sp_svg_ticks(1, 1e12, true, true, true, &t); /* every other decade */
    expect_ticks(&t, (double[]){1, 1e2, 1e4, 1e6, 1e8, 1e10, 1e12}, 7);
    expect_labels(&t, (const char *const[]){"10^0", "10^2", "10^4", "10^6", "10^8", "10^10",
                                            "10^12"});
    sp_svg_ticks(1e-9, 1e-7, true, true, true, &t);
    expect_labels(&t, (const char *const[]){"10^" MINUS "9", "2" TIMES "10^" MINUS "9",
                                            "5" TIMES "10^" MINUS "9", "10^" MINUS "8",
                                            "2" TIMES "10^" MINUS "8", "5" TIMES "10^" MINUS "8",
                                            "10^" MINUS "7"});

    sp_svg_ticks(2, 70, true, true, true, &t); /* two decades: 1, 2, 5 between */
    expect_ticks(&t, (double[]){1, 2, 5, 10, 20, 50, 100}, 7);
    sp_svg_ticks(0.5, 2, true, false, false, &t);
    expect_ticks(&t, (double[]){0.5, 1, 2}, 3);
    expect_labels(&t, (const char *const[]){"0.5", "1", "2"});
    sp_svg_ticks(2.1, 2.9, true, false, false, &t); /* within a decade: linear steps */
    expect_ticks(&t, (double[]){2.2, 2.4, 2.6, 2.8}, 4);
    for (size_t i = 0; i < t.n; i++) assert_true(t.v[i] > 0);
}

/* ---- plots ---------------------------------------------------------------------------------- */

static void test_accuracy_plot(void **state)
{
    (void)state;
    sp_svg_plot *p = accuracy_plot();
    char *doc = check_render(p);
    for (const char *m = "soft\0scaled:1000\0saturated\0hard\0"; *m; m += strlen(m) + 1)
        assert_non_null(strstr(doc, m));
    assert_non_null(strstr(doc, ">101-150</text>"));
    assert_int_equal(count(doc, "<path class=\"errors\""), 4);
    assert_int_equal(count(doc, "<path class=\"markers\""), 4);
    assert_int_equal(subpaths(doc, "<path class=\"line\"", 0), 1);
    /* y is fixed at [0, 1]: labels 0 to 1 */
    assert_non_null(strstr(doc, ">0.2</text>"));
    assert_non_null(strstr(doc, ">1</text>"));
    free(doc);
    sp_svg_destroy(p);
}

static void test_norm_plot(void **state)
{
    (void)state;
    for (int loglog = 0; loglog < 2; loglog++) {
        sp_svg_plot *p = norm_plot(loglog);
        char *doc = check_render(p);
        assert_int_equal(count(doc, "<path class=\"line\""), 6);
        assert_int_equal(count(doc, "stroke-dasharray=\"5 4\""), 3 + 1); /* 3 fits, 1 in legend */
        /* the fit is drawn in the colour of its data */
        assert_int_equal(count(doc, "stroke=\"#0072B2\""), 2 + 2);
        if (loglog) assert_non_null(strstr(doc, ">1000</text>"));
        free(doc);
        sp_svg_destroy(p);
    }
}

static void test_saturation_and_histogram(void **state)
{
    (void)state;
    sp_svg_plot *p = saturation_plot();
    char *doc = check_render(p);
    assert_int_equal(count(doc, "<path class=\"line\""), 3);
    assert_non_null(strstr(doc, "stroke-dasharray=\"1.5 3\"")); /* seed 2 differs in grey */
    free(doc);
    sp_svg_destroy(p);

    p = histogram_plot();
    doc = check_render(p);
    assert_int_equal(count(doc, "<rect"), 1 + 1 + 12 + 1 + 1); /* page, clip, bars, legend */
    assert_non_null(strstr(doc, ">50</text>")); /* x: [1, 49] rounded out */
    assert_non_null(strstr(doc, ">14</text>")); /* y: the tallest bar */
    free(doc);
    sp_svg_destroy(p);
}

static double identity(double x, void *ctx)
{
    (void)ctx;
    return x;
}

/* The vertices of the first line's path, which must go left to right. */
static size_t line_vertices(const char *doc)
{
    const char *d = strstr(strstr(doc, "<path class=\"line\""), " d=\"") + 4;
    double last = -INFINITY;
    size_t n = 0;
    for (char *end; *d != '"'; d = end, n++) {
        double x = strtod(d + 1, &end); /* after the 'M' or 'L' */
        assert_true(x > last);
        last = x;
        strtod(end, &end);
    }
    return n;
}

/* Samples evenly spaced in x and in log x, merged into one polyline in x order. */
static void test_function_samples(void **state)
{
    (void)state;
    sp_svg_plot *p = sp_svg_new(NULL, NULL, NULL);
    size_t s = sp_svg_series_add(p, SP_SVG_FIT, "f");
    sp_svg_function(p, s, identity, NULL, 1, 1000, 10);
    char *doc = check_render(p);
    assert_int_equal(line_vertices(doc), 10 + 8); /* the log spacing shares both ends */
    free(doc);
    sp_svg_function(p, s, identity, NULL, 5, 5, 10); /* an empty interval adds nothing */
    sp_svg_function(p, s, identity, NULL, NAN, 5, 10);
    doc = check_render(p);
    assert_int_equal(line_vertices(doc), 18);
    free(doc);
    sp_svg_destroy(p);
}

/* ---- edge cases ----------------------------------------------------------------------------- */

static void test_nan_and_log_gaps(void **state)
{
    (void)state;
    sp_svg_plot *p = sp_svg_new("gaps", NULL, NULL);
    size_t s = sp_svg_series_add(p, SP_SVG_LINE_MARKERS, "a");
    for (int i = 0; i < 10; i++) sp_svg_point(p, s, i, i == 4 ? NAN : i == 7 ? INFINITY : i * 0.1);
    char *doc = check_render(p);
    assert_int_equal(subpaths(doc, "<path class=\"line\"", 0), 3);
    assert_int_equal(subpaths(doc, "<path class=\"markers\"", 0), 8);
    free(doc);

    /* On a log y axis 0 and negatives are skipped too, and the range ignores them. */
    sp_svg_axis_log(p, SP_SVG_Y, true);
    doc = check_render(p);
    assert_int_equal(subpaths(doc, "<path class=\"line\"", 0), 3); /* y = 0 at i = 0 is left out */
    assert_int_equal(subpaths(doc, "<path class=\"markers\"", 0), 7);
    free(doc);
    sp_svg_destroy(p);
}

static void test_escaping(void **state)
{
    (void)state;
    static const char *const cats[] = {"<a&b>", "it's \"x\""};
    sp_svg_plot *p = sp_svg_new("<a&b>", "x < y & z > w", "\x01\xff bad");
    sp_svg_x_categories(p, cats, 2);
    size_t s = sp_svg_series_add(p, SP_SVG_MARKERS, "\"quoted\" & 'single'");
    sp_svg_points(p, s, NULL, (double[]){1, 2}, NULL, 2);
    char *doc = check_render(p);
    assert_non_null(strstr(doc, "<title>&lt;a&amp;b&gt;</title>"));
    assert_non_null(strstr(doc, ">&lt;a&amp;b&gt;</text>"));
    assert_non_null(strstr(doc, ">it&apos;s &quot;x&quot;</text>"));
    assert_non_null(strstr(doc, "&quot;quoted&quot; &amp; &apos;single&apos;"));
    assert_non_null(strstr(doc, "x &lt; y &amp; z &gt; w"));
    /* a control character becomes a space, a malformed byte U+FFFD */
    assert_non_null(strstr(doc, "> \xef\xbf\xbd bad</text>"));
    assert_null(strstr(doc, "<a&b>"));
    free(doc);
    sp_svg_destroy(p);
}

static void test_empty_and_single(void **state)
{
    (void)state;
    sp_svg_plot *p = sp_svg_new(NULL, NULL, NULL);
    char *doc = check_render(p); /* nothing at all */
    assert_non_null(strstr(doc, ">no data</text>"));
    assert_null(strstr(doc, "class=\"legend\""));
    free(doc);

    sp_svg_series_add(p, SP_SVG_LINE, "empty");
    size_t one = sp_svg_series_add(p, SP_SVG_LINE, "one");
    sp_svg_series_add(p, SP_SVG_BARS, "no bars");
    doc = check_render(p); /* series without points */
    assert_non_null(strstr(doc, ">no data</text>"));
    assert_non_null(strstr(doc, ">empty</text>"));
    free(doc);

    sp_svg_point(p, one, 5, 3); /* one point: all-equal x and y, drawn as a dot */
    doc = check_render(p);
    assert_null(strstr(doc, ">no data</text>"));
    assert_int_equal(count(doc, "<circle"), 1);
    free(doc);
    sp_svg_destroy(p);
}

static void test_equal_values(void **state)
{
    (void)state;
    for (int log = 0; log < 2; log++) {
        sp_svg_plot *p = sp_svg_new("flat", "x", "y");
        sp_svg_axis_log(p, SP_SVG_Y, log);
        size_t s = sp_svg_series_add(p, SP_SVG_LINE_MARKERS, "flat");
        for (int i = 0; i < 5; i++) sp_svg_point(p, s, 2, 0.5); /* x and y all equal */
        size_t z = sp_svg_series_add(p, SP_SVG_LINE, "zero");
        sp_svg_point(p, z, 2, log ? 0.5 : 0);
        char *doc = check_render(p);
        assert_int_equal(subpaths(doc, "<path class=\"markers\"", 0), 5);
        free(doc);
        sp_svg_destroy(p);
    }
}

static void test_many_series_and_long_text(void **state)
{
    (void)state;
    char longname[300];
    memset(longname, 'w', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    const char *cats[40];
    for (int i = 0; i < 40; i++) cats[i] = i % 2 ? "a-rather-long-bin-label" : longname;
    sp_svg_plot *p = sp_svg_new(longname, longname, longname);
    sp_svg_x_categories(p, cats, 40);
    for (int k = 0; k < 45; k++) {
        char name[32];
        snprintf(name, sizeof name, "series %d", k);
        size_t s = sp_svg_series_add(p, k % 2 ? SP_SVG_LINE : SP_SVG_LINE_MARKERS,
                                     k == 3 ? longname : name);
        for (int i = 0; i < 40; i++) sp_svg_point(p, s, i, sin(i * 0.3 + k));
    }
    char *doc = check_render(p);
    assert_non_null(strstr(doc, "\xe2\x80\xa6</text>")); /* cut with an ellipsis */
    assert_int_equal(count(doc, longname), 1);          /* in full only in the <title> */
    assert_non_null(strstr(doc, " more</text>"));        /* 45 entries do not fit */
    assert_non_null(strstr(doc, "stroke-dasharray=\"9 3 2 3\""));
    free(doc);
    sp_svg_destroy(p);
}

static void test_range_errors(void **state)
{
    (void)state;
    sp_strbuf sb;
    sp_strbuf_init(&sb);
    sp_error err;
    sp_svg_plot *p = sp_svg_new("t", NULL, NULL);
    sp_svg_axis_range(p, SP_SVG_Y, 1, 1);
    assert_int_equal(sp_svg_render(p, &sb, &err), SP_EINPUT);
    assert_non_null(strstr(err.msg, "y axis"));
    assert_int_equal(sb.len, 0);
    sp_svg_axis_range(p, SP_SVG_Y, 0, 1);
    sp_svg_axis_log(p, SP_SVG_Y, true);
    assert_int_equal(sp_svg_render(p, &sb, &err), SP_EINPUT);
    assert_non_null(strstr(err.msg, "logarithmic"));
    sp_svg_axis_log(p, SP_SVG_Y, false);
    sp_svg_axis_log(p, SP_SVG_X, true);
    sp_svg_x_categories(p, (const char *const[]){"a"}, 1);
    assert_int_equal(sp_svg_render(p, &sb, &err), SP_EINPUT);
    sp_svg_x_categories(p, NULL, 0);
    assert_int_equal(sp_svg_render(p, &sb, &err), SP_OK);
    sp_svg_destroy(p);
    sp_strbuf_free(&sb);
}

/* ---- the writer ----------------------------------------------------------------------------- */

static size_t dir_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void test_write(void **state)
{
    (void)state;
    char dir[] = "/tmp/sp-svg-XXXXXX", path[64];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/plot.svg", dir);
    sp_svg_plot *p = histogram_plot();
    sp_error err;
    assert_int_equal(sp_svg_write(p, path, &err), SP_OK);
    assert_int_equal(dir_entries(dir), 1); /* no temporary file left */
    char *text = NULL, *doc = render(p);
    size_t len;
    assert_int_equal(sp_read_file(path, 1 << 24, &text, &len, &err), SP_OK);
    assert_string_equal(text, doc);
    free(text);
    free(doc);

    sp_svg_plot *bad = sp_svg_new(NULL, NULL, NULL); /* a range error writes nothing */
    sp_svg_axis_range(bad, SP_SVG_X, 2, 1);
    char other[64];
    snprintf(other, sizeof other, "%s/bad.svg", dir);
    assert_int_equal(sp_svg_write(bad, other, &err), SP_EINPUT);
    assert_int_equal(dir_entries(dir), 1);
    sp_svg_destroy(bad);

    char missing[96];
    snprintf(missing, sizeof missing, "%s/no/such/dir/plot.svg", dir);
    sp_error_clear(&err);
    assert_int_equal(sp_svg_write(p, missing, &err), SP_EIO);
    assert_true(err.msg[0] != '\0');
    assert_int_equal(dir_entries(dir), 1);
    sp_svg_destroy(p);
    unlink(path);
    rmdir(dir);
}

/* With SP_SVG_EXAMPLES set: one of each plot in /tmp/svg-examples/, to look at. */
static void test_examples(void **state)
{
    (void)state;
    if (!getenv("SP_SVG_EXAMPLES")) skip();
    const char *dir = "/tmp/svg-examples";
    if (mkdir(dir, 0777) && errno != EEXIST) fail_msg("mkdir %s: %s", dir, strerror(errno));
    struct {
        const char *name;
        sp_svg_plot *p;
    } ex[] = {{"accuracy.svg", accuracy_plot()}, {"norm.svg", norm_plot(false)},
              {"norm-loglog.svg", norm_plot(true)}, {"saturation.svg", saturation_plot()},
              {"heads.svg", histogram_plot()}};
    for (size_t i = 0; i < sizeof ex / sizeof ex[0]; i++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s", dir, ex[i].name);
        sp_error err;
        if (sp_svg_write(ex[i].p, path, &err)) fail_msg("%s: %s", path, err.msg);
        sp_svg_destroy(ex[i].p);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ticks_linear),
        cmocka_unit_test(test_ticks_property),
        cmocka_unit_test(test_ticks_log),
        cmocka_unit_test(test_accuracy_plot),
        cmocka_unit_test(test_norm_plot),
        cmocka_unit_test(test_saturation_and_histogram),
        cmocka_unit_test(test_function_samples),
        cmocka_unit_test(test_nan_and_log_gaps),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_empty_and_single),
        cmocka_unit_test(test_equal_values),
        cmocka_unit_test(test_many_series_and_long_text),
        cmocka_unit_test(test_range_errors),
        cmocka_unit_test(test_write),
        cmocka_unit_test(test_examples),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
