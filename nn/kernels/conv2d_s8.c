/* conv2d_s8: parameter checks, the packed blob, ISA dispatch and the tiled
 * driver shared by the SIMD kernels. */
#include "nn/kernels/conv2d_s8_internal.h"

#include <stdlib.h>

static const ww_conv2d_s8_impl *const impls[WW_ISA_COUNT] = {
#if defined(__x86_64__)
    [WW_ISA_AVX2] = &ww_conv2d_s8_impl_avx2,
    [WW_ISA_AVXVNNI] = &ww_conv2d_s8_impl_avxvnni,
    [WW_ISA_AVX512] = &ww_conv2d_s8_impl_avx512,
    [WW_ISA_AVX512VNNI] = &ww_conv2d_s8_impl_avx512vnni,
#elif defined(__aarch64__)
    [WW_ISA_NEON] = &ww_conv2d_s8_impl_neon,
    [WW_ISA_NEONDOT] = &ww_conv2d_s8_impl_neondot,
#endif
};

ww_isa ww_conv2d_s8_isa(ww_isa isa)
{
    for (int i = (int)isa; i > 0 && i < WW_ISA_COUNT; i--)
        if (impls[i] && ww_isa_supported((ww_isa)i)) return (ww_isa)i;
    return WW_ISA_SCALAR;
}

static size_t align64(size_t n)
{
    return (n + 63) & ~(size_t)63;
}

/* with_values: also the quantization parameters and weight scales (sizes
 * depend on the shape alone and may be asked before the scales exist). */
static int check_params(const ww_conv2d_s8_params *p, int with_values, ww_error *err)
{
    const ww_conv2d_shape *s = &p->shape;
    if (s->n < 1 || s->c_in < 1 || s->h_in < 1 || s->w_in < 1 || s->c_out < 1 || s->h_out < 1 ||
        s->w_out < 1 || s->k_h < 1 || s->k_w < 1)
        return ww_fail(err, WW_EINVAL, "conv2d_s8: sizes must be positive");
    if (s->stride_h < 1 || s->stride_w < 1 || s->dil_h < 1 || s->dil_w < 1)
        return ww_fail(err, WW_EINVAL, "conv2d_s8: strides and dilations must be positive");
    if (s->pad_top < 0 || s->pad_left < 0)
        return ww_fail(err, WW_EINVAL, "conv2d_s8: pads must not be negative");
    if (s->groups < 1 || s->c_in % s->groups || s->c_out % s->groups)
        return ww_fail(err, WW_EINVAL, "conv2d_s8: groups %d does not divide c_in %d and c_out %d",
                       s->groups, s->c_in, s->c_out);
    long k = (long)(s->c_in / s->groups) * s->k_h * s->k_w;
    /* 255 * 128 * k must stay inside int32 with room for the bias */
    if (k > 32768)
        return ww_fail(err, WW_EUNSUPPORTED, "conv2d_s8: reduction of %ld taps exceeds 32768", k);
    if (!with_values) return WW_OK;
    int rc;
    if ((rc = ww_qparam_check(&p->x, "conv2d_s8 input", err)) < 0) return rc;
    if ((rc = ww_qparam_check(&p->y, "conv2d_s8 output", err)) < 0) return rc;
    if (p->fuse_add) {
        if ((rc = ww_qparam_check(&p->mid, "conv2d_s8 conv output before the add", err)) < 0)
            return rc;
        if ((rc = ww_qparam_check(&p->r, "conv2d_s8 residual", err)) < 0) return rc;
    }
    if (!p->w_scale) return ww_fail(err, WW_EINVAL, "conv2d_s8: no weight scales");
    for (int oc = 0; oc < s->c_out; oc++)
        if (!(p->w_scale[oc] > 0.0f) || !isfinite(p->w_scale[oc]))
            return ww_fail(err, WW_EINVAL,
                           "conv2d_s8: weight scale of output channel %d is %g, not finite "
                           "positive",
                           oc, (double)p->w_scale[oc]);
    return WW_OK;
}

