/* The aggregated CSV files: every finished cell's rows in the probe's order, each prefixed with
 * language, model and seed. Fields that come from a cell's CSV are copied as text, so the
 * output does not depend on how numbers are read back. */
#include "report_impl.h"

#include <stdio.h>

static void key(sp_strbuf *sb, const report *r, const report_cell *c)
{
    sp_report_csv_str(sb, r->langs[c->lang].id);
    sp_strbuf_putc(sb, ',');
    sp_report_csv_str(sb, r->models[c->model].name);
    sp_strbuf_printf(sb, ",%lld,", r->seeds[c->seed]);
}

static void acc_row(sp_strbuf *sb, const report_acc *a)
{
    sp_report_csv_str(sb, a->mode);
    sp_strbuf_putc(sb, ',');
    sp_report_csv_str(sb, a->split);
    sp_strbuf_printf(sb, ",%lld,%lld,", a->n, a->correct);
    sp_report_csv_num(sb, a->value);
    sp_strbuf_putc(sb, ',');
    sp_report_csv_str(sb, a->task);
    sp_strbuf_putc(sb, '\n');
}

static void accuracy(const report *r, sp_strbuf *sb)
{
    sp_strbuf_puts(sb, "language,model,seed,mode,bin,n,correct,accuracy,task\n");
    for (size_t i = 0; i < r->ncells; i++) {
        const report_cell *c = &r->cells[i];
        for (size_t j = 0; c->finished && j < c->nacc; j++) {
            key(sb, r, c);
            acc_row(sb, &c->acc[j]);
        }
    }
    for (size_t i = 0; i < r->ncons; i++) {
        const report_construction *c = &r->cons[i];
        for (size_t j = 0; c->doc && j < c->nacc; j++) {
            sp_report_csv_str(sb, c->language);
            sp_strbuf_puts(sb, ",construction:");
            sp_report_csv_str(sb, c->id);
            sp_strbuf_puts(sb, ",,");
            acc_row(sb, &c->acc[j]);
        }
    }
}

enum record { TRAIN, NORMS, SATURATION };

/* The first `ncols` columns of one record of every finished cell: the per-layer columns are
 * left out, since models differ in depth. */
static void records(const report *r, sp_strbuf *sb, const char *header, enum record which,
                    size_t ncols)
{
    sp_strbuf_puts(sb, header);
    for (size_t i = 0; i < r->ncells; i++) {
        const report_cell *c = &r->cells[i];
        if (!c->finished) continue;
        const report_table *t = which == TRAIN ? &c->train : which == NORMS ? &c->norms : &c->sat;
        for (size_t row = 0; row < t->nrows; row++) {
            key(sb, r, c);
            for (size_t col = 0; col < ncols; col++) {
                if (col) sp_strbuf_putc(sb, ',');
                sp_strbuf_puts(sb, sp_report_field(t, row, col));
            }
            sp_strbuf_putc(sb, '\n');
        }
    }
}

static void heads(const report *r, sp_strbuf *sb)
{
    sp_strbuf_puts(
        sb, "language,model,seed,layer,head,mean_attended,frac_multi,mean_visible,queries,label\n");
    for (size_t i = 0; i < r->ncells; i++) {
        const report_cell *c = &r->cells[i];
        for (size_t j = 0; c->finished && j < c->nheads; j++) {
            const report_head *h = &c->heads[j];
            key(sb, r, c);
            sp_strbuf_printf(sb, "%lld,%lld,", h->layer, h->head);
            sp_report_csv_num(sb, h->mean_attended);
            sp_strbuf_putc(sb, ',');
            sp_report_csv_num(sb, h->frac_multi);
            sp_strbuf_putc(sb, ',');
            sp_report_csv_num(sb, h->mean_visible);
            sp_strbuf_printf(sb, ",%lld,", h->queries);
            sp_report_csv_str(sb, h->label);
            sp_strbuf_putc(sb, '\n');
        }
    }
}

