/* Window geometry shared by Conv and the pools: kernel, strides, dilations,
 * explicit pads or auto_pad, ceil_mode -> output size and begin/end pads, for
 * one or two spatial axes (a 1-D op is run as 2-D with height 1). */
#ifndef WW_NN_SPATIAL_H
#define WW_NN_SPATIAL_H

#include "nn/graph.h"

typedef struct ww_window {
    int nsp;                  /* spatial axes: 1 or 2 */
    int64_t in[2], out[2];    /* sizes per axis (axis 0 is H when nsp == 2) */
    int64_t k[2], s[2], d[2]; /* kernel, stride, dilation */
    int64_t pb[2], pe[2];     /* pads at the begin / end */
} ww_window;

/* x is the NC... input; kernel_shape comes from the attribute, or from the
 * weight tensor when kernel is given (Conv). */
int ww_window_resolve(ww_graph *g, ww_node *n, const ww_tensor *x, const int64_t *kernel,
                      int allow_ceil, ww_window *w, ww_error *err);

#endif