/* Estimated cycles per k quad of the whole conv for each tile shape: blocks x
 * pixel tiles x max(dot-product issue, load issue) + loop overhead; ties go to
 * fewer pixel tiles (fewer passes over each weight block). */
int ww_conv2d_s8_tile_override = -1;

static int choose_tile(const ww_conv2d_s8_impl *impl, int cog, long npix)
{
    if (ww_conv2d_s8_tile_override >= 0 && ww_conv2d_s8_tile_override < impl->ntiles)
        return ww_conv2d_s8_tile_override;
    int best = 0;
    double best_cost = 0;
    for (int i = 0; i < impl->ntiles; i++) {
        const ww_conv2d_s8_tile *t = &impl->tiles[i];
        double vec = (double)t->ob / impl->lanes;
        double dots = vec * t->nr / impl->dots_per_cycle;
        double loads = (vec + t->nr) / impl->loads_per_cycle;
        double per = (dots > loads ? dots : loads) + 1;
        long tiles = (npix + t->nr - 1) / t->nr;
        double cost = (double)((cog + t->ob - 1) / t->ob) * tiles * per;
        long best_tiles = (npix + impl->tiles[best].nr - 1) / impl->tiles[best].nr;
        if (i == 0 || cost < best_cost - 1e-9 || (cost < best_cost + 1e-9 && tiles < best_tiles)) {
            best = i;
            best_cost = cost;
        }
    }
    return best;
}

