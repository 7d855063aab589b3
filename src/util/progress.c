/* Progress bar on stderr: terminal only, rate-limited, cleared at the end, NO_COLOR honoured. */
#include "satprobe/progress.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define BAR 30

double sp_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uint64_t step(const sp_progress *p) { return p->total / 2000 + 1; }

void sp_progress_init(sp_progress *p, bool enable, const char *label, uint64_t total)
{
    const char *nc = getenv("NO_COLOR");
    p->on = enable && isatty(STDERR_FILENO);
    p->color = !(nc && *nc);
    p->drawn = false;
    p->label = label;
    p->total = total;
    p->next = step(p);
    p->start = p->last = p->on ? sp_seconds() : 0;
    p->width = 0;
}

void sp_progress_update(sp_progress *p, uint64_t done) { sp_progress_update_text(p, done, NULL); }

void sp_progress_update_text(sp_progress *p, uint64_t done, const char *text)
{
    if (!p->on || done < p->next) return;
    p->next = done + step(p);
    double t = sp_seconds();
    if (t - p->start < 0.5 || t - p->last < 0.1) return;
    p->last = t;
    double frac = p->total ? (double)done / (double)p->total : 1;
    if (frac > 1) frac = 1;
    int fill = (int)(frac * BAR);
    char bar[BAR + 1];
    for (int i = 0; i < BAR; i++) bar[i] = i < fill ? '#' : '.';
    bar[BAR] = '\0';
    int w = fprintf(stderr, "\r%s%s%s [%s] %3d%% %llu/%llu", p->color ? "\033[1m" : "", p->label,
                    p->color ? "\033[0m" : "", bar, (int)(100 * frac), (unsigned long long)done,
                    (unsigned long long)p->total);
    if (p->color) w -= 8; /* the escape sequences take no columns */
    if (text) w += fprintf(stderr, " %s", text);
    if (text && done > 0 && done < p->total) {
        double left = (t - p->start) / (double)done * (double)(p->total - done);
        w += left >= 3600 ? fprintf(stderr, " %dh%02dm left", (int)(left / 3600), (int)(left / 60) % 60)
                          : fprintf(stderr, " %dm%02ds left", (int)(left / 60), (int)left % 60);
    }
    if (w < p->width) fprintf(stderr, "%*s", p->width - w, "");
    p->width = w;
    p->drawn = true;
    fflush(stderr);
}

void sp_progress_finish(sp_progress *p)
{
    if (p->drawn) fprintf(stderr, "\r%*s\r", p->width, "");
    p->drawn = false;
    fflush(stderr);
}
