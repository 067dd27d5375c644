/* Scalar variants of the ops of ops_s8.h: the references. */
#include "nn/kernels/ops_s8.h"
#include "nn/kernels/ops_s8_internal.h"

void ww_add_s8_scalar(const void *a, const ww_qparam *qa, const void *b, const ww_qparam *qb,
                      void *c, const ww_qparam *qc, int relu, size_t n)
{
    int32_t lo = ww_requant_lo(qc, relu), hi = ww_requant_hi(qc);
    for (size_t i = 0; i < n; i++) {
        int32_t va = ww_qload(a, qa->type, (long)i) - qa->zp;
        int32_t vb = ww_qload(b, qb->type, (long)i) - qb->zp;
        ww_qstore(c, qc->type, (long)i,
                  ww_requant_add(va, qa->scale, vb, qb->scale, qc->scale, qc->zp, lo, hi));
    }
}

void ww_maxpool_s8_scalar(const ww_pool_shape *s, ww_qtype t, const void *x, void *y)
{
    int32_t init = ww_qtype_min(t);
    long xi0 = 0, yi = 0;
    for (int n = 0; n < s->n; n++, xi0 += (long)s->h_in * s->w_in * s->c)
        for (int oh = 0; oh < s->h_out; oh++)
            for (int ow = 0; ow < s->w_out; ow++)
                for (int c = 0; c < s->c; c++, yi++) {
                    int32_t m = init;
                    for (int kh = 0; kh < s->k_h; kh++) {
                        int ih = oh * s->stride_h - s->pad_top + kh * s->dil_h;
                        if (ih < 0 || ih >= s->h_in) continue;
                        for (int kw = 0; kw < s->k_w; kw++) {
                            int iw = ow * s->stride_w - s->pad_left + kw * s->dil_w;
                            if (iw < 0 || iw >= s->w_in) continue;
                            int32_t v = ww_qload(x, t, xi0 + ((long)ih * s->w_in + iw) * s->c + c);
                            m = v > m ? v : m;
                        }
                    }
                    ww_qstore(y, t, yi, m);
                }
}

void ww_gavgpool_s8_scalar(int n, int hw, int c, const void *x, const ww_qparam *qx, void *y,
                           const ww_qparam *qy)
{
    float m = ww_gavgpool_s8_scale(qx, qy, hw);
    int32_t lo = ww_requant_lo(qy, 0), hi = ww_requant_hi(qy);
    for (int b = 0; b < n; b++)
        for (int ch = 0; ch < c; ch++) {
            int32_t acc = 0;
            for (int p = 0; p < hw; p++) acc += ww_qload(x, qx->type, ((long)b * hw + p) * c + ch);
            acc -= hw * qx->zp;
            ww_qstore(y, qy->type, (long)b * c + ch, ww_requant(acc, m, qy->zp, lo, hi));
        }
}

void ww_gemm_s8_scalar(const void *packed, const void *x, void *y)
{
    const ww_gemm_s8_hdr *h = packed;
    const ww_gemm_s8_params *p = &h->p;
    const int32_t *bias = ww_gemm_s8_bias(h);
    const float *m = ww_gemm_s8_mult(h);
    const int8_t *w = ww_gemm_s8_w(h);
    for (int r = 0; r < p->rows; r++)
        for (int o = 0; o < p->n_out; o++) {
            int32_t acc = bias[o];
            for (int k = 0; k < p->k; k++)
                acc +=
                    (ww_qload(x, p->x.type, (long)r * p->k + k) - p->x.zp) * w[(long)o * p->k + k];
            long yi = (long)r * p->n_out + o;
            switch (p->out) {
            case WW_GEMM_S8_OUT_I32:
                ((int32_t *)y)[yi] = acc;
                break;
            case WW_GEMM_S8_OUT_QUANT:
                ww_qstore(y, p->y.type, yi, ww_requant(acc, m[o], p->y.zp, h->lo, h->hi));
                break;
            case WW_GEMM_S8_OUT_FLOAT: {
                float f = (float)acc;
                ((float *)y)[yi] = f * m[o];
                break;
            }
            }
        }
}

void ww_quantize_s8_scalar(const float *x, size_t n, const ww_qparam *q, void *y)
{
    int32_t lo = ww_qtype_min(q->type), hi = ww_qtype_max(q->type);
    for (size_t i = 0; i < n; i++)
        ww_qstore(y, q->type, (long)i, ww_quantize1(x[i], q->scale, q->zp, lo, hi));
}

void ww_dequantize_s8_scalar(const void *x, size_t n, const ww_qparam *q, float *y)
{
    const float scale = q->scale;
    const int32_t zp = q->zp;
    if (q->type == WW_QTYPE_U8) { /* one loop per type: no type switch per element */
        const uint8_t *b = x;
        for (size_t i = 0; i < n; i++) y[i] = ww_dequantize1(b[i], scale, zp);
    } else {
        const int8_t *b = x;
        for (size_t i = 0; i < n; i++) y[i] = ww_dequantize1(b[i], scale, zp);
    }
}
