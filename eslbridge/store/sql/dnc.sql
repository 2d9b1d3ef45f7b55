-- Do-not-call lists and their entries, a tenant's compliance policy.
-- A list's user_id is its tenant, or NULL for a global list (an operator's).
-- Claims check the lists in claims.sql (take_numbers).

-- dnc_create_list --
-- A list of a tenant (NULL: global); an existing one of that name is returned as it is.
WITH made AS (
    INSERT INTO dnc_list (user_id, name, description) VALUES (%(user)s, %(name)s, %(description)s)
    ON CONFLICT (user_id, name) DO NOTHING
    RETURNING *
)
SELECT * FROM made
UNION ALL
SELECT * FROM dnc_list WHERE user_id IS NOT DISTINCT FROM %(user)s AND name = %(name)s
LIMIT 1;

-- dnc_list_by_name --
SELECT * FROM dnc_list WHERE user_id IS NOT DISTINCT FROM %(user)s AND name = %(name)s;

-- dnc_list_by_id --
-- A tenant's list by id (NULL user: a global one).
SELECT * FROM dnc_list WHERE id = %(id)s AND user_id IS NOT DISTINCT FROM %(user)s;

-- dnc_lists --
-- A tenant's lists (NULL: the global ones), by name.
SELECT * FROM dnc_list WHERE user_id IS NOT DISTINCT FROM %(user)s ORDER BY name;

-- dnc_all_lists --
-- Every list, global ones first, with its tenant.
SELECT * FROM dnc_list ORDER BY user_id NULLS FIRST, name;

-- dnc_count_entries --
-- Entries of a list, and how many of them are in force now.
SELECT count(*) AS entries, count(*) FILTER (WHERE expires_at IS NULL OR expires_at > now()) AS in_force
FROM dnc_entry WHERE list_id = %s;

-- dnc_delete_list --
-- Its entries go with it (a trigger).
DELETE FROM dnc_list WHERE id = %s;

-- dnc_prepare --
-- Room in memory for an import's sort by phone.
SET LOCAL work_mem = '128MB';

-- dnc_probe_joins --
-- A merge meets the list by one primary-key probe per staged phone. A merge or hash join would
-- read every entry of the list (or, finding a list's entries through the key's second column,
-- every entry of every list).
SET LOCAL enable_mergejoin = off;
SET LOCAL enable_hashjoin = off;

-- dnc_stage --
-- The staging table of one import, gone at commit.
CREATE TEMP TABLE dnc_staging (n bigint, phone text COLLATE "C", expires_at timestamptz, reason text)
    ON COMMIT DROP;

-- dnc_analyze_staged --
-- Statistics of the staged rows: without them the planner takes a million rows for a few
-- thousand and joins them to the list row by row.
ANALYZE dnc_staging;

-- dnc_unstage --
-- The staging table, once merged (another import may follow in the same transaction).
DROP TABLE dnc_staging;

-- dnc_copy_staged --
-- Tab-separated line number, phone, expiry and reason (\N: none) per line.
COPY dnc_staging (n, phone, expires_at, reason) FROM STDIN;

-- dnc_insert_staged --
-- The staged entries into a list that has none of them, in phone order (a phone staged twice
-- keeps its last line): a plain insert, no probe of the list; its row count is the entries
-- added. One the list has makes it fail with a unique violation, and dnc_merge_staged is used
-- instead.
INSERT INTO dnc_entry (phone, list_id, expires_at, reason)
SELECT DISTINCT ON (phone) phone, %(list)s, expires_at, reason FROM dnc_staging ORDER BY phone, n DESC;

