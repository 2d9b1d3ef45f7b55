-- Tasks and their numbers as the CLI and the HTTP API see them: progress,
-- start and stop, listing, reset, delete, and what a task nests.
-- Statements taking a user are scoped to that tenant (NULL: any, for the CLI).

-- task_progress --
-- Counts of a task's numbers by stage, and why the engine cannot dial it (NULL: it can) or
-- holds it; for an agent task also its abandonment (abandoned ÷ answered by a person: over
-- its life, the last 24 h and 30 days) and what its pacing sees now. No row if the task (of
-- that tenant) does not exist.
SELECT count(n.id) AS total,
       count(n.id) FILTER (WHERE n.attempts > 0) AS progress,
       count(n.id) FILTER (WHERE n.status >= 10 AND n.next_attempt_at IS NULL) AS finished,
       count(n.id) FILTER (WHERE n.status IN (1, 2)) AS in_flight,
       count(n.id) FILTER (WHERE n.next_attempt_at IS NOT NULL) AS waiting_retry,
       count(n.id) FILTER (WHERE n.status = 10) AS answered,
       count(n.id) FILTER (WHERE n.status = 0) AS pending,
       count(n.id) FILTER (WHERE n.status = 17) AS abandoned,
       t.plan_error AS error,
       t.hold_reason AS held,
       CASE WHEN t.skill_set_id IS NOT NULL THEN
           (SELECT json_build_object(
                'answered', count(*), 'abandoned', count(*) FILTER (WHERE a.abandoned),
                'answered_24h', count(*) FILTER (WHERE a.answered_at > now() - interval '24 hours'),
                'abandoned_24h', count(*) FILTER (WHERE a.abandoned AND a.answered_at > now() - interval '24 hours'),
                'answered_30d', count(*) FILTER (WHERE a.answered_at > now() - interval '30 days'),
                'abandoned_30d', count(*) FILTER (WHERE a.abandoned AND a.answered_at > now() - interval '30 days'))
            FROM call_attempt a WHERE a.task_id = t.uuid AND a.answered_at IS NOT NULL)
       END AS abandonment,
       CASE WHEN t.skill_set_id IS NOT NULL THEN
           (SELECT row_to_json(p) FROM (SELECT agents_ready, agents_busy, agents_wrap_up, agents_logged_in,
                                               calls_ringing, calls_waiting, dial_level, at
                                        FROM task_pacing WHERE task_id = t.uuid ORDER BY at DESC LIMIT 1) p)
       END AS pacing
FROM task t LEFT JOIN task_number n ON n.task_id = t.uuid
WHERE t.uuid = %(task)s AND (%(user)s::text IS NULL OR t.user_id = %(user)s)
GROUP BY t.uuid;

-- status_counts --
-- Numbers per status, all tasks.
SELECT status, count(*) AS n FROM task_number GROUP BY status;

-- task_status_counts --
-- Numbers per status of some tasks.
SELECT status, count(*) AS n FROM task_number WHERE task_id = ANY(%s) GROUP BY status;

-- task_exists --
SELECT 1 FROM task WHERE uuid = %s;

-- set_task_start --
-- Start (1) or stop (0) a task; the first start is remembered.
UPDATE task SET start = %(start)s, updated_at = now(),
    started_at = CASE WHEN %(start)s = 1 THEN coalesce(started_at, now()) ELSE started_at END
WHERE uuid = %(task)s AND (%(user)s::text IS NULL OR user_id = %(user)s);

-- list_numbers --
-- A task's numbers in id order, of one status or all, its time zone key, the caller id its last attempt showed
-- and what its last attempt met in an agent queue (agent tasks; NULLs otherwise).
SELECT n.id, n.phone, n.status, n.attempts, n.last_cause, n.next_attempt_at, n.tz,
       (SELECT caller_id_shown FROM call_attempt WHERE number_id = n.id ORDER BY id DESC LIMIT 1) AS caller_id_shown,
       a.agent, a.abandoned, a.bridged_at
FROM task_number n
LEFT JOIN LATERAL (SELECT agent, abandoned, bridged_at FROM call_attempt
                   WHERE number_id = n.id AND queue IS NOT NULL ORDER BY id DESC LIMIT 1) a ON true
WHERE n.task_id = %s AND (%s::smallint IS NULL OR n.status = %s) ORDER BY n.id LIMIT %s;

-- lock_task --
SELECT uuid FROM task WHERE uuid = %s AND (%s::text IS NULL OR user_id = %s) FOR UPDATE;

-- task_has_calls --
-- One row if a call of the task is in flight.
SELECT 1 FROM call_attempt WHERE task_id = %s AND ended_at IS NULL LIMIT 1;

-- delete_task --
-- Its numbers, and their attempts, go with it.
DELETE FROM task WHERE uuid = %s;

-- reset_numbers --
-- Matching numbers back to pending with a fresh retry budget, never one in flight: by status,
-- import time (from since, before until) and one phone, matched exactly.
UPDATE task_number SET status = 0, attempts = 0, retries = '{}', next_attempt_at = NULL,
    last_cause = NULL, updated_at = now()
