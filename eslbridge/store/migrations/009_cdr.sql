-- FreeSWITCH's own CDRs fill what the event stream missed (README "CDRs").
--
-- mod_cdr_csv writes one line per channel to a file on the switch whether
-- anyone listens or not; the engine reads those files and keeps here the CDRs
-- of the calls it originated (the channel whose uuid is our origination_uuid).
-- The primary key makes every CDR count once, however often a file is read.
CREATE TABLE call_cdr (
    call_uuid        uuid PRIMARY KEY,       -- the channel's uuid = origination_uuid = call_attempt.call_uuid
    node             text NOT NULL,
    engine           text,                   -- eslbridge_engine
    task_id          text,                   -- eslbridge_task
    number_id        text,                   -- eslbridge_number
    started_at       timestamptz,
    answered_at      timestamptz,
    bridged_at       timestamptz,
    ended_at         timestamptz,
    billsec          integer NOT NULL DEFAULT 0,
    duration         integer NOT NULL DEFAULT 0,
    hangup_cause     text,
    sip_status       text,
    sip_disposition  text,
    cc_queue         text,
    cc_agent         text,
    cc_cause         text,
    cc_cancel_reason text,
    cc_joined_at     timestamptz,
    cc_answered_at   timestamptz,
    received_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX call_cdr_received ON call_cdr (received_at);

-- How far each CDR file of a node has been read. A file is known by its inode
-- (a rotated file keeps it) and the hash of its first line (an inode can be
-- reused after a file is deleted).
CREATE TABLE cdr_file (
    node        text NOT NULL,
    inode       bigint NOT NULL,
    name        text NOT NULL,
    head        bytea,
    read_to     bigint NOT NULL DEFAULT 0,
    lines       bigint NOT NULL DEFAULT 0,
    bad_lines   bigint NOT NULL DEFAULT 0,
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (node, inode)
);

-- The switch each node was last seen to be (FreeSWITCH's Core-UUID): a new one
-- has none of the calls of the old, which are settled at once.
CREATE TABLE fs_node (
    name       text PRIMARY KEY,
    core_uuid  text NOT NULL,
    since      timestamptz NOT NULL DEFAULT now()
);

-- The outcome came from the CDR because the engine missed the call's events.
ALTER TABLE call_attempt ADD COLUMN recovered boolean NOT NULL DEFAULT false;
