/* One arena for every activation of a prepared graph. Each tensor lives from
 * the step that produces it to the last step that reads it (graph inputs from
 * the start, graph outputs to the end); tensors whose lifetimes overlap get
 * disjoint ranges, placed largest first at the lowest offset that fits. A
 * step never writes over its own inputs, so kernels need no in-place care.
 * The scratch area the biggest node needs follows the tensors. Also the
 * executor, which only walks the planned steps. */
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "nn/graph.h"

#define ARENA_ALIGN 64
/* more than any wakeword model needs; a bigger plan is a hostile or broken
 * file, refused before memory is touched */
#define WW_MAX_ARENA_BYTES ((size_t)2 << 30)

static size_t align_up(size_t x)
{
    return (x + ARENA_ALIGN - 1) & ~(size_t)(ARENA_ALIGN - 1);
}

typedef struct slot {
    int t;
    size_t bytes;
} slot;

static int by_size_desc(const void *a, const void *b)
{
    const slot *x = a, *y = b;
    if (x->bytes != y->bytes) return x->bytes < y->bytes ? 1 : -1;
    return x->t - y->t;
}

int ww_graph_plan(ww_graph *g, ww_error *err)
{
    int steps = 0;
    for (int t = 0; t < g->nt; t++) g->t[t].first = g->t[t].last = -2;
    for (int i = 0; i < g->n_inputs; i++) g->t[g->inputs[i]].first = g->t[g->inputs[i]].last = -1;
    for (int s = 0; s < g->n_order; s++) {
        ww_node *n = &g->nodes[g->order[s]];
        if (n->dead) continue;
        for (int j = 0; j < n->n_out; j++) {
            ww_tensor *t = ww_out(g, n, j);
            t->first = t->last = steps;
        }
        for (int j = 0; j < n->n_in + 1; j++) {
            int ti = j < n->n_in ? n->in[j] : n->residual;
            if (ti >= 0 && g->t[ti].last < steps) g->t[ti].last = steps;
        }
        steps++;
    }
    g->n_live = steps;
    for (int i = 0; i < g->n_outputs; i++) g->t[g->outputs[i]].last = steps;

    slot *slots = calloc((size_t)g->nt + 1, sizeof *slots);
    if (!slots) return ww_fail(err, WW_ENOMEM, "out of memory");
    int ns = 0;
    for (int t = 0; t < g->nt; t++) {
        ww_tensor *x = &g->t[t];
        if (x->is_const || x->first == -2) continue;
        slots[ns].t = t;
        slots[ns].bytes = align_up(x->count * ww_dtype_size(x->dtype));
        ns++;
    }
    qsort(slots, (size_t)ns, sizeof *slots, by_size_desc);
    size_t total = 0;
    for (int i = 0; i < ns; i++) {
        ww_tensor *x = &g->t[slots[i].t];
        size_t off = 0;
        /* lowest offset clear of every placed tensor whose lifetime overlaps;
         * moving past a conflict can create a new one earlier in the list, so
         * rescan until a pass finds none */
        for (int moved = 1; moved;) {
            moved = 0;
            for (int j = 0; j < i; j++) {
                ww_tensor *y = &g->t[slots[j].t];
                if (y->last < x->first || x->last < y->first) continue;
                if (off + slots[i].bytes <= y->offset || y->offset + slots[j].bytes <= off)
                    continue;
                off = y->offset + slots[j].bytes;
                moved = 1;
            }
        }
        x->offset = off;
        if (off + slots[i].bytes > total) total = off + slots[i].bytes;
    }
    size_t scratch = 0;
    for (int s = 0; s < g->n_order; s++) {
        ww_node *n = &g->nodes[g->order[s]];
        if (!n->dead && n->scratch_bytes > scratch) scratch = n->scratch_bytes;
    }
    size_t scratch_off = total;
    total += align_up(scratch);
    if (total > WW_MAX_ARENA_BYTES) {
        free(slots);
        return ww_fail(err, WW_ENOMEM, "the activations need a %zu MiB arena (limit %zu MiB)",
                       total >> 20, (size_t)WW_MAX_ARENA_BYTES >> 20);
    }
    free(g->arena);
    g->arena = aligned_alloc(ARENA_ALIGN, total ? total : ARENA_ALIGN);
    if (!g->arena) {
        free(slots);
        return ww_fail(err, WW_ENOMEM, "cannot allocate a %zu-byte arena", total);
    }
    memset(g->arena, 0, total ? total : ARENA_ALIGN);
    g->arena_bytes = total;
    g->scratch = g->arena + scratch_off;
    g->scratch_bytes = scratch;
    for (int i = 0; i < ns; i++) g->t[slots[i].t].data = g->arena + g->t[slots[i].t].offset;
    free(slots);
    return 0;
}

static void observe(const ww_graph *g, ww_tensor *t, ww_model_observer obs, void *user)
{
    int bits8 = t->dtype == WW_DT_U8 || t->dtype == WW_DT_I8;
    if (!(t->dtype == WW_DT_F32 || (bits8 && g->observe_8bit)) || !t->name[0]) return;
    ww_tensor_view v;
    ww_tensor_view_of(t, &v);
    obs(user, &v);
}

int ww_graph_run(ww_graph *g, ww_model_observer obs, void *user, ww_error *err)
{
    if (obs)
        for (int i = 0; i < g->n_inputs; i++) observe(g, &g->t[g->inputs[i]], obs, user);
    for (int s = 0; s < g->n_order; s++) {
        ww_node *n = &g->nodes[g->order[s]];
        if (n->dead) continue;
        int rc;
        if (g->profile) {
            struct timespec t0, t1;
            clock_gettime(CLOCK_MONOTONIC, &t0);
            rc = n->op->run(g, n, err);
            clock_gettime(CLOCK_MONOTONIC, &t1);
            n->prof_ns +=
                (uint64_t)((t1.tv_sec - t0.tv_sec) * 1000000000LL + (t1.tv_nsec - t0.tv_nsec));
            n->prof_runs++;
        } else {
            rc = n->op->run(g, n, err);
        }
        if (rc) return rc;
        if (obs)
            for (int j = 0; j < n->n_out; j++) observe(g, ww_out(g, n, j), obs, user);
    }
    return 0;
}
