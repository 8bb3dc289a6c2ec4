-- 001_initial: users, sessions (refresh tokens), trading accounts and their sharing, invitations,
-- broker credentials, audit log, notifications. Money is INTEGER 1/10000 rupee and times INTEGER
-- ns since the Unix epoch UTC throughout ATP; ids are INTEGER (never reused: AUTOINCREMENT).
-- Enumerations are stored as their lower-case names, checked here.

CREATE TABLE users (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    email           TEXT    NOT NULL,                 -- as the user typed it
    email_key       TEXT    NOT NULL UNIQUE,          -- ASCII-lower-cased email: the unique key
    name            TEXT    NOT NULL,
    password_hash   TEXT    NOT NULL,
    role            TEXT    NOT NULL CHECK (role IN ('admin', 'trader', 'investor')),
    status          TEXT    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    failed_logins   INTEGER NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until_ns INTEGER NOT NULL DEFAULT 0,
    totp_secret     BLOB,                             -- encrypted by the caller
    totp_enabled    INTEGER NOT NULL DEFAULT 0 CHECK (totp_enabled IN (0, 1)),
    created_ns      INTEGER NOT NULL,
    updated_ns      INTEGER NOT NULL
) STRICT;

CREATE TABLE refresh_tokens (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id     INTEGER NOT NULL REFERENCES users (id),
    family_id   TEXT    NOT NULL,
    token_hash  TEXT    NOT NULL UNIQUE,
    expires_ns  INTEGER NOT NULL,
    revoked_ns  INTEGER NOT NULL DEFAULT 0,           -- 0: live
    replaced_by INTEGER REFERENCES refresh_tokens (id),
    created_ns  INTEGER NOT NULL
) STRICT;
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id, revoked_ns);
CREATE INDEX refresh_tokens_family ON refresh_tokens (user_id, family_id);

CREATE TABLE trading_accounts (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_id   INTEGER NOT NULL REFERENCES users (id),
    name       TEXT    NOT NULL,
    broker     TEXT    NOT NULL DEFAULT '',
    created_ns INTEGER NOT NULL
) STRICT;
CREATE INDEX trading_accounts_owner ON trading_accounts (owner_id);

CREATE TABLE account_access (
    account_id INTEGER NOT NULL REFERENCES trading_accounts (id),
    user_id    INTEGER NOT NULL REFERENCES users (id),
    role       TEXT    NOT NULL CHECK (role IN ('trader', 'investor')),
    granted_ns INTEGER NOT NULL,
    PRIMARY KEY (account_id, user_id)
) STRICT;
CREATE INDEX account_access_user ON account_access (user_id, account_id);

CREATE TABLE invitations (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES trading_accounts (id),
    email      TEXT    NOT NULL,
    email_key  TEXT    NOT NULL,                      -- ASCII-lower-cased email
    token_hash TEXT    NOT NULL UNIQUE,
    status     TEXT    NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending', 'accepted', 'rejected', 'expired', 'revoked')),
    role       TEXT    NOT NULL CHECK (role IN ('trader', 'investor')),
    expires_ns INTEGER NOT NULL,
    created_by INTEGER NOT NULL REFERENCES users (id),
    created_ns INTEGER NOT NULL,
    updated_ns INTEGER NOT NULL
) STRICT;
CREATE INDEX invitations_account ON invitations (account_id, id);
CREATE INDEX invitations_email ON invitations (email_key, id);
CREATE INDEX invitations_pending ON invitations (status, expires_ns);

CREATE TABLE broker_connections (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    account_id INTEGER NOT NULL REFERENCES trading_accounts (id),
    broker     TEXT    NOT NULL,
    key_id     TEXT    NOT NULL,                      -- vault key that sealed the blob
    ciphertext BLOB    NOT NULL,
    nonce      BLOB    NOT NULL,
    masked     TEXT    NOT NULL DEFAULT '',           -- safe to show
    created_ns INTEGER NOT NULL
) STRICT;
CREATE INDEX broker_connections_account ON broker_connections (account_id, id);

-- Append-only. user_id/account_id are not foreign keys: the trail outlives what it names.
CREATE TABLE audit_log (
    id         INTEGER PRIMARY KEY AUTOINCREMENT,
    ts_ns      INTEGER NOT NULL,
    user_id    INTEGER NOT NULL DEFAULT 0,            -- 0: anonymous / system
    account_id INTEGER NOT NULL DEFAULT 0,            -- 0: not account-scoped
    action     TEXT    NOT NULL,
    resource   TEXT    NOT NULL DEFAULT '',
    ip         TEXT    NOT NULL DEFAULT '',
    user_agent TEXT    NOT NULL DEFAULT '',
    result     TEXT    NOT NULL,
    details    TEXT    NOT NULL DEFAULT ''            -- JSON text, verbatim
) STRICT;
CREATE INDEX audit_log_user ON audit_log (user_id, id);
CREATE INDEX audit_log_account ON audit_log (account_id, id);
CREATE INDEX audit_log_ts ON audit_log (ts_ns);

CREATE TABLE notifications (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id),
    type    TEXT    NOT NULL,
    title   TEXT    NOT NULL,
    body    TEXT    NOT NULL DEFAULT '',
    read    INTEGER NOT NULL DEFAULT 0 CHECK (read IN (0, 1)),
    ts_ns   INTEGER NOT NULL
) STRICT;
CREATE INDEX notifications_user ON notifications (user_id, id);

CREATE TABLE notification_prefs (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    user_id INTEGER NOT NULL REFERENCES users (id),
    type    TEXT    NOT NULL,
    channel TEXT    NOT NULL,
    enabled INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    UNIQUE (user_id, type, channel)
) STRICT;
