-- SUPRA target schema, migration 0006: monthly range partitions (replaces TimescaleDB, §2.2).
--
-- TimescaleDB is not packaged for Debian's PostgreSQL 15, so the two hypertables of the seed
-- (meter_readings, domain_events) -- and supra_sync.sync_log -- are native declarative range
-- partitions, one per calendar month (the seed's chunk_time_interval), plus a DEFAULT partition
-- that catches rows outside the created range so an insert never fails for want of a partition.
--
-- supra_ensure_monthly_partitions(table, months_back, months_ahead) creates whatever is missing
-- of: the DEFAULT partition "<table>_default" and one partition "<table>_pYYYYMM" per month from
-- (current month - months_back) to (current month + months_ahead). It is idempotent and returns
-- the number of partitions it created. Months are calendar months in UTC, whatever the session
-- TimeZone, so two runs on the same day create the same bounds.
--
-- If the DEFAULT partition already holds rows of a month being created (it caught them while the
-- month had no partition), those rows are moved into the new partition in the same transaction
-- (DELETE ... RETURNING into a temp table, CREATE ... PARTITION OF, INSERT back), instead of
-- failing as a plain CREATE TABLE ... PARTITION OF would. (Partitioned tables with STORED
-- generated columns are not supported by that path; none of ours has one.)
--
-- New partitions copy the parent's ENABLE/FORCE ROW LEVEL SECURITY flags. Policies are not
-- copied: queries through the parent use the parent's policies; direct access to a partition is
-- default-deny for everyone but superusers and BYPASSRLS roles (see 0013 and sql/README.md).
--
-- Call it regularly (e.g. daily from supra-sync's maintenance task, with a lock_timeout): it runs
-- CREATE TABLE ... PARTITION OF, which takes an ACCESS EXCLUSIVE lock on the parent for a moment.
-- Concurrent callers for the same table are serialized by a transaction-level advisory lock.
-- Retention (the seed's 10 / 5 years) is DETACH + archive + DROP of old partitions; not automated.

CREATE FUNCTION supra_ensure_monthly_partitions(
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

COMMENT ON FUNCTION supra_ensure_monthly_partitions(regclass, integer, integer) IS
  'Create the DEFAULT partition and the monthly (UTC) range partitions <table>_pYYYYMM from '
  'months_back before to months_ahead after the current month that do not exist yet; moves rows '
  'caught by the DEFAULT partition. Idempotent; returns the number of partitions created.';