/* The baselines are properties of a language's dataset, the same in every cell of it. */
static void baselines(const report *r, sp_strbuf *sb)
{
    sp_strbuf_puts(sb, "language,bin,lo,hi,n,majority_class,best_length_only\n");
    for (size_t l = 0; l < r->nlangs; l++) {
        const report_cell *c = sp_report_first_finished(r, l);
        for (size_t j = 0; c && j < c->nbins; j++) {
            const report_cbin *b = &c->bins[j];
            sp_report_csv_str(sb, r->langs[l].id);
            sp_strbuf_putc(sb, ',');
            sp_report_csv_str(sb, b->split);
            sp_strbuf_printf(sb, ",%lld,%lld,%lld,", b->lo, b->hi, b->n);
            sp_report_csv_num(sb, b->majority);
            sp_strbuf_putc(sb, ',');
            sp_report_csv_num(sb, b->length_only);
            sp_strbuf_putc(sb, '\n');
        }
    }
}

static void fits(const report *r, sp_strbuf *sb)
{
    sp_strbuf_puts(sb, "language,model,seed,steps,norm_start,norm_half,norm_end,late_growth,"
                       "sqrt_a,sqrt_b,sqrt_r2,power_a,power_p,power_r2,saturation\n");
    for (size_t i = 0; i < r->ncells; i++) {
        const report_cell *c = &r->cells[i];
        if (!c->finished) continue;
        key(sb, r, c);
        sp_strbuf_printf(sb, "%lld,", c->steps);
        sp_report_csv_num(sb, c->norm_start);
        sp_strbuf_putc(sb, ',');
        if (c->norm_half_text) sp_strbuf_puts(sb, c->norm_half_text);
        sp_strbuf_putc(sb, ',');
        sp_report_csv_num(sb, c->norm_end);
        sp_strbuf_putc(sb, ',');
        sp_report_csv_num(sb, c->late_growth);
        double fit[6] = {c->sqrt_a, c->sqrt_b, c->sqrt_r2, c->power_a, c->power_p, c->power_r2};
        for (int k = 0; k < 6; k++) {
            sp_strbuf_putc(sb, ',');
            if (c->has_fit) sp_report_csv_num(sb, fit[k]);
        }
        sp_strbuf_putc(sb, ',');
        sp_report_csv_num(sb, c->saturation);
        sp_strbuf_putc(sb, '\n');
    }
}

int sp_report_write_csvs(const report *r, sp_error *err)
{
    sp_strbuf sb;
    sp_strbuf_init(&sb);
    accuracy(r, &sb);
    int status = sp_report_put(r, "accuracy.csv", &sb, err);
    sp_strbuf_clear(&sb);
    records(r, &sb, "language,model,seed,step,norm,norm_no_embed\n", NORMS, 3);
    if (!status) status = sp_report_put(r, "norms.csv", &sb, err);
    sp_strbuf_clear(&sb);
    records(r, &sb, "language,model,seed,step,saturation,agree_saturated,agree_limit\n", SATURATION,
            4);
    if (!status) status = sp_report_put(r, "saturation.csv", &sb, err);
    sp_strbuf_clear(&sb);
    records(r, &sb, "language,model,seed,step,loss,train_acc,val_loss,val_acc,lr\n", TRAIN, 6);
    if (!status) status = sp_report_put(r, "train.csv", &sb, err);
    sp_strbuf_clear(&sb);
    heads(r, &sb);
    if (!status) status = sp_report_put(r, "heads.csv", &sb, err);
    sp_strbuf_clear(&sb);
    baselines(r, &sb);
    if (!status) status = sp_report_put(r, "baselines.csv", &sb, err);
    sp_strbuf_clear(&sb);
    fits(r, &sb);
    if (!status) status = sp_report_put(r, "fits.csv", &sb, err);
    sp_strbuf_free(&sb);
    return status;
}
