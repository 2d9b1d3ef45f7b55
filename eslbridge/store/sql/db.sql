-- Migration bookkeeping and fresh databases (demo, benchmarks).

-- lock_migrations --
-- One migrator at a time, until its transaction ends.
SELECT pg_advisory_xact_lock(727274);

-- create_migration_table --
CREATE TABLE IF NOT EXISTS schema_migration (
    version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now()
);

-- applied_migrations --
SELECT version FROM schema_migration;

-- record_migration --
INSERT INTO schema_migration (version, name) VALUES (%s, %s);

-- drop_database --
-- Template: {name} and every session connected to it.
DROP DATABASE IF EXISTS {name} WITH (FORCE);

-- clone_database --
-- Template: a database {name}, a copy of the database {template} (nobody may be connected to it).
CREATE DATABASE {name} TEMPLATE {template};

-- create_database --
-- Template: an empty database {name}.
CREATE DATABASE {name};

-- ping --
-- Readiness: the server answers a statement.
SELECT 1 AS ok;
