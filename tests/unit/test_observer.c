/* Calibration observers on hand-made distributions whose right answer is
 * known in closed form (or from the literature, for the MSE-optimal clip of a
 * Laplace distribution). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "quant/observer.h"
#include "quant/qparams.h"
#include "wwtest.h"

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static double uniform01(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return ((rng >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}
static double gaussian(void)
{
    return sqrt(-2 * log(uniform01())) * cos(2 * M_PI * uniform01());
}
static double laplace(double b)
{
    double u = uniform01() - 0.5;
    return -b * (u < 0 ? -1 : 1) * log(1 - 2 * fabs(u));
}

static ww_calib_options opts(ww_calib_method m)
{
    ww_calib_options o = {m, 99.99, 255};
    return o;
}

WW_TEST(minmax_of_constant)
{
    ww_observer o;
    ww_observer_init(&o);
    float x[1000];
    for (int i = 0; i < 1000; i++) x[i] = 2.5f;
    ww_observer_update(&o, x, 1000);
    ww_observer_update(&o, x, 500);
    float lo, hi;
    ww_calib_options m = opts(WW_CALIB_MINMAX);
    REQUIRE(ww_observer_range(&o, &m, &lo, &hi, NULL) == 0);
    CHECK_NEAR(lo, 2.5, 0);
    CHECK_NEAR(hi, 2.5, 0);
    CHECK_EQ_INT(o.count, 1500);
    /* uint8 range always holds zero: [0, 2.5] */
    ww_qparams p = ww_qparams_activation(lo, hi, 0);
    CHECK_NEAR(p.scale, 2.5 / 255, 1e-9);
    CHECK_EQ_INT(p.zero_point, 0);
    CHECK_NEAR(ww_dequantize_value(ww_quantize_value(2.5f, p), p), 2.5, 1e-6);
}

WW_TEST(minmax_tracks_both_signs_and_skips_nan)
{
    ww_observer o;
    ww_observer_init(&o);
    float x[] = {-3, 1, NAN, 7, INFINITY, 0};
    ww_observer_update(&o, x, 6);
    CHECK_NEAR(o.min, -3, 0);
    CHECK_NEAR(o.max, 7, 0);
    CHECK_EQ_INT(o.count, 4);
    CHECK_EQ_INT(o.nonfinite, 2);
    ww_qparams p = ww_qparams_activation(-2, 8, 0);
    CHECK_NEAR(p.scale, 10.0 / 255, 1e-7);
    CHECK_EQ_INT(p.zero_point, 51); /* 2 / (10/255) */
}

WW_TEST(empty_observer_is_an_error)
{
    ww_observer o;
    ww_observer_init(&o);
    float lo, hi;
    ww_error err = {{0}};
    ww_calib_options m = opts(WW_CALIB_ENTROPY);
    CHECK(ww_observer_range(&o, &m, &lo, &hi, &err) < 0);
    CHECK(strstr(err.msg, "no finite values") != NULL);
}

WW_TEST(percentile_of_ramp)
{
    /* 0, 1, ..., 99999 fed in growing batches, so the histogram range doubles
     * several times on the way */
    ww_observer o;
    ww_observer_init(&o);
    static float x[100000];
    for (int i = 0; i < 100000; i++) x[i] = (float)i;
    for (size_t a = 0, n = 10; a < 100000; a += n, n *= 2)
        ww_observer_update(&o, x + a, a + n > 100000 ? 100000 - a : n);
    ww_calib_options m = opts(WW_CALIB_PERCENTILE);
    m.percentile = 99.0;
    CHECK_NEAR(ww_observer_threshold(&o, &m), 99000, 100000.0 / WW_OBS_BINS);
    m.percentile = 50.0;
    CHECK_NEAR(ww_observer_threshold(&o, &m), 50000, 100000.0 / WW_OBS_BINS);
    m.percentile = 100.0;
    CHECK_NEAR(ww_observer_threshold(&o, &m), 99999, 1);
    float lo, hi;
    m.percentile = 99.0;
    REQUIRE(ww_observer_range(&o, &m, &lo, &hi, NULL) == 0);
    CHECK_NEAR(lo, 0, 0);
    CHECK_NEAR(hi, 99000, 100);
    m.percentile = 0;
    CHECK(ww_observer_range(&o, &m, &lo, &hi, NULL) < 0);
}

