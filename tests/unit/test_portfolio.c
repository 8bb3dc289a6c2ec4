/* Tests of portfolio/portfolio: hand-computed scenario tables (long open/add/partial close/close,
 * short open/cover, flips both ways, uneven averages and the rounding of the closed cost), margin
 * per product, account and mode summaries, mode and strategy separation, iteration, errors that
 * leave everything unchanged (overflow, ENOMEM), config validation, and a property test over
 * random fill and mark sequences checked at every step against an independent model:
 * equity == initial + realized - charges + unrealized == cash + sum(qty x mark), exactly, and
 * realized == sum(sells) - sum(buys) once everything is closed. Every test checks for leaks. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/px.h"
#include "core/rng.h"
#include "portfolio/portfolio.h"

static long live_at_start;

static void setup(void)
{
    live_at_start = atp_alloc_live();
}

static void teardown(void)
{
    atp_alloc_fail_after(0);
    cr_expect_eq(atp_alloc_live(), live_at_start, "leak: %ld live blocks, %ld at start",
                 atp_alloc_live(), live_at_start);
}

TestSuite(portfolio, .init = setup, .fini = teardown);

/* Decimal text to px_t ("" and NULL are 0). */
static px_t X(const char *s)
{
    if (!s || !*s)
        return 0;
    px_t v = 0;
    cr_assert_eq(px_parse(s, strlen(s), &v, NULL), ATP_OK, "bad test amount '%s'", s);
    return v;
}

static const char *F(px_t v, char *buf)
{
    px_format(v, buf, PX_STR_MAX);
    return buf;
}

#define ACCT 11u
#define STRAT 7u
#define INST 42u

static struct portfolio *new_pf(px_t paper_cash, px_t live_cash)
{
    struct portfolio_config cfg;
    portfolio_config_default(&cfg);
    struct portfolio_account_init acc[2] = {
        {.account_id = ACCT, .mode = TRADE_MODE_PAPER, .initial_cash = paper_cash},
        {.account_id = ACCT, .mode = TRADE_MODE_LIVE, .initial_cash = live_cash},
    };
    cfg.accounts = acc;
    cfg.account_count = 2;
    struct portfolio *pf = NULL;
    struct atp_err err;
    cr_assert_eq(portfolio_new(&cfg, &pf, &err), ATP_OK, "%s", err.msg);
    return pf;
}

static struct fill mkfill(uint64_t account, enum trade_mode mode, uint32_t inst,
                          enum order_side side, int64_t qty, px_t price)
{
    static uint64_t seq;
    struct fill f;
    memset(&f, 0, sizeof f);
    f.order_id = ++seq;
    snprintf(f.fill_id, sizeof f.fill_id, "T%llu", (unsigned long long)seq);
    f.account_id = account;
    f.instrument_id = inst;
    f.side = side;
    f.qty = qty;
    f.price = price;
    f.ts = (ts_ns)seq * TS_NS_PER_SEC;
    f.mode = mode;
    return f;
}

static struct portfolio_key key_of(uint64_t account, enum trade_mode mode, uint64_t strategy,
                                   uint32_t inst)
{
    struct portfolio_key k = {.account_id = account, .mode = mode, .strategy_id = strategy,
                              .instrument_id = inst};
    return k;
}

/* The identity the kernel asserts, on one ledger. */
static void assert_identity(const struct portfolio *pf, uint64_t account, enum trade_mode mode)
{
    struct portfolio_summary s;
    cr_assert_eq(portfolio_account_summary(pf, account, mode, &s), ATP_OK);
    cr_assert_eq(s.equity, s.initial_cash + s.realized - s.charges + s.unrealized,
                 "equity %lld != initial %lld + realized %lld - charges %lld + unrealized %lld",
                 (long long)s.equity, (long long)s.initial_cash, (long long)s.realized,
                 (long long)s.charges, (long long)s.unrealized);
    cr_assert_eq(s.equity, s.cash + s.market_value);
    cr_assert_eq(s.net_pnl, s.equity - s.initial_cash);
    cr_assert_eq(s.gross_pnl, s.realized + s.unrealized);
    cr_assert(portfolio_check(pf), "portfolio_check failed");
}

/* ---- scenario tables --------------------------------------------------------------------------- */

/* One step on position (ACCT, PAPER, STRAT, INST) of a ledger opened with 1,000,000 and the
 * expected state after it. op: 'B' buy, 'S' sell, 'M' mark at price. */
struct step {
    char op;
    int64_t qty;
    const char *price;
    const char *charges;
    int64_t want_qty;
    const char *want_cost, *want_avg, *want_realized, *want_unrealized, *want_cash;
};

static void run_steps(const char *name, const struct step *steps, size_t n)
{
    struct portfolio *pf = new_pf(X("1000000"), X("500000"));
    struct portfolio_key k = key_of(ACCT, TRADE_MODE_PAPER, STRAT, INST);
    px_t charges_total = 0;
    for (size_t i = 0; i < n; i++) {
        const struct step *s = &steps[i];
        if (s->op == 'M') {
            cr_assert_eq(portfolio_mark(pf, INST, X(s->price)), ATP_OK);
        } else {
            struct fill f = mkfill(ACCT, TRADE_MODE_PAPER, INST,
                                   s->op == 'B' ? ORDER_SIDE_BUY : ORDER_SIDE_SELL, s->qty,
                                   X(s->price));
            cr_assert_eq(portfolio_apply_fill(pf, &f, STRAT, X(s->charges)), ATP_OK, "%s step %zu",
                         name, i);
            charges_total += X(s->charges);
        }
        struct portfolio_position p;
        cr_assert_eq(portfolio_position_get(pf, &k, &p), ATP_OK);
        char a[PX_STR_MAX], b[PX_STR_MAX];
        cr_assert_eq(p.qty, s->want_qty, "%s step %zu: qty %lld want %lld", name, i,
                     (long long)p.qty, (long long)s->want_qty);
#define CHECK(field, want)                                                                      \
    cr_assert_eq(p.field, X(want), "%s step %zu: " #field " %s want %s", name, i, F(p.field, a), \
                 F(X(want), b))
        CHECK(cost, s->want_cost);
        CHECK(avg_price, s->want_avg);
        CHECK(realized, s->want_realized);
        CHECK(unrealized, s->want_unrealized);
#undef CHECK
        cr_assert_eq(p.charges, charges_total);
        cr_assert_eq(p.gross_pnl, p.realized + p.unrealized);
        cr_assert_eq(p.net_pnl, p.gross_pnl - p.charges);
        struct portfolio_summary sum;
        cr_assert_eq(portfolio_account_summary(pf, ACCT, TRADE_MODE_PAPER, &sum), ATP_OK);
        cr_assert_eq(sum.cash, X(s->want_cash), "%s step %zu: cash %s want %s", name, i,
                     F(sum.cash, a), F(X(s->want_cash), b));
        cr_assert_eq(sum.realized, p.realized);
        cr_assert_eq(sum.unrealized, p.unrealized);
        cr_assert_eq(sum.charges, charges_total);
        cr_assert_eq(sum.open_positions, p.qty != 0);
        assert_identity(pf, ACCT, TRADE_MODE_PAPER);
        /* the live ledger never moves */
        cr_assert_eq(portfolio_account_summary(pf, ACCT, TRADE_MODE_LIVE, &sum), ATP_OK);
        cr_assert_eq(sum.cash, X("500000"));
        cr_assert_eq(sum.equity, X("500000"));
        cr_assert_eq(sum.positions, 0);
    }
    portfolio_free(pf);
}

