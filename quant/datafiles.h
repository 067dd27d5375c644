/* The data arguments of quantize and validate (--calib, --validate, --data):
 * audio files, directories of them, .txt/.list files of paths, or model
 * inputs as float32 .npy / TensorProto .pb, turned into model-sized windows
 * (quant/calib.h) with the front-end settings in the model's metadata. One
 * implementation so both subcommands read data the same way. */
#ifndef WW_QUANT_DATAFILES_H
#define WW_QUANT_DATAFILES_H

#include <stddef.h>

#include "core/error.h"
#include "dsp/mel.h"
#include "nn/model.h"
#include "quant/calib.h"

typedef struct ww_path_list {
    char **p;
    size_t n, cap;
} ww_path_list;

/* -1 when out of memory. */
int ww_path_list_add(ww_path_list *l, const char *path);
void ww_path_list_free(ww_path_list *l);

/* Expands one DATA argument into files: a directory's regular files (sorted,
 * hidden ones skipped), a .txt/.list file's lines (blank and # lines
 * skipped), or the path itself. */
int ww_data_expand(ww_path_list *l, const char *arg, ww_error *err);

typedef struct ww_data_counts {
    size_t files, skipped, resampled;
} ww_data_counts;

/* Called once per file that is skipped, with the reason naming it. */
typedef void (*ww_data_warn_fn)(void *user, const char *msg);

/* Appends every file's windows (.npy/.pb as model inputs, anything else as
 * audio cut every `hop` frames); unreadable, empty or silent files are
 * reported through warn (may be NULL) and skipped. */
void ww_data_load(const ww_path_list *l, ww_windows *w, const ww_mel_config *cfg, int hop,
                  ww_data_counts *c, ww_data_warn_fn warn, void *user);

/* The front-end settings in the model's metadata_props over cfg's values
 * (keys that are not the front end's are ignored). */
void ww_mel_config_from_model(const ww_model *m, ww_mel_config *cfg);

#endif
