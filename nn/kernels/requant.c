#include "nn/kernels/requant.h"

int ww_qparam_check(const ww_qparam *q, const char *what, ww_error *err)
{
    if (q->type != WW_QTYPE_U8 && q->type != WW_QTYPE_S8)
        return ww_fail(err, WW_EINVAL, "%s: element type must be uint8 or int8", what);
    if (!(q->scale > 0.0f) || !isfinite(q->scale))
        return ww_fail(err, WW_EINVAL, "%s: scale %g is not a finite positive number", what,
                       (double)q->scale);
    if (q->zp < ww_qtype_min(q->type) || q->zp > ww_qtype_max(q->type))
        return ww_fail(err, WW_EINVAL, "%s: zero point %d is outside the %s range", what,
                       (int)q->zp, q->type == WW_QTYPE_S8 ? "int8" : "uint8");
    return WW_OK;
}
