-- Backtests submitted through the API (docs/api.md "Backtests"): the request, its state and
-- progress, and, once done, the metrics, the full result document (trades and equity curve, the
-- JSON of docs/backtest-output.md) and the HTML report, so results survive a restart.
CREATE TABLE backtests (
    id           INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    account_id   INTEGER REFERENCES trading_accounts (id),
    status       TEXT    NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    progress_ppm INTEGER NOT NULL DEFAULT 0 CHECK (progress_ppm BETWEEN 0 AND 1000000),
    strategy     TEXT    NOT NULL,
    source       TEXT    NOT NULL,
    request      TEXT    NOT NULL,
    error        TEXT    NOT NULL DEFAULT '',
    metrics      TEXT    NOT NULL DEFAULT '',
    result_json  TEXT,
    report_html  TEXT,
    created_ns   INTEGER NOT NULL,
    started_ns   INTEGER NOT NULL DEFAULT 0,
    finished_ns  INTEGER NOT NULL DEFAULT 0
) STRICT;
CREATE INDEX backtests_user ON backtests (user_id, id);
CREATE INDEX backtests_account ON backtests (account_id, id);
CREATE INDEX backtests_status ON backtests (status);
