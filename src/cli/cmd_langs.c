/* satprobe langs: a table of the language zoo. */
#include "cli.h"
#include "satprobe/alloc.h"

#include <dirent.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

static const char help[] =
    "usage: satprobe langs [--dir DIR] [--lengths L1,L2,...] [--tsv] [FILE...]\n"
    "\n"
    "Print a table of languages: name, kind, class and the number of strings at a few lengths.\n"
    "Without FILE arguments it lists every *.yaml file of the zoo directory.\n"
    "\n"
    "  -d, --dir DIR        zoo directory (default $SATPROBE_GRAMMARS, else the source tree's grammars/)\n"
    "  -l, --lengths LIST   comma-separated lengths (default 10,50,100; at most 8)\n"
    "      --tsv            tab-separated output with a header line, counts in full\n"
    "  -h, --help           this help\n";

enum { MAX_LENGTHS = 8 };

/* Order by file name without the .yaml ending, so dyck-2 comes before dyck-2-3. */
static int cmp_stem(const void *a, const void *b)
{
    const char *x = *(char *const *)a, *y = *(char *const *)b;
    size_t lx = strlen(x) - 5, ly = strlen(y) - 5;
    int c = strncmp(x, y, lx < ly ? lx : ly);
    return c ? c : (lx > ly) - (lx < ly);
}

/* Sorted paths of the .yaml files in dir; the caller frees each and the array. */
static char **list_zoo(const char *dir, size_t *n)
{
    *n = 0;
    DIR *d = opendir(dir);
    if (!d) return NULL;
    char **paths = NULL;
    size_t cap = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t len = strlen(e->d_name);
        if (len < 6 || strcmp(e->d_name + len - 5, ".yaml") != 0 || e->d_name[0] == '.') continue;
        SP_GROW(paths, cap, *n + 1);
        size_t plen = strlen(dir) + len + 2;
        paths[*n] = sp_malloc(plen, 1);
        snprintf(paths[*n], plen, "%s/%s", dir, e->d_name);
        (*n)++;
    }
    closedir(d);
    if (*n) qsort(paths, *n, sizeof *paths, cmp_stem);
    return paths;
}

static void format_short(long double c, char *buf, size_t size)
{
    if (c < 1e10L) sp_lang_format_count(c, buf, size);
    else snprintf(buf, size, "%.4Le", c);
}

int cmd_langs(int argc, char **argv)
{
    static const struct option opts[] = {{"dir", required_argument, NULL, 'd'},
                                         {"lengths", required_argument, NULL, 'l'},
                                         {"tsv", no_argument, NULL, 't'},
                                         {"help", no_argument, NULL, 'h'},
                                         {NULL, 0, NULL, 0}};
    const char *dir = cli_zoo_dir();
    size_t lengths[MAX_LENGTHS] = {10, 50, 100}, nlen = 3;
    bool tsv = false;
    int c;
    while ((c = getopt_long(argc, argv, "d:l:h", opts, NULL)) != -1) {
        switch (c) {
        case 'd': dir = optarg; break;
        case 't': tsv = true; break;
        case 'l': {
            nlen = 0;
            char *copy = strdup(optarg), *save = NULL;
            for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
                if (nlen == MAX_LENGTHS || cli_parse_size("langs", "--lengths", tok, 100000, &lengths[nlen])) {
                    free(copy);
                    return nlen == MAX_LENGTHS ? cli_usage_error("langs", "at most %d lengths", MAX_LENGTHS) : CLI_USAGE;
                }
                nlen++;
            }
            free(copy);
            if (nlen == 0) return cli_usage_error("langs", "--lengths needs at least one length");
            break;
        }
        case 'h': fputs(help, stdout); return CLI_OK;
        default: fputs(help, stderr); return CLI_USAGE;
        }
    }
    char **paths;
    size_t npaths;
    bool owned = optind == argc;
    if (owned) {
        paths = list_zoo(dir, &npaths);
        if (!npaths) {
            free(paths);
            return cli_usage_error("langs", "no *.yaml grammar files in %s", dir);
        }
    } else {
        paths = argv + optind;
        npaths = (size_t)(argc - optind);
    }

    int status = CLI_OK;
    if (tsv) {
        printf("name\tkind\tclass");
        for (size_t i = 0; i < nlen; i++) printf("\tn=%zu", lengths[i]);
        printf("\tfile\n");
    } else {
        printf("%-16s %-8s %-17s", "name", "kind", "class");
        for (size_t i = 0; i < nlen; i++) {
            char h[32];
            snprintf(h, sizeof h, "n=%zu", lengths[i]);
            printf(" %11s", h);
        }
        printf("\n");
    }
    for (size_t p = 0; p < npaths; p++) {
        sp_lang *lang;
        if (cli_load(paths[p], &lang)) {
            status = CLI_USAGE;
            continue;
        }
        sp_error err;
        sp_error_clear(&err);
        size_t top = 0;
        for (size_t i = 0; i < nlen; i++) top = lengths[i] > top ? lengths[i] : top;
        if (sp_lang_prepare(lang, top, &err)) {
            sp_error_print(&err, stderr);
            status = CLI_USAGE;
            sp_lang_destroy(lang);
            continue;
        }
        const char *kind = sp_lang_kind_name(sp_lang_get_kind(lang));
        const char *cls = sp_lang_class_name(sp_lang_get_class(lang));
        if (tsv) printf("%s\t%s\t%s", sp_lang_name(lang), kind, cls);
        else printf("%-16s %-8s %-17s", sp_lang_name(lang), kind, cls);
        for (size_t i = 0; i < nlen; i++) {
            char buf[64];
            long double cnt = sp_lang_count(lang, lengths[i]);
            if (tsv) {
                sp_lang_format_count(cnt, buf, sizeof buf);
                printf("\t%s", buf);
            } else {
                format_short(cnt, buf, sizeof buf);
                printf(" %11s", buf);
            }
        }
        if (tsv) {
            /* Zoo listings name the file within the zoo, so the table is the same in every
             * checkout; explicit files keep the path they were given as. */
            const char *slash = owned ? strrchr(paths[p], '/') : NULL;
            printf("\t%s", slash ? slash + 1 : paths[p]);
        }
        printf("\n");
        sp_lang_destroy(lang);
    }
    if (owned) {
        for (size_t p = 0; p < npaths; p++) free(paths[p]);
        free(paths);
    }
    return status;
}
