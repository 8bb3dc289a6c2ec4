/* portfolio/portfolio: positions, cash, P&L and margin of trading accounts, kept exactly from fills
 * and marked from market prices. The kernel owns one portfolio and calls it from its one thread.
 *
 * A position is keyed by (account_id, mode, strategy_id, instrument_id): paper and live positions
 * never mix, nor do two strategies' positions in one instrument. Cash is kept per (account, mode)
 * ledger: an account's paper money and its live money are two ledgers with their own initial
 * capital, and every summary is per mode.
 *
 * Money is exact (DESIGN principle 4): every amount is px_t (1/10000 rupee) and every operation is
 * overflow-checked. A position keeps its cost as the exact signed notional of its open part; the
 * average price is derived for display. At every step, for each ledger,
 *     equity = cash + market value = initial cash + realized - charges + unrealized
 * holds exactly (docs/portfolio.md derives it and gives every formula).
 *
 * Charges are an input: the caller computes what each fill costs (portfolio/charges) and passes it
 * with the fill, so this module knows no rate and no charging convention.
 *
 * Allocation happens only when a key appears that was never seen (a new position, a new
 * instrument) or a ledger is opened; fills on known positions and marks never allocate.
 * portfolio_reserve sizes everything up front for a backtest that must not allocate at all. */
#ifndef ATP_PORTFOLIO_PORTFOLIO_H
#define ATP_PORTFOLIO_PORTFOLIO_H

#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/px.h"
#include "core/ts.h"
#include "model/order.h"

/* What identifies a position. */
struct portfolio_key {
    uint64_t account_id;    /* > 0 */
    enum trade_mode mode;
    uint64_t strategy_id;   /* 0 for manual (API) trading */
    uint32_t instrument_id;
};

/* Margin blocked per product, in basis points of a position's absolute market value (0..10000).
 * A deliberately simple model (docs/portfolio.md): brokers' real SPAN + exposure and the dated
 * peak-margin rules come with the risk module. */
struct portfolio_margin {
    uint32_t bps[ORDER_PRODUCT_COUNT]; /* indexed by enum order_product */
};

/* Defaults: MIS 20 % (the intraday leverage of 5x SEBI allows for equity since 2021), CNC 100 %
 * (delivery is paid in full), NRML 15 % (a round figure near index-futures SPAN + exposure). */
#define PORTFOLIO_MARGIN_MIS_BPS_DEFAULT 2000u
#define PORTFOLIO_MARGIN_CNC_BPS_DEFAULT 10000u
#define PORTFOLIO_MARGIN_NRML_BPS_DEFAULT 1500u

/* One (account, mode) ledger to open at creation. */
struct portfolio_account_init {
    uint64_t account_id; /* > 0 */
    enum trade_mode mode;
    px_t initial_cash;   /* >= 0 */
};

struct portfolio_config {
    struct portfolio_margin margin;  /* all zero = the defaults above */
    enum order_product default_product; /* product portfolio_apply_fill assumes (MIS unless set) */
    size_t initial_positions;        /* capacity reserved at creation (0 = a small default) */
    const struct portfolio_account_init *accounts; /* ledgers to open, may be NULL */
    size_t account_count;
};

/* Fills *cfg with the defaults (default margins, MIS, no accounts). */
void portfolio_config_default(struct portfolio_config *cfg);

/* One position as a value (a copy: it does not change when the portfolio does). */
struct portfolio_position {
    struct portfolio_key key;
    enum order_product product; /* product of the fill that opened it (from flat or by a flip) */
    int64_t qty;            /* signed: > 0 long, < 0 short, 0 flat */
    px_t cost;              /* exact signed notional of the open part: sum of signed qty x price
                               still open (> 0 long, < 0 short, 0 flat) */
    px_t avg_price;         /* |cost| / |qty| rounded half away from zero; 0 when flat. Display */
    px_t mark_px;           /* price unrealized is measured at (docs: last mark, else fill) */
    px_t market_value;      /* qty x mark_px: a long's value, a short's liability (negative) */
    px_t unrealized;        /* market_value - cost */
    px_t realized;          /* realized P&L on closed quantity, before charges */
    px_t charges;           /* sum of the charges passed with this position's fills */
    px_t gross_pnl;         /* realized + unrealized */
    px_t net_pnl;           /* gross_pnl - charges */
    px_t margin;            /* margin blocked: ceil(|market_value| x bps / 10000) */
    int64_t qty_bought;     /* units bought over the position's life */
    int64_t qty_sold;       /* units sold */
    px_t buy_value;         /* sum of qty x price over buys */
    px_t sell_value;        /* sum of qty x price over sells */
    uint32_t fill_count;
    ts_ns opened_ts;        /* time of the fill that opened the current position (0 when flat) */
    ts_ns updated_ts;       /* time of the last fill */
};

/* An (account, mode) ledger, or the sum of every ledger of a mode (account_id 0). */
struct portfolio_summary {
    uint64_t account_id;    /* 0 in a mode summary */
    enum trade_mode mode;
    px_t initial_cash;
    px_t cash;              /* initial - buys + sells - charges (cash-settled, docs) */
    px_t realized;
    px_t unrealized;
    px_t charges;
    px_t market_value;      /* long_value - short_value */
    px_t long_value;        /* sum of market values of long positions */
    px_t short_value;       /* sum of |market value| of short positions (the liability) */
    px_t equity;            /* cash + market_value */
    px_t margin_used;       /* sum of position margins */
    px_t margin_available;  /* equity - margin_used (negative when over-extended) */
    px_t gross_pnl;         /* realized + unrealized */
    px_t net_pnl;           /* gross_pnl - charges = equity - initial_cash */
    uint32_t positions;     /* position records (flat ones included) */
    uint32_t open_positions;/* positions with qty != 0 */
    uint32_t accounts;      /* ledgers summed: 1 for an account summary */
};

