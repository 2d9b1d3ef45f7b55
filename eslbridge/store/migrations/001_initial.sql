-- eslbridge schema, version 1. A public interface: other systems may insert
-- tasks and numbers directly (see docs/schema.md).

CREATE TABLE tenant (
    id          text PRIMARY KEY,
    name        text NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE caller_line (
    id           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id      text NOT NULL REFERENCES tenant(id),
    name         text NOT NULL,
    dial_string  text NOT NULL,                  -- the tasks' dial_format, %s = number
    call_number  text NOT NULL DEFAULT '',       -- caller id
    call_line    integer NOT NULL CHECK (call_line >= 0),  -- concurrent calls, all tasks, all engines
    node         text NOT NULL DEFAULT 'fs1',    -- FreeSWITCH node carrying the line
    cps          real CHECK (cps IS NULL OR cps > 0),
    begin_at     timestamptz,
    deadline_at  timestamptz,
    created_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE disable_dial_timegroup (
    id          uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id     text NOT NULL REFERENCES tenant(id),
    name        text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE disable_dial_timerange (
    id          bigserial PRIMARY KEY,
    group_id    uuid NOT NULL REFERENCES disable_dial_timegroup(id) ON DELETE CASCADE,
    weekdays    smallint[] NOT NULL DEFAULT '{1,2,3,4,5,6,7}',  -- ISO: 1 Monday … 7 Sunday
    start_time  time NOT NULL,
    end_time    time NOT NULL
);

CREATE TABLE auto_recycle_rule (
    id            bigserial PRIMARY KEY,
    user_id       text NOT NULL REFERENCES tenant(id),
    name          text NOT NULL,
    remark        text NOT NULL DEFAULT '',
    status        smallint NOT NULL DEFAULT 1,
    is_default    smallint NOT NULL DEFAULT 0,
    max_attempts  integer NOT NULL DEFAULT 3 CHECK (max_attempts >= 1),  -- overall cap per number
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE auto_recycle_rule_entry (
    rule_id       bigint NOT NULL REFERENCES auto_recycle_rule(id) ON DELETE CASCADE,
    status        smallint NOT NULL CHECK (status >= 10),   -- outcome status (SPEC §3)
    interval_min  real NOT NULL CHECK (interval_min >= 0),
    times         integer NOT NULL CHECK (times >= 0),
    PRIMARY KEY (rule_id, status)
);

CREATE TABLE outbound_group (
    id            bigserial PRIMARY KEY,
    user_id       text NOT NULL REFERENCES tenant(id),
    name          text NOT NULL,
    debug         smallint NOT NULL DEFAULT 0,
    tag_scene_id  uuid,
    created_at    timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE customer_service (
    id              bigserial PRIMARY KEY,
    user_id         text NOT NULL REFERENCES tenant(id),
    name            text NOT NULL,
    status          smallint NOT NULL DEFAULT 1,
    caller_line_id  uuid REFERENCES caller_line(id),
    created_at      timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE task (
    uuid                           uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id                        text NOT NULL REFERENCES tenant(id),
    name                           text NOT NULL,
    remark                         text NOT NULL DEFAULT '',
    start                          smallint NOT NULL DEFAULT 0 CHECK (start IN (0, 1)),
    maximumcall                    integer NOT NULL DEFAULT 1 CHECK (maximumcall >= 0),
    call_pause_second              integer NOT NULL DEFAULT 0 CHECK (call_pause_second >= 0),
    _originate_timeout             integer NOT NULL DEFAULT 45 CHECK (_originate_timeout BETWEEN 1 AND 600),
    _origination_caller_id_number  text,                -- NULL: the line's call_number
    dial_format                    text,                -- NULL: the line's dial_string
    destination_extension          text NOT NULL,
    destination_dialplan           text NOT NULL DEFAULT 'XML',
    destination_context            text NOT NULL DEFAULT 'default',
    originate_variables            text NOT NULL DEFAULT '',   -- {a=b,c=d}
    caller_line_id                 uuid NOT NULL REFERENCES caller_line(id),
    customer_service_id            bigint REFERENCES customer_service(id),
    disable_dial_timegroup         uuid REFERENCES disable_dial_timegroup(id),
    auto_recycle_rule_id           bigint REFERENCES auto_recycle_rule(id),
    call_notify_url                text NOT NULL DEFAULT '',
    call_notify_type               smallint NOT NULL DEFAULT 0 CHECK (call_notify_type IN (0, 1, 2)),
    random_assignment_number       smallint NOT NULL DEFAULT 0 CHECK (random_assignment_number IN (0, 1)),
    recycle_limit                  integer NOT NULL DEFAULT 0 CHECK (recycle_limit = 0),
    timezone                       text,                -- IANA name; NULL: the server's
    date_start                     date,
    date_end                       date,
    daily_windows                  jsonb NOT NULL DEFAULT '[]',  -- [["09:00","12:00"], …]
    created_at                     timestamptz NOT NULL DEFAULT now(),
    updated_at                     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX task_running ON task (start) WHERE start = 1;

CREATE TABLE task_number (
    id               bigserial PRIMARY KEY,
    task_id          uuid NOT NULL REFERENCES task(uuid) ON DELETE CASCADE,
    phone            text COLLATE "C" NOT NULL,   -- digits, optional '+'; anything else is blocked (18) when claimed
    status           smallint NOT NULL DEFAULT 0,
    attempts         integer NOT NULL DEFAULT 0,
    retries          jsonb NOT NULL DEFAULT '{}',   -- retries done per outcome status
    next_attempt_at  timestamptz,                   -- set: a retry is pending
    last_cause       text,
    variables        jsonb NOT NULL DEFAULT '{}',
    sort_key         double precision NOT NULL DEFAULT random(),
    imported_at      timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (task_id, phone)
);
-- The claim query: pending numbers in import order, and due retries.
CREATE INDEX task_number_pending ON task_number (task_id, id) WHERE status = 0;
CREATE INDEX task_number_retry ON task_number (task_id, next_attempt_at) WHERE next_attempt_at IS NOT NULL;

CREATE TABLE call_attempt (
    id            bigserial PRIMARY KEY,
    number_id     bigint NOT NULL REFERENCES task_number(id) ON DELETE CASCADE,
    task_id       uuid NOT NULL,
    line_id       uuid NOT NULL,
    attempt_no    integer NOT NULL,
    call_uuid     uuid NOT NULL UNIQUE,   -- origination_uuid and Job-UUID
    node          text NOT NULL,
    engine        text NOT NULL,
    status        smallint NOT NULL DEFAULT 1,
    originated_at timestamptz NOT NULL DEFAULT now(),
    answered_at   timestamptz,
    hangup_at     timestamptz,
    ended_at      timestamptz,            -- when the slot was released (NULL: in flight)
    hangup_cause  text,
    sip_status    text,
    billsec       integer NOT NULL DEFAULT 0,
    duration      integer NOT NULL DEFAULT 0,
    job_cause     text,
    job_at        timestamptz,
    saw_channel   boolean NOT NULL DEFAULT false
);
CREATE INDEX call_attempt_in_flight ON call_attempt (line_id, task_id) WHERE ended_at IS NULL;
CREATE INDEX call_attempt_recent ON call_attempt (task_id, ended_at);
CREATE INDEX call_attempt_number ON call_attempt (number_id);

CREATE TABLE notification_outbox (
    id               bigserial PRIMARY KEY,
    event_id         uuid NOT NULL UNIQUE DEFAULT gen_random_uuid(),
    user_id          text NOT NULL,
    task_id          uuid NOT NULL,
    attempt_id       bigint NOT NULL,
    url              text NOT NULL,
    payload          jsonb NOT NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    next_attempt_at  timestamptz NOT NULL DEFAULT now(),
    attempts         integer NOT NULL DEFAULT 0,
    delivered_at     timestamptz,
    dead_at          timestamptz,
    last_error       text,
    claimed_by       text,
    lease_until      timestamptz
);
CREATE INDEX notification_due ON notification_outbox (next_attempt_at) WHERE delivered_at IS NULL AND dead_at IS NULL;

CREATE TABLE engine (
    id          text PRIMARY KEY,
    started_at  timestamptz NOT NULL DEFAULT now(),
    heartbeat   timestamptz NOT NULL DEFAULT now()
);
