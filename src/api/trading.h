/* api/trading: the server's paper trading service. It joins the paper trading kernel of the
 * market (api/market.h) to the store: every order and fill is written to the store before the
 * broker sees it or the client is answered, every order state change and fill goes out as a live
 * event (api/events.h), and at start-up the paper book is rebuilt from the store (accounts with
 * their funds, positions from the stored fills, working orders re-placed into the paper broker,
 * kill switches), so the store and the paper broker's book agree after any crash.
 * docs/orders.md "Persistence and recovery" has the rules and their reasons.
 *
 * Ids. The API's order ids are the store's. The kernel's own ids start at 1 in every process, so
 * the service keeps the map kernel id -> store id (and, for an order re-placed after a restart,
 * what it had filled before: the paper broker only holds its unfilled rest).
 *
 * Threads. The service has a store connection of its own and uses it only under the market lock:
 * inside api_market_exec (the api_trading_* calls below take the lock themselves) and in the bus
 * callbacks (the feed thread, under the lock). Handlers read orders and fills through their own
 * connection (req->store); what they change goes through here. One service per process:
 * api_trading_set_current publishes it to the handlers. */
#ifndef ATP_API_TRADING_H
#define ATP_API_TRADING_H

#include <stdint.h>

#include "api/market.h"
#include "core/err.h"
#include "core/px.h"
#include "kernel/kernel.h"
#include "model/order.h"
#include "risk/risk.h"
#include "store/store.h"

/* Starting capital of an account without a funds row: Rs 10,00,000. */
#define TRADING_DEFAULT_CAPITAL PX_RUPEES(1000000)

struct api_trading;

/* Opens the service's store connection (store_url, migrated by the caller), installs the order
 * hook and the bus subscriptions on the market's kernel and rebuilds the paper book from the
 * store. Call after api_market_new and before api_market_start (the restore then runs before any
 * price moves). ATP_EINVAL (m NULL), the store's errors, ATP_ENOMEM; a stored row the kernel
 * refuses is logged and skipped (docs/orders.md says why that cannot lose money silently). */
int api_trading_new(struct api_market *m, const char *store_url, struct api_trading **out,
                    struct atp_err *err);
/* Closes the store connection. Call after api_market_free (no more bus callbacks). NULL: no-op. */
void api_trading_free(struct api_trading *t);

/* The service the handlers use (NULL: none, they answer 503). */
void api_trading_set_current(struct api_trading *t);
struct api_trading *api_trading_current(void);

/* ---- for other services (strategies), under the market lock only ---------------------------- */

/* Makes sure account_id is open in kernel k with its funds (the stored starting capital, else
 * TRADING_DEFAULT_CAPITAL, which is then stored) and its stored kill switch. ATP_OK when it is
 * (or already was) open; the store's or kernel's error otherwise. Call inside api_market_exec
 * (k is its kernel) or a bus callback. */
int api_trading_account_ensure(struct api_trading *t, struct kernel *k, int64_t account_id,
                               struct atp_err *err);

/* ---- orders (each takes the market lock) ------------------------------------------------------- */

struct api_trading_place {
    int64_t account_id;
    uint32_t instrument_id;
    enum order_side side;
    enum order_type type;
    enum order_product product;
    enum order_validity validity;
    int64_t qty;
    px_t price;                         /* LIMIT, SL; else 0 */
    px_t trigger_price;                 /* SL, SL-M; else 0 */
    char client_key[ORDER_CLIENT_KEY_MAX]; /* Idempotency-Key, "" for none */
    struct stops_params stops;          /* protective exits armed on the fill; all 0: none */
};

/* Places a manual paper order through the kernel (risk gate, OMS, order hook = store, broker).
 * ATP_OK with *out the stored order as it stands once the call returns (a MARKET order may be
 * FILLED already); 1 when the account already has an order with this client key (*out is that
 * order; nothing placed). ATP_EINVAL (err names the field), ATP_ERANGE (risk denial: err->msg
 * has the reason code and the numbers), ATP_EIO (the store did not take it: not placed). */
int api_trading_place(struct api_trading *t, const struct api_trading_place *p, struct store_order *out,
                      struct atp_err *err);
