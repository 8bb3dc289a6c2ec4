/* Tests of portfolio/charges: worked contract-note examples against the shipped data/charges.csv
 * in each rate period (every figure computed by hand in the comments, exact to the paisa), the
 * brokerage cap and min rule, rounding edges, the flat model, rate text, every loader error path
 * (file, line and field asserted), all-or-nothing loading under allocation failure, and leaks. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/ts.h"
#include "portfolio/charges.h"
#include "testutil.h"

static long live_at_start;
static struct charges_table *shipped; /* data/charges.csv, loaded per test */

static void setup(void)
{
    live_at_start = atp_alloc_live();
}

/* Every test frees what it made: the allocator's live count is back where it started. */
static void teardown(void)
{
    atp_alloc_fail_after(0);
    cr_expect_eq(atp_alloc_live(), live_at_start, "leak: %ld live blocks, %ld at start",
                 atp_alloc_live(), live_at_start);
}

static void setup_shipped(void)
{
    struct atp_err err;
    live_at_start = atp_alloc_live();
    int rc = charges_table_load(tu_root_path("data/charges.csv"), &shipped, &err);
    char msg[512];
    cr_assert_eq(rc, ATP_OK, "data/charges.csv: %s", atp_err_format(&err, msg, sizeof msg));
}

static void teardown_shipped(void)
{
    charges_table_free(shipped);
    shipped = NULL;
    teardown();
}

TestSuite(charges, .init = setup, .fini = teardown);
TestSuite(charges_data, .init = setup_shipped, .fini = teardown_shipped);

/* Rupees and paise to px_t: R(33, 72) is Rs 33.72. */
#define R(rupees, paise) ((px_t)(rupees) * PX_SCALE + (px_t)(paise) * 100)

static int64_t day_of(int y, int m, int d)
{
    return ts_days_from_civil(y, m, d);
}

/* ---- worked examples against the shipped rates ------------------------------------------------
 * Each row is one executed order; the comment above it is the hand computation. Rounding: each
 * component half-up to the paisa, STT half-up to the rupee; GST is 18% of the rounded brokerage +
 * exchange_txn + ipft + sebi. */

struct example {
    const char *what;
    int y, m, d;
    enum charges_segment segment;
    enum exchange exchange;
    enum charges_side side;
    px_t price;
    int64_t qty;
    struct charges_breakdown want; /* brokerage, stt, exchange_txn, ipft, sebi, stamp, gst, total */
};