/* Fills every derived field and offset of the header; returns the blob size. */
static size_t layout(const ww_conv2d_s8_params *p, ww_isa isa, ww_conv2d_s8_hdr *h)
{
    const ww_conv2d_shape *s = &p->shape;
    memset(h, 0, sizeof *h);
    h->magic = WW_CONV2D_S8_MAGIC;
    h->isa = (int)ww_conv2d_s8_isa(isa);
    h->p = *p;
    h->p.w_scale = NULL;
    h->cg = s->c_in / s->groups;
    h->cog = s->c_out / s->groups;
    const ww_conv2d_s8_impl *impl = impls[h->isa];
    int taps = s->k_h * s->k_w;
    if (!impl) {
        h->wlayout = WW_S8W_ONNX;
        h->enc = WW_S8ENC_U8;
        h->esize = 1;
    } else {
        h->enc = impl->enc;
        h->esize = impl->enc == WW_S8ENC_S16 ? 2 : 1;
        h->wlayout = impl->wlayout;
        h->tile = choose_tile(impl, h->cog, (long)s->h_out * s->w_out);
        h->ob = impl->tiles[h->tile].ob;
        h->nr = impl->tiles[h->tile].nr;
        h->nob = (h->cog + h->ob - 1) / h->ob;
        /* One input channel, byte encoding: the padded image itself holds
         * every kernel row as contiguous taps, so pixel pointers plus a row
         * offset per segment replace im2col; the last quad of a row reads up
         * to 3 bytes past its taps (weights 0 there; slack columns added). */
        h->rowtaps = h->esize == 1 && s->groups == 1 && h->cg == 1 && s->dil_w == 1 && s->k_w <= 16;
        h->im2col = !h->rowtaps && h->cg % 4 != 0;
        if (h->rowtaps) {
            h->nseg = s->k_h;
            h->kq = (s->k_w + 3) / 4;
            h->cg4 = 1;
            h->hp = (s->h_out - 1) * s->stride_h + (s->k_h - 1) * s->dil_h + 1;
            h->wp = (s->w_out - 1) * s->stride_w + h->kq * 4;
        } else if (h->im2col) {
            h->nseg = 1;
            h->kq = (taps * h->cg + 3) / 4;
            /* a row of kernel taps that are contiguous input bytes moves as 8
             * bytes; the quads are padded so the last one's spill stays inside
             * the pixel's row */
            h->rows8 = h->esize == 1 && s->groups == 1 && s->dil_w == 1 && s->k_w * h->cg <= 8;
            if (h->rows8) {
                int need = ((s->k_h - 1) * s->k_w * h->cg + 8 + 3) / 4;
                h->kq = need > h->kq ? need : h->kq;
            }
        } else {
            h->nseg = taps;
            h->kq = h->cg / 4;
            h->cg4 = h->cg;
            h->hp = (s->h_out - 1) * s->stride_h + (s->k_h - 1) * s->dil_h + 1;
            h->wp = (s->w_out - 1) * s->stride_w + (s->k_w - 1) * s->dil_w + 1;
            /* No padding needed and bytes already in the encoding (u8 input,
             * u8 kernels): the tiles read x itself, no copy (the 1x1 stride-2
             * downsampling convs). Rows then have the input's stride. */
            int identity = h->esize == 1 && (h->enc == WW_S8ENC_U8) == (p->x.type == WW_QTYPE_U8);
            h->nocopy = identity && s->pad_top == 0 && s->pad_left == 0 && h->hp <= s->h_in &&
                        h->wp <= s->w_in;
            if (h->nocopy) {
                h->hp = s->h_in;
                h->wp = s->w_in;
            }
        }
    }
    int32_t zx_u8 = p->x.type == WW_QTYPE_S8 ? p->x.zp + 128 : p->x.zp;
    h->zc =
        h->enc == WW_S8ENC_S8 ? zx_u8 - 128 : (h->enc == WW_S8ENC_U8 && !impl ? p->x.zp : zx_u8);
    if (p->fuse_add) {
        h->mid_lo = ww_requant_lo(&p->mid, p->relu);
        h->mid_hi = ww_requant_hi(&p->mid);
        h->y_lo = ww_requant_lo(&p->y, p->relu_after_add);
        h->add_sa = p->mid.scale;
        h->add_sb = p->r.scale;
        h->add_sc = p->y.scale;
    } else {
        h->y_lo = ww_requant_lo(&p->y, p->relu);
    }
    h->y_hi = ww_requant_hi(&p->y);

    size_t off = align64(sizeof *h);
    h->bias_off = off;
    off = align64(off + sizeof(int32_t) * (size_t)s->c_out);
    h->braw_off = off;
    off = align64(off + sizeof(int32_t) * (size_t)s->c_out);
    h->m_off = off;
    off = align64(off + sizeof(float) * (size_t)s->c_out);
    h->seg_off = off;
    off = align64(off + sizeof(ptrdiff_t) * (size_t)(h->nseg ? h->nseg : 1));
    h->pix_off = off;
    if (impl) off = align64(off + sizeof(ptrdiff_t) * (size_t)((long)s->h_out * s->w_out + h->nr));
    h->w_off = off;
    if (!impl) {
        h->wblock_bytes = (size_t)s->c_out * h->cg * taps;
        off += h->wblock_bytes;
    } else {
        h->wblock_bytes = (size_t)h->nseg * h->kq * 4 * h->ob; /* int8 weights */
        off += h->wblock_bytes * h->nob * s->groups;
    }
    h->total = align64(off);
    return h->total;
}

size_t ww_conv2d_s8_packed_size(const ww_conv2d_s8_params *p, ww_isa isa)
{
    ww_conv2d_s8_hdr h;
    if (check_params(p, 0, NULL) < 0) return align64(sizeof h); /* pack will say why */
    return layout(p, isa, &h);
}

/* Scratch bytes of the padded image or im2col rows (with slack for 8-byte
 * moves), 0 when the tiles read x itself. */
static size_t image_bytes(const ww_conv2d_s8_hdr *h)
{
    const ww_conv2d_shape *s = &h->p.shape;
    size_t n = 0;
    if (h->im2col)
        n = (size_t)s->h_out * s->w_out * h->kq * 4;
    else if (!h->nocopy)
        n = (size_t)h->hp * h->wp * s->groups * h->cg4;
    return n ? align64(n * h->esize + 64) : 0;
}

