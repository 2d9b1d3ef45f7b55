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

-- pick_due_retries --
-- Numbers whose retry, or wait under a contact cap, is over, oldest first, locked; with zones
-- given, only numbers of those zones (task, zones or NULL, limit). Each with its phone.
SELECT id, phone FROM task_number
WHERE task_id = %(task)s AND next_attempt_at IS NOT NULL AND next_attempt_at <= now()
  AND (%(zones)s::text[] IS NULL OR tz = ANY(%(zones)s::text[]))
ORDER BY next_attempt_at FOR UPDATE SKIP LOCKED LIMIT %(n)s;

-- pick_pending_in_zone --
-- Pending numbers of one zone from an id on, in id (import) order, locked: a walk of that zone's
-- part of the pending index (task, zone key, first id, limit). The zone is matched as a one-item
-- array and the order is the index's own key: with a plain equality the planner counts the zone
-- as known and may walk the primary key instead, reading every other zone's numbers first.
SELECT id, phone FROM task_number
WHERE task_id = %(task)s AND status = 0 AND next_attempt_at IS NULL AND tz = ANY(ARRAY[%(zone)s::text])
  AND id >= %(from)s
ORDER BY tz, id FOR UPDATE SKIP LOCKED LIMIT %(n)s;

-- pick_pending_in_zones --
-- Pending numbers of several zones from an id on, in id order, locked: a walk of each zone's part
-- of the pending index (as pick_pending_in_zone walks one), merged; the numbers of other zones are
-- never read (task, zones, first id, limit).
SELECT id, phone FROM task_number
WHERE id = ANY(ARRAY(
        SELECT c.id FROM unnest(%(zones)s::text[]) AS z(tz)
        CROSS JOIN LATERAL (SELECT id, tz FROM task_number
                            WHERE task_id = %(task)s AND status = 0 AND next_attempt_at IS NULL
                              AND tz = ANY(ARRAY[z.tz]) AND id >= %(from)s
                            ORDER BY tz, id LIMIT %(n)s) c
        ORDER BY c.id LIMIT %(n)s))
  AND status = 0 AND next_attempt_at IS NULL
ORDER BY id FOR UPDATE SKIP LOCKED;

-- take_numbers --
-- The picked (locked) numbers are claimed. Each carries the do-not-call list of its tenant, or a
-- global one, holding its phone as +E.164 (the default region's country code and trunk prefix
-- given; the lowest list id if several: one index probe per number, whose rows come in list
-- order); the engine ends such a claim blocked, never dialled. A number on no
-- list but over a contact cap of its tenant waits: it keeps its status and its next attempt moves
-- to when it is under every cap again (counted from the tenant's attempts of that phone on all
-- tasks: per day, per 7 days, and a rest after an abandoned call; the rest alone is looked for
-- only when the tenant had an abandoned call in the window, one probe of a small index for the
-- whole claim). Every other one is dialled now. The picked ids and phones come as two arrays.
UPDATE task_number t SET
    status = CASE WHEN w.until IS NOT NULL AND d.list_id IS NULL THEN t.status ELSE 1 END,
    attempts = t.attempts + CASE WHEN w.until IS NOT NULL AND d.list_id IS NULL THEN 0 ELSE 1 END,
    next_attempt_at = CASE WHEN d.list_id IS NULL THEN w.until END,
    updated_at = now()
