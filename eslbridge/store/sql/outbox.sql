-- The notification outbox: claims with a lease, signing secrets, delivery
-- results, and what operators list and queue again.

-- claim_notifications --
-- Due rows no live lease holds, oldest first, leased to the caller.
UPDATE notification_outbox o SET claimed_by = %(owner)s,
    lease_until = %(now)s + make_interval(secs => %(lease)s)
FROM (SELECT id FROM notification_outbox
      WHERE delivered_at IS NULL AND dead_at IS NULL AND next_attempt_at <= %(now)s
        AND (lease_until IS NULL OR lease_until < %(now)s)
      ORDER BY next_attempt_at LIMIT %(limit)s FOR UPDATE SKIP LOCKED) d
WHERE o.id = d.id
RETURNING o.id, o.event_id::text AS event_id, o.user_id, o.url, o.payload::text AS body, o.attempts,
          o.created_at;

-- signing_secrets --
-- Unexpired secrets of some tenants, newest first.
SELECT user_id, secret FROM webhook_secret
WHERE user_id = ANY(%s) AND (expires_at IS NULL OR expires_at > %s) ORDER BY id DESC;

-- current_secret --
-- A tenant's newest secret without an expiry.
SELECT secret FROM webhook_secret WHERE user_id = %s AND expires_at IS NULL ORDER BY id DESC LIMIT 1;

-- expire_secrets --
-- A tenant's secrets without an expiry get one, the given seconds from now.
UPDATE webhook_secret SET expires_at = now() + make_interval(secs => %s)
WHERE user_id = %s AND expires_at IS NULL;

-- add_secret --
INSERT INTO webhook_secret (user_id, secret) VALUES (%s, %s);

-- add_delivery_attempts --
-- One row per try, from parallel arrays.
INSERT INTO delivery_attempt (outbox_id, at, http_status, latency_ms, error)
SELECT * FROM unnest(%s::bigint[], %s::timestamptz[], %s::int[], %s::real[], %s::text[]);

-- finish_deliveries --
-- Outbox rows after a try: lease released, delivered, rescheduled or dead.
UPDATE notification_outbox o SET attempts = o.attempts + 1, claimed_by = NULL, lease_until = NULL,
    delivered_at = CASE WHEN x.delivered THEN x.at END,
    next_attempt_at = coalesce(x.next_at, o.next_attempt_at),
    dead_at = CASE WHEN x.dead_reason IS NOT NULL THEN x.at END,
    dead_reason = x.dead_reason,
    last_error = coalesce(x.error, CASE WHEN x.delivered THEN NULL ELSE 'HTTP ' || x.http_status END)
FROM unnest(%s::bigint[], %s::timestamptz[], %s::bool[], %s::timestamptz[], %s::text[], %s::text[], %s::int[])
     AS x(id, at, delivered, next_at, dead_reason, error, http_status)
WHERE o.id = x.id;

-- list_notifications --
-- Newest first; with the flag, only the failed ones (dead, or tried and not delivered).
SELECT id, event_id::text AS event_id, task_id::text AS task_id, url, attempts, created_at,
       next_attempt_at, delivered_at, dead_at, dead_reason, last_error
FROM notification_outbox
WHERE NOT %s OR (delivered_at IS NULL AND (dead_at IS NOT NULL OR attempts > 0))
ORDER BY id DESC LIMIT %s;

-- replay_notifications --
-- Queue again with a fresh schedule: the given ids, or (no ids) the dead letters of a task and/or since a time.
UPDATE notification_outbox SET dead_at = NULL, dead_reason = NULL, delivered_at = NULL, attempts = 0,
    next_attempt_at = now(), claimed_by = NULL, lease_until = NULL
WHERE id = ANY(%(ids)s::bigint[])
   OR (cardinality(%(ids)s::bigint[]) = 0 AND dead_at IS NOT NULL
       AND (%(task)s::uuid IS NULL OR task_id = %(task)s)
       AND (%(since)s::timestamptz IS NULL OR created_at >= %(since)s));
