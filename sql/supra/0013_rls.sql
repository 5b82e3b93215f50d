-- SUPRA target schema, migration 0013: multi-tenant Row Level Security (seed 003 §2.4).
--
-- Every table with tenant_id gets ENABLE + FORCE ROW LEVEL SECURITY and the seed's two
-- policies, tenant_isolation_<table> and admin_bypass_<table> (permissive, so they OR):
--
--   tenant_isolation: tenant_id = NULLIF(current_setting('app.current_tenant', true), '')::uuid
--   admin_bypass:     NULLIF(current_setting('app.is_admin', true), '')::boolean = true
--
-- Changes from the seed, same intent:
-- * current_setting(..., true) + NULLIF: with no tenant context (never set, or set by SET LOCAL
--   in an earlier transaction, which leaves '' behind) a session sees no rows and can write
--   none, instead of erroring (seed: current_setting('app.current_tenant') raises when unset;
--   ''::uuid and ''::boolean raise too).
-- * explicit WITH CHECK (same expression as USING), so an INSERT or UPDATE that would produce a
--   row of another tenant is refused. (PostgreSQL would reuse USING if WITH CHECK were absent;
--   it is spelled out so nobody has to know that.)
-- * domain_values: tenant_id NULL means "global" (seed comment); global_read_domain_values lets
--   every tenant read them. Writing them needs app.is_admin.
-- * partitions (meter_readings_p*, domain_events_p*, *_default) get ENABLE + FORCE but no
--   policies: access through the parent uses the parent's policies; direct access to a
--   partition sees and writes nothing (default deny). supra_ensure_monthly_partitions (0006)
--   copies the flags to partitions it creates later.
--
-- FORCE means the table owner is subject to the policies as well (only superusers and BYPASSRLS
-- roles are not). supra-sync's applier therefore runs, in each target transaction,
--   SET LOCAL app.current_tenant = '<tenant uuid of the mapping>'   -- or
--   SET LOCAL app.is_admin = 'true'                                  -- cross-tenant work
-- Foreign-key checks are not affected (PostgreSQL runs them without row security).
-- Tables without tenant_id (tenants, sat_catalogs, domain_value_links, supra_sync.*) have no
-- RLS; control them with GRANTs.

CREATE FUNCTION supra_enable_tenant_rls(p_table regclass) RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_name name;
  v_part regclass;
BEGIN
  SELECT c.relname INTO v_name
    FROM pg_class c
   WHERE c.oid = p_table AND c.relkind IN ('r', 'p') AND NOT c.relispartition;
  IF NOT FOUND THEN
    RAISE EXCEPTION '% is not a table (or is a partition; pass its parent)', p_table
      USING ERRCODE = 'wrong_object_type';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_attribute
                  WHERE attrelid = p_table AND attname = 'tenant_id' AND NOT attisdropped) THEN
    RAISE EXCEPTION '% has no tenant_id column', p_table
      USING ERRCODE = 'undefined_column';
  END IF;

  EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', p_table);
  EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', p_table);

  IF EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = p_table AND polname = 'tenant_isolation_' || v_name) THEN
    EXECUTE format('DROP POLICY %I ON %s', 'tenant_isolation_' || v_name, p_table);
  END IF;
  EXECUTE format(
    'CREATE POLICY %I ON %s
       USING (tenant_id = NULLIF(current_setting(''app.current_tenant'', true), '''')::uuid)
       WITH CHECK (tenant_id = NULLIF(current_setting(''app.current_tenant'', true), '''')::uuid)',
    'tenant_isolation_' || v_name, p_table);

  IF EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = p_table AND polname = 'admin_bypass_' || v_name) THEN
    EXECUTE format('DROP POLICY %I ON %s', 'admin_bypass_' || v_name, p_table);
  END IF;
  EXECUTE format(
    'CREATE POLICY %I ON %s
       USING (NULLIF(current_setting(''app.is_admin'', true), '''')::boolean = true)
       WITH CHECK (NULLIF(current_setting(''app.is_admin'', true), '''')::boolean = true)',
    'admin_bypass_' || v_name, p_table);

  -- Partitions: RLS on, no policies (default deny for direct access).
  FOR v_part IN SELECT relid FROM pg_partition_tree(p_table) WHERE relid <> p_table ORDER BY relid::text
  LOOP
    EXECUTE format('ALTER TABLE %s ENABLE ROW LEVEL SECURITY', v_part);
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', v_part);
  END LOOP;
END
$$;

COMMENT ON FUNCTION supra_enable_tenant_rls(regclass) IS
  'ENABLE + FORCE row level security on a tenant-scoped table and its partitions and (re)create '
  'its tenant_isolation_<table> and admin_bypass_<table> policies. Idempotent. Later migrations '
  'adding a table with tenant_id call it.';

-- Every table in schema public with a tenant_id column (seed: the same discovery loop).
DO $$
DECLARE
  t regclass;
BEGIN
  FOR t IN
    SELECT c.oid::regclass
      FROM pg_class c
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE n.nspname = 'public'
       AND c.relkind IN ('r', 'p')
       AND NOT c.relispartition
       AND EXISTS (SELECT 1 FROM pg_attribute a
                    WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
     ORDER BY c.relname
  LOOP
    PERFORM supra_enable_tenant_rls(t);
  END LOOP;
END
$$;

-- Global lookup values (tenant_id IS NULL) are readable by every tenant.
CREATE POLICY global_read_domain_values ON domain_values
  FOR SELECT
  USING (tenant_id IS NULL);
