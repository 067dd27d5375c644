#include "nn/cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__aarch64__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

static const char *const names[WW_ISA_COUNT] = {
    "scalar", "avx2", "avx512", "avx512vnni", "neon", "neondot",
};

static int forced = -1;

const char *ww_isa_name(ww_isa isa)
{
    return (unsigned)isa < WW_ISA_COUNT ? names[isa] : "?";
}

int ww_isa_from_name(const char *name, ww_isa *out, ww_error *err)
{
    for (int i = 0; i < WW_ISA_COUNT; i++) {
        if (!strcmp(name, names[i])) {
            *out = (ww_isa)i;
            return WW_OK;
        }
    }
    return ww_fail(err, WW_EINVAL,
                   "unknown ISA '%s' (scalar, avx2, avx512, avx512vnni, neon, neondot)", name);
}

int ww_isa_supported(ww_isa isa)
{
    switch (isa) {
    case WW_ISA_SCALAR:
        return 1;
#if defined(__x86_64__)
    case WW_ISA_AVX2:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
    case WW_ISA_AVX512:
        __builtin_cpu_init();
        return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
               __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq");
    case WW_ISA_AVX512VNNI:
        return ww_isa_supported(WW_ISA_AVX512) && __builtin_cpu_supports("avx512vnni");
#elif defined(__aarch64__)
    case WW_ISA_NEON:
        return 1;
    case WW_ISA_NEONDOT:
        return (getauxval(AT_HWCAP) & HWCAP_ASIMDDP) != 0;
#endif
    default:
        return 0;
    }
}

ww_isa ww_isa_best(void)
{
    for (int i = WW_ISA_COUNT - 1; i > 0; i--)
        if (ww_isa_supported((ww_isa)i)) return (ww_isa)i;
    return WW_ISA_SCALAR;
}

ww_isa ww_isa_active(void)
{
    if (forced >= 0) return (ww_isa)forced;
    static int from_env = -2;
    if (from_env == -2) {
        from_env = -1;
        const char *e = getenv("WW_ISA");
        ww_isa isa = WW_ISA_SCALAR;
        if (e && *e) {
            if (ww_isa_from_name(e, &isa, NULL) == WW_OK && ww_isa_supported(isa))
                from_env = (int)isa;
            else
                fprintf(stderr, "wakewordd: WW_ISA=%s is not supported here; using %s\n", e,
                        names[ww_isa_best()]);
        }
    }
    return from_env >= 0 ? (ww_isa)from_env : ww_isa_best();
}

int ww_isa_set(ww_isa isa, ww_error *err)
{
    if (!ww_isa_supported(isa))
        return ww_fail(err, WW_EUNSUPPORTED, "ISA %s is not supported on this CPU or build",
                       ww_isa_name(isa));
    forced = (int)isa;
    return WW_OK;
}