static const struct example examples[] = {
    /* 1 Jan 2026, NSE intraday (MIS), BUY 100 RELIANCE @ 1500.00: turnover 1,50,000.00.
     * brokerage min(0.03% = 45.00, 20) = 20.00 (cap); STT buy 0;
     * txn 0.00297% = 4.455 -> 4.46 (a half paisa rounds up); IPFT 0.0001% = 0.15; SEBI 0.15;
     * stamp 0.003% = 4.50; GST 18% x (20 + 4.46 + 0.15 + 0.15 = 24.76) = 4.4568 -> 4.46;
     * total 20 + 0 + 4.46 + 0.15 + 0.15 + 4.50 + 4.46 = 33.72. */
    {"intraday buy, period 2", 2026, 1, 1, CHARGES_INTRADAY, EXCH_NSE, CHARGES_BUY, R(1500, 0), 100,
     {R(20, 0), 0, R(4, 46), R(0, 15), R(0, 15), R(4, 50), R(4, 46), R(33, 72)}},
    /* Same day, SELL 100 @ 1510.00: turnover 1,51,000.00.
     * brokerage min(45.30, 20) = 20.00; STT 0.025% = 37.75 -> Rs 38 (rupee);
     * txn 0.00297% = 4.4847 -> 4.48; IPFT 0.151 -> 0.15; SEBI 0.15; stamp 0 (sell);
     * GST 18% x (20 + 4.48 + 0.15 + 0.15 = 24.78) = 4.4604 -> 4.46;
     * total 20 + 38 + 4.48 + 0.15 + 0.15 + 0 + 4.46 = 67.24. Round trip: 33.72 + 67.24 = 100.96. */
    {"intraday sell, period 2", 2026, 1, 1, CHARGES_INTRADAY, EXCH_NSE, CHARGES_SELL, R(1510, 0),
     100, {R(20, 0), R(38, 0), R(4, 48), R(0, 15), R(0, 15), 0, R(4, 46), R(67, 24)}},
    /* 2 Jun 2025, NSE delivery (CNC), BUY 50 @ 3456.70: turnover 1,72,835.00.
     * brokerage 0; STT 0.1% = 172.835 -> Rs 173; txn 0.00297% = 5.1331995 -> 5.13;
     * IPFT 0.172835 -> 0.17; SEBI 0.17; stamp 0.015% = 25.92525 -> 25.93;
     * GST 18% x (0 + 5.13 + 0.17 + 0.17 = 5.47) = 0.9846 -> 0.98;
     * total 0 + 173 + 5.13 + 0.17 + 0.17 + 25.93 + 0.98 = 205.38. */
    {"delivery buy NSE, period 2", 2025, 6, 2, CHARGES_DELIVERY, EXCH_NSE, CHARGES_BUY,
     R(3456, 70), 50, {0, R(173, 0), R(5, 13), R(0, 17), R(0, 17), R(25, 93), R(0, 98), R(205, 38)}},
    /* 3 Jun 2025, BSE delivery, SELL 50 @ 3500.00: turnover 1,75,000.00.
     * brokerage 0; STT 0.1% = 175.00; txn BSE 0.00375% = 6.5625 -> 6.56; IPFT 0 (NSE only);
     * SEBI 0.0001% = 0.175 -> 0.18 (half up); stamp 0 (sell);
     * GST 18% x (6.56 + 0 + 0.18 = 6.74) = 1.2132 -> 1.21; total 175 + 6.56 + 0.18 + 1.21 = 182.95. */
    {"delivery sell BSE, period 2", 2025, 6, 3, CHARGES_DELIVERY, EXCH_BSE, CHARGES_SELL,
     R(3500, 0), 50, {0, R(175, 0), R(6, 56), 0, R(0, 18), 0, R(1, 21), R(182, 95)}},
    /* 20 Jan 2026, NIFTY futures (NFO), BUY 1 lot of 65 @ 25310.50: turnover 16,45,182.50.
     * brokerage min(493.55, 20) = 20; STT buy 0; txn 0.00173% = 28.46165725 -> 28.46;
     * IPFT 1.6451825 -> 1.65; SEBI 1.65; stamp 0.002% = 32.90365 -> 32.90;
     * GST 18% x (20 + 28.46 + 1.65 + 1.65 = 51.76) = 9.3168 -> 9.32;
     * total 20 + 0 + 28.46 + 1.65 + 1.65 + 32.90 + 9.32 = 93.98. */
    {"NIFTY futures buy, period 2", 2026, 1, 20, CHARGES_FUTURES, EXCH_NFO, CHARGES_BUY,
     R(25310, 50), 65,
     {R(20, 0), 0, R(28, 46), R(1, 65), R(1, 65), R(32, 90), R(9, 32), R(93, 98)}},
    /* Same day, SELL 65 @ 25402.00: turnover 16,51,130.00.
     * brokerage 20; STT 0.02% = 330.226 -> Rs 330; txn 0.00173% = 28.564549 -> 28.56;
     * IPFT 1.65113 -> 1.65; SEBI 1.65; stamp 0;
     * GST 18% x (20 + 28.56 + 1.65 + 1.65 = 51.86) = 9.3348 -> 9.33;
     * total 20 + 330 + 28.56 + 1.65 + 1.65 + 9.33 = 391.19. Round trip 93.98 + 391.19 = 485.17. */
    {"NIFTY futures sell, period 2", 2026, 1, 20, CHARGES_FUTURES, EXCH_NFO, CHARGES_SELL,
     R(25402, 0), 65, {R(20, 0), R(330, 0), R(28, 56), R(1, 65), R(1, 65), 0, R(9, 33), R(391, 19)}},
    /* The same futures sell on 7 Apr 2026 (Budget 2026): STT 0.05% = 825.565 -> Rs 826, the rest
     * as above: total 20 + 826 + 28.56 + 1.65 + 1.65 + 9.33 = 887.19. */
    {"NIFTY futures sell, period 3", 2026, 4, 7, CHARGES_FUTURES, EXCH_NFO, CHARGES_SELL,
     R(25402, 0), 65, {R(20, 0), R(826, 0), R(28, 56), R(1, 65), R(1, 65), 0, R(9, 33), R(887, 19)}},
    /* ... and on 30 Sep 2024 (period 1): STT 0.0125% = 206.39125 -> Rs 206; txn 0.00188% =
     * 31.040244 -> 31.04; GST 18% x (20 + 31.04 + 1.65 + 1.65 = 54.34) = 9.7812 -> 9.78;
     * total 20 + 206 + 31.04 + 1.65 + 1.65 + 9.78 = 270.12. */
    {"NIFTY futures sell, period 1", 2024, 9, 30, CHARGES_FUTURES, EXCH_NFO, CHARGES_SELL,
     R(25402, 0), 65, {R(20, 0), R(206, 0), R(31, 4), R(1, 65), R(1, 65), 0, R(9, 78), R(270, 12)}},
    /* 14 Jun 2024 (before Oct 2024), NIFTY option BUY 75 @ premium 120.50: premium 9,037.50.
     * brokerage flat 20; STT buy 0; txn 0.0495% = 4.4735625 -> 4.47; IPFT 0.0005% = 0.0451875 ->
     * 0.05; SEBI 0.0090375 -> 0.01; stamp 0.003% = 0.271125 -> 0.27;
     * GST 18% x (20 + 4.47 + 0.05 + 0.01 = 24.53) = 4.4154 -> 4.42;
     * total 20 + 0 + 4.47 + 0.05 + 0.01 + 0.27 + 4.42 = 29.22. */
    {"options buy, period 1", 2024, 6, 14, CHARGES_OPTIONS, EXCH_NFO, CHARGES_BUY, R(120, 50), 75,
     {R(20, 0), 0, R(4, 47), R(0, 5), R(0, 1), R(0, 27), R(4, 42), R(29, 22)}},
    /* Same day, SELL 75 @ 135.25: premium 10,143.75. brokerage 20;
     * STT 0.0625% = 6.33984375 -> Rs 6; txn 0.0495% = 5.02115625 -> 5.02; IPFT 0.05071875 -> 0.05;
     * SEBI 0.01014375 -> 0.01; stamp 0; GST 18% x (20 + 5.02 + 0.05 + 0.01 = 25.08) = 4.5144 ->
     * 4.51; total 20 + 6 + 5.02 + 0.05 + 0.01 + 4.51 = 35.59. */
    {"options sell, period 1", 2024, 6, 14, CHARGES_OPTIONS, EXCH_NFO, CHARGES_SELL, R(135, 25), 75,
     {R(20, 0), R(6, 0), R(5, 2), R(0, 5), R(0, 1), 0, R(4, 51), R(35, 59)}},
    /* 15 Apr 2026 (after Budget 2026), BUY 75 @ 120.50: premium 9,037.50. brokerage 20; STT 0;
     * txn 0.03503% = 3.16583625 -> 3.17; IPFT 0.05; SEBI 0.01; stamp 0.27;
     * GST 18% x (20 + 3.17 + 0.05 + 0.01 = 23.23) = 4.1814 -> 4.18;
     * total 20 + 3.17 + 0.05 + 0.01 + 0.27 + 4.18 = 27.68. */
    {"options buy, period 3", 2026, 4, 15, CHARGES_OPTIONS, EXCH_NFO, CHARGES_BUY, R(120, 50), 75,
     {R(20, 0), 0, R(3, 17), R(0, 5), R(0, 1), R(0, 27), R(4, 18), R(27, 68)}},
    /* Same day, SELL 75 @ 135.25: premium 10,143.75. STT 0.15% = 15.215625 -> Rs 15;
     * txn 0.03503% = 3.553355625 -> 3.55; IPFT 0.05; SEBI 0.01; stamp 0;
     * GST 18% x (20 + 3.55 + 0.05 + 0.01 = 23.61) = 4.2498 -> 4.25;
     * total 20 + 15 + 3.55 + 0.05 + 0.01 + 4.25 = 42.86. */
    {"options sell, period 3", 2026, 4, 15, CHARGES_OPTIONS, EXCH_NFO, CHARGES_SELL, R(135, 25), 75,
     {R(20, 0), R(15, 0), R(3, 55), R(0, 5), R(0, 1), 0, R(4, 25), R(42, 86)}},
    /* The boundary: 31 Mar 2026 still charges 0.1% STT on that sell: 10.14375 -> Rs 10, total
     * 20 + 10 + 3.55 + 0.05 + 0.01 + 4.25 = 37.86; 1 Apr 2026 is the first day at 0.15%. */
    {"options sell, last day of period 2", 2026, 3, 31, CHARGES_OPTIONS, EXCH_NFO, CHARGES_SELL,
     R(135, 25), 75, {R(20, 0), R(10, 0), R(3, 55), R(0, 5), R(0, 1), 0, R(4, 25), R(37, 86)}},
    {"options sell, first day of period 3", 2026, 4, 1, CHARGES_OPTIONS, EXCH_NFO, CHARGES_SELL,
     R(135, 25), 75, {R(20, 0), R(15, 0), R(3, 55), R(0, 5), R(0, 1), 0, R(4, 25), R(42, 86)}},
    /* 1 Oct 2024 is the first day of period 2: the 30 Sep futures sell now pays STT 0.02% = Rs 330
     * and txn 28.56, total 391.19 (as on 20 Jan 2026). */
    {"futures sell, first day of period 2", 2024, 10, 1, CHARGES_FUTURES, EXCH_NFO, CHARGES_SELL,
     R(25402, 0), 65, {R(20, 0), R(330, 0), R(28, 56), R(1, 65), R(1, 65), 0, R(9, 33), R(391, 19)}},
    /* Brokerage min rule: 10 Mar 2025, intraday BUY 10 @ 500.00: turnover 5,000.00;
     * brokerage 0.03% = 1.50 (< 20); txn 0.1485 -> 0.15; IPFT 0.005 -> 0.01 (half up); SEBI 0.01;
     * stamp 0.15; GST 18% x (1.50 + 0.15 + 0.01 + 0.01 = 1.67) = 0.3006 -> 0.30;
     * total 1.50 + 0.15 + 0.01 + 0.01 + 0.15 + 0.30 = 2.12. */
    {"brokerage min rule", 2025, 3, 10, CHARGES_INTRADAY, EXCH_NSE, CHARGES_BUY, R(500, 0), 10,
     {R(1, 50), 0, R(0, 15), R(0, 1), R(0, 1), R(0, 15), R(0, 30), R(2, 12)}},
    /* Brokerage at the cap: SELL 50 @ 1333.00 = 66,650.00: 0.03% = 19.995 -> 20.00 (half up; the
     * cap is not what bites); STT 0.025% = 16.6625 -> Rs 17; txn 1.979505 -> 1.98; IPFT 0.06665 ->
     * 0.07; SEBI 0.07; GST 18% x (20 + 1.98 + 0.07 + 0.07 = 22.12) = 3.9816 -> 3.98;
     * total 20 + 17 + 1.98 + 0.07 + 0.07 + 3.98 = 43.10. */
    {"brokerage rounds up to the cap", 2025, 3, 10, CHARGES_INTRADAY, EXCH_NSE, CHARGES_SELL,
     R(1333, 0), 50, {R(20, 0), R(17, 0), R(1, 98), R(0, 7), R(0, 7), 0, R(3, 98), R(43, 10)}},
    /* STT rounding to the rupee, tie: intraday SELL 10 @ 200.00 = 2,000.00 on 10 Jan 2025:
     * STT 0.025% = 0.50 -> Rs 1 (half up); brokerage 0.60; txn 0.0594 -> 0.06; IPFT 0.002 -> 0;
     * SEBI 0; GST 18% x (0.60 + 0.06) = 0.1188 -> 0.12; total 0.60 + 1 + 0.06 + 0.12 = 1.78. */
    {"STT half rupee rounds up", 2025, 1, 10, CHARGES_INTRADAY, EXCH_NSE, CHARGES_SELL, R(200, 0),
     10, {R(0, 60), R(1, 0), R(0, 6), 0, 0, 0, R(0, 12), R(1, 78)}},
    /* 5 Aug 2025, BSE SENSEX option SELL 20 @ 250.00 (BFO): premium 5,000.00. brokerage 20;
     * STT 0.1% = Rs 5; txn BSE 0.0325% = 1.625 -> 1.63; IPFT 0 on BSE; SEBI 0.005 -> 0.01;
     * GST 18% x (20 + 1.63 + 0.01 = 21.64) = 3.8952 -> 3.90; total 20 + 5 + 1.63 + 0.01 + 3.90 =
     * 30.54. */
    {"BSE options sell", 2025, 8, 5, CHARGES_OPTIONS, EXCH_BFO, CHARGES_SELL, R(250, 0), 20,
     {R(20, 0), R(5, 0), R(1, 63), 0, R(0, 1), 0, R(3, 90), R(30, 54)}},
    /* Same day, BSE SENSEX futures BUY 20 @ 80000.00: 16,00,000.00. brokerage 20 (cap); txn 0 on
     * BSE futures; IPFT 0; SEBI 1.60; stamp 0.002% = 32.00; GST 18% x (20 + 0 + 0 + 1.60) = 3.888
     * -> 3.89; total 20 + 1.60 + 32 + 3.89 = 57.49. */
    {"BSE futures buy", 2025, 8, 5, CHARGES_FUTURES, EXCH_BFO, CHARGES_BUY, R(80000, 0), 20,
     {R(20, 0), 0, 0, 0, R(1, 60), R(32, 0), R(3, 89), R(57, 49)}},
    /* First day of the table, 3 Apr 2023: delivery SELL 1 @ 2000.00: STT 0.1% = Rs 2; txn 0.00322%
     * = 0.0644 -> 0.06; IPFT 0.002 -> 0; SEBI 0; GST 18% x 0.06 = 0.0108 -> 0.01;
     * total 2 + 0.06 + 0.01 = 2.07. */
    {"delivery sell, period 1", 2023, 4, 3, CHARGES_DELIVERY, EXCH_NSE, CHARGES_SELL, R(2000, 0), 1,
     {0, R(2, 0), R(0, 6), 0, 0, 0, R(0, 1), R(2, 7)}},
};

