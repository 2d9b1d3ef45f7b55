-- What operators watch: the engine's figures for its metrics, the
-- wallboard's (per tenant, or every tenant for an operator), and the
-- wallboard's tokens.

-- engine_in_flight --
-- One engine's calls in flight by node, line and task.
SELECT node, line_id, task_id, count(*) AS n
FROM call_attempt WHERE engine = %s AND ended_at IS NULL
GROUP BY node, line_id, task_id;

-- outbox_depth --
-- Notifications not delivered yet (and how many are due now, the oldest's age in seconds), and
-- dead letters; of one tenant, or every tenant when NULL.
SELECT (SELECT count(*) FROM notification_outbox
        WHERE delivered_at IS NULL AND dead_at IS NULL AND (%(user)s::text IS NULL OR user_id = %(user)s)) AS pending,
       (SELECT count(*) FROM notification_outbox
        WHERE delivered_at IS NULL AND dead_at IS NULL AND next_attempt_at <= now()
          AND (%(user)s::text IS NULL OR user_id = %(user)s)) AS due,
       (SELECT COALESCE(extract(epoch FROM now() - min(created_at)), 0)::float8 FROM notification_outbox
        WHERE delivered_at IS NULL AND dead_at IS NULL AND (%(user)s::text IS NULL OR user_id = %(user)s)) AS oldest_s,
       (SELECT count(*) FROM notification_outbox
        WHERE dead_at IS NOT NULL AND (%(user)s::text IS NULL OR user_id = %(user)s)) AS dead;

-- abandonment_last_hour --
-- Of some tasks: calls answered by a person in the last hour, and how many of them were abandoned.
SELECT task_id, count(*) AS answered, count(*) FILTER (WHERE abandoned) AS abandoned
FROM call_attempt
WHERE task_id = ANY(%s) AND answered_at > now() - interval '1 hour'
GROUP BY task_id;

-- board_tasks --
-- The tasks a wallboard shows (running, or with calls in flight), with their progress, and for
-- an agent task its last hour's abandonment and what its pacing saw last.
WITH shown AS (
    SELECT t.uuid, t.user_id, t.name, t.start, t.skill_set_id, t.plan_error, t.hold_reason
    FROM task t
    WHERE (%(user)s::text IS NULL OR t.user_id = %(user)s)
      AND (t.start = 1 OR EXISTS (SELECT 1 FROM call_attempt a WHERE a.task_id = t.uuid AND a.ended_at IS NULL))
    ORDER BY t.user_id, t.name
    LIMIT %(limit)s
)
SELECT s.uuid AS id, s.user_id AS tenant, s.name, s.start, s.plan_error AS error, s.hold_reason AS held,
       c.total, c.dialled, c.finished, c.in_flight, c.answered,
       CASE WHEN s.skill_set_id IS NOT NULL THEN
           (SELECT json_build_object('answered', count(*), 'abandoned', count(*) FILTER (WHERE a.abandoned))
            FROM call_attempt a WHERE a.task_id = s.uuid AND a.answered_at > now() - interval '1 hour')
       END AS last_hour,
       CASE WHEN s.skill_set_id IS NOT NULL THEN
           (SELECT row_to_json(p) FROM (SELECT agents_ready, agents_busy, agents_wrap_up, agents_logged_in,
                                               calls_ringing, calls_waiting
                                        FROM task_pacing WHERE task_id = s.uuid ORDER BY at DESC LIMIT 1) p)
       END AS pacing
FROM shown s
CROSS JOIN LATERAL (
    SELECT count(*) AS total,
           count(*) FILTER (WHERE n.attempts > 0) AS dialled,
           count(*) FILTER (WHERE n.status >= 10 AND n.next_attempt_at IS NULL) AS finished,
           count(*) FILTER (WHERE n.status IN (1, 2)) AS in_flight,
           count(*) FILTER (WHERE n.status = 10) AS answered
    FROM task_number n WHERE n.task_id = s.uuid
) c
ORDER BY s.user_id, s.name;

-- board_lines --
-- Lines (of one tenant, or all) with their node, size and calls in flight now.
SELECT l.id, l.user_id AS tenant, l.name, l.node, l.call_line,
       (SELECT count(*) FROM call_attempt a WHERE a.line_id = l.id AND a.ended_at IS NULL) AS in_flight
FROM caller_line l
WHERE %(user)s::text IS NULL OR l.user_id = %(user)s
ORDER BY l.user_id, l.name
LIMIT %(limit)s;

-- board_outcomes --
-- Calls that ended in the last hour by final status (of one tenant's tasks, or all); one index
-- range per task (call_attempt_recent), not a scan of every attempt.
SELECT a.status, count(*) AS n
FROM task t CROSS JOIN LATERAL (
    SELECT status FROM call_attempt
    WHERE task_id = t.uuid AND ended_at > now() - interval '1 hour' AND status >= 10
) a
WHERE %(user)s::text IS NULL OR t.user_id = %(user)s
GROUP BY a.status ORDER BY a.status;

-- create_ui_token --
-- A wallboard token (its hash, tenant or NULL for every tenant, a note); returns its id.
INSERT INTO ui_token (token_hash, user_id, name) VALUES (%s, %s, %s) RETURNING id;

-- ui_token_scope --
-- The tenant a token shows (NULL: every tenant); no row if unknown or revoked.
SELECT id, user_id FROM ui_token WHERE token_hash = %s AND revoked_at IS NULL;

-- list_ui_tokens --
SELECT id, user_id, name, created_at, revoked_at FROM ui_token ORDER BY id;

-- revoke_ui_token --
UPDATE ui_token SET revoked_at = now() WHERE id = %s AND revoked_at IS NULL RETURNING id;
