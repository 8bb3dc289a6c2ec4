/* portfolio/charges: what one executed order costs in brokerage, taxes and fees, exactly to the
 * paisa. The portfolio and the backtester call it for every fill.
 *
 * Two models:
 *  - FLAT: a percentage of the order's turnover, charged on each side (the seeds' paper/backtest
 *    "commission", 0.03% by default); reported as brokerage.
 *  - INDIAN: brokerage (Zerodha's schedule in the shipped data), STT, exchange transaction
 *    charge, NSE IPFT, SEBI fee, stamp duty (buy side) and GST, with the rates in force on the
 *    trade's IST date, read from a dated rate file (data/charges.csv, format in docs/charges.md).
 *    No statutory rate lives in this code.
 *
 * Unit of charging: ONE CALL = ONE EXECUTED ORDER. Per-order brokerage caps (Rs 20) and flat fees
 * apply once per call, so a caller with several fills of one order must add the quantities and
 * call once (at the average price), and two orders must be two calls. STT and stamp duty are
 * rounded per call too, whereas a contract note rounds them on the day's aggregate per client and
 * security; docs/charges.md discusses the difference (at most a rupee of STT per order).
 *
 * Money is px_t (4 decimals of a rupee); every component returned is a whole number of paise (or
 * of rupees, where the rate file says so: STT). Rates are charges_rate_t, exact fixed point. No
 * double is used anywhere. Nothing here allocates except the table loader, and a loaded table is
 * immutable, so any thread may compute charges against it concurrently. */
#ifndef ATP_PORTFOLIO_CHARGES_H
#define ATP_PORTFOLIO_CHARGES_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/err.h"
#include "core/px.h"
#include "model/instrument.h"

/* A rate in units of 1e-8 of a percent (1e-10 of the base): "0.00297" % is 297000, "18" % is
 * 1800000000. Parsed from decimal text, never through double. Valid rates are 0..100 %. */
typedef int64_t charges_rate_t;
#define CHARGES_RATE_PER_PCT 100000000LL                      /* units in one percent */
#define CHARGES_RATE_MAX (100 * CHARGES_RATE_PER_PCT)         /* 100 % */
#define CHARGES_RATE_DECIMALS 8                               /* decimals of a percent */
#define CHARGES_RATE_STR_MAX 16                               /* "100.00000000" + NUL */

/* The flat model's default, 0.03 % of turnover per side: the commission the seed design gives
 * for paper trading and backtests (seeds/003, "Apply configurable commission (default 0.03%)").
 * A simulation parameter, not a statutory rate. */
#define CHARGES_FLAT_DEFAULT_RATE ((charges_rate_t)3000000)

enum charges_segment {
    CHARGES_DELIVERY = 0, /* equity delivery (CNC) */
    CHARGES_INTRADAY,     /* equity intraday (MIS) */
    CHARGES_FUTURES,      /* equity/index futures */
    CHARGES_OPTIONS,      /* equity/index options: price is the premium */
    CHARGES_SEGMENT_COUNT
};

enum charges_side { CHARGES_BUY = 0, CHARGES_SELL, CHARGES_SIDE_COUNT };

/* One executed order. */
struct charges_req {
    enum charges_segment segment;
    enum exchange exchange; /* NSE or BSE for equity; NFO/BFO (or NSE/BSE) for F&O */
    enum charges_side side;
    px_t price;             /* > 0: traded price; for options the premium per unit */
    int64_t qty;            /* > 0 units (lots x lot size) */
    int64_t ist_day;        /* trade date as an IST day number (ts_ist_day) */
};

/* What the order costs, each component >= 0 and rounded as documented; total is their sum. */
struct charges_breakdown {
    px_t brokerage;    /* broker's fee (the whole charge under the FLAT model) */
    px_t stt;          /* securities transaction tax (whole rupees in the shipped data) */
    px_t exchange_txn; /* exchange transaction charge */
    px_t ipft;         /* NSE Investor Protection Fund Trust levy (0 on BSE) */
    px_t sebi;         /* SEBI turnover fee */
    px_t stamp;        /* stamp duty (buy side only) */
    px_t gst;          /* GST on brokerage + exchange_txn + ipft + sebi */
    px_t total;
};

