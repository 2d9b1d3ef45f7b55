-- Caller-id number groups: their numbers with the day's use (the API's and the
-- dialer's reading), and the day's counters the dialer adds its picks to.

-- group_numbers --
-- The numbers of the given groups with their calls of today: "today" in each group's time zone
-- (NULL: the database's), over every engine and every group of the tenant holding the number.
SELECT g.id AS group_id, n.caller_id, n.daily_cap, coalesce(u.calls, 0) AS used_today, d.day
FROM number_group g
CROSS JOIN LATERAL (SELECT (now() AT TIME ZONE coalesce(g.timezone, current_setting('TimeZone')))::date AS day) d
JOIN number_group_number n ON n.group_id = g.id
LEFT JOIN caller_id_use u ON u.user_id = g.user_id AND u.caller_id = n.caller_id AND u.day = d.day
WHERE g.id = ANY(%s)
ORDER BY g.id, n.caller_id;

-- delete_group_numbers --
-- A group's numbers, before they are replaced (the day's counters stay).
DELETE FROM number_group_number WHERE group_id = %s;

-- insert_group_numbers --
-- Numbers of a group: caller ids and daily caps (NULL: no cap).
INSERT INTO number_group_number (group_id, caller_id, daily_cap)
SELECT %(group)s, x.caller_id, x.daily_cap
FROM unnest(%(caller_ids)s::text[], %(caps)s::int[]) AS x(caller_id, daily_cap);

-- number_group_ids_past --
-- The id sequence past every id written explicitly (eslbridge apply's files choose ids).
SELECT setval(pg_get_serial_sequence('number_group', 'id'), greatest(max(id), 1)) FROM number_group;

-- use_caller_ids --
-- The dialer's picks of one claim added to today's counters of a group's numbers, in the claim
-- transaction: a number's picks are taken only while its calls stay within its daily cap. Each
-- number asked about comes back with whether they were taken, its calls as this statement saw
-- them, the day and its cap; one no longer in the group comes back with no day. Rows are locked
-- in caller-id order (no deadlock between engines); an engine waits for another's claim holding
-- the same rows, then counts with its calls: the cap holds across engines.
WITH want AS (
    SELECT x.caller_id, x.n, n.daily_cap AS cap, g.user_id,
           (now() AT TIME ZONE coalesce(g.timezone, current_setting('TimeZone')))::date AS day
    FROM unnest(%(caller_ids)s::text[], %(counts)s::int[]) AS x(caller_id, n)
    JOIN number_group g ON g.id = %(group)s
    JOIN number_group_number n ON n.group_id = g.id AND n.caller_id = x.caller_id
), took AS (
    INSERT INTO caller_id_use AS u (user_id, caller_id, day, calls)
    SELECT user_id, caller_id, day, n FROM want WHERE cap IS NULL OR n <= cap ORDER BY caller_id
    ON CONFLICT (user_id, caller_id, day) DO UPDATE SET calls = u.calls + EXCLUDED.calls
    WHERE u.calls + EXCLUDED.calls <= coalesce(
        (SELECT w.cap FROM want w WHERE w.caller_id = u.caller_id), 2147483647)
    RETURNING u.caller_id, u.calls
)
SELECT x.caller_id, t.calls IS NOT NULL AS took, coalesce(t.calls, c.calls, 0) AS calls, w.day, w.cap
FROM unnest(%(caller_ids)s::text[]) AS x(caller_id)
LEFT JOIN want w ON w.caller_id = x.caller_id
LEFT JOIN took t ON t.caller_id = x.caller_id
LEFT JOIN caller_id_use c ON c.user_id = w.user_id AND c.caller_id = x.caller_id AND c.day = w.day;