struct portfolio;

/* Creates a portfolio with the ledgers cfg->accounts names (cfg may be NULL for the defaults).
 * Returns ATP_OK with *out set; ATP_EINVAL for a bad config (a margin above 10000 bps, a product
 * out of range, a bad or duplicate ledger: err names the field, e.g. "accounts[2].initial_cash");
 * ATP_ENOMEM. *out is NULL on failure. err may be NULL. The caller frees with portfolio_free. */
int portfolio_new(const struct portfolio_config *cfg, struct portfolio **out, struct atp_err *err);

/* Frees everything; NULL is a no-op. */
void portfolio_free(struct portfolio *pf);

/* Opens the (account_id, mode) ledger with initial_cash. ATP_OK; ATP_EINVAL (account_id 0, mode
 * out of range, initial_cash < 0); ATP_EEXIST when that ledger is open; ATP_ENOMEM. */
int portfolio_account_open(struct portfolio *pf, uint64_t account_id, enum trade_mode mode,
                           px_t initial_cash);

/* Reserves room for `positions` positions (and as many instruments) so that fills creating them
 * do not allocate. ATP_OK or ATP_ENOMEM (nothing changed). */
int portfolio_reserve(struct portfolio *pf, size_t positions);

/* Applies one execution to the position (f->account_id, f->mode, strategy_id, f->instrument_id),
 * creating it on its first fill, and to its ledger:
 *   - an increase (from flat or on the same side) adds qty and qty x price to the cost;
 *   - a reduction closes k units: cost_closed = cost x k / |qty| rounded half away from zero
 *     (the whole cost when it closes everything), realized += signed k x price - cost_closed;
 *   - a fill larger than the position closes it and opens the rest on the other side at the
 *     fill price, with product;
 *   - cash -= signed qty x price + charges (a buy pays, a sell receives);
 *   - charges add to the position and the ledger;
 *   - the position is re-marked (at the instrument's last mark, or at the fill price when the
 *     instrument was never marked).
 * Duplicate fills are the OMS's to drop (by order_id + fill_id); every call here is applied.
 * Returns ATP_OK; ATP_EINVAL (fill_validate fails, charges < 0, product out of range);
 * ATP_ENOTFOUND (no ledger for the fill's account and mode: never guessed); ATP_EOVERFLOW (an
 * amount would leave px_t); ATP_ENOMEM (a new key could not be stored). On failure nothing
 * changed. Allocates only for a new key. Kernel thread. */
int portfolio_apply_fill_product(struct portfolio *pf, const struct fill *f, uint64_t strategy_id,
                                 enum order_product product, px_t charges);

/* portfolio_apply_fill_product with the config's default_product. */
int portfolio_apply_fill(struct portfolio *pf, const struct fill *f, uint64_t strategy_id,
                         px_t charges);

/* Marks every position in instrument_id (any account, mode, strategy) at last: market value,
 * unrealized P&L and margin, and the ledgers' sums. O(positions in that instrument); never
 * allocates. An instrument with no position yet is ignored. Returns ATP_OK; ATP_EINVAL for
 * last <= 0; ATP_EOVERFLOW (nothing changed). */
int portfolio_mark(struct portfolio *pf, uint32_t instrument_id, px_t last);

/* The position under *key into *out. ATP_OK or ATP_ENOTFOUND (never traded). */
int portfolio_position_get(const struct portfolio *pf, const struct portfolio_key *key,
                           struct portfolio_position *out);

/* The (account_id, mode) ledger into *out. ATP_OK or ATP_ENOTFOUND. */
int portfolio_account_summary(const struct portfolio *pf, uint64_t account_id,
                              enum trade_mode mode, struct portfolio_summary *out);

/* The sum of every ledger of mode (account_id 0; zeros when there is none). ATP_OK, ATP_EINVAL
 * (mode out of range) or ATP_EOVERFLOW. */
int portfolio_mode_summary(const struct portfolio *pf, enum trade_mode mode,
                           struct portfolio_summary *out);

/* Iteration over one ledger's positions in the order they were created (flat ones included):
 *     struct portfolio_iter it;
 *     if (portfolio_iter_init(pf, acct, mode, &it) == ATP_OK)
 *         while (portfolio_iter_next(pf, &it, &pos)) ...
 * init returns ATP_ENOTFOUND for an unknown ledger (it then yields nothing). Positions created
 * during the walk are visited too. */
struct portfolio_iter {
    uint32_t next; /* internal: 1 + index of the next position, 0 at the end */
};
int portfolio_iter_init(const struct portfolio *pf, uint64_t account_id, enum trade_mode mode,
                        struct portfolio_iter *it);
int portfolio_iter_next(const struct portfolio *pf, struct portfolio_iter *it,
                        struct portfolio_position *out);

/* Recomputes every position's derived fields and every ledger's sums from scratch and compares
 * them with the incrementally kept ones, and checks each ledger's identity
 * cash + market_value == initial + realized - charges + unrealized. 1 when all hold. For tests
 * and debug asserts: O(positions). */
int portfolio_check(const struct portfolio *pf);

/* Number of position records (all ledgers). */
size_t portfolio_position_count(const struct portfolio *pf);

#endif
