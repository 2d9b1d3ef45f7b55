-- Claims of the dialer: the tasks it runs, the line lock, numbers to call,
-- the attempts it opens, and the engine leases that split a line between engines.

-- lock_line --
-- The line of a task still started, locked: claims on one line run one at a time across engines.
SELECT l.call_line FROM caller_line l JOIN task t ON t.caller_line_id = l.id
WHERE l.id = %s AND t.uuid = %s AND t.start = 1 FOR UPDATE OF l;

-- line_and_task_calls --
-- Calls in flight on the line, and the task's calls in flight or ended within the pause.
SELECT count(*) FILTER (WHERE ended_at IS NULL) AS line_busy,
       count(*) FILTER (WHERE task_id = %(task)s) AS task_busy
FROM call_attempt
WHERE line_id = %(line)s
  AND (ended_at IS NULL OR (task_id = %(task)s AND ended_at > now() - make_interval(secs => %(pause)s)));

-- claim_due_retries --
-- Numbers whose retry time has come, oldest first (task, limit).
UPDATE task_number t SET status = 1, attempts = attempts + 1, next_attempt_at = NULL, updated_at = now()
FROM (SELECT id FROM task_number
      WHERE task_id = %s AND next_attempt_at IS NOT NULL AND next_attempt_at <= now()
      ORDER BY next_attempt_at FOR UPDATE SKIP LOCKED LIMIT %s) p
WHERE t.id = p.id
RETURNING t.id, t.phone, t.attempts;

-- claim_pending_from --
-- Pending numbers from an id on, in id (import) order: a walk of the pending index (task, first id, limit).
UPDATE task_number t SET status = 1, attempts = attempts + 1, updated_at = now()
FROM (SELECT id FROM task_number WHERE task_id = %s AND status = 0 AND id >= %s
      ORDER BY id FOR UPDATE SKIP LOCKED LIMIT %s) p
WHERE t.id = p.id
RETURNING t.id, t.phone, t.attempts;

-- pending_id_bounds --
-- Lowest and highest id of a task's pending numbers (NULLs when none is pending).
SELECT min(id) AS lo, max(id) AS hi FROM task_number WHERE task_id = %s AND status = 0;

-- insert_attempts --
-- One attempt per claimed number, from one JSON array of [number, task, line, attempt, call uuid, node, engine].
-- clock_timestamp(), not now(): now() is the transaction start, before the line lock was won.
INSERT INTO call_attempt (number_id, task_id, line_id, attempt_no, call_uuid, node, engine, originated_at)
SELECT (x->>0)::bigint, (x->>1)::uuid, (x->>2)::uuid, (x->>3)::int, (x->>4)::uuid, x->>5, x->>6, clock_timestamp()
FROM jsonb_array_elements(%s::jsonb) AS x;

-- unsend_attempts --
-- Attempts that never reached FreeSWITCH are deleted; their numbers are pending again.
WITH gone AS (DELETE FROM call_attempt WHERE call_uuid = ANY(%s) RETURNING number_id)
UPDATE task_number t SET status = 0, attempts = attempts - 1, updated_at = now()
FROM gone WHERE t.id = gone.number_id;

-- block_attempts --
-- Attempts refused before dialling are deleted; their numbers end as blocked (status 18) with a reason.
WITH gone AS (DELETE FROM call_attempt WHERE call_uuid = ANY(%s) RETURNING number_id)
UPDATE task_number t SET status = 18, attempts = attempts - 1, last_cause = %s, updated_at = now()
FROM gone WHERE t.id = gone.number_id;

-- engine_heartbeat --
-- An engine says it is alive (and is registered the first time).
INSERT INTO engine (id) VALUES (%s)
ON CONFLICT (id) DO UPDATE SET heartbeat = now();

-- live_engines --
-- Engines whose heartbeat is younger than the given seconds.
SELECT count(*) AS n FROM engine WHERE heartbeat > now() - make_interval(secs => %s);

-- retire_engine --
-- A cleanly stopped engine leaves at once.
DELETE FROM engine WHERE id = %s;

-- node_states --
-- Which FreeSWITCH nodes an engine's ESL links have up (a line's node_status); changed_at
-- moves only when a node's state does.
INSERT INTO engine_node (engine, node, up)
SELECT %(engine)s, x.node, x.up FROM unnest(%(nodes)s::text[], %(ups)s::boolean[]) AS x(node, up)
ON CONFLICT (engine, node) DO UPDATE SET up = EXCLUDED.up,
    changed_at = CASE WHEN engine_node.up = EXCLUDED.up THEN engine_node.changed_at ELSE now() END;
