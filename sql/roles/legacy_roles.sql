-- supra-sync least-privilege roles on the legacy AquaCIS server (cf_quere_pro).
--
-- Run as a superuser (PostgreSQL 15 lets only superusers give the REPLICATION attribute), in
-- the legacy database, AFTER
-- `supra-sync setup` (which must itself run as that owner: CREATE PUBLICATION needs table
-- ownership, and setup creates the slot and the replication origin):
--
--   psql "dbname=cf_quere_pro" -v ON_ERROR_STOP=1 -f sql/roles/legacy_roles.sql
--   psql "dbname=cf_quere_pro" -c "ALTER ROLE supra_sync_legacy PASSWORD '…'"   -- or \password
--
-- Idempotent: run it again after the mappings change (new published tables) or after a new
-- `supra-sync setup`. With a non-default prefix, first: SET supra_sync.prefix = '<prefix>';
--
-- Roles (cluster-wide; grants are per database):
--   supra_sync_legacy_reader  NOLOGIN  SELECT on exactly the tables of the publication
--                                      <prefix>_legacy_pub (what the legacy → SUPRA pipeline
--                                      captures and re-reads: joins, children, TOAST), and
--                                      pg_logical_emit_message (heartbeats, snapshot watermarks)
--   supra_sync_legacy_writer  NOLOGIN  INSERT/UPDATE/DELETE on the legacy tables of the
--                                      bidirectional entities only (SUPRA → legacy), their id
--                                      sequences, and the replication origin functions
--   supra_sync_legacy         LOGIN REPLICATION, member of both: the role in the service's
--                                      legacy connection string. supra-sync uses one
--                                      connection string per side, so the login role holds
--                                      both; REPLICATION is a role attribute and is never
--                                      inherited, so it is set on the login role itself.
-- The login role owns nothing, is not a superuser, cannot create objects, and can read no
-- table outside the publication.

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'supra_sync_legacy_reader') THEN
    CREATE ROLE supra_sync_legacy_reader NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'supra_sync_legacy_writer') THEN
    CREATE ROLE supra_sync_legacy_writer NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'supra_sync_legacy') THEN
    CREATE ROLE supra_sync_legacy LOGIN REPLICATION;
  END IF;
END
$$;
-- INHERIT so table privileges of the group roles apply without SET ROLE.
ALTER ROLE supra_sync_legacy LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE INHERIT;
GRANT supra_sync_legacy_reader, supra_sync_legacy_writer TO supra_sync_legacy;

DO $$
BEGIN
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO supra_sync_legacy_reader', current_database());
END
$$;
GRANT USAGE ON SCHEMA cf_quere_pro TO supra_sync_legacy_reader, supra_sync_legacy_writer;

-- Reader: exactly the published tables (re-granted from the publication on every run).
DO $$
DECLARE
  v_pub text := coalesce(nullif(current_setting('supra_sync.prefix', true), ''), 'supra_sync') || '_legacy_pub';
  t record;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = v_pub) THEN
    RAISE EXCEPTION 'publication % does not exist', v_pub
      USING HINT = 'Run `supra-sync setup` as the table owner first (or SET supra_sync.prefix).';
  END IF;
  FOR t IN SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = v_pub LOOP
    EXECUTE format('GRANT SELECT ON %I.%I TO supra_sync_legacy_reader', t.schemaname, t.tablename);
  END LOOP;
END
$$;
GRANT EXECUTE ON FUNCTION pg_logical_emit_message(boolean, text, text) TO supra_sync_legacy_reader;

-- Writer: the legacy tables of the bidirectional entities (mappings/*.toml with
-- direction = "bidirectional": [legacy] table and id sequence). The test suite checks this
-- list against the shipped mappings.
GRANT SELECT, INSERT, UPDATE, DELETE ON
  cf_quere_pro.contado,
  cf_quere_pro.contrato,
  cf_quere_pro.orden,
  cf_quere_pro.persona,
  cf_quere_pro.ptoserv
TO supra_sync_legacy_writer;
GRANT USAGE, SELECT ON SEQUENCE
  cf_quere_pro.seq_conid,
  cf_quere_pro.seq_cnttnum,
  cf_quere_pro.seq_ordid,
  cf_quere_pro.seq_prsid,
  cf_quere_pro.seq_ptosid
TO supra_sync_legacy_writer;

-- Replication origins (PostgreSQL 15): these functions are superuser-only by default and
-- "may be allowed to other users by using the GRANT command". The writer attaches to its
-- origin, stamps every applied transaction with the source position, and reads the position
-- back on start. Creating and dropping origins stays with the owner (`supra-sync setup`,
-- `teardown --drop-origins`).
GRANT EXECUTE ON FUNCTION
  pg_replication_origin_session_setup(text),
  pg_replication_origin_session_reset(),
  pg_replication_origin_session_is_setup(),
  pg_replication_origin_session_progress(boolean),
  pg_replication_origin_xact_setup(pg_lsn, timestamp with time zone),
  pg_replication_origin_xact_reset(),
  pg_replication_origin_progress(text, boolean),
  pg_replication_origin_oid(text)
TO supra_sync_legacy_writer;