size_t ww_conv2d_s8_scratch_size(const ww_conv2d_s8_params *p, ww_isa isa)
{
    ww_conv2d_s8_hdr h;
    if (check_params(p, 0, NULL) < 0) return 0;
    layout(p, isa, &h);
    if (!impls[h.isa]) return 0;
    size_t n = image_bytes(&h);
    return n ? 64 + n : 0; /* alignment, then the image or rows */
}

ww_isa ww_conv2d_s8_packed_isa(const void *packed)
{
    return (ww_isa)((const ww_conv2d_s8_hdr *)packed)->isa;
}

/* Weight of group g, channel j of the group, segment seg, reduction index k. */
static int wval(const ww_conv2d_s8_hdr *h, const int8_t *w, int g, int j, int seg, int k)
{
    const ww_conv2d_shape *s = &h->p.shape;
    if (j >= h->cog) return 0;
    int kh, kw, c;
    if (h->rowtaps) {
        if (k >= s->k_w) return 0;
        c = 0;
        kh = seg;
        kw = k;
    } else if (h->im2col) {
        if (k >= s->k_h * s->k_w * h->cg) return 0;
        c = k % h->cg;
        kh = k / h->cg / s->k_w;
        kw = k / h->cg % s->k_w;
    } else {
        if (k >= h->cg) return 0;
        c = k;
        kh = seg / s->k_w;
        kw = seg % s->k_w;
    }
    long oc = (long)g * h->cog + j;
    return w[((oc * h->cg + c) * s->k_h + kh) * s->k_w + kw];
}

