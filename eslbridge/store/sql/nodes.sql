-- FreeSWITCH nodes as operators see them: paused for maintenance, and what
-- each engine's ESL link to each node says (engine_node, written by the engines).

-- pause_node --
-- A node paused (name, who, reason): no engine starts a call on it until it is resumed.
INSERT INTO node (name, paused_at, paused_by, reason) VALUES (%s, now(), %s, %s)
ON CONFLICT (name) DO UPDATE SET paused_at = COALESCE(node.paused_at, now()),
                                 paused_by = EXCLUDED.paused_by, reason = EXCLUDED.reason
RETURNING paused_at;

-- resume_node --
-- A paused node dials again; returns its row if it was paused.
UPDATE node SET paused_at = NULL, paused_by = NULL, reason = NULL
WHERE name = %s AND paused_at IS NOT NULL RETURNING name;

-- paused_nodes --
-- Names of the nodes paused now.
SELECT name FROM node WHERE paused_at IS NOT NULL;

-- known_node --
-- A node some line names, some engine has a link to, or that has a row of its own.
SELECT 1 FROM caller_line WHERE node = %(node)s
UNION ALL SELECT 1 FROM engine_node WHERE node = %(node)s
UNION ALL SELECT 1 FROM node WHERE name = %(node)s
LIMIT 1;

-- node_list --
-- Every known node: paused or not, calls in flight on it (all engines), and live engines' links to it
-- (engine, connected, since) whose heartbeat is younger than the given seconds.
WITH names AS (
    SELECT node AS name FROM caller_line
    UNION SELECT node FROM engine_node
    UNION SELECT name FROM node
)
SELECT n.name, p.paused_at, p.paused_by, p.reason,
       (SELECT count(*) FROM call_attempt a WHERE a.node = n.name AND a.ended_at IS NULL) AS in_flight,
       COALESCE((SELECT json_agg(json_build_object('engine', l.engine, 'connected', l.up,
                                                   'since', l.changed_at) ORDER BY l.engine)
                 FROM engine_node l JOIN engine e ON e.id = l.engine
                 WHERE l.node = n.name AND e.heartbeat > now() - make_interval(secs => %s)), '[]') AS links
FROM names n LEFT JOIN node p ON p.name = n.name
ORDER BY n.name;
