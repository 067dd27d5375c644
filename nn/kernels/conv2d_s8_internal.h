/* Private to the conv2d_s8 kernels: the layout of the packed blob and the
 * driver the SIMD variants share.
 *
 * Every SIMD variant computes an implicit GEMM: output channels across vector
 * lanes (blocks of `ob` channels, zero-padded), `nr` output pixels per tile,
 * the reduction in quads of 4 consecutive k (one vpdpbusd / sdot lane). Two
 * ways to feed it:
 *  - direct (c_in/groups a multiple of 4): x is copied once per call into a
 *    zero-point-padded NHWC image in scratch; a tile walks the k_h*k_w kernel
 *    taps ("segments", offsets precomputed at pack time) and, within each, the
 *    channel quads, which are contiguous bytes of one pixel.
 *  - im2col (other channel counts: the 1-channel stem, depthwise): each output
 *    pixel's k_h*k_w*c taps are gathered into one row of scratch, zero-point
 *    filled and padded to whole quads; one segment.
 * Padding holds the input zero point, so the k-sum needs no bounds checks and
 * sum((x - zx) * w) = sum(x * w) - zx * sum(w): the second term is folded into
 * the packed bias. Each ISA picks an activation encoding (u8, s8 = u8 ^ 0x80
 * for sdot, or s16 for widening multiplies); zx and the bias follow it. */
#ifndef WW_NN_KERNELS_CONV2D_S8_INTERNAL_H
#define WW_NN_KERNELS_CONV2D_S8_INTERNAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "nn/kernels/conv2d_s8.h"

/* Activation encodings inside the kernels. */
enum { WW_S8ENC_U8, WW_S8ENC_S8, WW_S8ENC_S16 };

/* Weight layouts inside a block of ob output channels, per segment and quad. */
enum {
    WW_S8W_ONNX,    /* scalar: the ONNX weights as given */
    WW_S8W_QUAD,    /* [ob][4] int8: lane = channel, 4 k per lane (vpdpbusd, sdot) */
    WW_S8W_PAIR8,   /* [2][ob][2] int8: k pairs per lane (sign-extended for vpmaddwd) */
    WW_S8W_KMAJOR8, /* [4][ob] int8: one k across the channel lanes (widened for smlal) */
};

typedef struct ww_conv2d_s8_hdr {
    uint32_t magic;
    int isa;
    ww_conv2d_s8_params p; /* w_scale cleared */
    int cg, cog;           /* input and output channels per group */
    int im2col;            /* 0: direct, 1: im2col */
    int rows8;             /* im2col of byte rows of <= 8 taps, 8-byte moves */
    int rowtaps;           /* direct on one input channel: a segment is a kernel row,
                              a quad 4 horizontal taps (the stem, no im2col) */
    int nseg, kq;          /* segments, quads per segment */
    int cg4;               /* direct: channels per group rounded up to 4 */
    int hp, wp;            /* direct: padded input image */
    int nocopy;            /* direct: x itself serves as the image (no padding, u8) */
    int enc, esize;        /* activation encoding and its element bytes */
    int ob, nob, nr;       /* channel block, blocks per group, pixels per tile */
    int tile;              /* index in the impl's tiles */
    int wlayout;
    int32_t zc; /* the input zero point in the encoding */
    int32_t y_lo, y_hi, mid_lo, mid_hi;
    float add_sa, add_sb, add_sc; /* join scales: mid, residual, output */
    size_t bias_off, braw_off, m_off, seg_off, pix_off, w_off; /* byte offsets in the blob */
    size_t wblock_bytes; /* bytes of one block's weights (all segments) */
    size_t total;
} ww_conv2d_s8_hdr;

#define WW_CONV2D_S8_MAGIC 0x38733263u /* "c2s8" */

static inline const int32_t *ww_s8_bias(const ww_conv2d_s8_hdr *h)
{
    return (const int32_t *)((const char *)h + h->bias_off);
}
static inline const int32_t *ww_s8_braw(const ww_conv2d_s8_hdr *h)
{
    return (const int32_t *)((const char *)h + h->braw_off);
}
static inline const float *ww_s8_mult(const ww_conv2d_s8_hdr *h)
{
    return (const float *)((const char *)h + h->m_off);
}
static inline const ptrdiff_t *ww_s8_segs(const ww_conv2d_s8_hdr *h)
{
    return (const ptrdiff_t *)((const char *)h + h->seg_off);
}
/* SIMD kernels: each output pixel's byte offset in the image (or im2col rows),
 * h_out * w_out of them and nr more repeating the last */
