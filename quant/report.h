/* The float-vs-int8 report that quantize and validate both print: output
 * parity over windows (logits max/mean |d|, cosine, top-1 agreement, keyword
 * score after softmax) and the latency of both models, as a table line and as
 * JSON members. Written to a stream the caller gives; one implementation so
 * the two subcommands agree to the digit. */
#ifndef WW_QUANT_REPORT_H
#define WW_QUANT_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "nn/model.h"

typedef struct ww_parity {
    size_t n, agree; /* windows, windows whose top-1 class agrees */
    double max_abs, mean_abs, cosine, score_mad;
} ww_parity;

/* a and b hold n windows of `per` logits each; the keyword score is the
 * softmax probability of the last class. */
void ww_parity_compare(const float *a, const float *b, size_t n, size_t per, ww_parity *p);

/* "parity (N windows): logits max|d| ..., top-1 agreement ..." and a newline */
void ww_parity_print(FILE *f, const ww_parity *p);
/* {"windows": N, "max_abs_diff": ..., "cosine": ..., "top1_agreement": fraction, ...} */
void ww_parity_json(FILE *f, const ww_parity *p);

/* How the engine runs the prepared model: "float", "int8 kernels" (QDQ
 * patterns compiled to them), "float-simulated QDQ" (int8 off, or nothing
 * compiled), ... The one place that says it, so bench, validate and quantize
 * agree. */
const char *ww_model_execution(const ww_model *m);

typedef struct ww_latency_pair {
    int runs;
    const char *int8_execution; /* ww_model_execution of the int8 model */
    double float_median_ms, float_p95_ms, int8_median_ms, int8_p95_ms;
} ww_latency_pair;

/* "latency (wakewordd engine, batch 1, N runs; int8 = ...): float median ..." */
void ww_latency_print(FILE *f, const ww_latency_pair *l);
/* {"runs": N, "int8_execution": "...", "float_median_ms": ..., ...} */
void ww_latency_json(FILE *f, const ww_latency_pair *l);

/* JSON helpers: a quoted, escaped string; a number (null when not finite). */
void ww_json_str(FILE *f, const char *s);
void ww_json_num(FILE *f, double v);

#endif
