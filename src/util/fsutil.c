/* Atomic output directories (mkdtemp next to the target, fsync, rename) and buffered files. */
#include "satprobe/fsutil.h"
#include "satprobe/alloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *sp_path_join(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    char *p = sp_malloc(na + nb + 2, 1);
    memcpy(p, a, na);
    p[na] = '/';
    memcpy(p + na + 1, b, nb + 1);
    return p;
}

/* No symlinks are followed: lstat, unlink. */
void sp_remove_tree(const char *path)
{
    struct stat top;
    if (lstat(path, &top) == 0 && !S_ISDIR(top.st_mode)) {
        unlink(path);
        return;
    }
    DIR *dir = opendir(path);
    if (dir) {
        struct dirent *e;
        while ((e = readdir(dir))) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char *child = sp_path_join(path, e->d_name);
            struct stat st;
            if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode)) sp_remove_tree(child);
            else unlink(child);
            free(child);
        }
        closedir(dir);
    }
    rmdir(path);
}

/* Empty, or holding a manifest.json: a directory --force may replace. */
static bool replaceable(const char *path)
{
    DIR *dir = opendir(path);
    if (!dir) return false;
    bool empty = true, manifest = false;
    struct dirent *e;
    while ((e = readdir(dir))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        empty = false;
        if (!strcmp(e->d_name, "manifest.json")) manifest = true;
    }
    closedir(dir);
    return empty || manifest;
}

static void sync_dir(const char *path)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY);
    if (fd < 0) return;
    fsync(fd);
    close(fd);
}

static int check_existing(const sp_outdir *d, sp_error *err)
{
    struct stat st;
    if (lstat(d->target, &st) != 0) {
        if (errno == ENOENT) return SP_OK;
        return sp_error_set(err, SP_EIO, d->target, 0, 0, "cannot examine: %s", strerror(errno));
    }
    if (!d->force)
        return sp_error_set(err, SP_EINPUT, d->target, 0, 0,
                            "already exists (use --force to replace it)");
    if (!S_ISDIR(st.st_mode))
        return sp_error_set(err, SP_EINPUT, d->target, 0, 0,
                            "exists and is not a directory; not replacing it");
    if (!replaceable(d->target))
        return sp_error_set(err, SP_EINPUT, d->target, 0, 0,
                            "exists and is neither empty nor a dataset (no manifest.json); "
                            "not replacing it");
    return SP_OK;
}

int sp_outdir_begin(sp_outdir *d, const char *target, bool force, sp_error *err)
{
    memset(d, 0, sizeof *d);
    size_t len = strlen(target);
    while (len > 1 && target[len - 1] == '/') len--;
    if (len == 0) return sp_error_set(err, SP_EINPUT, "", 0, 0, "the output directory name is empty");
    d->target = sp_strndup(target, len);
    d->force = force;
    char *slash = strrchr(d->target, '/');
    const char *base = slash ? slash + 1 : d->target;
    d->parent = slash ? sp_strndup(d->target, slash == d->target ? 1 : (size_t)(slash - d->target))
                      : sp_strdup(".");
    int status = SP_OK;
    if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
        status = sp_error_set(err, SP_EINPUT, d->target, 0, 0,
                              "name the output directory itself, not '.', '..' or '/'");
    if (!status) status = check_existing(d, err);
    if (!status) {
        char name[300];
        snprintf(name, sizeof name, ".%.200s.tmp-XXXXXX", base);
        d->tmp = sp_path_join(d->parent, name);
        if (!mkdtemp(d->tmp)) {
            status = sp_error_set(err, SP_EIO, d->target, 0, 0, "cannot create a directory in %s: %s",
                                  d->parent, strerror(errno));
            free(d->tmp);
            d->tmp = NULL;
        } else {
            /* mkdtemp makes it private (0700); the result should look like any new directory. */
            mode_t mask = umask(0);
            umask(mask);
            chmod(d->tmp, 0777 & ~mask);
        }
    }
    if (status) {
        free(d->target);
        free(d->parent);
        memset(d, 0, sizeof *d);
    }
    return status;
}