FROM unnest(%(ids)s::bigint[], %(phones)s::text[]) AS n(id, phone)
LEFT JOIN LATERAL (
    SELECT e.list_id FROM dnc_entry e JOIN dnc_list l ON l.id = e.list_id
    -- the phone as +E.164, as eslbridge.zones.e164 makes it (entries are kept in that form)
    WHERE e.phone = CASE WHEN starts_with(n.phone, '+') THEN n.phone
                         WHEN %(trunk)s <> '' AND starts_with(n.phone, %(trunk)s)
                              AND length(n.phone) > length(%(trunk)s) + 4
                         THEN '+' || %(cc)s || substr(n.phone, length(%(trunk)s) + 1)
                         ELSE '+' || %(cc)s || n.phone END
      AND (l.user_id = %(user)s OR l.user_id IS NULL)
      AND (e.expires_at IS NULL OR e.expires_at > now())
    ORDER BY e.list_id LIMIT 1
) d ON true
LEFT JOIN LATERAL (
    SELECT greatest(
        (array_agg(a.originated_at ORDER BY a.originated_at DESC)
            FILTER (WHERE a.originated_at > now() - interval '1 day'))[%(per_day)s] + interval '1 day',
        (array_agg(a.originated_at ORDER BY a.originated_at DESC)
            FILTER (WHERE a.originated_at > now() - interval '7 days'))[%(per_week)s] + interval '7 days',
        max(a.originated_at) FILTER (WHERE a.abandoned AND a.originated_at > now() - make_interval(hours => %(rest_h)s))
            + make_interval(hours => %(rest_h)s)) AS until
    FROM call_attempt a
    WHERE %(capped)s
      AND (%(counted)s OR EXISTS (SELECT 1 FROM call_attempt x WHERE x.user_id = %(user)s AND x.abandoned
                                    AND x.originated_at > now() - make_interval(hours => %(rest_h)s)))
      AND a.user_id = %(user)s AND a.phone = n.phone AND a.dnc_list_id IS NULL
      AND a.originated_at > now() - make_interval(hours => %(window_h)s)
) w ON true
WHERE t.id = n.id
RETURNING t.id, t.phone, t.attempts, t.tz, d.list_id AS dnc_list_id,
          (w.until IS NOT NULL AND d.list_id IS NULL) AS waits;

-- pending_id_bounds --
-- Lowest and highest id of a task's pending numbers in the given zones (NULLs when none is
-- pending): the two ends of each zone's part of the pending index.
SELECT min(b.lo) AS lo, max(b.hi) AS hi FROM unnest(%(zones)s::text[]) AS z(tz)
CROSS JOIN LATERAL (
    SELECT (SELECT id FROM task_number WHERE task_id = %(task)s AND status = 0 AND next_attempt_at IS NULL
              AND tz = ANY(ARRAY[z.tz]) ORDER BY tz, id LIMIT 1) AS lo,
           (SELECT id FROM task_number WHERE task_id = %(task)s AND status = 0 AND next_attempt_at IS NULL
              AND tz = ANY(ARRAY[z.tz]) ORDER BY tz DESC, id DESC LIMIT 1) AS hi
) b;

-- task_zones --
-- The zone keys of some tasks' pending numbers (a skip through the pending index: one probe per
-- task and zone) and of their numbers whose retry or wait is over.
SELECT t.id AS task_id, z.tz FROM unnest(%(tasks)s::uuid[]) AS t(id)
CROSS JOIN LATERAL (
    WITH RECURSIVE s AS (
        (SELECT tz FROM task_number WHERE task_id = t.id AND status = 0 AND next_attempt_at IS NULL
         ORDER BY tz LIMIT 1)
        UNION ALL
        SELECT (SELECT n.tz FROM task_number n
                WHERE n.task_id = t.id AND n.status = 0 AND n.next_attempt_at IS NULL AND n.tz > s.tz
                ORDER BY n.tz LIMIT 1)
        FROM s WHERE s.tz IS NOT NULL
    )
    SELECT tz FROM s WHERE tz IS NOT NULL
) z
UNION
SELECT task_id, tz FROM task_number
WHERE task_id = ANY(%(tasks)s::uuid[]) AND next_attempt_at IS NOT NULL AND next_attempt_at <= now();

-- insert_attempts --
-- One attempt per claimed number, with what its record keeps: the batch's task, line, node,
-- engine and tenant, and per number a JSON array of [number id, attempt, call uuid, phone,
-- caller id shown, do-not-call list or null, callee zone, callee local time].
-- clock_timestamp(), not now(): now() is the transaction start, before the line lock was won.
INSERT INTO call_attempt (number_id, task_id, line_id, attempt_no, call_uuid, node, engine, originated_at,
                          user_id, phone, caller_id_shown, dnc_list_id, callee_tz, callee_local_at)
SELECT (x->>0)::bigint, %(task)s, %(line)s, (x->>1)::int, (x->>2)::uuid, %(node)s, %(engine)s, clock_timestamp(),
       %(user)s, x->>3, x->>4, (x->>5)::int, x->>6, (x->>7)::timestamp
FROM jsonb_array_elements(%(rows)s::jsonb) AS x;

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
