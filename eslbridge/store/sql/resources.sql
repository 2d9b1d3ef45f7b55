-- The API's tenant resources (lines, time groups, rules, groups, queues, tag
-- scenes) and their children, tags, and `eslbridge apply`'s upserts.
-- Most are templates: the table and column names come from the API's
-- resource specs and request models, filled in as quoted identifiers.

-- list_rows --
-- Template: a page of a tenant's rows of {table}; _total counts every page.
SELECT *, count(*) OVER () AS _total FROM {table} WHERE user_id = %s ORDER BY {order} LIMIT %s OFFSET %s;

-- owned_row --
-- Template: one row of {table} by {id}, if the tenant owns it.
SELECT * FROM {table} WHERE {id} = %s AND user_id = %s;

-- insert_row --
-- Template: a row of {table} from column values.
INSERT INTO {table} ({columns}) VALUES ({values}) RETURNING *;

-- update_row --
-- Template: a tenant's row of {table} by {id}, stamped with updated_at.
UPDATE {table} SET {assignments}, updated_at = now() WHERE {id} = %s AND user_id = %s RETURNING *;

-- update_row_unstamped --
-- Template: as update_row, for a table without updated_at.
UPDATE {table} SET {assignments} WHERE {id} = %s AND user_id = %s RETURNING *;

-- delete_row --
-- Template: a tenant's row of {table} by {id}.
DELETE FROM {table} WHERE {id} = %s AND user_id = %s;

-- update_by_id --
-- Template: a row of {table} by id, for rows owned through a parent the caller checked.
UPDATE {table} SET {assignments} WHERE id = %s;

-- delete_by_id --
-- Template: as update_by_id.
DELETE FROM {table} WHERE id = %s;

-- child_rows --
-- Template: the {columns} of the {table} rows whose {parent} is one of the given ids, in {order}.
SELECT {parent}, {columns} FROM {table} WHERE {parent} = ANY(%s) ORDER BY {order};

-- delete_children --
-- Template: the {table} rows of one {parent}.
DELETE FROM {table} WHERE {parent} = %s;

-- insert_child --
-- Template: a {table} row from column values (the parent's first).
INSERT INTO {table} ({columns}) VALUES ({values});

-- upsert --
-- Template: insert a row of {table}, or update it when its {key} exists.
INSERT INTO {table} ({columns}) VALUES ({values}) ON CONFLICT ({key}) DO UPDATE SET {assignments};

-- tag_groups --
-- A page of the tag groups of a tenant's scenes; _total counts every page.
SELECT g.*, count(*) OVER () AS _total FROM tag_group g JOIN tag_scene s ON s.id = g.scene_id
WHERE s.user_id = %s ORDER BY g.id LIMIT %s OFFSET %s;

-- tag_group --
SELECT g.* FROM tag_group g JOIN tag_scene s ON s.id = g.scene_id WHERE g.id = %s AND s.user_id = %s;

-- tags --
-- A page of the tags of a tenant's scenes; _total counts every page.
SELECT t.*, count(*) OVER () AS _total FROM tag t JOIN tag_group g ON g.id = t.group_id
JOIN tag_scene s ON s.id = g.scene_id WHERE s.user_id = %s ORDER BY t.id LIMIT %s OFFSET %s;

-- tag_row --
SELECT t.* FROM tag t JOIN tag_group g ON g.id = t.group_id JOIN tag_scene s ON s.id = g.scene_id
WHERE t.id = %s AND s.user_id = %s;

-- task_destination --
SELECT destination_extension FROM task WHERE uuid = %s AND user_id = %s;

-- group_tag_scene --
-- The tag scene of a tenant's outbound group.
SELECT s.id, s.name, s.description FROM outbound_group g JOIN tag_scene s ON s.id = g.tag_scene_id
WHERE g.id = %s AND g.user_id = %s;

-- scene_tag_groups --
SELECT id, name FROM tag_group WHERE scene_id = %s ORDER BY id;

-- scene_tags --
SELECT t.id, t.name, t.description FROM tag t JOIN tag_group g ON g.id = t.group_id WHERE g.scene_id = %s ORDER BY t.id;
