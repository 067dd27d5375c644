#include "nn/cpu.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <cpuid.h>
#elif defined(__aarch64__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif

static const char *const names[WW_ISA_COUNT] = {
    "scalar", "avx2", "avxvnni", "avx512", "avx512vnni", "neon", "neondot",
};

static int forced = -1;

#if defined(__x86_64__)
/* AVX-VNNI (CPUID leaf 7 subleaf 1, EAX bit 4) read directly: clang 14's
 * __builtin_cpu_supports does not know the name. The OS must also save ymm
 * state (XCR0 bits 1 and 2), as the AVX2 check requires too. */
static int cpu_has_avxvnni(void)
{
    unsigned a = 0, b = 0, c = 0, d = 0;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & bit_OSXSAVE)) return 0;
    unsigned xcr0_lo, xcr0_hi;
    __asm__ volatile("xgetbv" : "=a"(xcr0_lo), "=d"(xcr0_hi) : "c"(0));
    (void)xcr0_hi;
    if ((xcr0_lo & 6u) != 6u) return 0;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || a < 1) return 0; /* no subleaf 1 */
    if (!__get_cpuid_count(7, 1, &a, &b, &c, &d)) return 0;
    return (a >> 4) & 1;
}
#endif

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
                   "unknown ISA '%s' (scalar, avx2, avxvnni, avx512, avx512vnni, neon, neondot)",
                   name);
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
    case WW_ISA_AVXVNNI: {
        /* asked once: ww_isa_best() runs per float conv, and CPUID traps to
         * the hypervisor on virtual machines (microseconds each) */
        static int has = -1;
        int v = __atomic_load_n(&has, __ATOMIC_RELAXED);
        if (v < 0) __atomic_store_n(&has, v = cpu_has_avxvnni(), __ATOMIC_RELAXED);
        return v && ww_isa_supported(WW_ISA_AVX2);
    }
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