-- dnc_merge_staged --
-- The staged entries into a list, in phone order (the index's order); a phone staged twice keeps
-- its last line; an entry already there takes a new expiry or reason, an unchanged one is not
-- written again. Counts of added and changed entries. MERGE inserts plainly (an INSERT … ON
-- CONFLICT checks each row twice: twice the time); an entry a concurrent writer added meanwhile
-- makes it fail with a unique violation, and dnc_upsert_staged is used instead.
WITH merged AS (
    MERGE INTO dnc_entry e
    USING (SELECT DISTINCT ON (phone) phone, expires_at, reason FROM dnc_staging ORDER BY phone, n DESC) s
    ON e.phone = s.phone AND e.list_id = %(list)s
    WHEN MATCHED AND (e.expires_at, e.reason) IS DISTINCT FROM (s.expires_at, s.reason) THEN
        UPDATE SET expires_at = s.expires_at, reason = s.reason, added_at = now()
    WHEN NOT MATCHED THEN
        INSERT (phone, list_id, expires_at, reason) VALUES (s.phone, %(list)s, s.expires_at, s.reason)
    RETURNING merge_action() AS action
)
SELECT count(*) FILTER (WHERE action = 'INSERT') AS added, count(*) FILTER (WHERE action = 'UPDATE') AS changed
FROM merged;

-- dnc_upsert_staged --
-- dnc_merge_staged when another writer adds entries to the same list at the same time.
WITH merged AS (
    INSERT INTO dnc_entry (phone, list_id, expires_at, reason)
    SELECT DISTINCT ON (phone) phone, %(list)s, expires_at, reason FROM dnc_staging ORDER BY phone, n DESC
    ON CONFLICT (phone, list_id) DO UPDATE SET expires_at = EXCLUDED.expires_at, reason = EXCLUDED.reason,
        added_at = now()
    WHERE (dnc_entry.expires_at, dnc_entry.reason) IS DISTINCT FROM (EXCLUDED.expires_at, EXCLUDED.reason)
    RETURNING xmax = 0 AS fresh
)
SELECT count(*) FILTER (WHERE fresh) AS added, count(*) FILTER (WHERE NOT fresh) AS changed FROM merged;

-- dnc_analyze --
-- Fresh planner statistics after a big import.
ANALYZE dnc_entry;

-- dnc_remove_entries --
-- Phones out of a list; how many were there.
DELETE FROM dnc_entry WHERE list_id = %s AND phone = ANY(%s);

-- dnc_entries_page --
-- A list's entries in phone order after a phone (keyset: no offset to skip over).
SELECT phone, expires_at, reason, added_at FROM dnc_entry
WHERE list_id = %(list)s AND phone > %(after)s ORDER BY phone LIMIT %(limit)s;

-- dnc_holding --
-- The lists of a tenant and the global ones holding a phone now, the tenant's first.
SELECT l.id, l.name, l.user_id IS NULL AS global, e.expires_at, e.reason, e.added_at
FROM dnc_entry e JOIN dnc_list l ON l.id = e.list_id
WHERE e.phone = %(phone)s AND (l.user_id = %(user)s OR l.user_id IS NULL)
  AND (e.expires_at IS NULL OR e.expires_at > now())
ORDER BY l.user_id IS NULL, l.id;

-- dnc_fill --
-- Benchmarks: count entries into a list, generated by the server (phones: a prefix, then the
-- digits of base, base + 1, …).
INSERT INTO dnc_entry (phone, list_id, reason)
SELECT %(prefix)s || (%(base)s::bigint + g)::text, %(list)s, 'bench' FROM generate_series(0, %(count)s::bigint - 1) AS g;

-- dnc_vacuum --
-- After a bulk load: the visibility map set and fresh statistics (outside a transaction).
VACUUM (ANALYZE) dnc_entry;

-- tenant_policy --
-- A tenant's compliance policy (no row: the defaults).
SELECT * FROM tenant_policy WHERE user_id = %s;

-- set_tenant_policy --
-- Write a tenant's whole policy.
INSERT INTO tenant_policy (user_id, calling_hours_start, calling_hours_end, max_attempts_day, max_attempts_week,
                           abandoned_rest_h, updated_at)
VALUES (%(user)s, %(start)s, %(end)s, %(day)s, %(week)s, %(rest)s, now())
ON CONFLICT (user_id) DO UPDATE SET calling_hours_start = EXCLUDED.calling_hours_start,
    calling_hours_end = EXCLUDED.calling_hours_end, max_attempts_day = EXCLUDED.max_attempts_day,
    max_attempts_week = EXCLUDED.max_attempts_week, abandoned_rest_h = EXCLUDED.abandoned_rest_h,
    updated_at = now()
RETURNING *;