#define RUN(steps) run_steps(#steps, steps, sizeof steps / sizeof steps[0])

/* Long: open, add at another price (weighted average), mark, partial close (closed cost
 * 1530 x 6/15 = 612 exactly), close at a loss. Realized 48 - 27 = 21, charges 2.5: the ledger
 * ends at 1,000,018.5. The mark (104) stays the position's price after the reducing fill. */
Test(portfolio, long_open_add_partial_close_close)
{
    static const struct step s[] = {
        /* op qty price  chg    qty  cost    avg    realized unreal cash */
        {'B', 10, "100", "1", 10, "1000", "100", "0", "0", "998999"},
        {'B', 5, "106", "0.5", 15, "1530", "102", "0", "60", "998468.5"},
        {'M', 0, "104", "", 15, "1530", "102", "0", "30", "998468.5"},
        {'S', 6, "110", "0.7", 9, "918", "102", "48", "18", "999127.8"},
        {'S', 9, "99", "0.3", 0, "0", "0", "21", "0", "1000018.5"},
        {'M', 0, "120", "", 0, "0", "0", "21", "0", "1000018.5"},
    };
    RUN(s);
}

/* Short: open (cash receives the proceeds), mark in the money, partial cover (closed cost
 * -2000 x 4/10 = -800; realized -4 x 185 + 800 = 60), cover the rest at a loss (-1230 + 1200). */
Test(portfolio, short_open_cover)
{
    static const struct step s[] = {
        {'S', 10, "200", "", -10, "-2000", "200", "0", "0", "1002000"},
        {'M', 0, "190", "", -10, "-2000", "200", "0", "100", "1002000"},
        {'B', 4, "185", "", -6, "-1200", "200", "60", "60", "1001260"},
        {'M', 0, "210", "", -6, "-1200", "200", "60", "-60", "1001260"},
        {'B', 6, "205", "", 0, "0", "0", "30", "0", "1000030"},
    };
    RUN(s);
}

/* Flips in one fill: a sell of 15 against a long 10 closes it at 110 (realized 100) and opens a
 * short 5 at 110; a buy of 8 against the short 5 closes it at 105 (realized 25) and opens a long
 * 3 at 105. Never marked: the position is valued at its last fill price. */
Test(portfolio, flip_long_short_long)
{
    static const struct step s[] = {
        {'B', 10, "100", "", 10, "1000", "100", "0", "0", "999000"},
        {'S', 15, "110", "", -5, "-550", "110", "100", "0", "1000650"},
        {'B', 8, "105", "", 3, "315", "105", "125", "0", "999810"},
        {'M', 0, "106", "", 3, "315", "105", "125", "3", "999810"},
    };
    RUN(s);
}

/* Uneven fills: 1 @ 100 and 2 @ 100.05 cost 300.10 for 3 (average 100.0333..., shown 100.0333).
 * Selling 1 closes round(300.10 / 3) = 100.0333 of cost (realized 0.9667); the remaining 2
 * carry 200.0667 (average 100.03335, shown 100.0334 half away from zero); selling them realizes
 * 1.9333. Total 2.90 = 303 - 300.10 exactly. */
Test(portfolio, uneven_average_and_exact_realized)
{
    static const struct step s[] = {
        {'B', 1, "100", "", 1, "100", "100", "0", "0", "999900"},
        {'B', 2, "100.05", "", 3, "300.10", "100.0333", "0", "0.05", "999699.90"},
        {'S', 1, "101", "", 2, "200.0667", "100.0334", "0.9667", "1.9333", "999800.90"},
        {'S', 2, "101", "", 0, "0", "0", "2.90", "0", "1000002.90"},
    };
    RUN(s);
}

/* The closed cost's rounding at a tie: cost 200.0001 for 2, closing 1 closes 100.00005 rounded
 * half away from zero to 100.0001 (realized -0.0001), leaving 100.0000; the round trip still
 * totals exactly 200 - 200.0001. */
Test(portfolio, closed_cost_rounds_half_away)
{
    static const struct step s[] = {
        {'B', 1, "100.0001", "", 1, "100.0001", "100.0001", "0", "0", "999899.9999"},
        {'B', 1, "100", "", 2, "200.0001", "100.0001", "0", "-0.0001", "999799.9999"},
        {'S', 1, "100", "", 1, "100", "100", "-0.0001", "0", "999899.9999"},
        {'S', 1, "100", "", 0, "0", "0", "-0.0001", "0", "999999.9999"},
    };
    RUN(s);
}

/* A short's partial cover at a tie rounds away from zero too (closed cost -100.0001). */
Test(portfolio, short_closed_cost_rounds_half_away)
{
    static const struct step s[] = {
        {'S', 1, "100.0001", "", -1, "-100.0001", "100.0001", "0", "0", "1000100.0001"},
        {'S', 1, "100", "", -2, "-200.0001", "100.0001", "0", "0.0001", "1000200.0001"},
        {'B', 1, "100", "", -1, "-100", "100", "0.0001", "0", "1000100.0001"},
        {'B', 1, "100", "", 0, "0", "0", "0.0001", "0", "1000000.0001"},
    };
    RUN(s);
}

/* ---- margin, products, summaries --------------------------------------------------------------- */

/* Margin = ceil(|market value| x bps / 10000): MIS 20 %, CNC 100 %, NRML 15 % by default, and a
 * configured NRML rate; the ceiling shows on 99.9999 x 20 % = 19.99998 -> 20.0000. */
