-- Tenants, API apps and their keys, and the replay guard's signatures.

-- app --
SELECT app_id, user_id, public_key FROM api_app WHERE app_id = %s;

-- add_tenant --
-- A tenant, unless one with that id exists.
INSERT INTO tenant (id, name) VALUES (%s, %s) ON CONFLICT DO NOTHING;

-- tenant_exists --
SELECT 1 FROM tenant WHERE id = %s;

-- create_app --
-- An app (app id, tenant, name, public key or NULL); the key's time is set with the key.
INSERT INTO api_app (app_id, user_id, name, public_key, key_set_at)
VALUES (%s, %s, %s, %s, CASE WHEN %s::text IS NULL THEN NULL ELSE now() END);

-- set_key --
UPDATE api_app SET public_key = %s, key_set_at = now() WHERE app_id = %s;

-- record_signatures --
-- Signature hashes; returns the ones not seen before.
INSERT INTO api_signature_seen (sign_hash) SELECT unnest(%s::bytea[])
ON CONFLICT DO NOTHING RETURNING sign_hash;

-- forget_signatures --
-- Signatures seen more than the given seconds ago.
DELETE FROM api_signature_seen WHERE seen_at < now() - make_interval(secs => %s);
