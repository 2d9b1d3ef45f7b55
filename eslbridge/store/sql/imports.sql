-- Adding numbers to a task: COPY first, the careful way when some are known.

-- prepare_number_import --
-- Room for the per-statement task check, which holds the inserted rows in memory.
SET LOCAL work_mem = '64MB';

-- analyze_numbers --
-- Fresh planner statistics for task_number (samples a fixed number of rows).
ANALYZE task_number;

-- reserve_number_ids --
-- The given count of ids from the sequence: lowest, highest, count, and every id when they are not contiguous.
WITH r AS (SELECT nextval('task_number_id_seq') AS v FROM generate_series(1, %s))
SELECT min(v), max(v), count(*), CASE WHEN max(v) - min(v) + 1 <> count(*) THEN array_agg(v) END FROM r;

-- copy_numbers --
-- Tab-separated task id, phone and zone key per line.
COPY task_number (task_id, phone, tz) FROM STDIN;

-- copy_numbers_with_ids --
-- Tab-separated id, task id, phone and zone key per line.
COPY task_number (id, task_id, phone, tz) FROM STDIN;

-- known_phones --
-- Which of the given phones the task has.
SELECT phone FROM task_number WHERE task_id = %s AND phone = ANY(%s);

-- insert_new_numbers --
-- Phones (with reserved ids, or NULLs for fresh ones) and their zone keys in the given order; ones the task has are skipped.
INSERT INTO task_number (id, task_id, phone, tz)
SELECT coalesce(i, nextval('task_number_id_seq')), %s, p, z
FROM unnest(%s::bigint[], %s::text[], %s::text[]) WITH ORDINALITY AS x(i, p, z, n)
ORDER BY n ON CONFLICT (task_id, phone) DO NOTHING;
