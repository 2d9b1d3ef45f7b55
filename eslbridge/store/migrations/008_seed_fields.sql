-- The seeds' fields to the letter: what a line dials, its caller id settings and
-- node, the task list's fields, and a notification type left unset.

-- What numbers a line dials (eslbridge.phones): `national` (a national number in
-- its dialling form, trunk prefix kept, e.g. 01012345678; other countries +E.164),
-- `e164` (every number +E.164) or `digits` (any 3-20 digits: short codes,
-- extensions). The importers store each number in its task's line's form.
ALTER TABLE caller_line ADD COLUMN number_format text NOT NULL DEFAULT 'national'
    CHECK (number_format IN ('national', 'e164', 'digits'));

-- Seed 000's line: is_call_number_enable 1 sends a caller id on the line's calls
-- (the task's, else the line's call_number), 0 sends none (the trunk sets it);
-- call_number_prefix is prepended to that caller id.
ALTER TABLE caller_line ADD COLUMN call_number_prefix text NOT NULL DEFAULT ''
    CHECK (call_number_prefix ~ '^[+]?[0-9]{0,16}$');
ALTER TABLE caller_line ADD COLUMN is_call_number_enable smallint NOT NULL DEFAULT 1
    CHECK (is_call_number_enable IN (0, 1));
-- Informational: stored and returned as given, not acted on.
ALTER TABLE caller_line ADD COLUMN is_call_number_prefix_editable smallint NOT NULL DEFAULT 0
    CHECK (is_call_number_prefix_editable IN (0, 1));
ALTER TABLE caller_line ADD COLUMN dial_string_mode integer;
ALTER TABLE caller_line ADD COLUMN available_time integer;   -- seconds
ALTER TABLE caller_line ADD COLUMN feature integer;

-- Seed 000's task list: a task-level calls-per-second cap the dialer honours
-- (NULL: none), and informational fields.
ALTER TABLE task ADD COLUMN call_per_second real CHECK (call_per_second IS NULL OR call_per_second > 0);
ALTER TABLE task ADD COLUMN sort integer NOT NULL DEFAULT 0;
ALTER TABLE task ADD COLUMN domain text;
ALTER TABLE task ADD COLUMN scheduling_policy_ratio real;
ALTER TABLE task ADD COLUMN scheduling_queue text;

-- A task written with a call_notify_url and no type notifies every call (every
-- seed example uses 2; seed 000's creation table does not list the field).
-- Rows written before keep their stored type.
ALTER TABLE task ALTER COLUMN call_notify_type SET DEFAULT 2;

-- Which FreeSWITCH nodes each engine's ESL link has up: a line's node_status.
CREATE TABLE engine_node (
    engine      text NOT NULL REFERENCES engine(id) ON DELETE CASCADE,
    node        text NOT NULL,
    up          boolean NOT NULL,
    changed_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (engine, node)
);
