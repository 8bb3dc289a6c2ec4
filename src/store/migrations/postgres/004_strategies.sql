-- 004_strategies: strategy instances per trading account (issue 5 §2), the account's risk limits
-- with the loss-limit breach waiting for the owner's acknowledgement, and the admin's limit of
-- strategies running at once per mode. docs/strategies.md "In the server", docs/store.md.

CREATE TABLE strategies (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id     bigint  NOT NULL REFERENCES trading_accounts (id),
    type           text    NOT NULL,                  -- registry name, e.g. sma_crossover
    name           text    NOT NULL,
    symbols        text    NOT NULL,                  -- JSON array of symbols
    timeframes     text    NOT NULL,                  -- JSON array of timeframes ("1m", ...)
    params         text    NOT NULL DEFAULT '{}',     -- JSON object, checked against the type's schema
    mode           text    NOT NULL CHECK (mode IN ('paper', 'live')),
    risk           text    NOT NULL DEFAULT '{}',     -- JSON object: qty or sizing_pct, stops
    state          text    NOT NULL DEFAULT 'stopped' CHECK (state IN ('stopped', 'running', 'paused')),
    state_reason   text    NOT NULL DEFAULT '',       -- why it is paused or stopped
    last_signal    text    NOT NULL DEFAULT '',       -- JSON object of the last signal, '' before any
    last_signal_ns bigint  NOT NULL DEFAULT 0,
    created_ns     bigint  NOT NULL,
    updated_ns     bigint  NOT NULL
);
CREATE INDEX strategies_account ON strategies (account_id, id);
-- The server's start-up reads the running and paused ones of every account.
CREATE INDEX strategies_state ON strategies (state, id);

CREATE TABLE account_risk_limits (
    account_id       bigint  NOT NULL REFERENCES trading_accounts (id),
    mode             text    NOT NULL CHECK (mode IN ('paper', 'live')),
    max_loss         bigint  NOT NULL DEFAULT 0 CHECK (max_loss >= 0),         -- px (1/10000 rupee), 0: off
    max_position_qty bigint  NOT NULL DEFAULT 0 CHECK (max_position_qty >= 0), -- units, 0: off
    max_order_value  bigint  NOT NULL DEFAULT 0 CHECK (max_order_value >= 0),  -- px, 0: off
    max_open_orders  bigint  NOT NULL DEFAULT 0 CHECK (max_open_orders >= 0),  -- 0: off
    breached         bigint  NOT NULL DEFAULT 0 CHECK (breached IN (0, 1)),    -- 1 until acknowledged
    breach_pnl       bigint  NOT NULL DEFAULT 0,                               -- px, net P&L at the breach
    breached_ns      bigint  NOT NULL DEFAULT 0,
    acknowledged_ns  bigint  NOT NULL DEFAULT 0,
    updated_ns       bigint  NOT NULL,
    PRIMARY KEY (account_id, mode)
);

CREATE TABLE strategy_limits (
    mode        text    PRIMARY KEY CHECK (mode IN ('paper', 'live')),
    max_running bigint  NOT NULL CHECK (max_running >= 0),  -- strategies running at once per account
    updated_ns  bigint  NOT NULL
);