WW_TEST(histogram_growth_is_exact)
{
    /* the same data in one batch or in batches that force growth gives the
     * same histogram once both cover the same range */
    ww_observer a, b;
    ww_observer_init(&a);
    ww_observer_init(&b);
    float x[4096];
    for (int i = 0; i < 4096; i++) x[i] = (float)(i % 97) * 0.37f - 10;
    x[4095] = 40;
    ww_observer_update(&b, x, 4096);
    ww_observer_update(&a, x, 100);
    ww_observer_update(&a, x + 100, 3996);
    double ta = 0, tb = 0;
    for (int i = 0; i < WW_OBS_BINS; i++) {
        ta += a.hist[i];
        tb += b.hist[i];
    }
    CHECK_NEAR(ta, 4096, 0);
    CHECK_NEAR(tb, 4096, 0);
    CHECK(a.hist_range >= 40);
}

WW_TEST(entropy_of_gaussian_with_outliers)
{
    /* N(0,1) plus 0.01% outliers at +-40: KL picks a threshold in the
     * Gaussian's tail, far below the outliers that minmax would keep */
    ww_observer o;
    ww_observer_init(&o);
    enum { N = 400000 };
    static float x[N];
    for (int i = 0; i < N; i++) x[i] = (float)gaussian();
    for (int i = 0; i < N / 10000; i++) x[i * 10000] = (i & 1) ? 40.0f : -40.0f;
    ww_observer_update(&o, x, N);
    ww_calib_options m = opts(WW_CALIB_ENTROPY);
    double t = ww_observer_threshold(&o, &m);
    CHECK_MSG(t > 2.5 && t < 8, "entropy threshold %g, expected in the Gaussian tail (2.5..8)", t);
    m.method = WW_CALIB_MINMAX;
    CHECK_NEAR(ww_observer_threshold(&o, &m), 40, 0);
    m.method = WW_CALIB_PERCENTILE;
    m.percentile = 99.9;
    double p = ww_observer_threshold(&o, &m);
    CHECK_MSG(p > 3.0 && p < 3.6, "99.9th percentile of |N(0,1)| is 3.29, got %g", p);
}

WW_TEST(entropy_of_relu_output)
{
    /* half zeros, half |N(0,1)|: the threshold still lands in the tail */
    ww_observer o;
    ww_observer_init(&o);
    enum { N = 200000 };
    static float x[N];
    for (int i = 0; i < N; i++) x[i] = (float)fmax(0, gaussian());
    ww_observer_update(&o, x, N);
    ww_calib_options m = opts(WW_CALIB_ENTROPY);
    float lo, hi;
    REQUIRE(ww_observer_range(&o, &m, &lo, &hi, NULL) == 0);
    CHECK_NEAR(lo, 0, 0);
    CHECK_MSG(hi > 2.0 && hi <= o.max, "relu entropy hi %g (max %g)", hi, o.max);
}

WW_TEST(mse_uniform_keeps_the_range)
{
    /* clipping a uniform distribution only adds error: the optimum is ~max */
    ww_observer o;
    ww_observer_init(&o);
    enum { N = 200000 };
    static float x[N];
    for (int i = 0; i < N; i++) x[i] = (float)(uniform01() * 2 - 1);
    ww_observer_update(&o, x, N);
    ww_calib_options m = opts(WW_CALIB_MSE);
    double t = ww_observer_threshold(&o, &m);
    CHECK_MSG(t > 0.98 && t <= 1.0, "mse threshold of U(-1,1) %g, expected ~1", t);
}

WW_TEST(mse_laplace_clips_the_tail)
{
    /* Laplace(b=1) with 255 levels over [-T, T]: the MSE-optimal clip is about
     * 9.9 b (Banner et al., "ACIQ", 2019, 8 bits), well inside the max */
    ww_observer o;
    ww_observer_init(&o);
    enum { N = 1000000 };
    static float x[N];
    for (int i = 0; i < N; i++) x[i] = (float)laplace(1.0);
    ww_observer_update(&o, x, N);
    ww_calib_options m = opts(WW_CALIB_MSE);
    double t = ww_observer_threshold(&o, &m);
    double mx = fmax(-o.min, o.max);
    CHECK_MSG(t > 8.0 && t < 11.5, "mse threshold of Laplace(1) %g, expected ~9.9", t);
    CHECK_MSG(t < 0.85 * mx, "mse threshold %g should be well below max %g", t, mx);
}

WW_TEST(method_names_round_trip)
{
    for (int i = 0; i < 4; i++) CHECK_EQ_INT(ww_calib_method_parse(ww_calib_method_name(i)), i);
    CHECK_EQ_INT(ww_calib_method_parse("kl"), -1);
}
