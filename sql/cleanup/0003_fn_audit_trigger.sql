-- Phase 2 (seed 001 P2-S1-04): generic AFTER trigger for INSERT/UPDATE/DELETE.
--   * the primary key column is the trigger argument (TG_ARGV[0]; more arguments make a
--     composite key, joined with '|');
--   * UPDATE logs only when something changed; al_changed_fields holds only the changed
--     fields as {"col": {"old": …, "new": …}}, compared on their JSONB text so that
--     1.0 -> 1.00 or a JSON key change counts; al_old_data keeps the full old row so the
--     backward-compatible his* views can show it;
--   * a json/jsonb column going from JSON null to SQL NULL (or back) looks the same in
--     to_jsonb(row); it is recorded as {"old": null, "new": null, "old_is_sql_null": …,
--     "new_is_sql_null": …};
--   * the user comes from app.current_user ('system' when unset), the session and the
--     exploitation from app.current_sesid / app.current_expid when they are integers.
CREATE OR REPLACE FUNCTION @schema@.fn_audit_trigger()
RETURNS trigger
LANGUAGE plpgsql
SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_old   jsonb;
    v_new   jsonb;
    v_diff  jsonb;
    v_key   text;
    v_user  text;
    v_ses   text;
    v_exp   text;
    v_sesid bigint;
    v_expid integer;
    v_col   text;
    v_onull boolean;
    v_nnull boolean;
BEGIN
    IF TG_NARGS < 1 THEN
        RAISE EXCEPTION 'fn_audit_trigger on %.% needs the primary key column as argument', TG_TABLE_SCHEMA, TG_TABLE_NAME;
    END IF;
    IF TG_OP IN ('UPDATE', 'DELETE') THEN v_old := to_jsonb(OLD); END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN v_new := to_jsonb(NEW); END IF;

    IF TG_OP = 'UPDATE' THEN
        SELECT jsonb_object_agg(k, jsonb_build_object('old', v_old -> k, 'new', v_new -> k))
          INTO v_diff
          FROM jsonb_object_keys(v_new) AS k
         WHERE (v_old -> k)::text IS DISTINCT FROM (v_new -> k)::text;
        FOR v_col IN
            SELECT a.attname FROM pg_attribute a
             WHERE a.attrelid = TG_RELID AND a.attnum > 0 AND NOT a.attisdropped
               AND a.atttypid IN ('json'::regtype, 'jsonb'::regtype)
               AND (v_old -> a.attname::text) = 'null'::jsonb AND (v_new -> a.attname::text) = 'null'::jsonb
        LOOP
            EXECUTE format('SELECT ($1).%I IS NULL, ($2).%I IS NULL', v_col, v_col) INTO v_onull, v_nnull USING OLD, NEW;
            IF v_onull <> v_nnull THEN
                v_diff := coalesce(v_diff, '{}'::jsonb) || jsonb_build_object(v_col, jsonb_build_object(
                    'old', NULL, 'new', NULL, 'old_is_sql_null', v_onull, 'new_is_sql_null', v_nnull));
            END IF;
        END LOOP;
        IF v_diff IS NULL THEN
            RETURN NULL;
        END IF;
    END IF;

    SELECT string_agg(coalesce(coalesce(v_old, v_new) ->> a, ''), '|' ORDER BY o)
      INTO v_key
      FROM unnest(TG_ARGV) WITH ORDINALITY AS t(a, o);

    v_user := coalesce(nullif(current_setting('app.current_user', true), ''), 'system');
    v_ses := current_setting('app.current_sesid', true);
    IF v_ses ~ '^-?\d{1,18}$' THEN v_sesid := v_ses::bigint; END IF;
    v_exp := current_setting('app.current_expid', true);
    IF v_exp ~ '^-?\d{1,9}$' THEN v_expid := v_exp::integer; END IF;

    INSERT INTO @schema@.audit_log
        (al_table_name, al_record_key, al_operation, al_old_data, al_new_data,
         al_changed_fields, al_sesid, al_user_id, al_expid)
    VALUES (TG_TABLE_NAME, coalesce(v_key, ''), left(TG_OP, 1), v_old,
            CASE WHEN TG_OP = 'INSERT' THEN v_new END, v_diff, v_sesid, v_user, v_expid);
    RETURN NULL;
END $$;
