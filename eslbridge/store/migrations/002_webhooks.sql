-- Webhook delivery: per-tenant signing secrets (several during rotation) and a log of every try.

CREATE TABLE webhook_secret (
    id          bigserial PRIMARY KEY,
    user_id     text NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
    secret      text NOT NULL,              -- whsec_<base64>; never logged
    created_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz                 -- NULL: current; set on rotation, old one still signs until then
);
CREATE INDEX webhook_secret_tenant ON webhook_secret (user_id);

CREATE TABLE delivery_attempt (
    id           bigserial PRIMARY KEY,
    outbox_id    bigint NOT NULL REFERENCES notification_outbox(id) ON DELETE CASCADE,
    at           timestamptz NOT NULL DEFAULT now(),
    http_status  integer,
    latency_ms   real,
    error        text
);
CREATE INDEX delivery_attempt_outbox ON delivery_attempt (outbox_id);

ALTER TABLE notification_outbox ADD COLUMN dead_reason text;
CREATE INDEX notification_outbox_task ON notification_outbox (task_id, created_at);
