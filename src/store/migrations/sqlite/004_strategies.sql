-- 004_strategies: strategy instances per trading account (issue 5 §2), the account's risk limits
-- with the loss-limit breach waiting for the owner's acknowledgement, and the admin's limit of
-- strategies running at once per mode. docs/strategies.md "In the server", docs/store.md.

CREATE TABLE strategies (
    id             INTEGER PRIMARY KEY,
    account_id     INTEGER NOT NULL REFERENCES trading_accounts (id),
    type           TEXT    NOT NULL,                  -- registry name, e.g. sma_crossover
    name           TEXT    NOT NULL,
    symbols        TEXT    NOT NULL,                  -- JSON array of symbols
    timeframes     TEXT    NOT NULL,                  -- JSON array of timeframes ("1m", ...)
    params         TEXT    NOT NULL DEFAULT '{}',     -- JSON object, checked against the type's schema
    mode           TEXT    NOT NULL CHECK (mode IN ('paper', 'live')),
    risk           TEXT    NOT NULL DEFAULT '{}',     -- JSON object: qty or sizing_pct, stops
    state          TEXT    NOT NULL DEFAULT 'stopped' CHECK (state IN ('stopped', 'running', 'paused')),
    state_reason   TEXT    NOT NULL DEFAULT '',       -- why it is paused or stopped
    last_signal    TEXT    NOT NULL DEFAULT '',       -- JSON object of the last signal, '' before any
    last_signal_ns INTEGER NOT NULL DEFAULT 0,
    created_ns     INTEGER NOT NULL,
    updated_ns     INTEGER NOT NULL
) STRICT;
CREATE INDEX strategies_account ON strategies (account_id, id);
-- The server's start-up reads the running and paused ones of every account.
CREATE INDEX strategies_state ON strategies (state, id);

CREATE TABLE account_risk_limits (
    account_id       INTEGER NOT NULL REFERENCES trading_accounts (id),
    mode             TEXT    NOT NULL CHECK (mode IN ('paper', 'live')),
    max_loss         INTEGER NOT NULL DEFAULT 0 CHECK (max_loss >= 0),         -- px (1/10000 rupee), 0: off
    max_position_qty INTEGER NOT NULL DEFAULT 0 CHECK (max_position_qty >= 0), -- units, 0: off
    max_order_value  INTEGER NOT NULL DEFAULT 0 CHECK (max_order_value >= 0),  -- px, 0: off
    max_open_orders  INTEGER NOT NULL DEFAULT 0 CHECK (max_open_orders >= 0),  -- 0: off
    breached         INTEGER NOT NULL DEFAULT 0 CHECK (breached IN (0, 1)),    -- 1 until acknowledged
    breach_pnl       INTEGER NOT NULL DEFAULT 0,                               -- px, net P&L at the breach
    breached_ns      INTEGER NOT NULL DEFAULT 0,
    acknowledged_ns  INTEGER NOT NULL DEFAULT 0,
    updated_ns       INTEGER NOT NULL,
    PRIMARY KEY (account_id, mode)
) STRICT;

CREATE TABLE strategy_limits (
    mode        TEXT    PRIMARY KEY CHECK (mode IN ('paper', 'live')),
    max_running INTEGER NOT NULL CHECK (max_running >= 0),  -- strategies running at once per account
    updated_ns  INTEGER NOT NULL
) STRICT;