static void expect_breakdown(const char *what, const struct charges_breakdown *got,
                             const struct charges_breakdown *want)
{
    static const char *const names[8] = {"brokerage", "stt",   "exchange_txn", "ipft",
                                         "sebi",      "stamp", "gst",          "total"};
    const px_t g[8] = {got->brokerage, got->stt,   got->exchange_txn, got->ipft,
                       got->sebi,      got->stamp, got->gst,          got->total};
    const px_t w[8] = {want->brokerage, want->stt,   want->exchange_txn, want->ipft,
                       want->sebi,      want->stamp, want->gst,          want->total};
    for (int i = 0; i < 8; i++) {
        char gs[PX_STR_MAX], ws[PX_STR_MAX];
        px_format(g[i], gs, sizeof gs);
        px_format(w[i], ws, sizeof ws);
        cr_expect_eq(g[i], w[i], "%s: %s is %s, want %s", what, names[i], gs, ws);
    }
    cr_expect_eq(got->total,
                 got->brokerage + got->stt + got->exchange_txn + got->ipft + got->sebi +
                     got->stamp + got->gst,
                 "%s: total is not the sum of the parts", what);
}

Test(charges_data, worked_examples)
{
    for (size_t i = 0; i < sizeof examples / sizeof examples[0]; i++) {
        const struct example *x = &examples[i];
        struct charges_req req = {x->segment, x->exchange, x->side, x->price, x->qty,
                                  day_of(x->y, x->m, x->d)};
        struct charges_breakdown got;
        struct atp_err err;
        int rc = charges_indian(shipped, &req, &got, &err);
        cr_assert_eq(rc, ATP_OK, "%s: rc %d (%s)", x->what, rc, err.msg);
        expect_breakdown(x->what, &got, &x->want);
    }
}

