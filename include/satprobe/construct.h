/* Hand-built transformers (probes/constructions/NAME.yaml): a config plus every weight written out,
 * the language the construction claims to recognize and the modes in which it claims to do so
 * (docs/constructions.md).
 *
 * Ownership: sp_construction_load returns an object the caller releases with
 * sp_construction_destroy; its strings and its model belong to it. */
#ifndef SATPROBE_CONSTRUCT_H
#define SATPROBE_CONSTRUCT_H

#include "satprobe/error.h"
#include "satprobe/model.h"

#include <stddef.h>

#define SP_CONSTRUCT_MAX_CLAIMS 8

typedef struct sp_construction {
    char *name;
    char *description;
    char *idea;          /* "" when not given */
    char *language;      /* the grammar's path, resolved against the construction's directory */
    size_t nclaims;
    sp_mode claims[SP_CONSTRUCT_MAX_CLAIMS];
    sp_model *model;     /* its alphabet is the language's */
} sp_construction;

/* Load a construction and its language's alphabet (the grammar file is loaded to get it).
 * Every shape, name and number mistake is an error at its line:col. */
int sp_construction_load(const char *path, sp_construction **out, sp_error *err);
void sp_construction_destroy(sp_construction *c);

/* True for a path ending in .yaml or .yml (a construction rather than a checkpoint). */
bool sp_construction_path(const char *path);

#endif