int ww_conv2d_s8_pack(const ww_conv2d_s8_params *p, ww_isa isa, const int8_t *w,
                      const int32_t *bias, void *packed, ww_error *err)
{
    int rc = check_params(p, 1, err);
    if (rc < 0) return rc;
    ww_conv2d_s8_hdr hh;
    size_t total = layout(p, isa, &hh);
    char *blob = packed;
    memset(blob, 0, total);
    memcpy(blob, &hh, sizeof hh);
    const ww_conv2d_s8_hdr *h = (const ww_conv2d_s8_hdr *)blob;
    const ww_conv2d_shape *s = &p->shape;
    int taps = s->k_h * s->k_w;
    long per_oc = (long)h->cg * taps;

    int32_t *bias_eff = (int32_t *)(blob + h->bias_off);
    int32_t *braw = (int32_t *)(blob + h->braw_off);
    float *m = (float *)(blob + h->m_off);
    for (int oc = 0; oc < s->c_out; oc++) {
        int64_t wsum = 0;
        for (long i = 0; i < per_oc; i++) wsum += w[oc * per_oc + i];
        int64_t b = bias ? bias[oc] : 0;
        int64_t be = b - (int64_t)h->zc * wsum;
        /* both stay within half the int32 range, so bias plus the largest
         * possible sum of 32768 products (255 * 128 each) fits on every path
         * (the scalar one starts from b, the SIMD ones from be) */
        if (b < INT32_MIN / 2 || b > INT32_MAX / 2 || be < INT32_MIN / 2 || be > INT32_MAX / 2)
            return ww_fail(err, WW_EUNSUPPORTED,
                           "conv2d_s8: bias %lld of output channel %d is too large for int32 "
                           "accumulation",
                           (long long)b, oc);
        braw[oc] = (int32_t)b;
        bias_eff[oc] = (int32_t)be;
        m[oc] =
            ww_requant_scale(p->x.scale, p->w_scale[oc], p->fuse_add ? p->mid.scale : p->y.scale);
    }

    ptrdiff_t *segs = (ptrdiff_t *)(blob + h->seg_off);
    for (int seg = 0; seg < h->nseg; seg++) {
        int kh = seg / s->k_w, kw = seg % s->k_w;
        if (h->rowtaps)
            segs[seg] = (ptrdiff_t)seg * s->dil_h * h->wp;
        else
            segs[seg] = h->im2col ? 0
                                  : ((ptrdiff_t)kh * s->dil_h * h->wp + (ptrdiff_t)kw * s->dil_w) *
                                        s->groups * h->cg4;
    }

    if (impls[h->isa]) {
        /* Byte offset of every output pixel's row start in the image (or
         * rows), the last one repeated to fill a whole last tile: a tile's
         * pointers are then one add each (computing them per tile cost ~2 %
         * of the shipped model) */
        ptrdiff_t *pix = (ptrdiff_t *)(blob + h->pix_off);
        long npix = (long)s->h_out * s->w_out;
        size_t ct = (size_t)s->groups * h->cg4;
        size_t row_step = (size_t)s->stride_h * h->wp * ct, col_step = (size_t)s->stride_w * ct;
        for (long q = 0, oh = 0, ow = 0; q < npix; q++) {
            size_t e =
                h->im2col ? (size_t)q * h->kq * 4 : (size_t)oh * row_step + (size_t)ow * col_step;
            pix[q] = (ptrdiff_t)(e * h->esize);
            if (++ow == s->w_out) ow = 0, oh++;
        }
        for (int i = 0; i < h->nr; i++) pix[npix + i] = pix[npix - 1];
    }

    if (h->wlayout == WW_S8W_ONNX) {
        memcpy(blob + h->w_off, w, (size_t)s->c_out * per_oc);
        return WW_OK;
    }
    for (int g = 0; g < s->groups; g++) {
        for (int b = 0; b < h->nob; b++) {
            char *wb = (char *)ww_s8_wblock(h, g, b);
            int8_t *w8 = (int8_t *)wb;
            for (int seg = 0; seg < h->nseg; seg++)
                for (int q = 0; q < h->kq; q++)
                    for (int l = 0; l < h->ob; l++)
                        for (int e = 0; e < 4; e++) {
                            int v = wval(h, w, g, b * h->ob + l, seg, q * 4 + e);
                            size_t sq = (size_t)seg * h->kq + q;
                            switch (h->wlayout) {
                            case WW_S8W_QUAD:
                                w8[(sq * h->ob + l) * 4 + e] = (int8_t)v;
                                break;
                            case WW_S8W_PAIR8:
                                w8[((sq * 2 + e / 2) * h->ob + l) * 2 + e % 2] = (int8_t)v;
                                break;
                            case WW_S8W_KMAJOR8:
                                w8[(sq * 4 + e) * h->ob + l] = (int8_t)v;
                                break;
                            }
                        }
        }
    }
    return WW_OK;
}

/* The input value v (as its type reads) in the kernel's encoding. */
static inline int32_t encode(const ww_conv2d_s8_hdr *h, int32_t v)
{
    int32_t u = h->p.x.type == WW_QTYPE_S8 ? v + 128 : v;
    return h->enc == WW_S8ENC_S8 ? u - 128 : u;
}

static inline void put(const ww_conv2d_s8_hdr *h, void *dst, size_t i, int32_t e)
{
    if (h->esize == 2)
        ((int16_t *)dst)[i] = (int16_t)e;
    else
        ((uint8_t *)dst)[i] = (uint8_t)e;
}

/* Writes n encoded copies of the zero point, or n input bytes encoded. Both
 * run in address order, so a short run may be written as 8 bytes: whatever it
 * spills past its end is overwritten by the next write (the scratch buffer has
 * slack at the end); src_end bounds the 8-byte read. Small runs are most of
 * the im2col of a 1-channel input, where libc calls would dominate. */
