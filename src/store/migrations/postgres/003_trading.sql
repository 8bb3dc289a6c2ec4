-- 003_trading (PostgreSQL): the same as migrations/sqlite/003_trading.sql, column for column.
-- Paper trading (docs/orders.md "Persistence and recovery"). Orders and fills are
-- written before the broker sees them or the client is answered, so a restart rebuilds the paper
-- book from these rows. Money is px_t: integer units of 1/10000 rupee (core/px.h), exact.

-- Paper funds of an account: its starting capital (default Rs 10,00,000).
CREATE TABLE paper_funds (
    account_id         bigint PRIMARY KEY REFERENCES trading_accounts (id),
    initial_capital_px bigint NOT NULL CHECK (initial_capital_px >= 0),
    updated_ns         bigint NOT NULL
);

CREATE TABLE orders (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id         bigint NOT NULL REFERENCES trading_accounts (id),
    mode               text    NOT NULL,                 -- PAPER | LIVE
    strategy_id        bigint,                          -- NULL: a manual order
    client_key         text,                             -- Idempotency-Key; NULL when none
    tag                text    NOT NULL DEFAULT '',      -- the tag sent to the broker
    symbol             text    NOT NULL,
    side               text    NOT NULL,                 -- BUY | SELL
    qty                bigint NOT NULL CHECK (qty > 0),
    type               text    NOT NULL,                 -- MARKET | LIMIT | SL | SL-M
    price_px           bigint NOT NULL DEFAULT 0,
    trigger_px         bigint NOT NULL DEFAULT 0,
    product            text    NOT NULL,                 -- CNC | MIS | NRML
    validity           text    NOT NULL,                 -- DAY | IOC
    state              text    NOT NULL,                 -- enum order_state names
    filled_qty         bigint NOT NULL DEFAULT 0,
    filled_notional_px bigint NOT NULL DEFAULT 0,       -- exact sum of fill qty x price
    reason             text    NOT NULL DEFAULT '',
    created_ns         bigint NOT NULL,
    updated_ns         bigint NOT NULL,
    UNIQUE (account_id, client_key)
);
CREATE INDEX orders_account ON orders (account_id, id);
CREATE INDEX orders_state ON orders (state, id);

CREATE TABLE order_history (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id   bigint NOT NULL REFERENCES orders (id),
    state      text    NOT NULL,
    reason     text    NOT NULL DEFAULT '',
    ts_ns      bigint NOT NULL
);
CREATE INDEX order_history_order ON order_history (order_id, id);

CREATE TABLE fills (
    id                 bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id    bigint NOT NULL REFERENCES orders (id),
    account_id  bigint NOT NULL REFERENCES trading_accounts (id),
    mode        text    NOT NULL,
    strategy_id bigint,
    venue_id    text    NOT NULL,                        -- the broker's trade id
    symbol      text    NOT NULL,
    side        text    NOT NULL,
    product     text    NOT NULL,
    qty         bigint NOT NULL CHECK (qty > 0),
    price_px    bigint NOT NULL CHECK (price_px > 0),
    charges_px  bigint NOT NULL DEFAULT 0,
    ts_ns       bigint NOT NULL,                        -- market time of the trade
    created_ns  bigint NOT NULL
);
CREATE INDEX fills_account ON fills (account_id, id);

-- Kill switches: account_id 0 is the global switch (so no foreign key).
CREATE TABLE kill_switch (
    account_id bigint PRIMARY KEY,
    state      text    NOT NULL,                         -- ACTIVE | REDUCING | HALTED
    set_by     bigint NOT NULL DEFAULT 0,               -- user id, 0: system
    reason     text    NOT NULL DEFAULT '',
    updated_ns bigint NOT NULL
);