WHERE task_id = %(task)s AND status NOT IN (1, 2)
  AND (%(statuses)s::smallint[] IS NULL OR status = ANY(%(statuses)s::smallint[]))
  AND (%(since)s::timestamptz IS NULL OR imported_at >= %(since)s)
  AND (%(until)s::timestamptz IS NULL OR imported_at < %(until)s)
  AND (%(phone)s::text IS NULL OR phone = %(phone)s);

-- task_number_format --
-- The number format of a task's line; no row if the task (of that tenant) does not exist.
SELECT l.number_format FROM task t JOIN caller_line l ON l.id = t.caller_line_id
WHERE t.uuid = %(task)s AND (%(user)s::text IS NULL OR t.user_id = %(user)s);

-- lines_with_residue --
-- A tenant's lines (all, or those ids) with the calls in flight on each, what is left, and
-- node_status: 1 if a live engine (heartbeat younger than the given seconds) has its node's
-- ESL link up, else 0.
SELECT l.*, coalesce(u.used, 0) AS call_line_used, l.call_line - coalesce(u.used, 0) AS residue,
       CASE WHEN EXISTS (SELECT 1 FROM engine_node en JOIN engine e ON e.id = en.engine
                         WHERE en.node = l.node AND en.up
                           AND e.heartbeat > now() - make_interval(secs => %(live)s))
            THEN 1 ELSE 0 END AS node_status
FROM caller_line l
LEFT JOIN (SELECT line_id, count(*) AS used FROM call_attempt WHERE ended_at IS NULL GROUP BY line_id) u
       ON u.line_id = l.id
WHERE l.user_id = %(user)s AND (%(ids)s::uuid[] IS NULL OR l.id = ANY(%(ids)s::uuid[]))
ORDER BY l.created_at;

-- tenant_time_groups --
SELECT id, name FROM disable_dial_timegroup WHERE user_id = %s ORDER BY created_at;

-- tenant_rules --
SELECT id, name, remark, status FROM auto_recycle_rule WHERE user_id = %s ORDER BY id;

-- usable_customer_service --
-- Enabled agent queues that have a line.
SELECT * FROM customer_service WHERE user_id = %s AND status = 1 AND caller_line_id IS NOT NULL ORDER BY id;

-- tenant_outbound_groups --
SELECT * FROM outbound_group WHERE user_id = %s ORDER BY id;

-- live_calls --
SELECT count(*) AS n FROM call_attempt WHERE task_id = %s AND ended_at IS NULL;

-- task_page --
-- A page of a tenant's tasks, newest first, filtered; _total counts every page.
SELECT t.*, count(*) OVER () AS _total FROM task t
WHERE t.user_id = %(user)s
  AND (%(ids)s::uuid[] IS NULL OR t.uuid = ANY(%(ids)s::uuid[]))
  AND (%(name)s::text IS NULL OR strpos(t.name, %(name)s) > 0)
  AND (%(start)s::smallint IS NULL OR t.start = %(start)s)
ORDER BY t.created_at DESC, t.uuid LIMIT %(size)s OFFSET %(off)s;

-- tasks_progress --
-- Numbers, and numbers tried, of some tasks.
SELECT task_id, count(*) AS total, count(*) FILTER (WHERE attempts > 0) AS progress
FROM task_number WHERE task_id = ANY(%s) GROUP BY task_id;

-- rules_by_ids --
SELECT * FROM auto_recycle_rule WHERE id = ANY(%s);

-- time_groups_by_ids --
SELECT * FROM disable_dial_timegroup WHERE id = ANY(%s);

-- outbound_groups_by_ids --
SELECT * FROM outbound_group WHERE id = ANY(%s) AND user_id = %s;

-- insert_task --
-- Template: the columns come from the request model.
INSERT INTO task ({columns}) VALUES ({values}) RETURNING uuid;

-- update_task --
-- Template: the assignments come from the request model.
UPDATE task SET {assignments}, updated_at = now() WHERE uuid = %s AND user_id = %s;

-- tenant_task_exists --
SELECT 1 FROM task WHERE uuid = %s AND user_id = %s;

-- task_by_seq --
-- A task by its number, locked.
SELECT * FROM task WHERE seq = %s AND user_id = %s FOR UPDATE;

-- numbers_page --
-- A page of a task's numbers in id order, of one status or all, with each one's time zone key and
-- the caller id the last attempt showed; _total counts every page.
SELECT n.id, n.phone, n.status, n.attempts, n.last_cause, n.next_attempt_at, n.imported_at, n.tz,
       (SELECT caller_id_shown FROM call_attempt WHERE number_id = n.id ORDER BY id DESC LIMIT 1) AS caller_id_shown,
       count(*) OVER () AS _total
FROM task_number n WHERE n.task_id = %s AND (%s::smallint IS NULL OR n.status = %s)
ORDER BY n.id LIMIT %s OFFSET %s;

-- task_owned --
SELECT * FROM task WHERE uuid = %s AND user_id = %s;

-- task_owned_for_update --
SELECT * FROM task WHERE uuid = %s AND user_id = %s FOR UPDATE;
