/* grid: buy into dips on a fixed ladder of price levels below a reference, sell each lot one
 * level higher.
 *
 * Per instrument: the reference price is ref_price (rupees), or the first close seen when 0.
 * Level k (k = 1 .. levels) is at ref x (1 - k x spacing_pct), rounded to the instrument's tick;
 * level 0 is the reference itself. Each level holds at most one lot of `qty` units. On each
 * complete bar of the first timeframe, with no order of the strategy open on the instrument:
 *   - held levels are counted from the position: min(levels, position / qty), the lowest-numbered
 *     levels first (levels are always bought top-down and sold bottom-up, so the held set is
 *     1..n); the position, not memory, is the truth, so a rejected order cannot desynchronise
 *     the ladder;
 *   - every level k not held with close <= level k buys one lot (ENTRY_LONG qty), deepest last;
 *   - otherwise every held level k with close >= level k-1 (the level above) sells its lot
 *     (EXIT_LONG qty), deepest first.
 * Failure (the strategy is paused): levels that collapse onto each other or onto zero after
 * rounding to the tick (a spacing too fine, or a price too low, for the instrument); with a
 * reference from the first close, that close is then not kept, so after a resume the next close
 * is tried. */
#include <stdio.h>

#include "strategy/builtin/common.h"

#define GRID_MAX_LEVELS 50

enum { P_LEVELS = 0, P_SPACING, P_QTY, P_REF, P_COUNT };

struct grid_inst {
    atp_px level[GRID_MAX_LEVELS + 1]; /* [0] = reference; 0 until it is known */
};

struct grid_state {
    int levels;
    double spacing;
    int64_t qty;
    double ref_price;
    char reason[96]; /* text of the intent being sent (rewritten for each one) */
    struct grid_inst inst[BI_MAX_INST];
};

/* Builds the ladder from ref (rupees). Returns 0, or -1 after atp_fail. */
static int build(struct grid_state *s, struct atp_ctx *ctx, uint32_t in, struct grid_inst *g,
                 double ref)
{
    atp_px lv[GRID_MAX_LEVELS + 1];
    for (int k = 0; k <= s->levels; k++) {
        lv[k] = atp_round_to_tick(ctx, in, ref * (1 - k * s->spacing), 0);
        if (lv[k] <= 0 || (k > 0 && lv[k] >= lv[k - 1])) {
            atp_fail(ctx, "grid on %s: level %d rounds to %.4f from a reference of %.4f: spacing "
                          "%g is too fine for the tick size at this price",
                     atp_symbol(ctx, in), k, atp_px_to_double(lv[k]), ref, s->spacing);
            return -1;
        }
    }
    for (int k = 0; k <= s->levels; k++)
        g->level[k] = lv[k];
    return 0;
}

static int grid_init(void *state, const double *params, struct atp_ctx *ctx)
{
    struct grid_state *s = state;
    s->levels = (int)params[P_LEVELS];
    s->spacing = params[P_SPACING];
    s->qty = (int64_t)params[P_QTY];
    s->ref_price = params[P_REF];
    if (s->levels * s->spacing >= 1) {
        atp_fail(ctx, "levels x spacing_pct (%d x %g) must be below 1: the deepest level would be "
                      "at or below zero", s->levels, s->spacing);
        return -1;
    }
    /* A reference given as a parameter is checked against every instrument's tick at once. */
    for (int i = 0; s->ref_price > 0 && i < atp_instrument_count(ctx); i++)
        if (build(s, ctx, atp_instrument(ctx, i), &s->inst[i], s->ref_price))
            return -1;
    return 0;
}

static int grid_on_bar(void *state, struct atp_ctx *ctx, uint32_t instrument, enum atp_tf tf,
                       const struct atp_bar *bar)
{
    struct grid_state *s = state;
    int i = bi_inst_index(ctx, instrument);
    if (i < 0 || !bi_primary_tf(ctx, tf))
        return 0;
    struct grid_inst *g = &s->inst[i];
    if (g->level[0] == 0 &&
        build(s, ctx, instrument, g, s->ref_price > 0 ? s->ref_price : atp_px_to_double(bar->close)))
        return -1;
    if (atp_open_orders(ctx, instrument) > 0)
        return 0;
    struct atp_position pos;
    atp_position(ctx, instrument, &pos);
    int64_t held = pos.qty > 0 ? pos.qty / s->qty : 0;
    if (held > s->levels)
        held = s->levels;
    atp_px c = bar->close;
    int bought = 0;
    for (int k = (int)held + 1; k <= s->levels && c <= g->level[k]; k++, bought++) {
        snprintf(s->reason, sizeof s->reason, "grid: buy level %d at %.2f", k,
                 atp_px_to_double(g->level[k]));
        bi_market(ctx, instrument, ATP_ENTRY_LONG, s->qty, s->reason);
    }
    for (int k = (int)held; !bought && k >= 1 && c >= g->level[k - 1]; k--) {
        snprintf(s->reason, sizeof s->reason, "grid: sell level %d at %.2f", k,
                 atp_px_to_double(g->level[k - 1]));
        bi_market(ctx, instrument, ATP_EXIT_LONG, s->qty, s->reason);
    }
    return 0;
}

const struct atp_strategy_def atp_strategy_grid = {
    .name = "grid",
    .description = "Buy one lot at each grid level below a reference price, sell it one level up",
    .n_params = P_COUNT,
    .params = {
        [P_LEVELS] = {"levels", ATP_PARAM_INT, 5, 1, GRID_MAX_LEVELS, "number of levels below the reference"},
        [P_SPACING] = {"spacing_pct", ATP_PARAM_DOUBLE, 0.01, 0.0005, 0.5,
                       "distance between levels as a fraction of the reference (0.01 = 1%)"},
        [P_QTY] = {"qty", ATP_PARAM_INT, 1, 1, 1e9, "units bought per level"},
        [P_REF] = {"ref_price", ATP_PARAM_DOUBLE, 0, 0, 1e9,
                   "reference price in rupees; 0 = the first close seen"},
    },
    .state_size = sizeof(struct grid_state),
    .init = grid_init,
    .on_bar = grid_on_bar,
};
