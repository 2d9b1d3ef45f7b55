-- Statements of the CDR reader (FreeSWITCH's CDR files into call_cdr, and how far
-- each file is read) and of reconciliation (CDRs of calls gone from the switch, new switches).

-- cdr_try_lock --
-- One reader of a node's files at a time, across engines; released at commit.
SELECT pg_try_advisory_xact_lock(hashtextextended('eslbridge.cdr_file:' || %s, 0)) AS locked;

-- cdr_cursors --
-- How far every known CDR file of a node has been read.
SELECT inode, name, head, read_to, lines, bad_lines FROM cdr_file WHERE node = %s;

-- save_cdr_cursor --
-- A file's cursor after a read (node, inode, name, head, read_to, lines, bad_lines).
INSERT INTO cdr_file (node, inode, name, head, read_to, lines, bad_lines)
VALUES (%s, %s, %s, %s, %s, %s, %s)
ON CONFLICT (node, inode) DO UPDATE SET name = excluded.name, head = excluded.head, read_to = excluded.read_to,
    lines = excluded.lines, bad_lines = excluded.bad_lines, updated_at = now();

-- forget_cdr_files --
-- Cursors of a node's files that are no longer in its directory (deleted after rotation).
DELETE FROM cdr_file WHERE node = %s AND NOT (inode = ANY(%s::bigint[]));

-- insert_cdrs --
-- CDRs from one JSON array of objects; one already stored (same channel uuid) is skipped.
-- Returns the uuids of the new ones.
INSERT INTO call_cdr (call_uuid, node, engine, task_id, number_id, started_at, answered_at, bridged_at, ended_at,
                      billsec, duration, hangup_cause, sip_status, sip_disposition, cc_queue, cc_agent, cc_cause,
                      cc_cancel_reason, cc_joined_at, cc_answered_at)
SELECT x.call_uuid, x.node, x.engine, x.task_id, x.number_id, x.started_at, x.answered_at, x.bridged_at, x.ended_at,
       x.billsec, x.duration, x.hangup_cause, x.sip_status, x.sip_disposition, x.cc_queue, x.cc_agent, x.cc_cause,
       x.cc_cancel_reason, x.cc_joined_at, x.cc_answered_at
FROM jsonb_to_recordset(%s::jsonb)
     AS x(call_uuid uuid, node text, engine text, task_id text, number_id text, started_at timestamptz,
          answered_at timestamptz, bridged_at timestamptz, ended_at timestamptz, billsec int, duration int,
          hangup_cause text, sip_status text, sip_disposition text, cc_queue text, cc_agent text, cc_cause text,
          cc_cancel_reason text, cc_joined_at timestamptz, cc_answered_at timestamptz)
ON CONFLICT (call_uuid) DO NOTHING
RETURNING call_uuid::text AS u;

-- cdrs_of_calls --
-- The stored CDRs of the given calls.
SELECT call_uuid::text AS call_uuid, node, engine, task_id, number_id, started_at, answered_at, bridged_at, ended_at,
       billsec, duration, hangup_cause, sip_status, sip_disposition, cc_queue, cc_agent, cc_cause,
       cc_cancel_reason, cc_joined_at, cc_answered_at
FROM call_cdr WHERE call_uuid = ANY(%s::uuid[]);

-- prune_cdrs --
-- CDRs received more than the given days ago (their calls were settled long since).
DELETE FROM call_cdr WHERE received_at < now() - %s * interval '1 day';

-- note_core_uuid --
-- The switch a node is now (node, core uuid). A row comes back only when this changed
-- it, with the previous Core-UUID (NULL: the node was never seen before). The subquery
-- reads the statement's snapshot: the row as it was before this update. The conflicting
-- row is locked, so of two engines noting one change only the first gets a row.
INSERT INTO fs_node AS f (name, core_uuid) VALUES (%(node)s, %(core)s)
ON CONFLICT (name) DO UPDATE SET core_uuid = excluded.core_uuid, since = now()
    WHERE f.core_uuid <> excluded.core_uuid
RETURNING (SELECT o.core_uuid FROM fs_node o WHERE o.name = f.name) AS previous;

-- open_before_switch --
-- Open attempts on a node, of any engine, originated before its switch started (node, its uptime
-- in seconds): that switch never had them.
SELECT call_uuid::text AS u FROM call_attempt
WHERE ended_at IS NULL AND node = %s AND originated_at < now() - make_interval(secs => %s);

-- cdr_file_list --
-- Every CDR file cursor, for `eslbridge cdr status`.
SELECT node, inode, name, read_to, lines, bad_lines, updated_at FROM cdr_file ORDER BY node, name;
