-- HTTP API: signed apps, replay guard, tags, and the call-centre task fields (seed 001).

CREATE TABLE api_app (
    app_id      text PRIMARY KEY,
    user_id     text NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
    name        text NOT NULL DEFAULT '',
    public_key  text,                        -- PEM; NULL until uploaded (requests answer 10002)
    created_at  timestamptz NOT NULL DEFAULT now(),
    key_set_at  timestamptz
);

CREATE TABLE api_signature_seen (
    sign_hash  bytea PRIMARY KEY,            -- sha256 of the sign header: a replay is refused
    seen_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_signature_seen_at ON api_signature_seen (seen_at);

CREATE TABLE tag_scene (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      text NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
    name         text NOT NULL,
    description  text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tag_group (
    id        bigserial PRIMARY KEY,
    scene_id  uuid NOT NULL REFERENCES tag_scene(id) ON DELETE CASCADE,
    name      text NOT NULL
);

CREATE TABLE tag (
    id           bigserial PRIMARY KEY,
    group_id     bigint NOT NULL REFERENCES tag_group(id) ON DELETE CASCADE,
    name         text NOT NULL,
    description  text NOT NULL DEFAULT ''
);

ALTER TABLE caller_line ADD COLUMN description text NOT NULL DEFAULT '';
ALTER TABLE caller_line ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE auto_recycle_rule ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE outbound_group ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE outbound_group ADD COLUMN is_default boolean NOT NULL DEFAULT false;
ALTER TABLE customer_service ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE disable_dial_timegroup ADD COLUMN updated_at timestamptz NOT NULL DEFAULT now();

-- Seed 001 (call-centre open API) fields of a task.
ALTER TABLE task ADD COLUMN seq bigserial UNIQUE;                 -- the numeric taskId
ALTER TABLE task ADD COLUMN started_at timestamptz;               -- first start: "not started" until set
ALTER TABLE task ADD COLUMN skill_set_id text;
ALTER TABLE task ADD COLUMN outbound_number_group_id text;
ALTER TABLE task ADD COLUMN strategy_display_switch boolean NOT NULL DEFAULT false;
ALTER TABLE task ADD COLUMN send_number_strategy smallint NOT NULL DEFAULT 0 CHECK (send_number_strategy IN (0, 1));
ALTER TABLE task ADD COLUMN multiply_power integer CHECK (multiply_power IS NULL OR multiply_power > 0);
ALTER TABLE task ADD COLUMN abandonment_rate integer CHECK (abandonment_rate IS NULL OR abandonment_rate BETWEEN 1 AND 5);
ALTER TABLE task ADD COLUMN acw integer NOT NULL DEFAULT 10 CHECK (acw BETWEEN 1 AND 180);
ALTER TABLE task ADD COLUMN phone_groups jsonb NOT NULL DEFAULT '[]';  -- number batches with their retry settings
CREATE UNIQUE INDEX task_name_per_tenant ON task (user_id, name);
