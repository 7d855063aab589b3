/* A probe's rendered files: the CSV tables, summary.md and the plots, rebuilt from probe.json
 * and what the cells and constructions wrote (docs/results.md, "Rendered files"), without
 * training or loading a checkpoint.
 *
 * Ownership: nothing is kept after the call; the caller owns `info` and `err`. */
#ifndef SATPROBE_REPORT_H
#define SATPROBE_REPORT_H

#include "satprobe/error.h"

#include <stddef.h>

typedef struct sp_report_info {
    size_t cells;         /* the probe's cells: languages × models × seeds */
    size_t finished;      /* cells with a cell.json */
    size_t constructions; /* construction files read (of the probe's languages, where they exist) */
} sp_report_info;

/* Read DIR/probe.json, every DIR/cells/LANG/MODEL/seed-S/cell.json (with that cell's train.csv,
 * norms.csv and saturation.csv) and DIR/constructions/NAME.json, and (re)write in DIR:
 * accuracy.csv, norms.csv, saturation.csv, heads.csv, train.csv, baselines.csv, fits.csv,
 * summary.md and the SVG plots in plots/, each atomically. plots/ is created if missing, and any
 * plots/NAME.svg that this render did not write is removed. A cell without cell.json is
 * missing: the files cover the finished cells and summary.md lists the missing ones. The same
 * inputs give byte-identical files, whatever the locale.
 *
 * SP_EINPUT with the file (and line:col where known) for a missing or malformed probe.json, a
 * malformed cell.json or construction file, or a finished cell's CSV that is missing or
 * malformed; SP_EIO when a file cannot be read or written. info may be NULL; it is filled on
 * success. Files written before an error stay (each is whole). */
int sp_report_write(const char *dir, sp_report_info *info, sp_error *err);

#endif
