-- The replay guard needs no crash safety: after a crash PostgreSQL empties an
-- unlogged table, forgetting signatures that are at most five minutes old.
-- Its writes then skip the WAL and their commits wait for no flush, so the
-- check is one statement per request instead of a transaction of four.
ALTER TABLE api_signature_seen SET UNLOGGED;
