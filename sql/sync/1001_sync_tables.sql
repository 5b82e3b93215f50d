-- supra-sync bookkeeping, migration 1001: sync_mappings, sync_log, sync_conflicts
-- (seed 003 §2.1 Domain 13, extended for a log-based bidirectional engine; DESIGN.md).
--
-- The tables keep the seed's names and columns but live in their own schema, supra_sync, so
-- they are not mistaken for SUPRA domain tables (and are not caught by the tenant RLS loop in
-- 0013: they have no tenant_id; control access to them with GRANTs).
--
-- sql/sync does not depend on sql/supra: supra-sync can install it alone into a SUPRA database
-- whose schema is managed elsewhere (crates/postgres: migrate_sync_only). It therefore carries
-- its own copy of the monthly partition helper, supra_sync.ensure_monthly_partitions, with a
-- body identical to public.supra_ensure_monthly_partitions (sql/supra/0006; see the comments
-- there). Change both together; sql/TESTING.md asserts they are equal.
--
-- Identifiers used across the three tables:
--   entity_type  the mapping's `entity` (mappings/<entity>.toml), e.g. 'persona'.
--   legacy_id    the legacy key as text. One-column key: the value's text ('12345').
--                Composite key: canonical JSON text = jsonb text of an object keyed by legacy
--                column name, i.e. what jsonb_build_object('ctrid', 7, 'linea', 2)::text returns:
--                '{"ctrid": 7, "linea": 2}' (PostgreSQL's jsonb key order and spacing), so it can
--                be rebuilt in SQL for reconciliation joins.
--   entity_id    (sync_log, sync_conflicts) the legacy_id when the entity has one; for a row born
--                in SUPRA that has no legacy id yet, the SUPRA uuid as text.

CREATE SCHEMA supra_sync;
COMMENT ON SCHEMA supra_sync IS
  'supra-sync bookkeeping: identity mappings, operation log, conflict queue, pipeline state.';

-- Copy of public.supra_ensure_monthly_partitions (sql/supra/0006_partitioning.sql).
CREATE FUNCTION supra_sync.ensure_monthly_partitions(
  p_table regclass,
  p_months_back integer,
  p_months_ahead integer
) RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v_schema   name;
  v_name     name;
  v_rls      boolean;
  v_force    boolean;
  v_strategy "char";
  v_natts    smallint;
  v_attnum   smallint;
  v_key      name;
  v_keytype  regtype;
  v_first    date;
  v_month    date;
  v_from     text;
  v_to       text;
  v_part     text;
  v_default  regclass;
  v_has_rows boolean;
  v_unforced boolean := false;
  v_created  integer := 0;
BEGIN
  IF p_months_back IS NULL OR p_months_ahead IS NULL OR p_months_back < 0 OR p_months_ahead < 0 THEN
    RAISE EXCEPTION 'months_back and months_ahead must be >= 0'
      USING ERRCODE = 'invalid_parameter_value';
  END IF;

  SELECT n.nspname, c.relname, c.relrowsecurity, c.relforcerowsecurity
    INTO v_schema, v_name, v_rls, v_force
    FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
   WHERE c.oid = p_table AND c.relkind = 'p';
  IF NOT FOUND THEN
    RAISE EXCEPTION '% is not a partitioned table', p_table
      USING ERRCODE = 'wrong_object_type';
  END IF;

  SELECT pt.partstrat, pt.partnatts, pt.partattrs[0]
    INTO v_strategy, v_natts, v_attnum
    FROM pg_partitioned_table pt
   WHERE pt.partrelid = p_table;
  IF v_strategy <> 'r' OR v_natts <> 1 OR v_attnum = 0 THEN
    RAISE EXCEPTION '% must be partitioned BY RANGE on a single column', p_table
      USING ERRCODE = 'wrong_object_type';
  END IF;

  SELECT a.attname, a.atttypid::regtype INTO v_key, v_keytype
    FROM pg_attribute a
   WHERE a.attrelid = p_table AND a.attnum = v_attnum;
  IF v_keytype NOT IN ('timestamp with time zone'::regtype,
                       'timestamp without time zone'::regtype,
                       'date'::regtype) THEN
    RAISE EXCEPTION 'partition key %.% has type %, expected timestamptz, timestamp or date',
      p_table, v_key, v_keytype
      USING ERRCODE = 'wrong_object_type';
  END IF;

  IF length(v_name) > 63 - length('_p000000') THEN
    RAISE EXCEPTION 'table name % is too long for monthly partition names', v_name
      USING ERRCODE = 'name_too_long';
  END IF;

  PERFORM pg_advisory_xact_lock(hashtext('supra_ensure_monthly_partitions'), hashtext(p_table::text));

  -- The DEFAULT partition.
  IF NOT EXISTS (SELECT 1 FROM pg_partitioned_table
                  WHERE partrelid = p_table AND partdefid <> 0) THEN
    v_part := v_name || '_default';
    EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s DEFAULT', v_schema, v_part, p_table);
    IF v_rls THEN
      EXECUTE format('ALTER TABLE %I.%I ENABLE ROW LEVEL SECURITY', v_schema, v_part);
    END IF;
    IF v_force THEN
      EXECUTE format('ALTER TABLE %I.%I FORCE ROW LEVEL SECURITY', v_schema, v_part);
    END IF;
    v_created := v_created + 1;
  END IF;
  SELECT partdefid::regclass INTO v_default FROM pg_partitioned_table WHERE partrelid = p_table;

  v_first := (date_trunc('month', now() AT TIME ZONE 'UTC') - make_interval(months => p_months_back))::date;

  FOR i IN 0 .. p_months_back + p_months_ahead LOOP
    v_month := (v_first + make_interval(months => i))::date;
    v_part  := format('%s_p%s', v_name, to_char(v_month, 'YYYYMM'));
    CONTINUE WHEN to_regclass(format('%I.%I', v_schema, v_part)) IS NOT NULL;

    IF v_keytype = 'timestamp with time zone'::regtype THEN
      v_from := to_char(v_month, 'YYYY-MM-DD') || ' 00:00:00+00';
      v_to   := to_char((v_month + interval '1 month')::date, 'YYYY-MM-DD') || ' 00:00:00+00';
    ELSE
      v_from := to_char(v_month, 'YYYY-MM-DD');
      v_to   := to_char((v_month + interval '1 month')::date, 'YYYY-MM-DD');
    END IF;

    -- A FORCEd, policy-less DEFAULT partition hides its rows from the owner too: lift FORCE
    -- while moving rows (the ACCESS EXCLUSIVE lock keeps everyone else out), restore it below.
    IF NOT v_unforced AND (SELECT relforcerowsecurity FROM pg_class WHERE oid = v_default) THEN
      EXECUTE format('ALTER TABLE %s NO FORCE ROW LEVEL SECURITY', v_default);
      v_unforced := true;
    END IF;

    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %s WHERE %I >= %L AND %I < %L)',
                   v_default, v_key, v_from, v_key, v_to)
       INTO v_has_rows;

    IF v_has_rows THEN
      -- Park the rows, create the partition, put them back row by row. (Not CREATE ... LIKE +
      -- ATTACH: ATTACH validates the cloned foreign keys with one query that, for a table owner,
      -- is subject to FORCE ROW LEVEL SECURITY on the referenced table and so fails spuriously;
      -- row-by-row foreign key checks are not.)
      EXECUTE format('CREATE TEMP TABLE supra_partition_move (LIKE %s) ON COMMIT DROP', p_table);
      EXECUTE format('WITH moved AS (DELETE FROM %s WHERE %I >= %L AND %I < %L RETURNING *) '
                     'INSERT INTO pg_temp.supra_partition_move SELECT * FROM moved',
                     v_default, v_key, v_from, v_key, v_to);
      EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                     v_schema, v_part, p_table, v_from, v_to);
      EXECUTE format('INSERT INTO %I.%I OVERRIDING SYSTEM VALUE '
                     'SELECT * FROM pg_temp.supra_partition_move',
                     v_schema, v_part);
      DROP TABLE pg_temp.supra_partition_move;
    ELSE
      EXECUTE format('CREATE TABLE %I.%I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                     v_schema, v_part, p_table, v_from, v_to);
    END IF;

    IF v_rls THEN
      EXECUTE format('ALTER TABLE %I.%I ENABLE ROW LEVEL SECURITY', v_schema, v_part);
    END IF;
    IF v_force THEN
      EXECUTE format('ALTER TABLE %I.%I FORCE ROW LEVEL SECURITY', v_schema, v_part);
    END IF;
    v_created := v_created + 1;
  END LOOP;

  IF v_unforced THEN
    EXECUTE format('ALTER TABLE %s FORCE ROW LEVEL SECURITY', v_default);
  END IF;

  RETURN v_created;
END
$$;

COMMENT ON FUNCTION supra_sync.ensure_monthly_partitions(regclass, integer, integer) IS
  'Same as public.supra_ensure_monthly_partitions (kept identical), so that sql/sync stands '
  'alone. Creates the DEFAULT and missing monthly (UTC) partitions; idempotent.';

-- -----------------------------------------------------------------------------------------
-- sync_mappings: legacy id <-> SUPRA uuid, the only authority for identity.
-- Seed: id, entity_type, legacy_table, legacy_id, supra_id, column_map, synced_at,
-- UNIQUE(entity_type, legacy_id), idx_sync_supra. Added: per-side version info, the hash of the
-- mapped image last synced (conflict detection: a side whose current image hashes differently
-- changed since the last sync), a tombstone, created_at. idx_sync_supra is now UNIQUE.
-- -----------------------------------------------------------------------------------------
CREATE TABLE supra_sync.sync_mappings (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  entity_type VARCHAR(50) NOT NULL,           -- 'persona', 'contrato', 'factura'
  legacy_table VARCHAR(127) NOT NULL,         -- 'cf_quere_pro.persona' (schema-qualified)
  legacy_id VARCHAR(500) NOT NULL,            -- see header: text of the key, or canonical JSON
  supra_id UUID NOT NULL,
  column_map JSONB,                           -- Detailed column mapping
  synced_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  legacy_lsn PG_LSN,                          -- commit LSN (legacy WAL) of the last change synced
  supra_lsn PG_LSN,                           -- commit LSN (SUPRA WAL) of the last change synced
  legacy_commit_ts TIMESTAMPTZ,               -- commit time of that legacy transaction
  supra_commit_ts TIMESTAMPTZ,                -- commit time of that SUPRA transaction
  last_synced_hash TEXT,                      -- hash of the mapped image at the last sync
  deleted_at TIMESTAMPTZ,                     -- tombstone: entity deleted (by sync), id kept
  created_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  UNIQUE(entity_type, legacy_id),
  CHECK (legacy_id <> '')
);

CREATE UNIQUE INDEX idx_sync_supra ON supra_sync.sync_mappings(entity_type, supra_id);

-- -----------------------------------------------------------------------------------------
-- sync_log: every applied, failed, skipped or held operation. Append-mostly and large, so it is
-- partitioned by month on synced_at like meter_readings, with a bigint identity id for
-- ordering (PRIMARY KEY must include the partition key: (id, synced_at)).
-- Seed columns: id (uuid there), entity_type, entity_id, direction, operation, diff, status,
-- error_message, synced_at. Added: supra_id, raw_change, error_detail/error_hint (PostgreSQL-
-- style message parts), source position (lsn, xid, commit ts), attempts, retry_of.
-- direction is VARCHAR(16): the seed's VARCHAR(10) cannot hold 'legacy_to_supra'.
--
-- status: applied  the change is in the target
--         failed   could not be transformed or applied; raw_change + error kept for retry
--         skipped  deliberately not applied (filtered, no-op, superseded by a resolution)
--         retried  a failed row that has been retried; the retry is a new row (retry_of = id)
--         held     queued behind an open manual conflict (supra_sync.held_changes)
-- -----------------------------------------------------------------------------------------
CREATE TABLE supra_sync.sync_log (
  id BIGINT GENERATED ALWAYS AS IDENTITY,
  entity_type VARCHAR(50) NOT NULL,
  entity_id VARCHAR(500) NOT NULL,
  supra_id UUID,
  direction VARCHAR(16) NOT NULL CHECK (direction IN ('legacy_to_supra', 'supra_to_legacy')),
  operation VARCHAR(10) NOT NULL CHECK (operation IN ('insert', 'update', 'delete', 'truncate')),
  diff JSONB,                                 -- changed columns: {"col": {"old": .., "new": ..}}
  raw_change JSONB,                           -- the decoded source change, as captured
  status VARCHAR(20) NOT NULL DEFAULT 'applied'
    CHECK (status IN ('applied', 'failed', 'skipped', 'retried', 'held')),
  error_message TEXT,
  error_detail TEXT,
  error_hint TEXT,
  source_lsn PG_LSN,                          -- commit LSN of the source transaction
  source_xid BIGINT,                          -- source transaction id
  source_commit_ts TIMESTAMPTZ,
  attempts INTEGER NOT NULL DEFAULT 1 CHECK (attempts >= 0),
  retry_of BIGINT,                            -- sync_log.id this row retries (no FK: partitioned)
  synced_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (id, synced_at),
  CHECK (status <> 'failed' OR error_message IS NOT NULL)
) PARTITION BY RANGE (synced_at);

CREATE INDEX idx_sync_log_status ON supra_sync.sync_log(status, synced_at);
CREATE INDEX idx_sync_log_entity ON supra_sync.sync_log(entity_type, entity_id);

-- The log starts now: 1 month back, 2 years ahead; supra-sync extends it (see 0006).
SELECT supra_sync.ensure_monthly_partitions('supra_sync.sync_log', 1, 24);

-- -----------------------------------------------------------------------------------------
-- sync_conflicts: the review queue.
-- Seed columns: id, entity_type, entity_id, legacy_data, supra_data, conflict_type, resolution,
-- resolved_by (UUID there), resolved_at, detected_at. Changes:
-- * legacy_data / supra_data may be NULL when that side has no row (update_missing,
--   delete_vs_update, update_vs_delete); at least one is present.
-- * resolved_by is TEXT: a conflict is resolved by an operator (CLI user name / SUPRA user id as
--   text) or by a policy ('policy:newest_wins'); SUPRA users are not synced, so a UUID FK would
--   not fit either case.
-- * status replaces "resolution IS NULL" as the open marker; at most one open conflict per
--   entity (changes that arrive meanwhile are held in supra_sync.held_changes, counted here).
-- -----------------------------------------------------------------------------------------
CREATE TABLE supra_sync.sync_conflicts (
  id UUID PRIMARY KEY DEFAULT gen_random_uuid(),
  entity_type VARCHAR(50) NOT NULL,
  entity_id VARCHAR(500) NOT NULL,
  direction VARCHAR(16) NOT NULL              -- direction of the change that hit the conflict
    CHECK (direction IN ('legacy_to_supra', 'supra_to_legacy')),
  legacy_data JSONB,                          -- current legacy image (mapped), NULL if no row
  supra_data JSONB,                           -- current SUPRA image, NULL if no row
  last_synced_data JSONB,                     -- image both sides agreed on at the last sync
  conflict_type VARCHAR(30) NOT NULL CHECK (conflict_type IN (
    'concurrent_update', 'update_missing', 'delete_vs_update', 'update_vs_delete',
    'unique_violation', 'insert_exists', 'schema_mismatch', 'data_loss'
  )),
  policy VARCHAR(20) NOT NULL                 -- the mapping's `conflicts` setting at detection
    CHECK (policy IN ('legacy_wins', 'supra_wins', 'newest_wins', 'manual')),
  status VARCHAR(12) NOT NULL DEFAULT 'open'
    CHECK (status IN ('open', 'resolved', 'superseded')),
  resolution VARCHAR(20)                      -- 'legacy_wins', 'supra_wins', 'merged', 'manual'
    CHECK (resolution IN ('legacy_wins', 'supra_wins', 'merged', 'manual')),
  legacy_commit_ts TIMESTAMPTZ,               -- commit time of the legacy side's last change
  supra_commit_ts TIMESTAMPTZ,                -- commit time of the SUPRA side's last change
  resolved_by TEXT,
  resolution_note TEXT,
  resolved_at TIMESTAMPTZ,
  held_changes INTEGER NOT NULL DEFAULT 0 CHECK (held_changes >= 0),
  detected_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  CHECK (legacy_data IS NOT NULL OR supra_data IS NOT NULL),
  CHECK (status = 'open' OR resolved_at IS NOT NULL),
  CHECK (status <> 'resolved' OR (resolution IS NOT NULL AND resolved_by IS NOT NULL))
);

CREATE INDEX idx_sync_conflicts_status ON supra_sync.sync_conflicts(status, entity_type);
CREATE UNIQUE INDEX uq_sync_conflicts_open ON supra_sync.sync_conflicts(entity_type, entity_id)
  WHERE status = 'open';