Test(charges_data, intraday_round_trip_through_the_model)
{
    /* The portfolio's path: a model value and charges_compute. 33.72 + 67.24 = 100.96. */
    struct charges_model m = {CHARGES_MODEL_INDIAN, 0, shipped};
    struct charges_req buy = {CHARGES_INTRADAY, EXCH_NSE, CHARGES_BUY, R(1500, 0), 100,
                              day_of(2026, 1, 1)};
    struct charges_req sell = buy;
    sell.side = CHARGES_SELL;
    sell.price = R(1510, 0);
    struct charges_breakdown b, s;
    cr_assert_eq(charges_compute(&m, &buy, &b, NULL), ATP_OK);
    cr_assert_eq(charges_compute(&m, &sell, &s, NULL), ATP_OK);
    cr_expect_eq(b.total + s.total, R(100, 96));
}

Test(charges_data, shipped_table_shape)
{
    cr_expect_eq(charges_table_first_day(shipped), day_of(2023, 4, 1));
    /* NSE and NFO price the same; equity on NSE vs BSE differ only in txn and IPFT. */
    struct charges_req a = {CHARGES_FUTURES, EXCH_NSE, CHARGES_SELL, R(25402, 0), 65,
                            day_of(2026, 1, 20)};
    struct charges_req b = a;
    b.exchange = EXCH_NFO;
    struct charges_breakdown ca, cb;
    cr_assert_eq(charges_indian(shipped, &a, &ca, NULL), ATP_OK);
    cr_assert_eq(charges_indian(shipped, &b, &cb, NULL), ATP_OK);
    cr_expect_eq(memcmp(&ca, &cb, sizeof ca), 0);
    /* Options brokerage is flat: Rs 20 on a tiny premium (1 x 0.05) and on a big one. */
    struct charges_req o = {CHARGES_OPTIONS, EXCH_NFO, CHARGES_BUY, 500, 1, day_of(2025, 5, 5)};
    cr_assert_eq(charges_indian(shipped, &o, &ca, NULL), ATP_OK);
    cr_expect_eq(ca.brokerage, R(20, 0));
    o.price = R(900, 0);
    o.qty = 1800;
    cr_assert_eq(charges_indian(shipped, &o, &ca, NULL), ATP_OK);
    cr_expect_eq(ca.brokerage, R(20, 0));
    /* Delivery brokerage is zero at any size. */
    struct charges_req d = {CHARGES_DELIVERY, EXCH_NSE, CHARGES_BUY, R(2500, 0), 10000,
                            day_of(2025, 5, 5)};
    cr_assert_eq(charges_indian(shipped, &d, &ca, NULL), ATP_OK);
    cr_expect_eq(ca.brokerage, 0);
    cr_expect_eq(ca.stt, R(25000, 0)); /* 0.1% of 2,50,00,000 */
}

