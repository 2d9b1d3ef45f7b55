-- Bulk imports: task_number loses what forced PostgreSQL to insert it row by row.
--
-- sort_key's volatile default (random()) made COPY fall back from batched
-- heap inserts to one insert per row; random order is now taken from random
-- points of the pending ids when numbers are claimed.
--
-- task_number.task_id keeps its integrity rules, checked per statement instead of per row.
--
-- A foreign key runs one lookup of `task` for every inserted number (~4 µs
-- each), which was 40 % of a million-number import. These triggers give the
-- same guarantees with one set-based check per statement:
--   * an INSERT naming a task that does not exist fails (foreign_key_violation),
--     and the named tasks are locked FOR KEY SHARE until commit, exactly as a
--     foreign key locks them, so a concurrent delete waits or the insert fails;
--   * moving a number to another task is checked the same way;
--   * deleting a task deletes its numbers (was ON DELETE CASCADE);
--   * a task's uuid cannot change.

ALTER TABLE task_number DROP COLUMN sort_key;
ALTER TABLE task_number DROP CONSTRAINT task_number_task_id_fkey;

CREATE FUNCTION task_number_check_tasks() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    named uuid[];
    found integer;
BEGIN
    IF TG_LEVEL = 'ROW' THEN
        named := ARRAY[NEW.task_id];
    ELSE
        SELECT array_agg(DISTINCT task_id) INTO named FROM new_rows;
    END IF;
    SELECT count(*) INTO found FROM (SELECT 1 FROM task WHERE uuid = ANY(named) FOR KEY SHARE) t;
    IF found < coalesce(cardinality(named), 0) THEN
        RAISE foreign_key_violation USING
            MESSAGE = 'task_number.task_id must name an existing task',
            TABLE = 'task_number', COLUMN = 'task_id';
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER task_number_task_exists AFTER INSERT ON task_number
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION task_number_check_tasks();

CREATE TRIGGER task_number_task_moved AFTER UPDATE OF task_id ON task_number
    FOR EACH ROW WHEN (OLD.task_id IS DISTINCT FROM NEW.task_id)
    EXECUTE FUNCTION task_number_check_tasks();

CREATE FUNCTION task_delete_numbers() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM task_number WHERE task_id = OLD.uuid;
    RETURN NULL;
END $$;

CREATE TRIGGER task_delete_numbers AFTER DELETE ON task
    FOR EACH ROW EXECUTE FUNCTION task_delete_numbers();

CREATE FUNCTION task_keep_uuid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE restrict_violation USING MESSAGE = 'task.uuid cannot change', TABLE = 'task', COLUMN = 'uuid';
END $$;

CREATE TRIGGER task_keep_uuid BEFORE UPDATE OF uuid ON task
    FOR EACH ROW WHEN (OLD.uuid IS DISTINCT FROM NEW.uuid)
    EXECUTE FUNCTION task_keep_uuid();
