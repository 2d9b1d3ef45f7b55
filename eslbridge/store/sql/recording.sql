-- Statements of the recorder (call outcomes, retries, outbox rows) and of the
-- engine's sweeper (job failures to settle, calls FreeSWITCH may have lost).

-- recycle_rules --
-- Every retry rule with its entries as [status, interval in minutes, times]; a rule switched
-- off (status 0) has none: it retries nothing.
SELECT r.id, r.max_attempts,
       coalesce(json_agg(json_build_array(e.status, e.interval_min, e.times))
                FILTER (WHERE e.rule_id IS NOT NULL AND r.status <> 0), '[]') AS entries
FROM auto_recycle_rule r LEFT JOIN auto_recycle_rule_entry e ON e.rule_id = r.id
GROUP BY r.id;

-- lock_attempts --
-- Attempts by call uuid with their number and task, locked (attempt and number rows) in id order.
SELECT a.id, a.call_uuid::text AS call_uuid, a.status, a.answered_at, a.hangup_at, a.hangup_cause,
       a.sip_status, a.billsec, a.duration, a.job_cause, a.job_at, a.saw_channel,
       a.queue, a.queued_at, a.agent, a.bridged_at, a.abandoned, a.recovered, a.dnc_list_id, a.attempt_no, a.node,
       a.originated_at, a.caller_id_shown, a.number_id, a.task_id, n.phone, n.attempts, n.retries, n.variables,
       t.name AS task_name, t.user_id,
       -- a task that names no rule follows its tenant's default rule (is_default), if it has one
       coalesce(t.auto_recycle_rule_id,
                (SELECT r.id FROM auto_recycle_rule r WHERE r.user_id = t.user_id AND r.is_default <> 0
                 ORDER BY r.id LIMIT 1)) AS auto_recycle_rule_id,
       t.call_notify_type, t.call_notify_url, t.phone_groups
FROM call_attempt a JOIN task_number n ON n.id = a.number_id JOIN task t ON t.uuid = a.task_id
WHERE a.call_uuid = ANY(%s) ORDER BY a.id FOR UPDATE OF a, n;

-- save_outcomes --
-- One batch of the recorder in one statement: attempt states (a final one gets its end time),
-- number states (status, cause, next retry, retries per status) and outbox rows, each a JSON
-- array of objects: one parameter per table instead of an array per column.
WITH attempts AS (
    UPDATE call_attempt a SET status = x.status, answered_at = x.answered_at, hangup_at = x.hangup_at,
        hangup_cause = x.cause, sip_status = x.sip_status, billsec = x.billsec, duration = x.duration,
        job_cause = x.job_cause, job_at = x.job_at, saw_channel = x.saw_channel,
        queue = x.queue, queued_at = x.queued_at, agent = x.agent, bridged_at = x.bridged_at,
        abandoned = x.abandoned, recovered = x.recovered,
        ended_at = CASE WHEN x.final THEN clock_timestamp() ELSE NULL END
    FROM jsonb_to_recordset(%(attempts)s::jsonb)
         AS x(id bigint, status smallint, answered_at timestamptz, hangup_at timestamptz, cause text,
              sip_status text, billsec int, duration int, job_cause text, job_at timestamptz,
              saw_channel bool, queue text, queued_at timestamptz, agent text, bridged_at timestamptz,
              abandoned bool, recovered bool, final bool)
    WHERE a.id = x.id
), numbers AS (
    UPDATE task_number t SET status = x.status, last_cause = x.cause, next_attempt_at = x.next_attempt_at,
        retries = x.retries, updated_at = now()
    FROM jsonb_to_recordset(%(numbers)s::jsonb)
         AS x(id bigint, status smallint, cause text, next_attempt_at timestamptz, retries jsonb)
    WHERE t.id = x.id
)
INSERT INTO notification_outbox (event_id, user_id, task_id, attempt_id, url, payload)
SELECT x.event_id, x.user_id, x.task_id, x.attempt_id, x.url, x.payload
FROM jsonb_to_recordset(%(notes)s::jsonb)
     AS x(event_id uuid, user_id text, task_id uuid, attempt_id bigint, url text, payload jsonb);

-- add_notifications --
-- Outbox rows from parallel arrays; the payloads as binary jsonb.
INSERT INTO notification_outbox (event_id, user_id, task_id, attempt_id, url, payload)
SELECT * FROM unnest(%s::uuid[], %s::text[], %s::uuid[], %s::bigint[], %s::text[], %b::jsonb[]);

-- unconfirmed_job_failures --
-- Open attempts whose originate job failed and no channel was seen within the grace seconds.
SELECT call_uuid::text AS u FROM call_attempt
WHERE ended_at IS NULL AND job_cause IS NOT NULL AND NOT saw_channel
  AND job_at < now() - make_interval(secs => %s);

-- in_flight --
-- Open attempts of an engine on a node, originated more than the given seconds ago.
SELECT call_uuid::text AS u FROM call_attempt
WHERE ended_at IS NULL AND engine = %s AND node = %s
  AND originated_at < now() - make_interval(secs => %s);

-- count_in_flight --
-- How many attempts of an engine are still open.
SELECT count(*) AS n FROM call_attempt WHERE ended_at IS NULL AND engine = %s;
