-- 002_sessions (PostgreSQL): the same as migrations/sqlite/002_sessions.sql, column for column.
-- One row per login session (= one refresh-token family: sessions.id is the family_id of its
-- refresh tokens and the "sid" claim of its access tokens), checked on every authenticated request
-- for revocation and inactivity; and the TOTP replay guard (the last accepted RFC 6238 time step
-- per user, -1 before any). docs/security.md "Sessions".

CREATE TABLE sessions (
    id            text   PRIMARY KEY,                 -- the refresh-token family id
    user_id       bigint NOT NULL REFERENCES users (id),
    created_ns    bigint NOT NULL,
    last_seen_ns  bigint NOT NULL,                    -- advanced at most once per touch interval
    revoked_ns    bigint NOT NULL DEFAULT 0,          -- 0: live
    revoke_reason text   NOT NULL DEFAULT '',         -- logout, password_change, refresh_reuse, ...
    ip            text   NOT NULL DEFAULT '',
    user_agent    text   NOT NULL DEFAULT ''
);
CREATE INDEX sessions_user ON sessions (user_id, revoked_ns);

ALTER TABLE users ADD COLUMN totp_last_step bigint NOT NULL DEFAULT -1;

-- Families that were live before this migration become sessions (seen at their latest token), so
-- an upgrade does not log everyone out: their refresh tokens keep working.
INSERT INTO sessions (id, user_id, created_ns, last_seen_ns)
SELECT family_id, user_id, min(created_ns), max(created_ns) FROM refresh_tokens
WHERE revoked_ns = 0 GROUP BY family_id, user_id;