char *sp_outdir_path(const sp_outdir *d, const char *rel)
{
    SP_ASSERT(d->tmp);
    return sp_path_join(d->tmp, rel);
}

int sp_outdir_mkdir(sp_outdir *d, const char *rel, sp_error *err)
{
    char *p = sp_outdir_path(d, rel);
    int status = SP_OK;
    if (mkdir(p, 0777) != 0)
        status = sp_error_set(err, SP_EIO, p, 0, 0, "cannot create: %s", strerror(errno));
    free(p);
    return status;
}

static void release(sp_outdir *d)
{
    free(d->target);
    free(d->parent);
    free(d->tmp);
    memset(d, 0, sizeof *d);
}

int sp_outdir_commit(sp_outdir *d, sp_error *err)
{
    SP_ASSERT(d->tmp);
    sync_dir(d->tmp);
    int status = check_existing(d, err);
    struct stat st;
    bool replace = status == SP_OK && lstat(d->target, &st) == 0;
    char *old = NULL;
    if (!status && replace) {
        char name[300];
        const char *slash = strrchr(d->target, '/');
        snprintf(name, sizeof name, ".%.200s.old-XXXXXX", slash ? slash + 1 : d->target);
        old = sp_path_join(d->parent, name);
        /* rename() onto the empty directory mkdtemp made is allowed and atomic. */
        if (!mkdtemp(old) || rename(d->target, old) != 0) {
            status = sp_error_set(err, SP_EIO, d->target, 0, 0, "cannot move the old directory aside: %s",
                                  strerror(errno));
            rmdir(old);
            free(old);
            old = NULL;
        }
    }
    if (!status && rename(d->tmp, d->target) != 0) {
        status = sp_error_set(err, SP_EIO, d->target, 0, 0, "cannot rename %s to it: %s", d->tmp,
                              strerror(errno));
        if (old) rename(old, d->target);
    } else if (!status) {
        if (old) sp_remove_tree(old);
        sync_dir(d->parent);
        free(d->tmp);
        d->tmp = NULL;
    }
    free(old);
    if (status) sp_outdir_abort(d);
    release(d);
    return status;
}

void sp_outdir_abort(sp_outdir *d)
{
    if (d->tmp) sp_remove_tree(d->tmp);
    release(d);
}

int sp_outfile_open(sp_outfile *f, const char *path, sp_error *err)
{
    memset(f, 0, sizeof *f);
    f->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (f->fd < 0) return sp_error_set(err, SP_EIO, path, 0, 0, "cannot create: %s", strerror(errno));
    f->path = sp_strdup(path);
    sp_strbuf_init(&f->buf);
    return SP_OK;
}

int sp_outfile_open_atomic(sp_outfile *f, const char *target, sp_error *err)
{
    memset(f, 0, sizeof *f);
    f->fd = -1;
    const char *slash = strrchr(target, '/');
    const char *base = slash ? slash + 1 : target;
    if (!*base || !strcmp(base, ".") || !strcmp(base, ".."))
        return sp_error_set(err, SP_EINPUT, target, 0, 0, "not a file name");
    size_t dirlen = slash ? (size_t)(slash - target) + 1 : 0;
    size_t size = dirlen + strlen(base) + 16;
    char *tmp = sp_malloc(size, 1);
    snprintf(tmp, size, "%.*s.%s.tmp-XXXXXX", (int)dirlen, target, base);
    int fd = mkstemp(tmp);
    if (fd < 0) {
        int e = errno;
        free(tmp);
        return sp_error_set(err, SP_EIO, target, 0, 0, "cannot create a temporary file: %s", strerror(e));
    }
    /* mkstemp makes it private (0600); the result should look like any new file. */
    mode_t mask = umask(0);
    umask(mask);
    fchmod(fd, 0666 & ~mask);
    f->fd = fd;
    f->path = tmp;
    f->target = sp_strdup(target);
    sp_strbuf_init(&f->buf);
    return SP_OK;
}