static inline void fill_zc(const ww_conv2d_s8_hdr *h, void *dst, size_t o, size_t n)
{
    if (h->esize == 1) {
        if (n <= 8) {
            uint64_t v = 0x0101010101010101ull * (uint8_t)h->zc;
            memcpy((uint8_t *)dst + o, &v, 8);
        } else {
            memset((uint8_t *)dst + o, (uint8_t)h->zc, n);
        }
    } else {
        for (size_t i = 0; i < n; i++) ((int16_t *)dst)[o + i] = (int16_t)h->zc;
    }
}
static inline void copy_enc(const ww_conv2d_s8_hdr *h, void *dst, size_t o, const uint8_t *src,
                            size_t n, uint8_t xr, const uint8_t *src_end)
{
    if (h->esize == 1) {
        uint8_t *d = (uint8_t *)dst + o;
        if (n <= 8 && src + 8 <= src_end) {
            uint64_t v;
            memcpy(&v, src, 8);
            v ^= 0x0101010101010101ull * xr;
            memcpy(d, &v, 8);
        } else if (!xr) {
            memcpy(d, src, n);
        } else {
            for (size_t i = 0; i < n; i++) d[i] = src[i] ^ xr;
        }
    } else {
        int16_t *d = (int16_t *)dst + o;
        for (size_t i = 0; i < n; i++) d[i] = (int16_t)(uint8_t)(src[i] ^ xr);
    }
}

/* The zero-point-padded NHWC image of one batch item, channels per group
 * rounded up to cg4 (all ResNet layers: equal, so rows are copied whole). */
static void build_padded(const ww_conv2d_s8_hdr *h, const uint8_t *x, void *img)
{
    const ww_conv2d_shape *s = &h->p.shape;
    int ct = s->groups * h->cg4;
    int32_t zc = h->zc;
    int fast = ct == s->c_in;
    const uint8_t *xend = x + (size_t)s->h_in * s->w_in * s->c_in;
    uint8_t xr = (uint8_t)(encode(h, 0) & 0xff); /* xor turning input bytes into encoded */
    if (fast && h->esize == 1) {
        /* NHWC rows are contiguous (also the one-channel image of rowtaps):
         * padding, one copy of the row, padding */
        size_t rowb = (size_t)h->wp * ct;
        int l = s->pad_left < h->wp ? s->pad_left : h->wp;
        int n = s->w_in < h->wp - l ? s->w_in : h->wp - l;
        size_t lb = (size_t)l * ct, nb = (size_t)n * ct;
        uint8_t *d = img;
        for (int r = 0; r < h->hp; r++, d += rowb) {
            int ih = r - s->pad_top;
            if (ih < 0 || ih >= s->h_in) {
                memset(d, (uint8_t)zc, rowb);
                continue;
            }
            const uint8_t *src = x + (size_t)ih * s->w_in * s->c_in;
            memset(d, (uint8_t)zc, lb);
            if (xr)
                for (size_t i = 0; i < nb; i++) d[lb + i] = src[i] ^ xr;
            else
                memcpy(d + lb, src, nb);
            memset(d + lb + nb, (uint8_t)zc, rowb - lb - nb);
        }
        return;
    }
    for (int r = 0; r < h->hp; r++) {
        int ih = r - s->pad_top;
        for (int c = 0; c < h->wp; c++) {
            int iw = c - s->pad_left;
            size_t o = ((size_t)r * h->wp + c) * ct;
            if (ih < 0 || ih >= s->h_in || iw < 0 || iw >= s->w_in) {
                fill_zc(h, img, o, (size_t)ct);
                continue;
            }
            const uint8_t *src = x + ((size_t)ih * s->w_in + iw) * s->c_in;
            if (fast) {
                copy_enc(h, img, o, src, (size_t)ct, xr, xend);
                continue;
            }
            for (int g = 0; g < s->groups; g++)
                for (int k = 0; k < h->cg4; k++) {
                    int32_t e =
                        k < h->cg ? encode(h, ww_qload(src, h->p.x.type, g * h->cg + k)) : zc;
                    put(h, img, o + (size_t)g * h->cg4 + k, e);
                }
        }
    }
}