Test(charges_data, request_errors)
{
    struct charges_breakdown out;
    memset(&out, 0x5a, sizeof out);
    struct charges_breakdown before = out;
    struct atp_err err;
    const struct charges_req good = {CHARGES_INTRADAY, EXCH_NSE, CHARGES_BUY, R(100, 0), 1,
                                     day_of(2025, 1, 1)};
    struct charges_req r;

    r = good;
    r.ist_day = day_of(2023, 3, 31); /* the day before the table starts */
    cr_expect_eq(charges_indian(shipped, &r, &out, &err), ATP_ERANGE);
    cr_expect_str_eq(err.field, "ist_day");
    cr_expect(strstr(err.msg, "2023-03-31") && strstr(err.msg, "2023-04-01"), "%s", err.msg);

    r = good;
    r.exchange = EXCH_NFO; /* equity on a derivatives exchange */
    cr_expect_eq(charges_indian(shipped, &r, &out, &err), ATP_EINVAL);
    cr_expect_str_eq(err.field, "exchange");
    r.exchange = EXCH_MCX;
    cr_expect_eq(charges_indian(shipped, &r, &out, &err), ATP_EINVAL);
    cr_expect_str_eq(err.field, "exchange");
    r.exchange = (enum exchange)99;
    cr_expect_eq(charges_indian(shipped, &r, &out, &err), ATP_EINVAL);

    r = good;
    r.price = 0;
    cr_expect_eq(charges_indian(shipped, &r, &out, &err), ATP_EINVAL);
    cr_expect_str_eq(err.field, "price");
    r.price = -R(1, 0);
    cr_expect_eq(charges_indian(shipped, &r, &out, &err), ATP_EINVAL);
    r = good;
    r.qty = 0;
    cr_expect_eq(charges_indian(shipped, &r, &out, &err), ATP_EINVAL);
    cr_expect_str_eq(err.field, "qty");
    r.qty = INT64_MAX; /* price x qty overflows */
    cr_expect_eq(charges_indian(shipped, &r, &out, &err), ATP_EOVERFLOW);
    r = good;
    r.segment = CHARGES_SEGMENT_COUNT;
    cr_expect_eq(charges_indian(shipped, &r, &out, &err), ATP_EINVAL);
    cr_expect_str_eq(err.field, "segment");
    r = good;
    r.side = (enum charges_side)-1;
    cr_expect_eq(charges_indian(shipped, &r, &out, &err), ATP_EINVAL);
    cr_expect_str_eq(err.field, "side");
    cr_expect_eq(charges_indian(NULL, &good, &out, &err), ATP_EINVAL);
    cr_expect_eq(charges_indian(shipped, NULL, &out, &err), ATP_EINVAL);
    cr_expect_eq(charges_compute(NULL, &good, &out, &err), ATP_EINVAL);
    struct charges_model bad_kind = {(enum charges_model_kind)7, 0, shipped};
    cr_expect_eq(charges_compute(&bad_kind, &good, &out, &err), ATP_EINVAL);
    cr_expect_eq(memcmp(&out, &before, sizeof out), 0, "out written on failure");

    /* The biggest turnover that fits still computes exactly (128-bit intermediates): delivery
     * STT 0.1% alone is ~9.2e14 rupees. */
    r = good;
    r.segment = CHARGES_DELIVERY;
    r.price = 1;
    r.qty = INT64_MAX - 1;
    cr_expect_eq(charges_indian(shipped, &r, &out, &err), ATP_OK, "%s", err.msg);
    /* 0.1% of 922,337,203,685,477.5806 rupees = 922,337,203,685.4775806 -> Rs 922,337,203,685. */
    cr_expect_eq(out.stt, (px_t)922337203685LL * PX_SCALE);
}

/* ---- the flat model --------------------------------------------------------------------------- */

Test(charges, flat_model)
{
    struct charges_breakdown out;
    struct atp_err err;
    /* 0.03% of 1,50,000.00 = 45.00, everything else 0. */
    struct charges_req req = {CHARGES_INTRADAY, EXCH_NSE, CHARGES_BUY, R(1500, 0), 100, 0};
    cr_assert_eq(charges_flat(CHARGES_FLAT_DEFAULT_RATE, &req, &out, &err), ATP_OK);
    expect_breakdown("flat 0.03% of 150000", &out,
                     &(struct charges_breakdown){R(45, 0), 0, 0, 0, 0, 0, 0, R(45, 0)});
    /* 7 @ 1500.05 = 10,500.35: 0.03% = 3.150105 -> 3.15; the sell side costs the same rate. */
    req.price = R(1500, 5);
    req.qty = 7;
    req.side = CHARGES_SELL;
    cr_assert_eq(charges_flat(CHARGES_FLAT_DEFAULT_RATE, &req, &out, &err), ATP_OK);
    cr_expect_eq(out.brokerage, R(3, 15));
    cr_expect_eq(out.total, R(3, 15));
    /* A configured 0.05% on 33,333.33 (1 @ 33333.33) = 16.6666665 -> 16.67; the day is not used
     * (no table, no date range). */
    charges_rate_t rate;
    cr_assert_eq(charges_rate_parse("0.05", 4, &rate, NULL), ATP_OK);
    struct charges_model m = {CHARGES_MODEL_FLAT, rate, NULL};
    req.price = R(33333, 33);
    req.qty = 1;
    req.ist_day = -100000;
    cr_assert_eq(charges_compute(&m, &req, &out, &err), ATP_OK);
    cr_expect_eq(out.brokerage, R(16, 67));
    /* Half a paisa rounds up: 0.03% of 50.00 (1 @ 50) = 0.015 -> 0.02. */
    req.price = R(50, 0);
    cr_assert_eq(charges_flat(CHARGES_FLAT_DEFAULT_RATE, &req, &out, &err), ATP_OK);
    cr_expect_eq(out.brokerage, R(0, 2));
    /* Zero rate is free; rates outside 0..100% and bad requests fail. */
    cr_assert_eq(charges_flat(0, &req, &out, &err), ATP_OK);
    cr_expect_eq(out.total, 0);
    cr_expect_eq(charges_flat(-1, &req, &out, &err), ATP_ERANGE);
    cr_expect_eq(charges_flat(CHARGES_RATE_MAX + 1, &req, &out, &err), ATP_ERANGE);
    req.qty = -5;
    cr_expect_eq(charges_flat(CHARGES_FLAT_DEFAULT_RATE, &req, &out, &err), ATP_EINVAL);
    cr_expect_str_eq(err.field, "qty");
}

/* ---- rate text ------------------------------------------------------------------------------- */

