-- What a task's plan is built from (eslbridge.plan): the task, its line and its
-- disable time group's ranges, and where the engine records why a task cannot be dialled.

-- plan_rows --
-- Tasks with their line, blocked time ranges (weekdays, start, end), customer service group,
-- skill group, caller-id number group and the tenant's compliance policy: the given ones, started
-- or not, or (ids NULL) every started task, as the dialer plans them. The groups are the tenant's
-- own (another tenant's id finds nothing).
SELECT t.*, l.dial_string, l.call_number, l.call_line, l.node, l.cps, l.begin_at, l.deadline_at,
       l.call_number_prefix, l.is_call_number_enable,
       p.calling_hours_start, p.calling_hours_end, p.max_attempts_day, p.max_attempts_week, p.abandoned_rest_h,
       coalesce((SELECT json_agg(json_build_array(r.weekdays, r.start_time::text, r.end_time::text))
                 FROM disable_dial_timerange r WHERE r.group_id = t.disable_dial_timegroup), '[]') AS blocked,
       cs.id AS cs_id, cs.queue AS cs_queue, skill.id AS skill_id, skill.queue AS skill_queue,
       ng.id AS ng_id, ng.timezone AS ng_timezone,
       (SELECT count(*) FROM number_group_number n WHERE n.group_id = ng.id) AS ng_numbers
FROM task t JOIN caller_line l ON l.id = t.caller_line_id
LEFT JOIN customer_service cs ON cs.id = t.customer_service_id AND cs.user_id = t.user_id
-- the caller-id number group, named by its id as text (seed 001): the tenant's own
LEFT JOIN number_group ng ON ng.user_id = t.user_id
     AND ng.id = CASE WHEN t.outbound_number_group_id ~ '^[0-9]{1,18}$' THEN t.outbound_number_group_id::bigint END
-- an agent task's skill group: the tenant's own usable group, by id or by queue name
LEFT JOIN LATERAL (SELECT g.id, g.queue FROM customer_service g
                   WHERE t.skill_set_id IS NOT NULL AND g.user_id = t.user_id AND g.status = 1
                     AND g.queue IS NOT NULL AND (g.id::text = t.skill_set_id OR g.queue = t.skill_set_id)
                   ORDER BY g.id LIMIT 1) skill ON true
LEFT JOIN tenant_policy p ON p.user_id = t.user_id
WHERE CASE WHEN %(ids)s::uuid[] IS NULL THEN t.start = 1 ELSE t.uuid = ANY(%(ids)s::uuid[]) END;

-- set_plan_errors --
-- Why tasks cannot be dialled (NULL clears it); rows already right are not touched.
UPDATE task t SET plan_error = x.error
FROM unnest(%s::uuid[], %s::text[]) AS x(task_id, error)
WHERE t.uuid = x.task_id AND t.plan_error IS DISTINCT FROM x.error;

-- set_hold_reasons --
-- Why the engine holds tasks it could dial (NULL clears it); rows already right are not touched.
UPDATE task t SET hold_reason = x.reason
FROM unnest(%s::uuid[], %s::text[]) AS x(task_id, reason)
WHERE t.uuid = x.task_id AND t.hold_reason IS DISTINCT FROM x.reason;

-- save_pacing --
-- What this engine's pacing saw for its agent tasks, one row per task and engine.
INSERT INTO task_pacing (task_id, engine, at, agents_ready, agents_busy, agents_wrap_up, agents_logged_in,
                         calls_ringing, calls_waiting, dial_level)
SELECT x.task_id, %(engine)s, now(), x.agents_ready, x.agents_busy, x.agents_wrap_up, x.agents_logged_in,
       x.calls_ringing, x.calls_waiting, x.dial_level
FROM jsonb_to_recordset(%(rows)s::jsonb)
     AS x(task_id uuid, agents_ready int, agents_busy int, agents_wrap_up int, agents_logged_in int,
          calls_ringing int, calls_waiting int, dial_level real)
ON CONFLICT (task_id, engine) DO UPDATE SET at = EXCLUDED.at, agents_ready = EXCLUDED.agents_ready,
    agents_busy = EXCLUDED.agents_busy, agents_wrap_up = EXCLUDED.agents_wrap_up,
    agents_logged_in = EXCLUDED.agents_logged_in, calls_ringing = EXCLUDED.calls_ringing,
    calls_waiting = EXCLUDED.calls_waiting, dial_level = EXCLUDED.dial_level;