/* im2col rows of group g: per output pixel, taps (kh, kw, c), padded to quads.
 * Byte encodings with one group and no horizontal dilation (the 1-channel
 * stem) take the first path: a kernel row is contiguous input bytes, moved 8
 * at a time with everything in locals (stores through uint8_t * would
 * otherwise make the compiler reload every header field). */
static void build_rows(const ww_conv2d_s8_hdr *h, const uint8_t *x, int g, void *rows)
{
    const ww_conv2d_shape *s = &h->p.shape;
    const size_t rl = (size_t)h->kq * 4;
    const uint8_t xr = (uint8_t)(encode(h, 0) & 0xff);
    const int cg = h->cg, kh_n = s->k_h, kw_n = s->k_w, c_in = s->c_in, w_in = s->w_in;
    const int h_in = s->h_in, sh = s->stride_h, sw = s->stride_w, dh = s->dil_h;
    const int pt = s->pad_top, pl = s->pad_left, h_out = s->h_out, w_out = s->w_out;
    const size_t krow = (size_t)kw_n * cg;
    const uint8_t *xend = x + (size_t)h_in * w_in * c_in;
    if (h->rows8) {
        /* First every row's tail (beyond the taps; weights there are 0), then
         * output row by kernel row, so the inner loop is one 8-byte move per
         * output pixel. A move spills up to 7 bytes into the next kernel row of
         * the same pixel (written after it) or its tail: kq was padded for it. */
        const uint64_t zc8 = 0x0101010101010101ull * (uint8_t)h->zc;
        const uint64_t xr8 = 0x0101010101010101ull * xr;
        uint8_t *base = rows;
        const long npix = (long)h_out * w_out;
        for (long p = 0; p < npix; p++) memcpy(base + (size_t)p * rl + rl - 8, &zc8, 8);
        for (int oh = 0; oh < h_out; oh++)
            for (int kh = 0; kh < kh_n; kh++) {
                int ih = oh * sh - pt + kh * dh;
                uint8_t *d = base + (size_t)oh * w_out * rl + (size_t)kh * krow;
                if (ih < 0 || ih >= h_in) {
                    for (int ow = 0; ow < w_out; ow++, d += rl) memcpy(d, &zc8, 8);
                    continue;
                }
                const uint8_t *xrow = x + (size_t)ih * w_in * c_in;
                for (int ow = 0; ow < w_out; ow++, d += rl) {
                    int iw0 = ow * sw - pl;
                    uint64_t v;
                    if (iw0 >= 0 && iw0 + kw_n <= w_in &&
                        (size_t)(xend - xrow) >= (size_t)iw0 * c_in + 8) {
                        memcpy(&v, xrow + (size_t)iw0 * c_in, 8);
                        v ^= xr8;
                    } else {
                        uint8_t b[8];
                        memcpy(b, &zc8, 8);
                        for (int kw = 0; kw < kw_n; kw++) {
                            int iw = iw0 + kw;
                            if (iw < 0 || iw >= w_in) continue;
                            for (int c = 0; c < cg; c++)
                                b[kw * cg + c] = xrow[(size_t)iw * c_in + c] ^ xr;
                        }
                        memcpy(&v, b, 8);
                    }
                    memcpy(d, &v, 8);
                }
            }
        return;
    }
    if (h->esize == 2 && s->groups == 1 && s->dil_w == 1 && cg == 1) {
        /* the same for int16 elements (AVX2, NEON): plain loops, no calls */
        const int16_t zc = (int16_t)h->zc;
        int16_t *d = rows;
        for (int oh = 0; oh < h_out; oh++)
            for (int ow = 0; ow < w_out; ow++, d += rl) {
                int iw0 = ow * sw - pl;
                size_t k = 0;
                for (int kh = 0; kh < kh_n; kh++) {
                    int ih = oh * sh - pt + kh * dh;
                    int row_in = ih >= 0 && ih < h_in;
                    const uint8_t *src = row_in ? x + (size_t)ih * w_in * c_in : x;
                    for (int kw = 0; kw < kw_n; kw++, k++) {
                        int iw = iw0 + kw;
                        d[k] = row_in && iw >= 0 && iw < w_in
                                   ? (int16_t)(uint8_t)(src[(size_t)iw * c_in] ^ xr)
                                   : zc;
                    }
                }
                for (; k < rl; k++) d[k] = zc;
            }
        return;
    }
    long p = 0;
    for (int oh = 0; oh < h_out; oh++)
        for (int ow = 0; ow < w_out; ow++, p++) {
            size_t o = (size_t)p * rl, k = 0;
            int iw0 = ow * sw - pl;
            for (int kh = 0; kh < kh_n; kh++) {
                int ih = oh * sh - pt + kh * dh;
                if (ih < 0 || ih >= h_in) {
                    fill_zc(h, rows, o + k, krow);
                    k += krow;
                    continue;
                }
                const uint8_t *xrow = x + (size_t)ih * w_in * c_in;
                for (int kw = 0; kw < kw_n; kw++, k += cg) {
                    int iw = iw0 + kw * s->dil_w;
                    if (iw < 0 || iw >= w_in)
                        fill_zc(h, rows, o + k, (size_t)cg);
                    else
                        copy_enc(h, rows, o + k, xrow + (size_t)iw * c_in + (size_t)g * cg,
                                 (size_t)cg, xr, xend);
                }
            }
            fill_zc(h, rows, o + k, rl - k);
        }
}