static void write_out(sp_outfile *f)
{
    const char *p = f->buf.buf;
    size_t left = f->buf.len;
    while (left && !f->error) {
        ssize_t got = write(f->fd, p, left);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
            f->error = got < 0 ? errno : EIO;
            break;
        }
        p += got;
        left -= (size_t)got;
    }
    sp_strbuf_clear(&f->buf);
}

void sp_outfile_flush_if_full(sp_outfile *f)
{
    if (f->buf.len >= SP_OUTFILE_CHUNK) write_out(f);
}

int sp_outfile_close(sp_outfile *f, sp_error *err)
{
    write_out(f);
    if (!f->error && fsync(f->fd) != 0 && errno != EINVAL) f->error = errno;
    if (close(f->fd) != 0 && !f->error) f->error = errno;
    int status = SP_OK;
    if (f->error) status = sp_error_set(err, SP_EIO, f->path, 0, 0, "write error: %s", strerror(f->error));
    if (f->target) {
        if (!status && rename(f->path, f->target) != 0)
            status = sp_error_set(err, SP_EIO, f->target, 0, 0, "cannot rename %s into place: %s",
                                  f->path, strerror(errno));
        if (status) {
            unlink(f->path);
        } else {
            const char *slash = strrchr(f->target, '/');
            char *dir = slash ? sp_strndup(f->target, slash == f->target ? 1 : (size_t)(slash - f->target))
                              : sp_strdup(".");
            sync_dir(dir);
            free(dir);
        }
        free(f->target);
    }
    free(f->path);
    sp_strbuf_free(&f->buf);
    memset(f, 0, sizeof *f);
    f->fd = -1;
    return status;
}

void sp_outfile_discard(sp_outfile *f)
{
    if (f->path) {
        close(f->fd);
        if (f->target) unlink(f->path);
        free(f->target);
        free(f->path);
        sp_strbuf_free(&f->buf);
    }
    memset(f, 0, sizeof *f);
    f->fd = -1;
}

int sp_read_file(const char *path, size_t max, char **text, size_t *len, sp_error *err)
{
    *text = NULL;
    *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return sp_error_set(err, SP_EIO, path, 0, 0, "cannot open: %s", strerror(errno));
    char *buf = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        SP_GROW(buf, cap, n + 65537);
        size_t got = fread(buf + n, 1, cap - n - 1, f);
        n += got;
        if (got == 0) break;
        if (n > max) {
            fclose(f);
            free(buf);
            return sp_error_set(err, SP_EINPUT, path, 0, 0, "file is larger than %zu bytes", max);
        }
    }
    int bad = ferror(f);
    fclose(f);
    if (bad) {
        free(buf);
        return sp_error_set(err, SP_EIO, path, 0, 0, "read error");
    }
    buf[n] = '\0';
    *text = buf;
    *len = n;
    return SP_OK;
}

int sp_write_file_atomic(const char *path, const char *bytes, size_t len, sp_error *err)
{
    sp_outfile f;
    int status = sp_outfile_open_atomic(&f, path, err);
    if (status) return status;
    sp_strbuf_append(&f.buf, bytes, len);
    return sp_outfile_close(&f, err);
}

bool sp_path_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

int sp_mkdirs(const char *path, sp_error *err)
{
    char *p = sp_strdup(path);
    int status = SP_OK;
    for (char *c = p + 1;; c++) {
        if (*c != '/' && *c) continue;
        char saved = *c;
        *c = '\0';
        if (mkdir(p, 0777) && errno != EEXIST) {
            status = sp_error_set(err, SP_EIO, p, 0, 0, "cannot create: %s", strerror(errno));
            break;
        }
        *c = saved;
        if (!saved) break;
    }
    struct stat st;
    if (!status && (stat(path, &st) || !S_ISDIR(st.st_mode)))
        status = sp_error_set(err, SP_EIO, path, 0, 0, "not a directory");
    free(p);
    return status;
}

int sp_copy_file(const char *from, const char *to, sp_error *err)
{
    char *text;
    size_t len;
    int status = sp_read_file(from, (size_t)1 << 40, &text, &len, err);
    if (status) return status;
    status = sp_write_file_atomic(to, text, len, err);
    free(text);
    return status;
}
