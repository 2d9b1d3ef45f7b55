-- What a task's plan is built from (eslbridge.plan): the task, its line and its
-- disable time group's ranges, and where the engine records why a task cannot be dialled.

-- plan_rows --
-- The given tasks with their line and blocked time ranges (weekdays, start, end), started or not.
SELECT t.*, l.dial_string, l.call_number, l.call_line, l.node, l.cps, l.begin_at, l.deadline_at,
       coalesce((SELECT json_agg(json_build_array(r.weekdays, r.start_time::text, r.end_time::text))
                 FROM disable_dial_timerange r WHERE r.group_id = t.disable_dial_timegroup), '[]') AS blocked,
       (SELECT cs.queue FROM customer_service cs WHERE cs.id = t.customer_service_id) AS cs_queue,
       -- an agent task's skill group: the tenant's own usable group, by id or by queue name
       (SELECT cs.queue FROM customer_service cs
        WHERE cs.user_id = t.user_id AND cs.status = 1 AND cs.queue IS NOT NULL
          AND (cs.id::text = t.skill_set_id OR cs.queue = t.skill_set_id)
        ORDER BY cs.id LIMIT 1) AS skill_queue
FROM task t JOIN caller_line l ON l.id = t.caller_line_id
WHERE t.uuid = ANY(%s);

-- set_plan_errors --
-- Why tasks cannot be dialled (NULL clears it); rows already right are not touched.
UPDATE task t SET plan_error = x.error
FROM unnest(%s::uuid[], %s::text[]) AS x(task_id, error)
WHERE t.uuid = x.task_id AND t.plan_error IS DISTINCT FROM x.error;
