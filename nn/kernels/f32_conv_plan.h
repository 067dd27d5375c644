/* Internal to the float conv kernels (conv2d_f32*.c): the geometry every ISA
 * variant shares, and the table of per-ISA pieces.
 *
 * The fast path is an implicit GEMM with output channels in vector lanes:
 * - weights are packed per group into blocks of 32 output channels,
 *   [group][block][k][32] with k = (ci, kh, kw) in ONNX order, zero-padded;
 * - the input is copied once per image into "xp": zero-padded, and for a
 *   column stride s split into s column phases, so the taps of consecutive
 *   output columns are consecutive floats whatever the stride;
 * - output positions (oh*w_out + ow, per image) are cut into tiles of at most
 *   rmax positions, inside one output row when rows are wide enough; such a
 *   tile's kernel reads its taps straight from xp through a table of tap
 *   offsets, while a tile spanning rows first gathers its "panel" [k][R]
 *   (its im2col slice) from xp with a few vector moves per k;
 * - a tile kernel multiplies a panel by a weight block with R x 32 register
 *   accumulators (broadcast input, vector of weights), then the epilogue
 *   transposes the R x 32 result into the NCHW rows of y with bias, residual
 *   and activation fused.
 * Shapes whose groups have few output channels (depthwise) use a direct loop
 * over output rows on the same xp copy instead, with unpacked weights. */
#ifndef WW_NN_KERNELS_F32_CONV_PLAN_H
#define WW_NN_KERNELS_F32_CONV_PLAN_H

#include "nn/kernels/conv2d_f32.h"

#include <stddef.h>
#include <stdint.h>

#define F32_BLOCK    32 /* output channels per packed weight block */
#define F32_RMAX     16 /* the most output positions a tile may have, any ISA */
#define F32_MIN_COUT 8  /* fewer output channels per group: direct path */
/* Floats of panels gathered at once: the panels of several tiles stay in L2
 * while every weight block passes over them, so each weight block is read
 * from memory once per this many tiles instead of once per tile. */
#define F32_PANEL_BUDGET (96 * 1024)

typedef struct f32_conv_plan {
    const ww_conv2d_shape *s;
    int cin_g, cout_g;
    int k;                /* products per output: cin_g * k_h * k_w */
    int nblocks;          /* weight blocks per group */
    int n_pos;            /* output positions per image: h_out * w_out */
    int hp, wq;           /* rows, and columns per phase, of an xp plane */
    size_t xp_phase;      /* floats per phase plane: hp * wq */
    size_t xp_chan;       /* floats per input channel of xp */
    int xp_is_x;          /* x already has xp's layout: no copy */
    int rmax;             /* tile size limit of the ISA running */
    int tiles, row_tiles; /* tiles per image; if row_tiles, tiles per output row */
    size_t panel_floats;  /* scratch reserved for panels */
} f32_conv_plan;

/* One tile of output positions, [n0, n0 + r), split into row segments: lanes
 * [lane[i], lane[i] + len[i]) of the panel come from xp offset src[i] (+ the
 * tap's offset). */
typedef struct f32_tile {
    int n0, r, nseg;
    int lane[F32_RMAX], len[F32_RMAX];
    long src[F32_RMAX];
} f32_tile;

/* The output of one (tile, weight block) pair and what the epilogue fuses. */
typedef struct f32_store {
    float *y;              /* y at (first channel of the block, tile's n0) */
    const float *residual; /* same offset in the residual, or NULL */
    const float *bias;     /* bias of the block's first channel, or NULL */
    size_t ch_stride;      /* floats between channels of y: h_out * w_out */
    int channels;          /* valid channels in this block, 1..32 */
    ww_activation act;
} f32_store;

typedef struct f32_conv_isa {
    int rmax;
    /* panel[i * t->r + lane] = xp_g[koff[i] + position], for the k taps;
     * xp_g is the group's first input channel in xp. May write up to 16
     * floats past the panel's end. */
    void (*panel)(const f32_tile *t, const float *xp_g, const int32_t *koff, int k, float *panel);
    /* y = epilogue(panel [k][r] x w [k][32]) */
    void (*tile)(const float *panel, int r, const float *w, int k, const f32_store *out);
    /* The same without a panel, for a tile inside one output row: tap i of
     * position j is base[koff[i] + j]. NULL: use panels. */
    void (*tile_direct)(const float *base, const int32_t *koff, int r, const float *w, int k,
                        const f32_store *out);
    /* f32_conv_fill_xp, faster; NULL: the generic one. */
    void (*fill)(const f32_conv_plan *p, const float *x, float *xp);
} f32_conv_isa;

/* Runs BODY for every tap of one group in packed order, with K the tap's
 * index and OFF its offset in xp from the group's first channel (added to a
 * position's offset, f32_tile.src). The phase and column of a tap advance by
 * dil_w each step, so no division is needed per tap. */
#define F32_FOR_EACH_TAP(p, OFF, K, BODY)                                                          \
    do {                                                                                           \
        const ww_conv2d_shape *s_ = (p)->s;                                                        \
        const int sw_ = s_->stride_w, dph_ = s_->dil_w % sw_, dq_ = s_->dil_w / sw_;               \
        int K = 0;                                                                                 \
        for (int ci_ = 0; ci_ < (p)->cin_g; ci_++) {                                               \
            for (int kh_ = 0; kh_ < s_->k_h; kh_++) {                                              \
                const long row_ =                                                                  \
                    (long)ci_ * (long)(p)->xp_chan + (long)kh_ * s_->dil_h * (p)->wq;              \
                int ph_ = 0, q_ = 0;                                                               \
                for (int kw_ = 0; kw_ < s_->k_w; kw_++, K++) {                                     \
                    const long OFF = row_ + (long)ph_ * (long)(p)->xp_phase + q_;                  \
                    BODY;                                                                          \
                    ph_ += dph_;                                                                   \
                    q_ += dq_;                                                                     \
                    if (ph_ >= sw_) ph_ -= sw_, q_++;                                              \
                }                                                                                  \
            }                                                                                      \
        }                                                                                          \
    } while (0)

void f32_conv_plan_init(f32_conv_plan *p, const ww_conv2d_shape *s, int rmax);
void f32_conv_tile(const f32_conv_plan *p, int index, f32_tile *t);
/* Copies image x (all c_in channels) into xp's layout. */
void f32_conv_fill_xp(const f32_conv_plan *p, const float *x, float *xp);
/* Which padded rows some output reads, and which column phases. */
int f32_conv_row_read(const ww_conv2d_shape *s, int row);
int f32_conv_phase_read(const ww_conv2d_shape *s, int ph);
int f32_conv_blocked(const ww_conv2d_shape *s);

/* Per-ISA tables; an entry missing on this build is NULL. */
extern const f32_conv_isa f32_conv_scalar;
extern const f32_conv_isa f32_conv_avx2;
extern const f32_conv_isa f32_conv_avx512;

/* The direct path (small output groups), generic C: w is ONNX's layout. */
void f32_conv_direct(const f32_conv_plan *p, const float *xp, const float *w, const float *bias,
                     const float *residual, ww_activation act, float *y);

#endif