Test(charges, rate_parse_and_format)
{
    static const struct {
        const char *text;
        int rc;
        charges_rate_t want;
        const char *back; /* canonical text */
    } cases[] = {
        {"0.03", ATP_OK, 3000000, "0.03"},
        {"18", ATP_OK, 1800000000, "18"},
        {"0.00297", ATP_OK, 297000, "0.00297"},
        {"0.03503", ATP_OK, 3503000, "0.03503"},
        {"0.0001", ATP_OK, 10000, "0.0001"},
        {"0.00000001", ATP_OK, 1, "0.00000001"},
        {"0.0000000100", ATP_OK, 1, "0.00000001"}, /* trailing zeros past 8 decimals are fine */
        {" 0.1 ", ATP_OK, 10000000, "0.1"},
        {".5", ATP_OK, 50000000, "0.5"},
        {"5.", ATP_OK, 500000000, "5"},
        {"007", ATP_OK, 700000000, "7"},
        {"0", ATP_OK, 0, "0"},
        {"100", ATP_OK, CHARGES_RATE_MAX, "100"},
        {"100.00000000", ATP_OK, CHARGES_RATE_MAX, "100"},
        {"100.00000001", ATP_ERANGE, 0, NULL},
        {"101", ATP_ERANGE, 0, NULL},
        {"99999999999999999999999", ATP_ERANGE, 0, NULL},
        {"0.000000001", ATP_ERANGE, 0, NULL},
        {"", ATP_EPARSE, 0, NULL},
        {"  ", ATP_EPARSE, 0, NULL},
        {".", ATP_EPARSE, 0, NULL},
        {"-0.03", ATP_EPARSE, 0, NULL},
        {"+0.03", ATP_EPARSE, 0, NULL},
        {"0.03%", ATP_EPARSE, 0, NULL},
        {"3e-2", ATP_EPARSE, 0, NULL},
        {"1.2.3", ATP_EPARSE, 0, NULL},
        {"0,03", ATP_EPARSE, 0, NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        charges_rate_t v = -42;
        struct atp_err err;
        int rc = charges_rate_parse(cases[i].text, strlen(cases[i].text), &v, &err);
        cr_expect_eq(rc, cases[i].rc, "'%s': rc %d, want %d", cases[i].text, rc, cases[i].rc);
        if (cases[i].rc != ATP_OK) {
            cr_expect_eq(v, -42, "'%s': out written on failure", cases[i].text);
            cr_expect_neq(err.msg[0], '\0');
            continue;
        }
        cr_expect_eq(v, cases[i].want, "'%s' -> %lld", cases[i].text, (long long)v);
        char buf[CHARGES_RATE_STR_MAX];
        int n = charges_rate_format(v, buf, sizeof buf);
        cr_expect_str_eq(buf, cases[i].back);
        cr_expect_eq(n, (int)strlen(cases[i].back));
    }
    /* Only len bytes are read. */
    charges_rate_t v;
    cr_expect_eq(charges_rate_parse("0.03xyz", 4, &v, NULL), ATP_OK);
    cr_expect_eq(v, 3000000);
    char small[4];
    cr_expect_eq(charges_rate_format(297000, small, sizeof small), 7); /* "0.00297" truncated */
    cr_expect_str_eq(small, "0.0");
}

Test(charges, names)
{
    enum charges_segment s;
    cr_expect_str_eq(charges_segment_name(CHARGES_OPTIONS), "options");
    cr_expect_str_eq(charges_segment_name(CHARGES_SEGMENT_COUNT), "?");
    cr_expect_str_eq(charges_side_name(CHARGES_SELL), "sell");
    cr_expect_eq(charges_segment_parse("CNC", &s), ATP_OK);
    cr_expect_eq(s, CHARGES_DELIVERY);
    cr_expect_eq(charges_segment_parse("mis", &s), ATP_OK);
    cr_expect_eq(s, CHARGES_INTRADAY);
    cr_expect_eq(charges_segment_parse("Futures", &s), ATP_OK);
    cr_expect_eq(s, CHARGES_FUTURES);
    cr_expect_eq(charges_segment_parse("fno", &s), ATP_EINVAL);
    cr_expect_eq(charges_segment_parse(NULL, &s), ATP_EINVAL);
}

/* ---- the loader ------------------------------------------------------------------------------- */

#define HDR "effective_from,exchange,segment,item,side,rate_pct,flat_rupees,cap_rupees,round\n"

/* A complete minimal table on one date (lines 2..9 after the header on line 1). */
#define BASE(date)                                             \
    date ",*,*,brokerage,both,0.03,,20,\n"                     \
    date ",*,*,stt,sell,0.025,,,rupee\n"                       \
    date ",*,*,stt,buy,0,,,rupee\n"                            \
    date ",*,*,exchange_txn,both,0.00297,,,\n"                 \
    date ",*,*,ipft,both,0,,,\n"                               \
    date ",*,*,sebi,both,0.0001,,,\n"                          \
    date ",*,*,stamp,both,0.003,,,\n"                          \
    date ",*,*,gst,both,18,,,\n"

static int load_text(const char *text, struct charges_table **t, struct atp_err *err)
{
    FILE *f = tu_mem_file(text);
    cr_assert_not_null(f);
    int rc = charges_table_load_stream(f, "mem.csv", t, err);
    fclose(f);
    return rc;
}

Test(charges, loader_minimal_and_dated_versions)
{
    /* A second date changes STT on sells only; the buy side and other items carry over. */
    const char *text = "# comment\n" HDR BASE("2024-01-01")
        "2025-01-01,NSE,intraday,stt,sell,0.05,,,paisa\n";
    struct charges_table *t = NULL;
    struct atp_err err;
    int rc = load_text(text, &t, &err);
    cr_assert_eq(rc, ATP_OK, "%s", err.msg);
    cr_expect_eq(charges_table_first_day(t), day_of(2024, 1, 1));
    struct charges_req req = {CHARGES_INTRADAY, EXCH_NSE, CHARGES_SELL, R(1000, 0), 3,
                              day_of(2024, 12, 31)};
    struct charges_breakdown out;
    /* 3,000.00: STT 0.025% = 0.75 -> Rs 1 (rupee) on 31 Dec; from 1 Jan 2025 0.05% = 1.50
     * (paisa rounding on the new row). BSE keeps the old rate. */
    cr_assert_eq(charges_indian(t, &req, &out, NULL), ATP_OK);
    cr_expect_eq(out.stt, R(1, 0));
    req.ist_day = day_of(2025, 1, 1);
    cr_assert_eq(charges_indian(t, &req, &out, NULL), ATP_OK);
    cr_expect_eq(out.stt, R(1, 50));
    req.exchange = EXCH_BSE;
    cr_assert_eq(charges_indian(t, &req, &out, NULL), ATP_OK);
    cr_expect_eq(out.stt, R(1, 0));
    /* Stamp defined on both sides here (the loader does not impose buy-only; the data does). */
    cr_expect_eq(out.stamp, R(0, 9));
    charges_table_free(t);
    charges_table_free(NULL);
}

Test(charges, loader_flat_fee_and_cap)
{
    /* Brokerage with both a percentage and a flat part: 0.01% + Rs 5, capped at Rs 20.
     * 10,000.00 -> 1.00 + 5 = 6.00; 2,00,000.00 -> 20 + 5 = 25 -> cap 20. */
    const char *text = HDR
        "2024-01-01,*,*,brokerage,both,0.01,5,20,\n"
        "2024-01-01,*,*,stt,both,0,,,\n"
        "2024-01-01,*,*,exchange_txn,both,0,,,\n"
        "2024-01-01,*,*,ipft,both,0,,,\n"
        "2024-01-01,*,*,sebi,both,0,,,\n"
        "2024-01-01,*,*,stamp,both,0,,,\n"
        "2024-01-01,*,*,gst,both,0,,,\n";
    struct charges_table *t = NULL;
    struct atp_err err;
    cr_assert_eq(load_text(text, &t, &err), ATP_OK, "%s", err.msg);
    struct charges_req req = {CHARGES_FUTURES, EXCH_NFO, CHARGES_BUY, R(100, 0), 100,
                              day_of(2024, 5, 5)};
    struct charges_breakdown out;
    cr_assert_eq(charges_indian(t, &req, &out, NULL), ATP_OK);
    cr_expect_eq(out.brokerage, R(6, 0));
    cr_expect_eq(out.total, R(6, 0));
    req.qty = 2000;
    cr_assert_eq(charges_indian(t, &req, &out, NULL), ATP_OK);
    cr_expect_eq(out.brokerage, R(20, 0));
    charges_table_free(t);
}

struct load_case {
    const char *what;
    const char *text;
    int rc;
    long line;
    const char *field; /* "" when none */
    const char *msg_has;
};

static const struct load_case load_cases[] = {
    {"empty file", "", ATP_EPARSE, 0, "", "empty"},
    {"only comments", "# nothing\n\n", ATP_EPARSE, 0, "", "empty"},
    {"header only", HDR, ATP_EPARSE, 0, "", "no rate rows"},
    {"missing column", "effective_from,exchange,segment,item,side\n", ATP_EPARSE, 1, "rate_pct",
     "missing"},
    {"unknown column", "effective_from,exchange,segment,item,side,rate_pct,cap_rupee\n",
     ATP_EPARSE, 1, "cap_rupee", "unknown column"},
    {"duplicate column", "effective_from,exchange,segment,item,side,rate_pct,side\n", ATP_EPARSE,
     1, "side", "twice"},
    {"bad rate", HDR "2024-01-01,*,*,brokerage,both,0.0x3,,,\n", ATP_EPARSE, 2, "rate_pct",
     "0.0x3"},
    {"empty rate", HDR "2024-01-01,*,*,brokerage,both,,,,\n", ATP_EPARSE, 2, "rate_pct", "empty"},
    {"negative rate", HDR "2024-01-01,*,*,brokerage,both,-0.03,,,\n", ATP_EPARSE, 2, "rate_pct",
     "negative"},
    {"too precise rate", HDR "2024-01-01,*,*,brokerage,both,0.000000001,,,\n", ATP_ERANGE, 2,
     "rate_pct", "decimals"},
    {"rate above 100", HDR "2024-01-01,*,*,gst,both,180,,,\n", ATP_ERANGE, 2, "rate_pct",
     "above 100"},
    {"bad date", HDR "2024-13-01,*,*,brokerage,both,0,,,\n", ATP_EPARSE, 2, "effective_from",
     "2024-13-01"},
    {"date with time", HDR "2024-01-01T09:15,*,*,brokerage,both,0,,,\n", ATP_EPARSE, 2,
     "effective_from", "YYYY-MM-DD"},
    {"epoch ms date", HDR "1704067200000,*,*,brokerage,both,0,,,\n", ATP_EPARSE, 2,
     "effective_from", "not a date"},
    {"not a real day", HDR "2024-02-30,*,*,brokerage,both,0,,,\n", ATP_EPARSE, 2, "effective_from",
     "2024-02-30"},
    {"date before 1970", HDR "1969-12-31,*,*,brokerage,both,0,,,\n", ATP_EPARSE, 2,
     "effective_from", "1970..2200"},
    {"date past 2200", HDR "2300-01-01,*,*,brokerage,both,0,,,\n", ATP_EPARSE, 2,
     "effective_from", "2300-01-01"},
    {"short date", HDR "2024-1-01,*,*,brokerage,both,0,,,\n", ATP_EPARSE, 2, "effective_from",
     "2024-1-01"},
    {"unknown exchange", HDR "2024-01-01,MCX,*,brokerage,both,0,,,\n", ATP_EINVAL, 2, "exchange",
     "'MCX'"},
    {"unknown segment", HDR "2024-01-01,*,fno,brokerage,both,0,,,\n", ATP_EINVAL, 2, "segment",
     "'fno'"},
    {"unknown item", HDR "2024-01-01,*,*,ctt,both,0,,,\n", ATP_EINVAL, 2, "item", "'ctt'"},
    {"star item", HDR "2024-01-01,*,*,*,both,0,,,\n", ATP_EINVAL, 2, "item", "'*'"},
    {"unknown side", HDR "2024-01-01,*,*,stt,sel,0,,,\n", ATP_EINVAL, 2, "side", "'sel'"},
    {"unknown rounding", HDR "2024-01-01,*,*,stt,sell,0.1,,,nearest\n", ATP_EINVAL, 2, "round",
     "'nearest'"},
    {"bad flat", HDR "2024-01-01,*,*,brokerage,both,0,abc,,\n", ATP_EPARSE, 2, "flat_rupees",
     "abc"},
    {"negative cap", HDR "2024-01-01,*,*,brokerage,both,0.03,,-20,\n", ATP_ERANGE, 2,
     "cap_rupees", "negative"},
    {"cap in part paise", HDR "2024-01-01,*,*,brokerage,both,0.03,,20.005,\n", ATP_ERANGE, 2,
     "cap_rupees", "paise"},
    {"cap below flat", HDR "2024-01-01,*,*,brokerage,both,0,20,10,\n", ATP_EINVAL, 2,
     "cap_rupees", "below"},
    {"flat on stt", HDR "2024-01-01,*,*,stt,sell,0.1,20,,\n", ATP_EINVAL, 2, "flat_rupees",
     "only brokerage"},
    {"cap on gst", HDR "2024-01-01,*,*,gst,both,18,,5,\n", ATP_EINVAL, 2, "cap_rupees",
     "only brokerage"},
    {"too many fields", HDR "2024-01-01,*,*,brokerage,both,0,,,,extra\n", ATP_EPARSE, 2, "",
     "10 fields"},
    {"unsorted dates", HDR BASE("2024-06-01") "2024-05-31,*,*,stt,sell,0.1,,,rupee\n", ATP_EINVAL,
     10, "effective_from", "2024-06-01"},
    {"overlap on one date", HDR BASE("2024-01-01") "2024-01-01,NSE,options,stt,sell,0.1,,,\n",
     ATP_EEXIST, 10, "item", "line 3"},
    {"overlap in a later period",
     HDR BASE("2024-01-01") "2025-01-01,BSE,*,gst,both,18,,,\n2025-01-01,*,futures,gst,sell,18,,,\n",
     ATP_EEXIST, 11, "item", "BSE futures gst sell"},
    {"incomplete first date",
     HDR "2024-01-01,*,*,brokerage,both,0.03,,20,\n"
         "2024-01-01,*,*,stt,sell,0.025,,,rupee\n"
         "2024-01-01,*,*,exchange_txn,both,0.00297,,,\n"
         "2024-01-01,*,*,ipft,both,0,,,\n"
         "2024-01-01,*,*,sebi,both,0.0001,,,\n"
         "2024-01-01,*,*,stamp,both,0.003,,,\n"
         "2024-01-01,*,*,gst,both,18,,,\n",
     ATP_EINVAL, 0, "item", "NSE delivery stt buy on 2024-01-01"},
    {"item only from a later date",
     HDR "2024-01-01,*,*,brokerage,both,0.03,,20,\n"
         "2024-01-01,*,*,stt,both,0.025,,,rupee\n"
         "2024-01-01,*,*,exchange_txn,both,0.00297,,,\n"
         "2024-01-01,*,*,ipft,both,0,,,\n"
         "2024-01-01,*,*,sebi,both,0.0001,,,\n"
         "2024-01-01,*,*,stamp,both,0.003,,,\n"
         "2024-02-01,*,*,gst,both,18,,,\n",
     ATP_EINVAL, 0, "item", "gst"},
    {"unterminated quote", HDR "2024-01-01,\"NSE,*,brokerage,both,0,,,\n", ATP_EPARSE, 2, "",
     ""},
};

Test(charges, loader_errors)
{
    for (size_t i = 0; i < sizeof load_cases / sizeof load_cases[0]; i++) {
        const struct load_case *c = &load_cases[i];
        struct charges_table *t = (struct charges_table *)&t; /* must be reset to NULL */
        struct atp_err err;
        int rc = load_text(c->text, &t, &err);
        char line[512];
        atp_err_format(&err, line, sizeof line);
        cr_expect_eq(rc, c->rc, "%s: rc %d, want %d (%s)", c->what, rc, c->rc, line);
        cr_expect_null(t, "%s: table kept on failure", c->what);
        cr_expect_eq(err.code, c->rc, "%s: err.code %d", c->what, err.code);
        cr_expect_str_eq(err.file, "mem.csv", "%s: file '%s'", c->what, err.file);
        cr_expect_eq(err.line, c->line, "%s: line %ld, want %ld (%s)", c->what, err.line, c->line,
                     line);
        cr_expect_str_eq(err.field, c->field, "%s: field '%s', want '%s'", c->what, err.field,
                         c->field);
        cr_expect(strstr(err.msg, c->msg_has) != NULL, "%s: message '%s' lacks '%s'", c->what,
                  err.msg, c->msg_has);
    }
}

Test(charges, loader_io)
{
    struct charges_table *t = NULL;
    struct atp_err err;
    cr_expect_eq(charges_table_load("/nonexistent/charges.csv", &t, &err), ATP_EIO);
    cr_expect_str_eq(err.file, "/nonexistent/charges.csv");
    cr_expect_null(t);
    cr_expect_eq(charges_table_load(NULL, &t, &err), ATP_EIO);
    cr_expect_eq(charges_table_load_stream(NULL, "x", &t, &err), ATP_EINVAL);
    cr_expect_eq(charges_table_load_stream(stdin, "x", NULL, &err), ATP_EINVAL);
}

Test(charges, loader_row_limit)
{
    /* A full first date (8 rows) and 4096 later dates: row 4097 is one too many. */
    size_t cap = 5000 * 48 + 1000;
    char *text = atp_malloc(cap);
    cr_assert_not_null(text);
    size_t n = (size_t)snprintf(text, cap, "%s", HDR BASE("2000-01-01"));
    for (int i = 0; i < 4096; i++) {
        int y, m, d;
        ts_civil_from_days(day_of(2000, 1, 2) + i, &y, &m, &d);
        n += (size_t)snprintf(text + n, cap - n, "%04d-%02d-%02d,*,*,stt,sell,0.1,,,\n", y, m, d);
    }
    struct charges_table *t = NULL;
    struct atp_err err;
    cr_expect_eq(load_text(text, &t, &err), ATP_ERANGE);
    cr_expect_eq(err.line, 4098, "line %ld", err.line); /* data row 4097 is on line 4098 */
    cr_expect(strstr(err.msg, "4096") != NULL, "%s", err.msg);
    cr_expect_null(t);
    atp_free(text);
}

/* All or nothing under allocation failure: every allocation the loader makes is failed in turn;
 * each attempt either succeeds with a usable table or fails with ATP_ENOMEM and keeps nothing. */
Test(charges, loader_enomem)
{
    FILE *probe = fopen(tu_root_path("data/charges.csv"), "r");
    cr_assert_not_null(probe);
    fclose(probe);
    int failures = 0;
    for (long n = 1; n < 200; n++) {
        struct charges_table *t = NULL;
        struct atp_err err;
        atp_alloc_fail_after(n);
        int rc = charges_table_load(tu_root_path("data/charges.csv"), &t, &err);
        atp_alloc_fail_after(0);
        if (rc == ATP_OK) {
            cr_expect_not_null(t);
            charges_table_free(t);
            break;
        }
        failures++;
        cr_expect_eq(rc, ATP_ENOMEM, "n=%ld: rc %d (%s)", n, rc, err.msg);
        cr_expect_null(t);
        cr_expect_eq(atp_alloc_live(), live_at_start, "n=%ld: leak", n);
    }
    cr_expect_gt(failures, 2, "the loader should allocate a few blocks");
}