/* The loaded rate table: opaque, immutable once loaded. */
struct charges_table;

enum charges_model_kind { CHARGES_MODEL_FLAT = 0, CHARGES_MODEL_INDIAN };

/* How a kernel charges fills. A plain value the caller keeps; table is borrowed (not owned) and
 * must outlive the model. */
struct charges_model {
    enum charges_model_kind kind;
    charges_rate_t flat_rate;           /* FLAT: percent of turnover per side */
    const struct charges_table *table;  /* INDIAN: the rates by date */
};

/* Parses a percentage written as decimal text of exactly len bytes ("0.03", "18", "0.00297",
 * ".5"): digits with an optional '.' and at most CHARGES_RATE_DECIMALS decimals (extra decimals
 * are accepted only when they are zeros), optional surrounding spaces. No sign, no exponent.
 * Returns ATP_OK; ATP_EPARSE for malformed text; ATP_ERANGE for too many decimals or a value
 * above 100 %. *out is untouched on failure; err (may be NULL) gets the reason, no location. */
int charges_rate_parse(const char *text, size_t len, charges_rate_t *out, struct atp_err *err);

/* Writes rate as its shortest exact percent text ("0.00297", "18", "0") into buf. Needs at most
 * CHARGES_RATE_STR_MAX bytes for a valid rate. Returns the full length like snprintf. */
int charges_rate_format(charges_rate_t rate, char *buf, size_t size);

/* Loads a rate file (format: docs/charges.md). All or nothing: on success *out is a new table the
 * caller frees with charges_table_free; on failure *out is set to NULL, nothing is kept and err
 * names file, line and field. Fails with ATP_EIO (cannot open/read), ATP_EPARSE (malformed row,
 * bad or missing header, bad number or date), ATP_EINVAL (unknown exchange, segment, item, side
 * or rounding; a value the item does not allow; unsorted dates; rates missing on the first date),
 * ATP_ERANGE (rate or amount out of range), ATP_EEXIST (the same item defined twice on one date),
 * ATP_ENOMEM. The stream is read to the end or the error and not closed; name is used in
 * messages only. */
int charges_table_load(const char *path, struct charges_table **out, struct atp_err *err);
int charges_table_load_stream(FILE *f, const char *name, struct charges_table **out,
                              struct atp_err *err);

/* Frees a table; NULL is a no-op. */
void charges_table_free(struct charges_table *t);

/* First IST day the table has rates for (its earliest effective_from); charges for earlier days
 * fail with ATP_ERANGE. */
int64_t charges_table_first_day(const struct charges_table *t);

/* The INDIAN model's charges for one executed order on req->ist_day. Returns ATP_OK with *out
 * filled; ATP_EINVAL for a bad request (segment, side, exchange not NSE/BSE/NFO/BFO, equity on a
 * derivatives exchange, price or qty <= 0, no table); ATP_ERANGE for a day before the table's
 * first day; ATP_EOVERFLOW when price x qty or the total does not fit in px_t. *out is untouched
 * on failure; err may be NULL. Does not allocate. */
int charges_indian(const struct charges_table *t, const struct charges_req *req,
                   struct charges_breakdown *out, struct atp_err *err);

/* The FLAT model: brokerage = rate x price x qty rounded half-up to the paisa, every other
 * component 0 (segment, exchange, side and day are not used but must be valid enums). Errors as
 * charges_indian, plus ATP_ERANGE for a rate outside 0..100 %. */
int charges_flat(charges_rate_t rate, const struct charges_req *req,
                 struct charges_breakdown *out, struct atp_err *err);

/* Dispatches on m->kind (FLAT with m->flat_rate, INDIAN with m->table). */
int charges_compute(const struct charges_model *m, const struct charges_req *req,
                    struct charges_breakdown *out, struct atp_err *err);

/* Names ("delivery", "intraday", "futures", "options"; "buy", "sell") and case-insensitive
 * parsers accepting them and the product codes CNC (delivery) and MIS (intraday). ATP_EINVAL for
 * unknown text. */
const char *charges_segment_name(enum charges_segment s);
int charges_segment_parse(const char *text, enum charges_segment *out);
const char *charges_side_name(enum charges_side s);

#endif
