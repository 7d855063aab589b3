/* A one-line progress bar on stderr for long runs: drawn only when stderr is a terminal, at most
 * ten times a second and not before the run has taken half a second, cleared at the end.
 * Colour unless NO_COLOR is set (to anything non-empty). The struct is caller-owned. */
#ifndef SATPROBE_PROGRESS_H
#define SATPROBE_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>

typedef struct sp_progress {
    bool on;           /* stderr is a terminal and the caller asked for progress */
    bool color;
    bool drawn;        /* something is on the line that finish must clear */
    const char *label; /* not owned; must outlive the bar */
    uint64_t total;
    uint64_t next;     /* `done` at which the clock is read again */
    double start, last;
    int width;         /* characters drawn last time */
} sp_progress;

/* `enable` false gives a bar that never draws (for library callers and tests). */
void sp_progress_init(sp_progress *p, bool enable, const char *label, uint64_t total);
/* Cheap when called often: reads the clock only every so many units of work. */
void sp_progress_update(sp_progress *p, uint64_t done);
/* The same with `text` after the counts (figures of the run: loss, rate) and the time left. */
void sp_progress_update_text(sp_progress *p, uint64_t done, const char *text);
/* Erase the bar. */
void sp_progress_finish(sp_progress *p);

/* Seconds on the monotonic clock: differences time a run. */
double sp_seconds(void);

#endif