void ww_conv2d_s8_run_tiled(const ww_conv2d_s8_hdr *h, const ww_conv2d_s8_impl *impl, const void *x,
                            const void *res, void *y, void *scratch)
{
    const ww_conv2d_shape *s = &h->p.shape;
    long npix = (long)s->h_out * s->w_out;
    size_t xn = (size_t)s->h_in * s->w_in * s->c_in, yn = (size_t)npix * s->c_out;
    char *buf = (char *)(((uintptr_t)scratch + 63) & ~(uintptr_t)63);
    const ptrdiff_t *off = ww_s8_pixoffs(h);
    const void *px[WW_CONV2D_S8_MAX_NR];
    ww_conv2d_s8_tile_fn tile = impl->tiles[h->tile].fn;
    for (int n = 0; n < s->n; n++) {
        const uint8_t *xb = (const uint8_t *)x + n * xn;
        const void *rb = res ? (const uint8_t *)res + n * yn : NULL;
        uint8_t *yb = (uint8_t *)y + n * yn;
        const char *image = h->nocopy ? (const char *)xb : buf; /* nocopy: read only */
        if (!h->nocopy && !h->im2col) build_padded(h, xb, buf);
        for (int g = 0; g < s->groups; g++) {
            if (h->im2col) build_rows(h, xb, g, buf);
            const char *base = image + (h->im2col ? 0 : (size_t)g * h->cg4 * h->esize);
            for (int b = 0; b < h->nob; b++) {
                const void *wb = ww_s8_wblock(h, g, b);
                int oc0 = g * h->cog + b * h->ob;
                int noc = h->cog - b * h->ob < h->ob ? h->cog - b * h->ob : h->ob;
                for (long p0 = 0; p0 < npix; p0 += h->nr) {
                    int npx = npix - p0 < h->nr ? (int)(npix - p0) : h->nr;
                    for (int i = 0; i < h->nr; i++) px[i] = base + off[p0 + i];
                    tile(h, px, wb, oc0, noc, p0, npx, rb, yb);
                }
            }
        }
    }
}

void ww_conv2d_s8(const void *packed, const void *x, const void *residual, void *y, void *scratch)
{
    const ww_conv2d_s8_hdr *h = packed;
    const ww_conv2d_s8_impl *impl = impls[h->isa];
    if (!impl)
        ww_conv2d_s8_run_scalar(h, x, residual, y);
    else
        ww_conv2d_s8_run_tiled(h, impl, x, residual, y, scratch);
}