static inline const ptrdiff_t *ww_s8_pixoffs(const ww_conv2d_s8_hdr *h)
{
    return (const ptrdiff_t *)((const char *)h + h->pix_off);
}
static inline const void *ww_s8_wblock(const ww_conv2d_s8_hdr *h, int g, int b)
{
    return (const char *)h + h->w_off + ((size_t)g * h->nob + (size_t)b) * h->wblock_bytes;
}

/* One ISA's conv kernel: its encoding, blocking and tile function. The tile
 * computes out channels [oc0, oc0 + ob) of group g (noc of them real) for the
 * pixels whose rows (segment 0 start, in elements of the encoding) are px[0..nr)
 * (the last real one repeated up to nr), and writes npx outputs: pixel i of the
 * tile is output pixel p0 + i. */
typedef void (*ww_conv2d_s8_tile_fn)(const ww_conv2d_s8_hdr *h, const void *const *px,
                                     const void *wblock, int oc0, int noc, long p0, int npx,
                                     const void *res, void *y);

/* A tile shape: ob channels x nr pixels. */
typedef struct ww_conv2d_s8_tile {
    int ob, nr;
    ww_conv2d_s8_tile_fn fn;
} ww_conv2d_s8_tile;

/* The pack step picks the tile shape with the fewest estimated cycles for the
 * conv's channel and pixel counts (e.g. 32x8 for the 8-pixel last stage, whose
 * weights are then streamed once instead of twice). */
#define WW_CONV2D_S8_MAX_TILES 4
#define WW_CONV2D_S8_MAX_NR    16 /* pixels per tile, at most */
typedef struct ww_conv2d_s8_impl {
    int enc, wlayout;
    int dots_per_cycle, loads_per_cycle, lanes; /* for the tile choice */
    int ntiles;
    ww_conv2d_s8_tile tiles[WW_CONV2D_S8_MAX_TILES];
} ww_conv2d_s8_impl;

/* Tests set this to pack with tile shape i of every ISA (when it has one)
 * instead of the estimated best, so each shape meets the scalar reference. */
extern int ww_conv2d_s8_tile_override;

extern const ww_conv2d_s8_impl ww_conv2d_s8_impl_avx2;
extern const ww_conv2d_s8_impl ww_conv2d_s8_impl_avxvnni;
extern const ww_conv2d_s8_impl ww_conv2d_s8_impl_avx512;
extern const ww_conv2d_s8_impl ww_conv2d_s8_impl_avx512vnni;
extern const ww_conv2d_s8_impl ww_conv2d_s8_impl_neon;
extern const ww_conv2d_s8_impl ww_conv2d_s8_impl_neondot;

/* The epilogue of one output in plain C: acc already includes the bias;
 * rv is the residual element (ignored unless fuse_add). SIMD kernels mirror it. */
static inline int32_t ww_conv2d_s8_epilogue(const ww_conv2d_s8_hdr *h, int32_t acc, int oc,
                                            int32_t rv)
{
    const ww_conv2d_s8_params *p = &h->p;
    float m = ww_s8_mult(h)[oc];
    if (!p->fuse_add) return ww_requant(acc, m, p->y.zp, h->y_lo, h->y_hi);
    int32_t mid = ww_requant(acc, m, p->mid.zp, h->mid_lo, h->mid_hi);
    return ww_requant_add(mid - p->mid.zp, h->add_sa, rv - p->r.zp, h->add_sb, h->add_sc, p->y.zp,
                          h->y_lo, h->y_hi);
}

/* The scalar reference (its own loops, ONNX weights). */
void ww_conv2d_s8_run_scalar(const ww_conv2d_s8_hdr *h, const void *x, const void *res, void *y);

/* The shared driver of the SIMD variants. */
void ww_conv2d_s8_run_tiled(const ww_conv2d_s8_hdr *h, const ww_conv2d_s8_impl *impl, const void *x,
                            const void *res, void *y, void *scratch);

#endif
