-- Compliance a call centre can prove: do-not-call lists, callee-local calling
-- hours, contact caps, and attempt records that stand on their own.

-- Do-not-call lists: a tenant's own, or global (user_id NULL: an operator's,
-- honoured for every tenant). Entries hold numbers in the stored number form.
CREATE TABLE dnc_list (
    id           serial PRIMARY KEY,
    user_id      text REFERENCES tenant(id) ON DELETE CASCADE,
    name         text NOT NULL,
    description  text NOT NULL DEFAULT '',
    created_at   timestamptz NOT NULL DEFAULT now(),
    UNIQUE NULLS NOT DISTINCT (user_id, name)
);

-- Claims look numbers up by phone (the primary key's first column): one index
-- probe per claimed number, whatever the lists' size.
CREATE TABLE dnc_entry (
    phone       text COLLATE "C" NOT NULL,
    list_id     integer NOT NULL,
    expires_at  timestamptz,          -- NULL: never
    reason      text,
    added_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (phone, list_id)
);

-- dnc_entry.list_id is not checked on insert: a foreign key's check per row,
-- or a per-statement check over the inserted rows, was a third to a half of
-- an import's time. An entry naming no list stops nothing (claims and checks
-- join the lists); a deleted list takes its entries along; an entry's list
-- cannot change.
CREATE FUNCTION dnc_entry_keep_list() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE restrict_violation USING MESSAGE = 'dnc_entry.list_id cannot change', TABLE = 'dnc_entry', COLUMN = 'list_id';
END $$;

CREATE TRIGGER dnc_entry_keep_list BEFORE UPDATE OF list_id ON dnc_entry
    FOR EACH ROW WHEN (OLD.list_id IS DISTINCT FROM NEW.list_id)
    EXECUTE FUNCTION dnc_entry_keep_list();

CREATE FUNCTION dnc_list_delete_entries() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM dnc_entry WHERE list_id = OLD.id;
    RETURN NULL;
END $$;

CREATE TRIGGER dnc_list_delete_entries AFTER DELETE ON dnc_list
    FOR EACH ROW EXECUTE FUNCTION dnc_list_delete_entries();

-- A tenant's compliance policy. No row: no calling hours, no caps, and an
-- abandoned call's number rests 72 hours.
CREATE TABLE tenant_policy (
    user_id              text PRIMARY KEY REFERENCES tenant(id) ON DELETE CASCADE,
    calling_hours_start  time,        -- with calling_hours_end: no call outside these hours of the callee's
    calling_hours_end    time,        -- local time, whatever a task says (e.g. 08:00–21:00)
    max_attempts_day     integer CHECK (max_attempts_day IS NULL OR max_attempts_day >= 1),
    max_attempts_week    integer CHECK (max_attempts_week IS NULL OR max_attempts_week >= 1),
    abandoned_rest_h     integer NOT NULL DEFAULT 72 CHECK (abandoned_rest_h BETWEEN 0 AND 720),
    updated_at           timestamptz NOT NULL DEFAULT now(),
    CHECK ((calling_hours_start IS NULL) = (calling_hours_end IS NULL))
);

-- A task's windows may be read in each callee's own zone (timezone 'callee');
-- fallback_timezone is then the zone of numbers whose zone is unknown (NULL:
-- the server's). recall_abandoned: the task may call an abandoned number again
-- before its rest is over (e.g. to put the callee through to an agent).
ALTER TABLE task ADD COLUMN fallback_timezone text;
ALTER TABLE task ADD COLUMN recall_abandoned boolean NOT NULL DEFAULT false;

-- The number's zone key, derived from the number at import (eslbridge.zones):
-- an IANA name, several separated by a space, or '' when unknown.
ALTER TABLE task_number ADD COLUMN tz text COLLATE "C" NOT NULL DEFAULT '';

-- Pending numbers are those never tried and not waiting (a number over a contact cap keeps
-- status 0 and waits for next_attempt_at like a retry), grouped by zone: a claim walks the part
-- of each zone it may call, in id order, and never reads the numbers of the others. One index
-- as before (a second one, by id alone, cost imports a fifth of their speed).
DROP INDEX task_number_pending;
CREATE INDEX task_number_pending ON task_number (task_id, tz, id) WHERE status = 0 AND next_attempt_at IS NULL;

-- What a regulator asks of every attempt, kept on the attempt itself so the
-- record outlives its task and number: the tenant, the number, the claim's
-- do-not-call check and the callee's zone and local time (the caller id shown
-- is caller_id_shown, migration 011).
ALTER TABLE call_attempt ADD COLUMN user_id text;
ALTER TABLE call_attempt ADD COLUMN phone text COLLATE "C";
-- Attempts written before this migration were not checked (false); every new one is.
ALTER TABLE call_attempt ADD COLUMN dnc_checked boolean NOT NULL DEFAULT false;
ALTER TABLE call_attempt ALTER COLUMN dnc_checked SET DEFAULT true;
ALTER TABLE call_attempt ADD COLUMN dnc_list_id integer;      -- the list that blocked the call; NULL: clear
ALTER TABLE call_attempt ADD COLUMN callee_tz text;
ALTER TABLE call_attempt ADD COLUMN callee_local_at timestamp;

UPDATE call_attempt a SET user_id = t.user_id, phone = n.phone
FROM task_number n JOIN task t ON t.uuid = n.task_id
WHERE n.id = a.number_id;

ALTER TABLE call_attempt ALTER COLUMN number_id DROP NOT NULL;
ALTER TABLE call_attempt DROP CONSTRAINT call_attempt_number_id_fkey;
ALTER TABLE call_attempt ADD CONSTRAINT call_attempt_number_id_fkey
    FOREIGN KEY (number_id) REFERENCES task_number(id) ON DELETE SET NULL;

-- Contact caps count a tenant's attempts of one number over the last days; a
-- claim first asks whether the tenant had any abandoned call lately (few have).
CREATE INDEX call_attempt_contacts ON call_attempt (user_id, phone, originated_at);
CREATE INDEX call_attempt_abandoned ON call_attempt (user_id, originated_at) WHERE abandoned;
-- Export and retention read attempts by time; attempts are written in time
-- order, so a block-range index is enough and costs next to nothing to keep.
CREATE INDEX call_attempt_originated ON call_attempt USING brin (originated_at);
CREATE INDEX notification_outbox_created ON notification_outbox USING brin (created_at);
