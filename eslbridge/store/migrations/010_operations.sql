-- Operations: node drain, wallboard tokens.

-- A FreeSWITCH node an operator paused (maintenance): no engine starts a
-- call on it while paused_at is set; calls already up finish and are
-- recorded. A node never paused has no row.
CREATE TABLE node (
    name       text PRIMARY KEY,
    paused_at  timestamptz,
    paused_by  text,
    reason     text
);

-- Bearer tokens of the wallboard (/ui): one with no tenant sees every
-- tenant (an operator's), one with a tenant sees only that tenant's. Only a
-- hash is kept; the token is shown once, when created.
CREATE TABLE ui_token (
    id          bigserial PRIMARY KEY,
    token_hash  bytea NOT NULL UNIQUE,
    user_id     text REFERENCES tenant(id) ON DELETE CASCADE,
    name        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);

-- The wallboard and the metrics count dead letters; they are few, and
-- without this each count would read every delivered notification.
CREATE INDEX notification_dead ON notification_outbox (dead_at) WHERE dead_at IS NOT NULL;
