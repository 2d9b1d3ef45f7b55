-- What the demo and the benchmarks write to start from, and the counts they
-- watch while the engine works. The product never runs these.

-- add_line --
-- A line (tenant, name, dial string, concurrent calls, node, caller id).
INSERT INTO caller_line (user_id, name, dial_string, call_line, node, call_number)
VALUES (%s, %s, %s, %s, %s, %s) RETURNING id;

-- add_time_group --
INSERT INTO disable_dial_timegroup (user_id, name) VALUES (%s, %s) RETURNING id;

-- add_time_range --
-- A blocked range on every weekday (group, start, end).
INSERT INTO disable_dial_timerange (group_id, start_time, end_time) VALUES (%s, %s, %s);

-- add_recycle_rule --
INSERT INTO auto_recycle_rule (user_id, name, max_attempts) VALUES (%s, %s, %s) RETURNING id;

-- add_recycle_entry --
-- Retry a status after an interval in minutes, so many times (rule, status, interval, times).
INSERT INTO auto_recycle_rule_entry (rule_id, status, interval_min, times) VALUES (%s, %s, %s, %s);

-- add_numbered_tasks --
-- Stopped tasks 'task 1' … 'task N' of a tenant on a line, extension 9000.
INSERT INTO task (user_id, name, destination_extension, caller_line_id)
SELECT %(user)s, 'task ' || g, '9000', %(line)s FROM generate_series(1, %(count)s) g RETURNING uuid;

-- add_sample_numbers --
-- The same phones 13800000001, 13800000002 … for each of some tasks.
INSERT INTO task_number (task_id, phone)
SELECT t, '1380000' || lpad(g::text, 4, '0') FROM unnest(%s::uuid[]) t, generate_series(1, %s) g;

-- final_numbers --
-- Numbers of some tasks in a final status with no retry scheduled.
SELECT count(*) AS n FROM task_number WHERE task_id = ANY(%s) AND status >= 10 AND next_attempt_at IS NULL;

-- ended_calls --
SELECT count(*) AS n FROM call_attempt WHERE ended_at IS NOT NULL;

-- attempt_times --
-- When each attempt of a task was originated and ended, in origination order.
SELECT originated_at, ended_at FROM call_attempt WHERE task_id = %s ORDER BY originated_at;

-- undelivered_notifications --
-- Outbox rows not delivered; with the flag, dead letters too.
SELECT count(*) AS n FROM notification_outbox WHERE delivered_at IS NULL AND (%s OR dead_at IS NULL);

-- notification_outcomes --
SELECT count(*) FILTER (WHERE delivered_at IS NOT NULL) AS delivered,
       count(*) FILTER (WHERE dead_at IS NOT NULL) AS failed FROM notification_outbox;

-- attempt_outcomes --
-- Every attempt of a task with its number's phone, oldest first (the fault benchmark's ground truth check).
SELECT a.call_uuid::text AS call_uuid, n.phone, a.status, a.hangup_cause, a.billsec, a.recovered,
       a.originated_at, a.ended_at
FROM call_attempt a JOIN task_number n ON n.id = a.number_id WHERE a.task_id = %s ORDER BY a.id;
