/* Which instruction-set variant of the kernels runs. Detected once from the
 * CPU; tests and benchmarks override it with the WW_ISA environment variable
 * (scalar, avx2, avxvnni, avx512, avx512vnni, neon, neondot) or ww_isa_set().
 * Kernel tables (one per operator family) index their function pointers by
 * ww_isa and fall back to the best lower entry that is filled in and that the
 * CPU supports: x86 feature sets do not nest (Alder Lake clients have AVX-VNNI
 * but no AVX-512, Ice Lake servers AVX-512 VNNI but no AVX-VNNI). */
#ifndef WW_NN_CPU_H
#define WW_NN_CPU_H

#include "core/error.h"

typedef enum ww_isa {
    WW_ISA_SCALAR = 0,
    WW_ISA_AVX2,       /* x86-64 AVX2 + FMA */
    WW_ISA_AVXVNNI,    /* AVX2 + AVX-VNNI (vpdpbusd on ymm, no AVX-512) */
    WW_ISA_AVX512,     /* AVX-512 F/BW/VL/DQ */
    WW_ISA_AVX512VNNI, /* AVX-512 + VNNI (vpdpbusd) */
    WW_ISA_NEON,       /* AArch64 Advanced SIMD */
    WW_ISA_NEONDOT,    /* AArch64 + dot product (sdot/udot) */
    WW_ISA_COUNT
} ww_isa;

const char *ww_isa_name(ww_isa isa);
int ww_isa_from_name(const char *name, ww_isa *out, ww_error *err);

/* 1 if this CPU (and this build) can run kernels of that ISA. */
int ww_isa_supported(ww_isa isa);

/* The best supported ISA. */
ww_isa ww_isa_best(void);

/* The ISA kernels use: ww_isa_set()'s choice, else $WW_ISA, else the best. An
 * unsupported $WW_ISA is reported once on stderr and ignored. */
ww_isa ww_isa_active(void);

/* Forces an ISA (bench --isa); fails if the CPU cannot run it. */
int ww_isa_set(ww_isa isa, ww_error *err);

#endif
