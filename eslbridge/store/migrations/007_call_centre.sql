-- Call-centre dialing (seed 001, SPEC §7): agents live in FreeSWITCH's mod_callcenter.
--
-- A skill group maps to a mod_callcenter queue: seed 001's skill_set_id is the
-- queue's name (e.g. sales@default); seed 000's customer service group names
-- its queue here.
ALTER TABLE customer_service ADD COLUMN queue text;

-- What a regulator and a supervisor ask of an agent task's attempt: when the
-- answered call joined the queue, which agent took it and when, how long it
-- waited, and whether it was abandoned (no agent within the limit after the answer).
ALTER TABLE call_attempt ADD COLUMN queue text;
ALTER TABLE call_attempt ADD COLUMN queued_at timestamptz;
ALTER TABLE call_attempt ADD COLUMN agent text;
ALTER TABLE call_attempt ADD COLUMN bridged_at timestamptz;
ALTER TABLE call_attempt ADD COLUMN abandoned boolean NOT NULL DEFAULT false;

-- Why the engine holds a task it could otherwise dial (runtime, not its
-- settings: e.g. no agent logged in to its queue); NULL: not held.
ALTER TABLE task ADD COLUMN hold_reason text;

-- Abandonment over 24 h and 30 days reads the attempts of one task by answer time.
CREATE INDEX call_attempt_task_answered ON call_attempt (task_id, answered_at) WHERE answered_at IS NOT NULL;

-- What the engine's pacing sees for each agent task, written about once a
-- second by each engine that dials it: the task's progress shows the newest.
CREATE TABLE task_pacing (
    task_id         uuid NOT NULL,
    engine          text NOT NULL,
    at              timestamptz NOT NULL DEFAULT now(),
    agents_ready    integer NOT NULL DEFAULT 0,
    agents_busy     integer NOT NULL DEFAULT 0,
    agents_wrap_up  integer NOT NULL DEFAULT 0,
    agents_logged_in integer NOT NULL DEFAULT 0,
    calls_ringing   integer NOT NULL DEFAULT 0,
    calls_waiting   integer NOT NULL DEFAULT 0,
    dial_level      real NOT NULL DEFAULT 0,   -- calls in flight per ready agent the pacing aims at
    PRIMARY KEY (task_id, engine)
);
