/* Output that appears whole or not at all: a directory written under a temporary name next to
 * its target and renamed into place at the end, and large buffered file writes.
 *
 * Ownership: sp_outdir and sp_outfile are caller-owned structs (_begin/_open fill them; _commit,
 * _abort, _close and _discard release everything they hold). Returned paths are the caller's to
 * free. */
#ifndef SATPROBE_FSUTIL_H
#define SATPROBE_FSUTIL_H

#include "satprobe/error.h"
#include "satprobe/strbuf.h"

#include <stdbool.h>

typedef struct sp_outdir {
    char *target; /* the final path, without trailing slashes */
    char *parent; /* its directory ("." when the target has none) */
    char *tmp;    /* parent/.NAME.tmp-XXXXXX while open; NULL after commit or abort */
    bool force;
} sp_outdir;

/* Check the target and create the temporary directory. An existing target is an error unless
 * `force`; even then only a directory that is empty or holds a manifest.json (an earlier
 * dataset) is replaced, so that a mistyped path cannot wipe unrelated files. A parent that does
 * not exist or cannot be written is an error (SP_EIO). On error nothing is left on disk. */
int sp_outdir_begin(sp_outdir *d, const char *target, bool force, sp_error *err);

/* Path of `rel` inside the temporary directory. */
char *sp_outdir_path(const sp_outdir *d, const char *rel);

/* Create the subdirectory `rel` inside the temporary directory. */
int sp_outdir_mkdir(sp_outdir *d, const char *rel, sp_error *err);

/* fsync the temporary directory, move it to the target (with force: the old target is renamed
 * aside first and deleted after the new one is in place), fsync the parent. On error the
 * temporary directory is removed and an existing target is left as it was. */
int sp_outdir_commit(sp_outdir *d, sp_error *err);

/* Remove the temporary directory and everything in it; harmless after commit. */
void sp_outdir_abort(sp_outdir *d);

/* A file written through one large buffer. Append to `buf` directly and call
 * sp_outfile_flush_if_full now and then; write errors are remembered and reported by close. */
typedef struct sp_outfile {
    int fd;
    char *path;
    char *target; /* sp_outfile_open_atomic: the final path, renamed onto at close; else NULL */
    sp_strbuf buf;
    int error; /* first errno from write(), 0 if none */
} sp_outfile;

int sp_outfile_open(sp_outfile *f, const char *path, sp_error *err);
/* A single file that appears whole or not at all: written under a temporary name next to
 * `target` (.NAME.tmp-XXXXXX); sp_outfile_close fsyncs it, renames it onto the target (replacing
 * an existing file) and fsyncs the directory; on any error, and on discard, the temporary file
 * is removed and the target left as it was. */
int sp_outfile_open_atomic(sp_outfile *f, const char *target, sp_error *err);
/* Write the buffer out once it holds at least SP_OUTFILE_CHUNK bytes. */
#define SP_OUTFILE_CHUNK (1u << 20)
void sp_outfile_flush_if_full(sp_outfile *f);
/* Write what is left, fsync, close. Reports the first error of the file's lifetime. */
int sp_outfile_close(sp_outfile *f, sp_error *err);
/* Close without writing what is left (error paths). */
void sp_outfile_discard(sp_outfile *f);

/* Write bytes[0..len) to path atomically (sp_outfile_open_atomic, then close). */
int sp_write_file_atomic(const char *path, const char *bytes, size_t len, sp_error *err);

/* "dir/name", newly allocated (the caller frees it). */
char *sp_path_join(const char *dir, const char *name);

/* Read a whole file into *text (NUL-terminated, *len bytes; the caller frees it). Larger than
 * max bytes is SP_EINPUT; a file that cannot be read SP_EIO; errors read "PATH: what". */
int sp_read_file(const char *path, size_t max, char **text, size_t *len, sp_error *err);

/* Whether path names anything (stat succeeds). */
bool sp_path_exists(const char *path);
/* mkdir -p: create path and its missing parents. SP_EIO when a part cannot be made. */
int sp_mkdirs(const char *path, sp_error *err);
/* Delete a directory tree (or a file); symlinks are removed, never followed. */
void sp_remove_tree(const char *path);
/* Copy a file's bytes to `to`, written atomically. */
int sp_copy_file(const char *from, const char *to, sp_error *err);

#endif
