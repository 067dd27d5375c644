/* Output sizes and padding of windowed ops, following ONNX's Conv/Pool specs. */
#include <string.h>

#include "nn/spatial.h"

int ww_window_resolve(ww_graph *g, ww_node *n, const ww_tensor *x, const int64_t *kernel,
                      int allow_ceil, ww_window *w, ww_error *err)
{
    (void)g;
    memset(w, 0, sizeof *w);
    int nsp = x->ndim - 2;
    if (nsp < 1 || nsp > 2)
        return ww_node_fail(err, n, WW_EUNSUPPORTED,
                            "only 1-D and 2-D inputs are supported (input '%s' has rank %d)",
                            x->name, x->ndim);
    w->nsp = nsp;
    int64_t tmp[8];
    if (kernel) {
        memcpy(w->k, kernel, (size_t)nsp * sizeof *kernel);
        int c = ww_attr_ints(n, "kernel_shape", tmp, 8);
        if (c >= 0 && (c != nsp || memcmp(tmp, kernel, (size_t)nsp * sizeof *kernel)))
            return ww_node_fail(err, n, WW_EFORMAT, "kernel_shape does not match the weights");
    } else if (ww_attr_ints(n, "kernel_shape", w->k, 2) != nsp) {
        return ww_node_fail(err, n, WW_EFORMAT, "kernel_shape must have %d values", nsp);
    }
    for (int i = 0; i < nsp; i++) {
        w->in[i] = x->dims[2 + i];
        w->s[i] = w->d[i] = 1;
    }
    int c = ww_attr_ints(n, "strides", tmp, 8);
    if (c >= 0 && c != nsp)
        return ww_node_fail(err, n, WW_EFORMAT, "strides must have %d values", nsp);
    for (int i = 0; i < c; i++) w->s[i] = tmp[i];
    c = ww_attr_ints(n, "dilations", tmp, 8);
    if (c >= 0 && c != nsp)
        return ww_node_fail(err, n, WW_EFORMAT, "dilations must have %d values", nsp);
    for (int i = 0; i < c; i++) w->d[i] = tmp[i];
    c = ww_attr_ints(n, "pads", tmp, 8);
    if (c >= 0 && c != 2 * nsp)
        return ww_node_fail(err, n, WW_EFORMAT, "pads must have %d values", 2 * nsp);
    for (int i = 0; i < c / 2; i++) {
        w->pb[i] = tmp[i];
        w->pe[i] = tmp[nsp + i];
    }
    for (int i = 0; i < nsp; i++) {
        if (w->k[i] < 1 || w->k[i] > 4096 || w->s[i] < 1 || w->s[i] > 4096 || w->d[i] < 1 ||
            w->d[i] > 4096 || w->pb[i] < 0 || w->pe[i] < 0 || w->pb[i] > 4096 || w->pe[i] > 4096)
            return ww_node_fail(err, n, WW_EFORMAT,
                                "bad kernel/stride/dilation/pad on axis %d (%lld/%lld/%lld/%lld)",
                                i, (long long)w->k[i], (long long)w->s[i], (long long)w->d[i],
                                (long long)w->pb[i]);
    }
    int ceil_mode = (int)ww_attr_int(n, "ceil_mode", 0);
    if (ceil_mode && !allow_ceil)
        return ww_node_fail(err, n, WW_EFORMAT, "ceil_mode is not an attribute of this op");
    char ap[32] = "NOTSET";
    ww_attr_string(n, "auto_pad", ap, sizeof ap);
    for (int i = 0; i < nsp; i++) {
        int64_t span = (w->k[i] - 1) * w->d[i] + 1;
        if (!strcmp(ap, "SAME_UPPER") || !strcmp(ap, "SAME_LOWER")) {
            w->out[i] = (w->in[i] + w->s[i] - 1) / w->s[i];
            int64_t total = (w->out[i] - 1) * w->s[i] + span - w->in[i];
            if (total < 0) total = 0;
            w->pb[i] = !strcmp(ap, "SAME_UPPER") ? total / 2 : total - total / 2;
            w->pe[i] = total - w->pb[i];
        } else if (!strcmp(ap, "VALID")) {
            w->pb[i] = w->pe[i] = 0;
            w->out[i] = w->in[i] >= span ? (w->in[i] - span) / w->s[i] + 1 : 0;
        } else if (!strcmp(ap, "NOTSET") || !ap[0]) {
            int64_t avail = w->in[i] + w->pb[i] + w->pe[i] - span;
            if (avail < 0) {
                w->out[i] = 0;
            } else if (ceil_mode) {
                w->out[i] = (avail + w->s[i] - 1) / w->s[i] + 1;
                /* the last window must start inside the input or its left pad */
                if ((w->out[i] - 1) * w->s[i] >= w->in[i] + w->pb[i]) w->out[i]--;
            } else {
                w->out[i] = avail / w->s[i] + 1;
            }
        } else {
            return ww_node_fail(err, n, WW_EFORMAT, "unknown auto_pad '%s'", ap);
        }
        if (w->out[i] < 1)
            return ww_node_fail(err, n, WW_EFORMAT, "input '%s' is smaller than the window",
                                x->name);
    }
    return 0;
}
