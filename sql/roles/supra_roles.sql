-- supra-sync least-privilege roles on the SUPRA server.
--
-- Run as a superuser (PostgreSQL 15 lets only superusers give the REPLICATION attribute), in
-- the SUPRA database, AFTER `supra-sync setup` (which runs as the schema owner: migrations,
-- publication, slot, origins):
--
--   psql "dbname=supra" -v ON_ERROR_STOP=1 -f sql/roles/supra_roles.sql
--   psql "dbname=supra" -c "ALTER ROLE supra_sync_supra PASSWORD '…'"   -- or \password
--
-- Idempotent. With a non-default prefix, first: SET supra_sync.prefix = '<prefix>';
--
-- Roles:
--   supra_sync_supra_reader  NOLOGIN  SELECT on exactly the tables of the publication
--                                     <prefix>_supra_pub (primary tables of bidirectional
--                                     entities, captured for SUPRA → legacy), SELECT on
--                                     tenants (tenant id lookup), pg_logical_emit_message
--   supra_sync_supra_writer  NOLOGIN  SELECT/INSERT/UPDATE/DELETE on the mapped SUPRA tables
--                                     (every [supra] table of mappings/*.toml) and on the
--                                     supra_sync bookkeeping schema; the replication origin
--                                     functions
--   supra_sync_supra         LOGIN REPLICATION, member of both (one connection string per
--                                     side; REPLICATION is never inherited)
--
-- Row level security stays in force: the login role is neither owner nor superuser nor
-- BYPASSRLS, so every write passes the tenant_isolation_* policies — the applier sets
-- app.current_tenant in each transaction. (It must never set app.is_admin: see
-- deploy/SECURITY.md on the admin_bypass_* policies.)

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'supra_sync_supra_reader') THEN
    CREATE ROLE supra_sync_supra_reader NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'supra_sync_supra_writer') THEN
    CREATE ROLE supra_sync_supra_writer NOLOGIN;
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'supra_sync_supra') THEN
    CREATE ROLE supra_sync_supra LOGIN REPLICATION;
  END IF;
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO supra_sync_supra_reader', current_database());
END
$$;
ALTER ROLE supra_sync_supra LOGIN REPLICATION NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS INHERIT;
GRANT supra_sync_supra_reader, supra_sync_supra_writer TO supra_sync_supra;

GRANT USAGE ON SCHEMA public TO supra_sync_supra_reader, supra_sync_supra_writer;
GRANT SELECT ON public.tenants TO supra_sync_supra_reader;

-- Reader: exactly the published tables (re-granted from the publication on every run). A
-- deployment without bidirectional entities has an empty publication.
DO $$
DECLARE
  v_pub text := coalesce(nullif(current_setting('supra_sync.prefix', true), ''), 'supra_sync') || '_supra_pub';
  t record;
BEGIN
  FOR t IN SELECT schemaname, tablename FROM pg_publication_tables WHERE pubname = v_pub LOOP
    EXECUTE format('GRANT SELECT ON %I.%I TO supra_sync_supra_reader', t.schemaname, t.tablename);
  END LOOP;
END
$$;
GRANT EXECUTE ON FUNCTION pg_logical_emit_message(boolean, text, text) TO supra_sync_supra_reader;

-- Writer: every SUPRA table a mapping writes (the test suite checks this list against the
-- shipped mappings) and the sequences of their serial columns.
GRANT SELECT, INSERT, UPDATE, DELETE ON
  public.addresses,
  public.contracts,
  public.domain_values,
  public.explotacion_configs,
  public.explotaciones,
  public.invoice_lines,
  public.invoices,
  public.meter_readings,
  public.meters,
  public.payments,
  public.persons,
  public.tariff_schedules,
  public.tomas,
  public.work_orders
TO supra_sync_supra_writer;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO supra_sync_supra_writer;

-- The bookkeeping schema: sync_mappings, sync_log, sync_conflicts, checkpoints,
-- snapshot_progress, held/parked changes, pipeline state, Kafka offsets. No RLS there (no
-- tenant_id): these grants are its only access control. Partition maintenance
-- (supra_sync.ensure_monthly_partitions) needs table ownership and stays with the owner.
GRANT USAGE ON SCHEMA supra_sync TO supra_sync_supra_writer;
GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA supra_sync TO supra_sync_supra_writer;
GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA supra_sync TO supra_sync_supra_writer;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA supra_sync TO supra_sync_supra_writer;

-- Replication origins (PostgreSQL 15): superuser-only unless granted. Creating and dropping
-- them stays with the owner (`supra-sync setup`).
GRANT EXECUTE ON FUNCTION
  pg_replication_origin_session_setup(text),
  pg_replication_origin_session_reset(),
  pg_replication_origin_session_is_setup(),
  pg_replication_origin_session_progress(boolean),
  pg_replication_origin_xact_setup(pg_lsn, timestamp with time zone),
  pg_replication_origin_xact_reset(),
  pg_replication_origin_progress(text, boolean),
  pg_replication_origin_oid(text)
TO supra_sync_supra_writer;
