-- 001_initial (PostgreSQL): the same schema as migrations/sqlite/001_initial.sql, column for column.
-- Money is bigint 1/10000 rupee and times bigint ns since the Unix epoch UTC throughout ATP; ids are
-- bigint identities (GENERATED ALWAYS: never reused, never supplied by a client). Binary data is
-- bytea. Flags stay integer 0|1 with the same CHECKs as SQLite, so both backends read them alike.
-- Enumerations are stored as their lower-case names, checked here. Tables are created in the first
-- schema of the connection's search_path.

CREATE TABLE users (
    id              bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    email           text    NOT NULL,                 -- as the user typed it
    email_key       text    NOT NULL UNIQUE,          -- ASCII-lower-cased email: the unique key
    name            text    NOT NULL,
    password_hash   text    NOT NULL,
    role            text    NOT NULL CHECK (role IN ('admin', 'trader', 'investor')),
    status          text    NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    failed_logins   integer NOT NULL DEFAULT 0 CHECK (failed_logins >= 0),
    locked_until_ns bigint  NOT NULL DEFAULT 0,
    totp_secret     bytea,                            -- encrypted by the caller
    totp_enabled    integer NOT NULL DEFAULT 0 CHECK (totp_enabled IN (0, 1)),
    created_ns      bigint  NOT NULL,
    updated_ns      bigint  NOT NULL
);

CREATE TABLE refresh_tokens (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id     bigint NOT NULL REFERENCES users (id),
    family_id   text   NOT NULL,
    token_hash  text   NOT NULL UNIQUE,
    expires_ns  bigint NOT NULL,
    revoked_ns  bigint NOT NULL DEFAULT 0,            -- 0: live
    replaced_by bigint REFERENCES refresh_tokens (id),
    created_ns  bigint NOT NULL
);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id, revoked_ns);
CREATE INDEX refresh_tokens_family ON refresh_tokens (user_id, family_id);

CREATE TABLE trading_accounts (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    owner_id   bigint NOT NULL REFERENCES users (id),
    name       text   NOT NULL,
    broker     text   NOT NULL DEFAULT '',
    created_ns bigint NOT NULL
);
CREATE INDEX trading_accounts_owner ON trading_accounts (owner_id);

CREATE TABLE account_access (
    account_id bigint NOT NULL REFERENCES trading_accounts (id),
    user_id    bigint NOT NULL REFERENCES users (id),
    role       text   NOT NULL CHECK (role IN ('trader', 'investor')),
    granted_ns bigint NOT NULL,
    PRIMARY KEY (account_id, user_id)
);
CREATE INDEX account_access_user ON account_access (user_id, account_id);

CREATE TABLE invitations (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES trading_accounts (id),
    email      text   NOT NULL,
    email_key  text   NOT NULL,                       -- ASCII-lower-cased email
    token_hash text   NOT NULL UNIQUE,
    status     text   NOT NULL DEFAULT 'pending'
               CHECK (status IN ('pending', 'accepted', 'rejected', 'expired', 'revoked')),
    role       text   NOT NULL CHECK (role IN ('trader', 'investor')),
    expires_ns bigint NOT NULL,
    created_by bigint NOT NULL REFERENCES users (id),
    created_ns bigint NOT NULL,
    updated_ns bigint NOT NULL
);
CREATE INDEX invitations_account ON invitations (account_id, id);
CREATE INDEX invitations_email ON invitations (email_key, id);
CREATE INDEX invitations_pending ON invitations (status, expires_ns);

CREATE TABLE broker_connections (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    account_id bigint NOT NULL REFERENCES trading_accounts (id),
    broker     text   NOT NULL,
    key_id     text   NOT NULL,                       -- vault key that sealed the blob
    ciphertext bytea  NOT NULL,
    nonce      bytea  NOT NULL,
    masked     text   NOT NULL DEFAULT '',            -- safe to show
    created_ns bigint NOT NULL
);
CREATE INDEX broker_connections_account ON broker_connections (account_id, id);

-- Append-only. user_id/account_id are not foreign keys: the trail outlives what it names.
CREATE TABLE audit_log (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    ts_ns      bigint NOT NULL,
    user_id    bigint NOT NULL DEFAULT 0,             -- 0: anonymous / system
    account_id bigint NOT NULL DEFAULT 0,             -- 0: not account-scoped
    action     text   NOT NULL,
    resource   text   NOT NULL DEFAULT '',
    ip         text   NOT NULL DEFAULT '',
    user_agent text   NOT NULL DEFAULT '',
    result     text   NOT NULL,
    details    text   NOT NULL DEFAULT ''             -- JSON text, verbatim
);
CREATE INDEX audit_log_user ON audit_log (user_id, id);
CREATE INDEX audit_log_account ON audit_log (account_id, id);
CREATE INDEX audit_log_ts ON audit_log (ts_ns);

CREATE TABLE notifications (
    id      bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint  NOT NULL REFERENCES users (id),
    type    text    NOT NULL,
    title   text    NOT NULL,
    body    text    NOT NULL DEFAULT '',
    read    integer NOT NULL DEFAULT 0 CHECK (read IN (0, 1)),
    ts_ns   bigint  NOT NULL
);
CREATE INDEX notifications_user ON notifications (user_id, id);

CREATE TABLE notification_prefs (
    id      bigint  GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id bigint  NOT NULL REFERENCES users (id),
    type    text    NOT NULL,
    channel text    NOT NULL,
    enabled integer NOT NULL CHECK (enabled IN (0, 1)),
    UNIQUE (user_id, type, channel)
);
