-- 003_trading: paper trading (docs/orders.md "Persistence and recovery"). Orders and fills are
-- written before the broker sees them or the client is answered, so a restart rebuilds the paper
-- book from these rows. Money is px_t: integer units of 1/10000 rupee (core/px.h), exact.

-- Paper funds of an account: its starting capital (default Rs 10,00,000).
CREATE TABLE paper_funds (
    account_id         INTEGER PRIMARY KEY REFERENCES trading_accounts (id),
    initial_capital_px INTEGER NOT NULL CHECK (initial_capital_px >= 0),
    updated_ns         INTEGER NOT NULL
) STRICT;

CREATE TABLE orders (
    id                 INTEGER PRIMARY KEY,
    account_id         INTEGER NOT NULL REFERENCES trading_accounts (id),
    mode               TEXT    NOT NULL,                 -- PAPER | LIVE
    strategy_id        INTEGER,                          -- NULL: a manual order
    client_key         TEXT,                             -- Idempotency-Key; NULL when none
    tag                TEXT    NOT NULL DEFAULT '',      -- the tag sent to the broker
    symbol             TEXT    NOT NULL,
    side               TEXT    NOT NULL,                 -- BUY | SELL
    qty                INTEGER NOT NULL CHECK (qty > 0),
    type               TEXT    NOT NULL,                 -- MARKET | LIMIT | SL | SL-M
    price_px           INTEGER NOT NULL DEFAULT 0,
    trigger_px         INTEGER NOT NULL DEFAULT 0,
    product            TEXT    NOT NULL,                 -- CNC | MIS | NRML
    validity           TEXT    NOT NULL,                 -- DAY | IOC
    state              TEXT    NOT NULL,                 -- enum order_state names
    filled_qty         INTEGER NOT NULL DEFAULT 0,
    filled_notional_px INTEGER NOT NULL DEFAULT 0,       -- exact sum of fill qty x price
    reason             TEXT    NOT NULL DEFAULT '',
    created_ns         INTEGER NOT NULL,
    updated_ns         INTEGER NOT NULL,
    UNIQUE (account_id, client_key)
) STRICT;
CREATE INDEX orders_account ON orders (account_id, id);
CREATE INDEX orders_state ON orders (state, id);

CREATE TABLE order_history (
    id         INTEGER PRIMARY KEY,
    order_id   INTEGER NOT NULL REFERENCES orders (id),
    state      TEXT    NOT NULL,
    reason     TEXT    NOT NULL DEFAULT '',
    ts_ns      INTEGER NOT NULL
) STRICT;
CREATE INDEX order_history_order ON order_history (order_id, id);

CREATE TABLE fills (
    id          INTEGER PRIMARY KEY,
    order_id    INTEGER NOT NULL REFERENCES orders (id),
    account_id  INTEGER NOT NULL REFERENCES trading_accounts (id),
    mode        TEXT    NOT NULL,
    strategy_id INTEGER,
    venue_id    TEXT    NOT NULL,                        -- the broker's trade id
    symbol      TEXT    NOT NULL,
    side        TEXT    NOT NULL,
    product     TEXT    NOT NULL,
    qty         INTEGER NOT NULL CHECK (qty > 0),
    price_px    INTEGER NOT NULL CHECK (price_px > 0),
    charges_px  INTEGER NOT NULL DEFAULT 0,
    ts_ns       INTEGER NOT NULL,                        -- market time of the trade
    created_ns  INTEGER NOT NULL
) STRICT;
CREATE INDEX fills_account ON fills (account_id, id);

-- Kill switches: account_id 0 is the global switch (so no foreign key).
CREATE TABLE kill_switch (
    account_id INTEGER PRIMARY KEY,
    state      TEXT    NOT NULL,                         -- ACTIVE | REDUCING | HALTED
    set_by     INTEGER NOT NULL DEFAULT 0,               -- user id, 0: system
    reason     TEXT    NOT NULL DEFAULT '',
    updated_ns INTEGER NOT NULL
) STRICT;
