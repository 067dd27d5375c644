#include "quant/datafiles.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

int ww_path_list_add(ww_path_list *l, const char *path)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 32;
        void *p = realloc(l->p, cap * sizeof(char *));
        if (!p) return -1;
        l->p = p;
        l->cap = cap;
    }
    if (!(l->p[l->n] = strdup(path))) return -1;
    l->n++;
    return 0;
}

void ww_path_list_free(ww_path_list *l)
{
    for (size_t i = 0; i < l->n; i++) free(l->p[i]);
    free(l->p);
    memset(l, 0, sizeof(*l));
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int has_ext(const char *p, const char *ext)
{
    size_t n = strlen(p), e = strlen(ext);
    return n > e && !strcasecmp(p + n - e, ext);
}

int ww_data_expand(ww_path_list *l, const char *arg, ww_error *err)
{
    struct stat st;
    if (stat(arg, &st)) return ww_fail(err, WW_EIO, "%s: %s", arg, strerror(errno));
    if (S_ISDIR(st.st_mode)) {
        DIR *d = opendir(arg);
        if (!d) return ww_fail(err, WW_EIO, "%s: %s", arg, strerror(errno));
        size_t first = l->n;
        struct dirent *e;
        char buf[4096];
        while ((e = readdir(d))) {
            if (e->d_name[0] == '.') continue;
            snprintf(buf, sizeof buf, "%s/%s", arg, e->d_name);
            if (stat(buf, &st) || !S_ISREG(st.st_mode)) continue;
            if (ww_path_list_add(l, buf)) {
                closedir(d);
                return ww_fail(err, WW_ENOMEM, "out of memory");
            }
        }
        closedir(d);
        qsort(l->p + first, l->n - first, sizeof(char *), cmp_str);
        return WW_OK;
    }
    if (has_ext(arg, ".txt") || has_ext(arg, ".list")) {
        FILE *f = fopen(arg, "r");
        if (!f) return ww_fail(err, WW_EIO, "%s: %s", arg, strerror(errno));
        char line[4096];
        while (fgets(line, sizeof line, f)) {
            line[strcspn(line, "\r\n")] = 0;
            if (!line[0] || line[0] == '#') continue;
            if (ww_path_list_add(l, line)) {
                fclose(f);
                return ww_fail(err, WW_ENOMEM, "out of memory");
            }
        }
        fclose(f);
        return WW_OK;
    }
    return ww_path_list_add(l, arg) ? ww_fail(err, WW_ENOMEM, "out of memory") : WW_OK;
}

void ww_data_load(const ww_path_list *l, ww_windows *w, const ww_mel_config *cfg, int hop,
                  ww_data_counts *c, ww_data_warn_fn warn, void *user)
{
    for (size_t i = 0; i < l->n; i++) {
        ww_error err = {{0}};
        int rate = 0, rc;
        if (has_ext(l->p[i], ".npy") || has_ext(l->p[i], ".pb"))
            rc = ww_windows_add_tensor_file(w, l->p[i], &err);
        else
            rc = ww_windows_add_audio(w, l->p[i], cfg, hop, &rate, &err);
        if (rc) {
            if (warn) warn(user, err.msg);
            c->skipped++;
            continue;
        }
        c->files++;
        if (rate) c->resampled++;
    }
}

void ww_mel_config_from_model(const ww_model *m, ww_mel_config *cfg)
{
    for (size_t i = 0; i < ww_model_meta_count(m); i++) {
        const char *k, *v;
        ww_model_meta_at(m, i, &k, &v);
        ww_error e;
        ww_mel_config_set(cfg, k, v, &e); /* other keys are not the front end's */
    }
}
