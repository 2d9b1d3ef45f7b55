-- Attempt records for regulators: the export, and the retention that deletes old ones.

-- attempt_records --
-- Every attempt from a time on (before an end, of a task, of a tenant: each NULL for any), oldest
-- first, with what a regulator asks: the number, the caller id shown, originate, answer and agent
-- bridge times, the outcome, abandonment, the do-not-call check and the callee's local time.
SELECT a.id, a.call_uuid, a.user_id, a.task_id, t.name AS task_name, a.number_id, a.phone, a.caller_id_shown,
       a.attempt_no, a.node, a.engine, a.originated_at, a.answered_at, a.queue, a.agent, a.bridged_at,
       a.hangup_at, a.ended_at, a.status, a.hangup_cause, a.sip_status, a.billsec, a.duration, a.abandoned,
       a.dnc_checked, a.dnc_list_id, d.name AS dnc_list, a.callee_tz, a.callee_local_at
FROM call_attempt a
LEFT JOIN task t ON t.uuid = a.task_id
LEFT JOIN dnc_list d ON d.id = a.dnc_list_id
WHERE a.originated_at >= %(since)s
  AND (%(until)s::timestamptz IS NULL OR a.originated_at < %(until)s)
  AND (%(task)s::uuid IS NULL OR a.task_id = %(task)s)
  AND (%(user)s::text IS NULL OR a.user_id = %(user)s)
ORDER BY a.originated_at, a.id;

-- last_old_attempt --
-- The highest id of the ended attempts originated before a time (NULL: none): retention deletes up to it.
SELECT max(id) AS id FROM call_attempt WHERE originated_at < %s AND ended_at IS NOT NULL;

-- purge_attempts --
-- One batch of retention: ended attempts originated before a time, walked by id up to a bound,
-- each row locked only as long as the batch (a row another transaction holds is left for later).
WITH old AS (
    SELECT id FROM call_attempt
    WHERE id > %(after)s AND id <= %(upto)s AND originated_at < %(before)s AND ended_at IS NOT NULL
    ORDER BY id LIMIT %(batch)s FOR UPDATE SKIP LOCKED
)
DELETE FROM call_attempt a USING old WHERE a.id = old.id
RETURNING a.id;

-- last_old_notification --
-- The highest id of the delivered or dead notifications created before a time (NULL: none).
SELECT max(id) AS id FROM notification_outbox
WHERE created_at < %s AND (delivered_at IS NOT NULL OR dead_at IS NOT NULL);

-- purge_notifications --
-- One batch of retention of the outbox: delivered or dead notifications created before a time
-- (their delivery tries go with them).
WITH old AS (
    SELECT id FROM notification_outbox
    WHERE id > %(after)s AND id <= %(upto)s AND created_at < %(before)s
      AND (delivered_at IS NOT NULL OR dead_at IS NOT NULL)
    ORDER BY id LIMIT %(batch)s FOR UPDATE SKIP LOCKED
)
DELETE FROM notification_outbox o USING old WHERE o.id = old.id
RETURNING o.id;
