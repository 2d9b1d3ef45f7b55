-- One validated plan per task (eslbridge.plan).
--
-- plan_error: why the engine cannot dial a task whose row came from outside
-- the API and `apply` (which refuse such settings), e.g. a destination
-- FreeSWITCH reads as missing. NULL: the task plans. Set and cleared by the
-- engine at each task-list refresh; shown by progress, the API and the CLI.
ALTER TABLE task ADD COLUMN plan_error text;

-- Phones are what FreeSWITCH can be given in a dial string: digits with an
-- optional leading '+'. Importers normalise before writing; this refuses a
-- hostile phone written straight into the table with a clear error instead of
-- leaving it to the dialer. NOT VALID: rows written before this check stay
-- readable, and the dialer blocks them (18, INVALID_PHONE) when claimed.
ALTER TABLE task_number ADD CONSTRAINT task_number_phone_dialable
    CHECK (phone ~ '^[+]?[0-9]{1,32}$') NOT VALID;
