-- Backtests submitted through the API (docs/api.md "Backtests"): the request, its state and
-- progress, and, once done, the metrics, the full result document (trades and equity curve, the
-- JSON of docs/backtest-output.md) and the HTML report, so results survive a restart.
CREATE TABLE backtests (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id      bigint  NOT NULL REFERENCES users (id),
    account_id   bigint  REFERENCES trading_accounts (id),
    status       text    NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    progress_ppm bigint  NOT NULL DEFAULT 0 CHECK (progress_ppm BETWEEN 0 AND 1000000),
    strategy     text    NOT NULL,
    source       text    NOT NULL,
    request      text    NOT NULL,
    error        text    NOT NULL DEFAULT '',
    metrics      text    NOT NULL DEFAULT '',
    result_json  text,
    report_html  text,
    created_ns   bigint  NOT NULL,
    started_ns   bigint  NOT NULL DEFAULT 0,
    finished_ns  bigint  NOT NULL DEFAULT 0
);
CREATE INDEX backtests_user ON backtests (user_id, id);
CREATE INDEX backtests_account ON backtests (account_id, id);
CREATE INDEX backtests_status ON backtests (status);
