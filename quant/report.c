#include "quant/report.h"

#include <math.h>
#include <string.h>

void ww_parity_compare(const float *a, const float *b, size_t n, size_t per, ww_parity *p)
{
    memset(p, 0, sizeof(*p));
    p->n = n;
    if (!per) return;
    double dot = 0, na = 0, nb = 0, sum = 0;
    for (size_t i = 0; i < n; i++) {
        const float *x = a + i * per, *y = b + i * per;
        size_t ax = 0, ay = 0;
        double mx = x[0], my = y[0], sx = 0, sy = 0;
        for (size_t k = 0; k < per; k++) {
            double d = fabs((double)x[k] - y[k]);
            if (d > p->max_abs) p->max_abs = d;
            sum += d;
            dot += (double)x[k] * y[k];
            na += (double)x[k] * x[k];
            nb += (double)y[k] * y[k];
            if (x[k] > x[ax]) ax = k;
            if (y[k] > y[ay]) ay = k;
            mx = fmax(mx, x[k]);
            my = fmax(my, y[k]);
        }
        p->agree += ax == ay;
        for (size_t k = 0; k < per; k++) {
            sx += exp(x[k] - mx);
            sy += exp(y[k] - my);
        }
        p->score_mad += fabs(exp(x[per - 1] - mx) / sx - exp(y[per - 1] - my) / sy);
    }
    p->mean_abs = n ? sum / (double)(n * per) : 0;
    p->cosine = na > 0 && nb > 0 ? dot / sqrt(na * nb) : (na == nb ? 1 : 0);
    p->score_mad = n ? p->score_mad / (double)n : 0;
}

void ww_parity_print(FILE *f, const ww_parity *p)
{
    fprintf(f,
            "parity (%zu windows): logits max|d| %.4g, mean|d| %.4g, cosine %.6f, top-1 agreement "
            "%.2f%% (%zu/%zu), keyword score mean|d| %.4g\n",
            p->n, p->max_abs, p->mean_abs, p->cosine,
            p->n ? 100.0 * (double)p->agree / (double)p->n : 0, p->agree, p->n, p->score_mad);
}

void ww_parity_json(FILE *f, const ww_parity *p)
{
    fprintf(f, "{\"windows\": %zu, \"max_abs_diff\": ", p->n);
    ww_json_num(f, p->max_abs);
    fputs(", \"mean_abs_diff\": ", f);
    ww_json_num(f, p->mean_abs);
    fputs(", \"cosine\": ", f);
    ww_json_num(f, p->cosine);
    fputs(", \"top1_agreement\": ", f);
    ww_json_num(f, p->n ? (double)p->agree / (double)p->n : 0);
    fputs(", \"score_mean_abs_diff\": ", f);
    ww_json_num(f, p->score_mad);
    fputc('}', f);
}

const char *ww_model_execution(const ww_model *m)
{
    ww_model_stats st;
    ww_model_get_stats(m, &st);
    switch (st.kind) {
    case WW_MODEL_FLOAT:
        return "float";
    case WW_MODEL_QDQ_INT8:
        /* QDQ patterns compiled at prepare (nn/qdq.h); none when int8 is off
         * (WW_INT8=0, ww_model_set_int8) or no pattern matched */
        if (!st.n_int8_nodes) return "float-simulated QDQ";
        /* e.g. int8-symmetric activations the compiler leaves to the float ops */
        return 2 * st.n_int8_nodes >= st.n_exec_nodes
                   ? "int8 kernels"
                   : "partly int8 kernels (the rest float-simulated QDQ)";
    case WW_MODEL_DYNAMIC_INT8:
        return "dynamic int8 (not run by the engine)";
    case WW_MODEL_FP16:
        return "float16 (not run by the engine)";
    }
    return "unknown";
}

void ww_latency_print(FILE *f, const ww_latency_pair *l)
{
    fprintf(f,
            "latency (wakewordd engine, batch 1, %d runs; int8 = %s): float median %.3f ms p95 "
            "%.3f ms; int8 median %.3f ms p95 %.3f ms\n",
            l->runs, l->int8_execution, l->float_median_ms, l->float_p95_ms, l->int8_median_ms,
            l->int8_p95_ms);
}

void ww_latency_json(FILE *f, const ww_latency_pair *l)
{
    fprintf(f, "{\"runs\": %d, \"int8_execution\": ", l->runs);
    ww_json_str(f, l->int8_execution);
    fputs(", \"float_median_ms\": ", f);
    ww_json_num(f, l->float_median_ms);
    fputs(", \"float_p95_ms\": ", f);
    ww_json_num(f, l->float_p95_ms);
    fputs(", \"int8_median_ms\": ", f);
    ww_json_num(f, l->int8_median_ms);
    fputs(", \"int8_p95_ms\": ", f);
    ww_json_num(f, l->int8_p95_ms);
    fputc('}', f);
}

void ww_json_str(FILE *f, const char *s)
{
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            fprintf(f, "\\%c", *s);
        else if ((unsigned char)*s < 0x20)
            fprintf(f, "\\u%04x", *s);
        else
            fputc(*s, f);
    }
    fputc('"', f);
}

void ww_json_num(FILE *f, double v)
{
    if (isfinite(v))
        fprintf(f, "%.6g", v);
    else
        fputs("null", f);
}
