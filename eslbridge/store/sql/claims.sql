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
-- One attempt per claimed number, from one JSON array of
-- [number, task, line, attempt, call uuid, node, engine, caller id shown].
-- clock_timestamp(), not now(): now() is the transaction start, before the line lock was won.
INSERT INTO call_attempt (number_id, task_id, line_id, attempt_no, call_uuid, node, engine, caller_id_shown,
                          originated_at)
SELECT (x->>0)::bigint, (x->>1)::uuid, (x->>2)::uuid, (x->>3)::int, (x->>4)::uuid, x->>5, x->>6, x->>7,
       clock_timestamp()
FROM jsonb_array_elements(%s::jsonb) AS x;

-- release_numbers --
-- Claimed numbers that get no attempt (their task's number group had no caller id left today):
-- pending again, their attempts as before.
UPDATE task_number SET status = 0, attempts = attempts - 1, updated_at = now() WHERE id = ANY(%s);

-- unsend_attempts --
-- Attempts that never reached FreeSWITCH are deleted; their numbers are pending again, and the
-- caller ids their number group showed are taken back from the day's counters (a refusal is no
-- call). The group's number is the one the line's prefix before it makes the caller id shown;
-- counter rows are locked in caller-id order, as the claims lock them (no deadlock).
WITH gone AS (
    DELETE FROM call_attempt WHERE call_uuid = ANY(%s) RETURNING number_id, task_id, line_id, caller_id_shown
), numbers AS (
    UPDATE task_number t SET status = 0, attempts = attempts - 1, updated_at = now()
    FROM gone WHERE t.id = gone.number_id
), picks AS (
    SELECT g.user_id, n.caller_id, count(*) AS n,
           (now() AT TIME ZONE coalesce(g.timezone, current_setting('TimeZone')))::date AS day
    FROM gone JOIN task t ON t.uuid = gone.task_id JOIN caller_line l ON l.id = gone.line_id
    JOIN number_group g ON g.user_id = t.user_id
     AND g.id = CASE WHEN t.outbound_number_group_id ~ '^[0-9]{1,18}$' THEN t.outbound_number_group_id::bigint END
    JOIN number_group_number n ON n.group_id = g.id AND l.call_number_prefix || n.caller_id = gone.caller_id_shown
    GROUP BY g.user_id, n.caller_id, g.timezone
), locked AS MATERIALIZED (
    SELECT u.user_id, u.caller_id, u.day, p.n FROM caller_id_use u
    JOIN picks p ON p.user_id = u.user_id AND p.caller_id = u.caller_id AND p.day = u.day
    ORDER BY u.caller_id FOR UPDATE OF u
)
UPDATE caller_id_use u SET calls = greatest(0, u.calls - locked.n)
FROM locked WHERE u.user_id = locked.user_id AND u.caller_id = locked.caller_id AND u.day = locked.day;

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