Test(portfolio, margin_per_product)
{
    static const struct {
        enum order_product product;
        uint32_t nrml_bps;
        enum order_side side;
        int64_t qty;
        const char *price, *margin;
    } cases[] = {
        {ORDER_PRODUCT_MIS, 0, ORDER_SIDE_BUY, 10, "100", "200"},
        {ORDER_PRODUCT_CNC, 0, ORDER_SIDE_BUY, 10, "100", "1000"},
        {ORDER_PRODUCT_NRML, 0, ORDER_SIDE_BUY, 10, "100", "150"},
        {ORDER_PRODUCT_NRML, 1234, ORDER_SIDE_SELL, 10, "100", "123.4"},
        {ORDER_PRODUCT_MIS, 0, ORDER_SIDE_SELL, 3, "33.3333", "20"},
        {ORDER_PRODUCT_NRML, 1, ORDER_SIDE_BUY, 1, "0.0001", "0.0001"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct portfolio_config cfg;
        portfolio_config_default(&cfg);
        if (cases[i].nrml_bps)
            cfg.margin.bps[ORDER_PRODUCT_NRML] = cases[i].nrml_bps;
        struct portfolio *pf = NULL;
        cr_assert_eq(portfolio_new(&cfg, &pf, NULL), ATP_OK);
        cr_assert_eq(portfolio_account_open(pf, ACCT, TRADE_MODE_PAPER, X("100000")), ATP_OK);
        struct fill f = mkfill(ACCT, TRADE_MODE_PAPER, INST, cases[i].side, cases[i].qty,
                               X(cases[i].price));
        cr_assert_eq(portfolio_apply_fill_product(pf, &f, STRAT, cases[i].product, 0), ATP_OK);
        struct portfolio_position p;
        struct portfolio_key k = key_of(ACCT, TRADE_MODE_PAPER, STRAT, INST);
        cr_assert_eq(portfolio_position_get(pf, &k, &p), ATP_OK);
        cr_assert_eq(p.product, cases[i].product);
        cr_assert_eq(p.margin, X(cases[i].margin), "case %zu: margin %lld", i, (long long)p.margin);
        struct portfolio_summary s;
        cr_assert_eq(portfolio_account_summary(pf, ACCT, TRADE_MODE_PAPER, &s), ATP_OK);
        cr_assert_eq(s.margin_used, p.margin);
        cr_assert_eq(s.margin_available, s.equity - s.margin_used);
        assert_identity(pf, ACCT, TRADE_MODE_PAPER);
        portfolio_free(pf);
    }
}

/* The default product is the config's; a flip takes the product of the fill that opened the new
 * side, an add keeps the position's; margin follows the mark. */
Test(portfolio, product_on_open_and_flip)
{
    struct portfolio *pf = new_pf(X("100000"), 0);
    struct portfolio_key k = key_of(ACCT, TRADE_MODE_PAPER, STRAT, INST);
    struct portfolio_position p;
    struct fill f = mkfill(ACCT, TRADE_MODE_PAPER, INST, ORDER_SIDE_BUY, 10, X("100"));
    cr_assert_eq(portfolio_apply_fill(pf, &f, STRAT, 0), ATP_OK);
    cr_assert_eq(portfolio_position_get(pf, &k, &p), ATP_OK);
    cr_assert_eq(p.product, ORDER_PRODUCT_MIS);
    cr_assert_eq(p.margin, X("200"));
    f = mkfill(ACCT, TRADE_MODE_PAPER, INST, ORDER_SIDE_BUY, 10, X("100"));
    cr_assert_eq(portfolio_apply_fill_product(pf, &f, STRAT, ORDER_PRODUCT_CNC, 0), ATP_OK);
    cr_assert_eq(portfolio_position_get(pf, &k, &p), ATP_OK);
    cr_assert_eq(p.product, ORDER_PRODUCT_MIS);
    cr_assert_eq(p.margin, X("400"));
    cr_assert_eq(portfolio_mark(pf, INST, X("110")), ATP_OK);
    cr_assert_eq(portfolio_position_get(pf, &k, &p), ATP_OK);
    cr_assert_eq(p.margin, X("440"));
    f = mkfill(ACCT, TRADE_MODE_PAPER, INST, ORDER_SIDE_SELL, 25, X("110"));
    cr_assert_eq(portfolio_apply_fill_product(pf, &f, STRAT, ORDER_PRODUCT_NRML, 0), ATP_OK);
    cr_assert_eq(portfolio_position_get(pf, &k, &p), ATP_OK);
    cr_assert_eq(p.qty, -5);
    cr_assert_eq(p.product, ORDER_PRODUCT_NRML);
    cr_assert_eq(p.margin, X("82.5")); /* 15 % of 550 */
    cr_assert_eq(p.opened_ts, f.ts);
    cr_assert_eq(p.qty_bought, 20);
    cr_assert_eq(p.qty_sold, 25);
    cr_assert_eq(p.buy_value, X("2000"));
    cr_assert_eq(p.sell_value, X("2750"));
    cr_assert_eq(p.fill_count, 3);
    assert_identity(pf, ACCT, TRADE_MODE_PAPER);
    portfolio_free(pf);
}

/* A long and a short in one ledger: long value, short liability, market value, equity, margin. */
Test(portfolio, account_summary_long_and_short)
{
    struct portfolio *pf = new_pf(X("1000000"), 0);
    struct fill f = mkfill(ACCT, TRADE_MODE_PAPER, 1, ORDER_SIDE_BUY, 10, X("100"));
    cr_assert_eq(portfolio_apply_fill(pf, &f, STRAT, X("1.5")), ATP_OK);
    f = mkfill(ACCT, TRADE_MODE_PAPER, 2, ORDER_SIDE_SELL, 5, X("200"));
    cr_assert_eq(portfolio_apply_fill(pf, &f, STRAT, X("2.25")), ATP_OK);
    cr_assert_eq(portfolio_mark(pf, 1, X("110")), ATP_OK);
    cr_assert_eq(portfolio_mark(pf, 2, X("210")), ATP_OK);
    cr_assert_eq(portfolio_mark(pf, 3, X("1")), ATP_OK); /* no position: ignored */
    struct portfolio_summary s;
    cr_assert_eq(portfolio_account_summary(pf, ACCT, TRADE_MODE_PAPER, &s), ATP_OK);
    cr_assert_eq(s.account_id, ACCT);
    cr_assert_eq(s.mode, TRADE_MODE_PAPER);
    cr_assert_eq(s.initial_cash, X("1000000"));
    cr_assert_eq(s.cash, X("999996.25"));     /* - 1000 + 1000 - 3.75 */
    cr_assert_eq(s.long_value, X("1100"));
    cr_assert_eq(s.short_value, X("1050"));
    cr_assert_eq(s.market_value, X("50"));
    cr_assert_eq(s.equity, X("1000046.25"));
    cr_assert_eq(s.unrealized, X("50"));      /* +100 on the long, -50 on the short */
    cr_assert_eq(s.realized, 0);
    cr_assert_eq(s.charges, X("3.75"));
    cr_assert_eq(s.gross_pnl, X("50"));
    cr_assert_eq(s.net_pnl, X("46.25"));
    cr_assert_eq(s.margin_used, X("430"));    /* 20 % of 1100 + 20 % of 1050 */
    cr_assert_eq(s.margin_available, X("999616.25"));
    cr_assert_eq(s.positions, 2);
    cr_assert_eq(s.open_positions, 2);
    cr_assert_eq(s.accounts, 1);
    assert_identity(pf, ACCT, TRADE_MODE_PAPER);
    cr_assert_eq(portfolio_account_summary(pf, ACCT + 1, TRADE_MODE_PAPER, &s), ATP_ENOTFOUND);
    portfolio_free(pf);
}

/* Paper and live: one account id, two ledgers, two positions on the same (strategy, instrument);
 * a mark reaches both (market data is one), fills reach only their mode; a fill for a mode with
 * no ledger is refused, never guessed; mode summaries add ledgers of one mode only. */
Test(portfolio, mode_separation)
{
    struct portfolio *pf = new_pf(X("100000"), X("50000"));
    cr_assert_eq(portfolio_account_open(pf, 12, TRADE_MODE_PAPER, X("20000")), ATP_OK);
    struct fill f = mkfill(ACCT, TRADE_MODE_PAPER, INST, ORDER_SIDE_BUY, 10, X("100"));
    cr_assert_eq(portfolio_apply_fill(pf, &f, STRAT, X("1")), ATP_OK);
    f = mkfill(ACCT, TRADE_MODE_LIVE, INST, ORDER_SIDE_SELL, 4, X("101"));
    cr_assert_eq(portfolio_apply_fill(pf, &f, STRAT, X("2")), ATP_OK);
    f = mkfill(12, TRADE_MODE_PAPER, INST, ORDER_SIDE_BUY, 1, X("99"));
    cr_assert_eq(portfolio_apply_fill(pf, &f, STRAT, 0), ATP_OK);
    f = mkfill(12, TRADE_MODE_LIVE, INST, ORDER_SIDE_BUY, 1, X("99"));
    cr_assert_eq(portfolio_apply_fill(pf, &f, STRAT, 0), ATP_ENOTFOUND);
    cr_assert_eq(portfolio_mark(pf, INST, X("102")), ATP_OK);

    struct portfolio_position paper, live;
    struct portfolio_key kp = key_of(ACCT, TRADE_MODE_PAPER, STRAT, INST);
    struct portfolio_key kl = key_of(ACCT, TRADE_MODE_LIVE, STRAT, INST);
    cr_assert_eq(portfolio_position_get(pf, &kp, &paper), ATP_OK);
    cr_assert_eq(portfolio_position_get(pf, &kl, &live), ATP_OK);
    cr_assert_eq(paper.qty, 10);
    cr_assert_eq(paper.unrealized, X("20"));
    cr_assert_eq(live.qty, -4);
    cr_assert_eq(live.unrealized, X("-4"));
    cr_assert_eq(live.charges, X("2"));
    cr_assert_eq(paper.charges, X("1"));

    struct portfolio_summary s;
    cr_assert_eq(portfolio_account_summary(pf, ACCT, TRADE_MODE_LIVE, &s), ATP_OK);
    cr_assert_eq(s.cash, X("50402"));
    cr_assert_eq(s.equity, X("49994"));
    cr_assert_eq(s.positions, 1);
    cr_assert_eq(portfolio_mode_summary(pf, TRADE_MODE_PAPER, &s), ATP_OK);
    cr_assert_eq(s.account_id, 0);
    cr_assert_eq(s.accounts, 2);
    cr_assert_eq(s.initial_cash, X("120000"));
    cr_assert_eq(s.cash, X("118900"));        /* 100000 - 1001 + 20000 - 99 */
    cr_assert_eq(s.unrealized, X("23"));      /* 20 + 3 */
    cr_assert_eq(s.equity, X("120022"));
    cr_assert_eq(s.positions, 2);
    cr_assert_eq(s.equity, s.initial_cash + s.realized - s.charges + s.unrealized);
    cr_assert_eq(portfolio_mode_summary(pf, TRADE_MODE_LIVE, &s), ATP_OK);
    cr_assert_eq(s.accounts, 1);
    cr_assert_eq(s.equity, X("49994"));
    cr_assert_eq(portfolio_mode_summary(pf, TRADE_MODE_COUNT, &s), ATP_EINVAL);
    assert_identity(pf, ACCT, TRADE_MODE_PAPER);
    assert_identity(pf, ACCT, TRADE_MODE_LIVE);
    assert_identity(pf, 12, TRADE_MODE_PAPER);
    portfolio_free(pf);
}

/* Two strategies in one instrument of one ledger are two positions; the ledger adds them. */
Test(portfolio, strategy_separation_and_iteration)
{
    struct portfolio *pf = new_pf(X("100000"), 0);
    struct fill f = mkfill(ACCT, TRADE_MODE_PAPER, INST, ORDER_SIDE_BUY, 10, X("100"));
    cr_assert_eq(portfolio_apply_fill(pf, &f, 1, 0), ATP_OK);
    f = mkfill(ACCT, TRADE_MODE_PAPER, INST, ORDER_SIDE_SELL, 3, X("100"));
    cr_assert_eq(portfolio_apply_fill(pf, &f, 2, 0), ATP_OK);
    f = mkfill(ACCT, TRADE_MODE_PAPER, 43, ORDER_SIDE_BUY, 1, X("50"));
    cr_assert_eq(portfolio_apply_fill(pf, &f, 1, 0), ATP_OK);
    f = mkfill(ACCT, TRADE_MODE_PAPER, 43, ORDER_SIDE_SELL, 1, X("55"));
    cr_assert_eq(portfolio_apply_fill(pf, &f, 1, 0), ATP_OK);
    cr_assert_eq(portfolio_mark(pf, INST, X("90")), ATP_OK);
    cr_assert_eq(portfolio_position_count(pf), 3);

    static const struct {
        uint64_t strategy;
        uint32_t inst;
        int64_t qty;
        const char *unrealized, *realized;
    } want[] = {{1, INST, 10, "-100", "0"}, {2, INST, -3, "30", "0"}, {1, 43, 0, "0", "5"}};
    struct portfolio_iter it;
    struct portfolio_position p;
    cr_assert_eq(portfolio_iter_init(pf, ACCT, TRADE_MODE_PAPER, &it), ATP_OK);
    size_t n = 0;
    while (portfolio_iter_next(pf, &it, &p)) {
        cr_assert(n < 3);
        cr_assert_eq(p.key.strategy_id, want[n].strategy);
        cr_assert_eq(p.key.instrument_id, want[n].inst);
        cr_assert_eq(p.qty, want[n].qty);
        cr_assert_eq(p.unrealized, X(want[n].unrealized));
        cr_assert_eq(p.realized, X(want[n].realized));
        n++;
    }
    cr_assert_eq(n, 3);
    struct portfolio_summary s;
    cr_assert_eq(portfolio_account_summary(pf, ACCT, TRADE_MODE_PAPER, &s), ATP_OK);
    cr_assert_eq(s.unrealized, X("-70"));
    cr_assert_eq(s.realized, X("5"));
    cr_assert_eq(s.open_positions, 2);
    cr_assert_eq(s.positions, 3);
    assert_identity(pf, ACCT, TRADE_MODE_PAPER);

    /* an unknown ledger, and a ledger with no position, yield nothing */
    cr_assert_eq(portfolio_iter_init(pf, 99, TRADE_MODE_PAPER, &it), ATP_ENOTFOUND);
    cr_assert_eq(portfolio_iter_next(pf, &it, &p), 0);
    cr_assert_eq(portfolio_iter_init(pf, ACCT, TRADE_MODE_LIVE, &it), ATP_OK);
    cr_assert_eq(portfolio_iter_next(pf, &it, &p), 0);
    struct portfolio_key k = key_of(ACCT, TRADE_MODE_PAPER, 3, INST);
    cr_assert_eq(portfolio_position_get(pf, &k, &p), ATP_ENOTFOUND);
    portfolio_free(pf);
}

/* Many keys: the indexes grow (rehash) without losing one; every position is found again. */
Test(portfolio, many_keys_grow)
{
    struct portfolio_config cfg;
    portfolio_config_default(&cfg);
    cfg.initial_positions = 1;
    struct portfolio *pf = NULL;
    cr_assert_eq(portfolio_new(&cfg, &pf, NULL), ATP_OK);
    for (uint64_t a = 1; a <= 20; a++)
        cr_assert_eq(portfolio_account_open(pf, a, TRADE_MODE_LIVE, X("1000")), ATP_OK);
    for (uint64_t a = 1; a <= 20; a++)
        for (uint32_t i = 0; i < 30; i++) {
            struct fill f = mkfill(a, TRADE_MODE_LIVE, i, ORDER_SIDE_BUY, (int64_t)(a + i), X("1"));
            cr_assert_eq(portfolio_apply_fill(pf, &f, a % 3, 0), ATP_OK);
        }
    cr_assert_eq(portfolio_position_count(pf), 600);
    for (uint32_t i = 0; i < 30; i++)
        cr_assert_eq(portfolio_mark(pf, i, X("2")), ATP_OK);
    for (uint64_t a = 1; a <= 20; a++) {
        for (uint32_t i = 0; i < 30; i++) {
            struct portfolio_key k = key_of(a, TRADE_MODE_LIVE, a % 3, i);
            struct portfolio_position p;
            cr_assert_eq(portfolio_position_get(pf, &k, &p), ATP_OK);
            cr_assert_eq(p.qty, (int64_t)(a + i));
            cr_assert_eq(p.unrealized, (px_t)(a + i) * X("1"));
        }
        assert_identity(pf, a, TRADE_MODE_LIVE);
    }
    portfolio_free(pf);
}

/* ---- errors ------------------------------------------------------------------------------------ */

static void assert_same_state(const struct portfolio *pf, const struct portfolio_summary *before,
                              const struct portfolio_position *pos_before,
                              const struct portfolio_key *k)
{
    struct portfolio_summary s;
    cr_assert_eq(portfolio_account_summary(pf, k->account_id, k->mode, &s), ATP_OK);
    cr_assert_eq(memcmp(&s, before, sizeof s), 0, "ledger changed by a failed call");
    struct portfolio_position p;
    if (pos_before) {
        cr_assert_eq(portfolio_position_get(pf, k, &p), ATP_OK);
        cr_assert_eq(memcmp(&p, pos_before, sizeof p), 0, "position changed by a failed call");
    } else {
        cr_assert_eq(portfolio_position_get(pf, k, &p), ATP_ENOTFOUND);
    }
    cr_assert(portfolio_check(pf));
}

Test(portfolio, bad_fills_change_nothing)
{
    struct portfolio *pf = new_pf(X("1000"), 0);
    struct portfolio_key k = key_of(ACCT, TRADE_MODE_PAPER, STRAT, INST);
    struct fill f = mkfill(ACCT, TRADE_MODE_PAPER, INST, ORDER_SIDE_BUY, 2, X("10"));
    cr_assert_eq(portfolio_apply_fill(pf, &f, STRAT, 0), ATP_OK);
    struct portfolio_summary s0;
    struct portfolio_position p0;
    cr_assert_eq(portfolio_account_summary(pf, ACCT, TRADE_MODE_PAPER, &s0), ATP_OK);
    cr_assert_eq(portfolio_position_get(pf, &k, &p0), ATP_OK);

    struct fill bad = f;
    bad.qty = 0;
    cr_assert_eq(portfolio_apply_fill(pf, &bad, STRAT, 0), ATP_EINVAL);
    bad = f;
    bad.price = 0;
    cr_assert_eq(portfolio_apply_fill(pf, &bad, STRAT, 0), ATP_EINVAL);
    bad = f;
    bad.fill_id[0] = '\0';
    cr_assert_eq(portfolio_apply_fill(pf, &bad, STRAT, 0), ATP_EINVAL);
    cr_assert_eq(portfolio_apply_fill(pf, &f, STRAT, -1), ATP_EINVAL);
    cr_assert_eq(portfolio_apply_fill_product(pf, &f, STRAT, ORDER_PRODUCT_COUNT, 0), ATP_EINVAL);
    assert_same_state(pf, &s0, &p0, &k);

    /* a fill whose position value would leave px_t: 3 x PX_MAX / 2 */
    f = mkfill(ACCT, TRADE_MODE_PAPER, INST, ORDER_SIDE_BUY, 1, PX_MAX / 2);
    cr_assert_eq(portfolio_apply_fill(pf, &f, STRAT, 0), ATP_EOVERFLOW);
    assert_same_state(pf, &s0, &p0, &k);
    /* a mark whose market value does not fit (2 x (PX_MAX / 2 + 1)); bad marks */
    cr_assert_eq(portfolio_mark(pf, INST, PX_MAX / 2 + 1), ATP_EOVERFLOW);
    cr_assert_eq(portfolio_mark(pf, INST, 0), ATP_EINVAL);
    cr_assert_eq(portfolio_mark(pf, INST, -5), ATP_EINVAL);
    assert_same_state(pf, &s0, &p0, &k);

    /* a new key that would take the ledger's market value past PX_MAX is not created */
    struct portfolio_key k2 = key_of(ACCT, TRADE_MODE_PAPER, STRAT, INST + 1);
    f = mkfill(ACCT, TRADE_MODE_PAPER, INST + 1, ORDER_SIDE_BUY, 1, PX_MAX - 5);
    cr_assert_eq(portfolio_apply_fill(pf, &f, STRAT, 0), ATP_EOVERFLOW);
    assert_same_state(pf, &s0, NULL, &k2);
    /* and a cost sum beyond px_t on an existing key */
    struct portfolio_key k3 = key_of(ACCT, TRADE_MODE_PAPER, STRAT + 1, INST + 2);
    f = mkfill(ACCT, TRADE_MODE_PAPER, INST + 2, ORDER_SIDE_SELL, 1, PX_MAX / 2);
    cr_assert_eq(portfolio_apply_fill(pf, &f, STRAT + 1, 0), ATP_OK);
    struct portfolio_position p3;
    cr_assert_eq(portfolio_account_summary(pf, ACCT, TRADE_MODE_PAPER, &s0), ATP_OK);
    cr_assert_eq(portfolio_position_get(pf, &k3, &p3), ATP_OK);
    f = mkfill(ACCT, TRADE_MODE_PAPER, INST + 2, ORDER_SIDE_SELL, 1, PX_MAX / 2 + 100);
    cr_assert_eq(portfolio_apply_fill(pf, &f, STRAT + 1, 0), ATP_EOVERFLOW);
    assert_same_state(pf, &s0, &p3, &k3);
    assert_same_state(pf, &s0, &p0, &k);
    assert_identity(pf, ACCT, TRADE_MODE_PAPER);
    cr_assert_eq(portfolio_position_count(pf), 2);
    portfolio_free(pf);
}

/* A mark that overflows one ledger's sum, after others in the same instrument were valued, is
 * rolled back everywhere. */
Test(portfolio, mark_overflow_rolls_back_all_ledgers)
{
    struct portfolio *pf = new_pf(X("1000"), X("1000"));
    struct fill f = mkfill(ACCT, TRADE_MODE_LIVE, INST, ORDER_SIDE_BUY, 1, X("10"));
    cr_assert_eq(portfolio_apply_fill(pf, &f, STRAT, 0), ATP_OK);
    /* paper: two strategies long 1 each at a huge price: each fits, their sum will not */
    f = mkfill(ACCT, TRADE_MODE_PAPER, INST, ORDER_SIDE_BUY, 1, PX_MAX / 4);
    cr_assert_eq(portfolio_apply_fill(pf, &f, 1, 0), ATP_OK);
    f = mkfill(ACCT, TRADE_MODE_PAPER, INST, ORDER_SIDE_BUY, 1, PX_MAX / 4);
    cr_assert_eq(portfolio_apply_fill(pf, &f, 2, 0), ATP_OK);
    struct portfolio_summary live0, paper0, s;
    cr_assert_eq(portfolio_account_summary(pf, ACCT, TRADE_MODE_LIVE, &live0), ATP_OK);
    cr_assert_eq(portfolio_account_summary(pf, ACCT, TRADE_MODE_PAPER, &paper0), ATP_OK);
    cr_assert_eq(portfolio_mark(pf, INST, PX_MAX / 2 + 1), ATP_EOVERFLOW);
    cr_assert_eq(portfolio_account_summary(pf, ACCT, TRADE_MODE_LIVE, &s), ATP_OK);
    cr_assert_eq(memcmp(&s, &live0, sizeof s), 0);
    cr_assert_eq(portfolio_account_summary(pf, ACCT, TRADE_MODE_PAPER, &s), ATP_OK);
    cr_assert_eq(memcmp(&s, &paper0, sizeof s), 0);
    cr_assert(portfolio_check(pf));
    /* a fitting mark still works afterwards */
    cr_assert_eq(portfolio_mark(pf, INST, X("11")), ATP_OK);
    cr_assert_eq(portfolio_account_summary(pf, ACCT, TRADE_MODE_LIVE, &s), ATP_OK);
    cr_assert_eq(s.unrealized, X("1"));
    assert_identity(pf, ACCT, TRADE_MODE_PAPER);
    portfolio_free(pf);
}

/* Every allocation of creation and of a new key can fail: the call reports ENOMEM, nothing is
 * half-made, nothing leaks, and the same call succeeds once memory is back. */
Test(portfolio, enomem_everywhere)
{
    struct portfolio_config cfg;
    portfolio_config_default(&cfg);
    cfg.initial_positions = 1;
    struct portfolio_account_init acc = {.account_id = ACCT, .mode = TRADE_MODE_PAPER,
                                         .initial_cash = X("1000")};
    cfg.accounts = &acc;
    cfg.account_count = 1;
    struct portfolio *pf = NULL;
    int failures = 0;
    for (long n = 1;; n++) {
        atp_alloc_fail_after(n);
        int rc = portfolio_new(&cfg, &pf, NULL);
        atp_alloc_fail_after(0);
        if (rc == ATP_OK)
            break;
        cr_assert_eq(rc, ATP_ENOMEM);
        cr_assert_null(pf);
        cr_assert_eq(atp_alloc_live(), live_at_start);
        failures++;
    }
    cr_assert(failures >= 3);

    /* fill new keys until one needs to grow, failing each allocation in turn */
    for (uint32_t inst = 0; inst < 40; inst++) {
        struct fill f = mkfill(ACCT, TRADE_MODE_PAPER, inst, ORDER_SIDE_BUY, 1, X("1"));
        struct portfolio_summary s0;
        cr_assert_eq(portfolio_account_summary(pf, ACCT, TRADE_MODE_PAPER, &s0), ATP_OK);
        for (long n = 1;; n++) {
            atp_alloc_fail_after(n);
            int rc = portfolio_apply_fill(pf, &f, STRAT, 0);
            atp_alloc_fail_after(0);
            if (rc == ATP_OK)
                break;
            cr_assert_eq(rc, ATP_ENOMEM);
            struct portfolio_key k = key_of(ACCT, TRADE_MODE_PAPER, STRAT, inst);
            assert_same_state(pf, &s0, NULL, &k);
            cr_assert_eq(portfolio_position_count(pf), inst);
        }
    }
    /* fills on known keys and marks never allocate */
    atp_alloc_fail_after(1);
    struct fill f = mkfill(ACCT, TRADE_MODE_PAPER, 5, ORDER_SIDE_SELL, 1, X("2"));
    cr_assert_eq(portfolio_apply_fill(pf, &f, STRAT, 0), ATP_OK);
    cr_assert_eq(portfolio_mark(pf, 6, X("3")), ATP_OK);
    atp_alloc_fail_after(0);
    assert_identity(pf, ACCT, TRADE_MODE_PAPER);
    portfolio_free(pf);
}

/* portfolio_reserve up front: then new keys do not allocate either. */
Test(portfolio, reserve_then_no_allocation)
{
    struct portfolio *pf = new_pf(X("1000"), 0);
    cr_assert_eq(portfolio_reserve(pf, 100), ATP_OK);
    long live = atp_alloc_live();
    atp_alloc_fail_after(1);
    for (uint32_t i = 0; i < 100; i++) {
        struct fill f = mkfill(ACCT, TRADE_MODE_PAPER, i, ORDER_SIDE_BUY, 1, X("1"));
        cr_assert_eq(portfolio_apply_fill(pf, &f, STRAT, 0), ATP_OK);
    }
    atp_alloc_fail_after(0);
    cr_assert_eq(atp_alloc_live(), live);
    portfolio_free(pf);
}

Test(portfolio, config_and_ledger_errors)
{
    struct portfolio *pf = (struct portfolio *)&pf;
    struct atp_err err;
    struct portfolio_config cfg;

    portfolio_config_default(&cfg);
    cfg.margin.bps[ORDER_PRODUCT_CNC] = 10001;
    cr_assert_eq(portfolio_new(&cfg, &pf, &err), ATP_EINVAL);
    cr_assert_null(pf);
    cr_assert_str_eq(err.field, "margin.bps");

    portfolio_config_default(&cfg);
    cfg.default_product = ORDER_PRODUCT_COUNT;
    cr_assert_eq(portfolio_new(&cfg, &pf, &err), ATP_EINVAL);
    cr_assert_str_eq(err.field, "default_product");

    static const struct {
        struct portfolio_account_init acc[2];
        int rc;
        const char *field;
    } cases[] = {
        {{{1, TRADE_MODE_PAPER, 0}, {1, TRADE_MODE_PAPER, 5}}, ATP_EEXIST, "accounts[1].account_id"},
        {{{1, TRADE_MODE_PAPER, 0}, {0, TRADE_MODE_PAPER, 5}}, ATP_EINVAL, "accounts[1].account_id"},
        {{{1, TRADE_MODE_COUNT, 0}, {2, TRADE_MODE_PAPER, 5}}, ATP_EINVAL, "accounts[0].mode"},
        {{{1, TRADE_MODE_LIVE, -1}, {2, TRADE_MODE_PAPER, 5}}, ATP_EINVAL,
         "accounts[0].initial_cash"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        portfolio_config_default(&cfg);
        cfg.accounts = cases[i].acc;
        cfg.account_count = 2;
        atp_err_clear(&err);
        cr_assert_eq(portfolio_new(&cfg, &pf, &err), cases[i].rc, "case %zu", i);
        cr_assert_null(pf);
        cr_assert_str_eq(err.field, cases[i].field, "case %zu: field '%s'", i, err.field);
    }

    /* NULL config: the defaults (margin all zero also means the defaults) */
    cr_assert_eq(portfolio_new(NULL, &pf, NULL), ATP_OK);
    cr_assert_eq(portfolio_account_open(pf, 5, TRADE_MODE_LIVE, X("10")), ATP_OK);
    cr_assert_eq(portfolio_account_open(pf, 5, TRADE_MODE_LIVE, X("10")), ATP_EEXIST);
    cr_assert_eq(portfolio_account_open(pf, 5, TRADE_MODE_PAPER, X("10")), ATP_OK);
    cr_assert_eq(portfolio_account_open(pf, 0, TRADE_MODE_PAPER, X("10")), ATP_EINVAL);
    cr_assert_eq(portfolio_account_open(pf, 6, TRADE_MODE_PAPER, -1), ATP_EINVAL);
    struct fill f = mkfill(5, TRADE_MODE_LIVE, 1, ORDER_SIDE_BUY, 1, X("10"));
    cr_assert_eq(portfolio_apply_fill(pf, &f, 0, 0), ATP_OK);
    struct portfolio_position p;
    struct portfolio_key k = key_of(5, TRADE_MODE_LIVE, 0, 1);
    cr_assert_eq(portfolio_position_get(pf, &k, &p), ATP_OK);
    cr_assert_eq(p.margin, X("2")); /* MIS 20 % */
    portfolio_free(pf);
    portfolio_free(NULL);
}

/* ---- property test ------------------------------------------------------------------------------ */

#define P_ACCTS 2
#define P_STRATS 2
#define P_INSTS 3
#define P_KEYS (P_ACCTS * TRADE_MODE_COUNT * P_STRATS * P_INSTS)

/* The test's own model of one position: what it must hold, computed without the module's
 * formulas (no average, no closed-cost rounding). */
struct model_pos {
    int64_t qty;
    px_t buys, sells; /* sum of qty x price */
    px_t fill_px;     /* last fill price */
};

struct model {
    struct model_pos pos[P_KEYS];
    px_t cash[P_ACCTS][TRADE_MODE_COUNT];
    px_t charges[P_ACCTS][TRADE_MODE_COUNT];
    px_t mark[P_INSTS]; /* 0 = never marked */
    int seen[P_INSTS];  /* the instrument has a position record (marks before that are dropped) */
};

static int key_index(int a, int m, int s, int i)
{
    return ((a * TRADE_MODE_COUNT + m) * P_STRATS + s) * P_INSTS + i;
}

/* equity of one ledger from the model alone: cash + sum(qty x price the position is valued at) */
static px_t model_equity(const struct model *md, int a, int m)
{
    px_t eq = md->cash[a][m];
    for (int s = 0; s < P_STRATS; s++)
        for (int i = 0; i < P_INSTS; i++) {
            const struct model_pos *mp = &md->pos[key_index(a, m, s, i)];
            px_t px = md->mark[i] ? md->mark[i] : mp->fill_px;
            eq += mp->qty * px;
        }
    return eq;
}

static void check_all(const struct portfolio *pf, const struct model *md, int step)
{
    cr_assert(portfolio_check(pf), "step %d: portfolio_check", step);
    for (int a = 0; a < P_ACCTS; a++)
        for (int m = 0; m < TRADE_MODE_COUNT; m++) {
            struct portfolio_summary s;
            cr_assert_eq(portfolio_account_summary(pf, (uint64_t)a + 1, (enum trade_mode)m, &s),
                         ATP_OK);
            px_t want = model_equity(md, a, m);
            cr_assert_eq(s.equity, want, "step %d: equity %lld, model %lld", step,
                         (long long)s.equity, (long long)want);
            cr_assert_eq(s.equity, s.initial_cash + s.realized - s.charges + s.unrealized,
                         "step %d: identity", step);
            cr_assert_eq(s.cash, md->cash[a][m], "step %d: cash", step);
            cr_assert_eq(s.charges, md->charges[a][m], "step %d: charges", step);
        }
}

/* Random fills (sides, sizes, ticks of 0.05 around 100, charges to the 1/10000) and marks over
 * 2 accounts x 2 modes x 2 strategies x 3 instruments; after every step the ledgers agree with
 * the model exactly. Then everything is closed and each position's realized P&L equals its
 * sells minus its buys to the 1/10000 rupee. */
Test(portfolio, property_random_fills)
{
    for (uint64_t seed = 1; seed <= 20; seed++) {
        struct rng r;
        rng_seed(&r, seed);
        struct portfolio_config cfg;
        portfolio_config_default(&cfg);
        struct portfolio_account_init acc[P_ACCTS * TRADE_MODE_COUNT];
        struct model md;
        memset(&md, 0, sizeof md);
        for (int a = 0; a < P_ACCTS; a++)
            for (int m = 0; m < TRADE_MODE_COUNT; m++) {
                px_t cash = X("1000000") + (px_t)rng_below(&r, 1000000);
                acc[a * TRADE_MODE_COUNT + m] = (struct portfolio_account_init){
                    (uint64_t)a + 1, (enum trade_mode)m, cash};
                md.cash[a][m] = cash;
            }
        cfg.accounts = acc;
        cfg.account_count = P_ACCTS * TRADE_MODE_COUNT;
        struct portfolio *pf = NULL;
        cr_assert_eq(portfolio_new(&cfg, &pf, NULL), ATP_OK);

        for (int step = 0; step < 600; step++) {
            int i = (int)rng_below(&r, P_INSTS);
            if (rng_below(&r, 4) == 0) {
                px_t px = X("90") + (px_t)rng_below(&r, 400) * X("0.05");
                cr_assert_eq(portfolio_mark(pf, (uint32_t)i, px), ATP_OK);
                if (md.seen[i])
                    md.mark[i] = px;
            } else {
                int a = (int)rng_below(&r, P_ACCTS), m = (int)rng_below(&r, TRADE_MODE_COUNT);
                int s = (int)rng_below(&r, P_STRATS);
                enum order_side side = rng_below(&r, 2) ? ORDER_SIDE_BUY : ORDER_SIDE_SELL;
                int64_t qty = 1 + (int64_t)rng_below(&r, 50);
                px_t px = X("90") + (px_t)rng_below(&r, 400) * X("0.05");
                px_t chg = (px_t)rng_below(&r, 50001); /* 0..5 rupees, any 1/10000 */
                struct fill f = mkfill((uint64_t)a + 1, (enum trade_mode)m, (uint32_t)i, side,
                                       qty, px);
                cr_assert_eq(portfolio_apply_fill_product(pf, &f, (uint64_t)s,
                                                          (enum order_product)rng_below(&r, 3),
                                                          chg),
                             ATP_OK);
                struct model_pos *mp = &md.pos[key_index(a, m, s, i)];
                mp->qty += side == ORDER_SIDE_BUY ? qty : -qty;
                if (side == ORDER_SIDE_BUY) {
                    mp->buys += qty * px;
                    md.cash[a][m] -= qty * px + chg;
                } else {
                    mp->sells += qty * px;
                    md.cash[a][m] += qty * px - chg;
                }
                mp->fill_px = px;
                md.charges[a][m] += chg;
                md.seen[i] = 1;
            }
            check_all(pf, &md, step);
        }

        /* close everything at a random price, then realized == sells - buys per position */
        for (int a = 0; a < P_ACCTS; a++)
            for (int m = 0; m < TRADE_MODE_COUNT; m++)
                for (int s = 0; s < P_STRATS; s++)
                    for (int i = 0; i < P_INSTS; i++) {
                        struct model_pos *mp = &md.pos[key_index(a, m, s, i)];
                        if (mp->qty == 0)
                            continue;
                        px_t px = X("90") + (px_t)rng_below(&r, 400) * X("0.05");
                        int64_t qty = mp->qty > 0 ? mp->qty : -mp->qty;
                        enum order_side side = mp->qty > 0 ? ORDER_SIDE_SELL : ORDER_SIDE_BUY;
                        struct fill f = mkfill((uint64_t)a + 1, (enum trade_mode)m, (uint32_t)i,
                                               side, qty, px);
                        cr_assert_eq(portfolio_apply_fill(pf, &f, (uint64_t)s, 0), ATP_OK);
                        if (side == ORDER_SIDE_BUY) {
                            mp->buys += qty * px;
                            md.cash[a][m] -= qty * px;
                        } else {
                            mp->sells += qty * px;
                            md.cash[a][m] += qty * px;
                        }
                        mp->qty = 0;
                        mp->fill_px = px;
                    }
        check_all(pf, &md, -1);
        for (int a = 0; a < P_ACCTS; a++)
            for (int m = 0; m < TRADE_MODE_COUNT; m++) {
                px_t realized = 0;
                for (int s = 0; s < P_STRATS; s++)
                    for (int i = 0; i < P_INSTS; i++) {
                        const struct model_pos *mp = &md.pos[key_index(a, m, s, i)];
                        struct portfolio_key k = key_of((uint64_t)a + 1, (enum trade_mode)m,
                                                        (uint64_t)s, (uint32_t)i);
                        struct portfolio_position p;
                        if (portfolio_position_get(pf, &k, &p) != ATP_OK) {
                            cr_assert_eq(mp->buys + mp->sells, 0);
                            continue;
                        }
                        cr_assert_eq(p.qty, 0);
                        cr_assert_eq(p.cost, 0);
                        cr_assert_eq(p.unrealized, 0);
                        cr_assert_eq(p.realized, mp->sells - mp->buys,
                                     "seed %llu: realized %lld, sells - buys %lld",
                                     (unsigned long long)seed, (long long)p.realized,
                                     (long long)(mp->sells - mp->buys));
                        cr_assert_eq(p.buy_value, mp->buys);
                        cr_assert_eq(p.sell_value, mp->sells);
                        realized += p.realized;
                    }
                struct portfolio_summary sum;
                cr_assert_eq(portfolio_account_summary(pf, (uint64_t)a + 1, (enum trade_mode)m,
                                                       &sum),
                             ATP_OK);
                cr_assert_eq(sum.realized, realized);
                cr_assert_eq(sum.unrealized, 0);
                cr_assert_eq(sum.margin_used, 0);
                cr_assert_eq(sum.open_positions, 0);
                cr_assert_eq(sum.equity, sum.cash);
                cr_assert_eq(sum.cash, sum.initial_cash + realized - sum.charges);
            }
        portfolio_free(pf);
    }
}