/* Cancels / modifies a working order (the store's id). ATP_ENOTFOUND (not this account's),
 * ATP_ESTATE (final, or not working any more), ATP_ERANGE (risk denial), ATP_EINVAL. The new
 * qty is the total (filled included), > the filled quantity. *out: the order afterwards. */
int api_trading_cancel(struct api_trading *t, int64_t account_id, int64_t order_id, struct store_order *out,
                       struct atp_err *err);
int api_trading_modify(struct api_trading *t, int64_t account_id, int64_t order_id, int64_t qty, px_t price,
                       px_t trigger_price, struct store_order *out, struct atp_err *err);

/* ---- positions and funds ------------------------------------------------------------------------ */

struct api_trading_position {
    int64_t strategy_id;     /* 0: manual orders */
    uint32_t instrument_id;
    enum order_product product;
    int64_t qty;             /* signed: > 0 long, < 0 short, 0 closed */
    px_t avg_price;
    px_t last_price;         /* the mark */
    px_t realized;
    px_t unrealized;
    px_t charges;
    px_t net_pnl;            /* realized + unrealized - charges */
    int64_t qty_bought, qty_sold;
    px_t buy_value, sell_value;
};

/* The account's positions, one per (strategy, instrument) as the portfolio keeps them (0:
 * manual), open and closed, in the order they were opened. *n_out <= cap. ATP_OK (none when the account has not traded). */
int api_trading_positions(struct api_trading *t, int64_t account_id, struct api_trading_position *out,
                          uint32_t cap, uint32_t *n_out, struct atp_err *err);

struct api_trading_funds {
    px_t initial_capital;
    px_t cash;               /* initial - buys + sells - charges */
    px_t margin_used;
    px_t margin_available;   /* equity - margin used */
    px_t realized;
    px_t unrealized;
    px_t charges;
    px_t equity;             /* cash + market value = initial + realized - charges + unrealized */
    int open_positions;
};
int api_trading_funds(struct api_trading *t, int64_t account_id, struct api_trading_funds *out,
                      struct atp_err *err);

/* Sets the account's paper starting capital. Only before it has any order (the ledger starts
 * from it): ATP_ESTATE otherwise. */
int api_trading_set_capital(struct api_trading *t, int64_t account_id, px_t capital, struct atp_err *err);

/* Closes the account's position in instrument_id with a MARKET order of the opposite side (the
 * product of the position). ATP_ENOTFOUND when flat; otherwise as api_trading_place. */
int api_trading_close_position(struct api_trading *t, int64_t account_id, uint32_t instrument_id,
                               const char *client_key, struct store_order *out, struct atp_err *err);

/* JSON text of an order (with its history when hist is non-NULL), a fill and a position, as the
 * REST routes and the live events carry them (docs/api.md "Orders, positions, funds, kill
 * switch"). Money as exact decimal numbers. */
struct jbuf;
void api_trading_order_json(struct jbuf *b, const struct store_order *o, const struct store_order_hist *hist,
                            uint32_t n_hist);
void api_trading_fill_json(struct jbuf *b, const struct store_fill *f);
void api_trading_position_json(struct jbuf *b, int64_t account_id, const char *symbol,
                               const struct api_trading_position *p);
/* The funds object of GET accounts/{id}/funds, also the data of the "dashboard" channel's
 * "summary" event (published after every position change). */
void api_trading_funds_json(struct jbuf *b, int64_t account_id, const struct api_trading_funds *f);

/* ---- kill switch -------------------------------------------------------------------------------- */

/* Sets a switch (account_id 0: the global one) in the kernel's risk gate, which enforces it on
 * every order path, and in the store (so it survives a restart). HALTED also cancels the working
 * orders it covers; *cancelled_out (may be NULL) counts them. ATP_EINVAL, the store's errors. */
int api_trading_kill_switch_set(struct api_trading *t, int64_t account_id, enum risk_state state,
                                int64_t user_id, const char *reason, int *cancelled_out, struct atp_err *err);
/* The switch as stored (ACTIVE with set_by 0 and updated 0 when never set) and the effective
 * state of the account (the strictest of global, account and loss breach). */
int api_trading_kill_switch_get(struct api_trading *t, int64_t account_id, struct store_kill_switch *out,
                                enum risk_state *effective, struct atp_err *err);

#endif
