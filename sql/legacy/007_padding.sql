-- =============================================================================
-- 007_padding.sql — AquaCIS legacy schema `cf_quere_pro`: the long tail
-- =============================================================================
--
-- Seed 000 counts 4,114 tables in cf_quere_pro: 2,643 table-per-process
-- instances (created by the fixture generator) and 1,471 others. Files 001-006
-- model the categories the sync and the cleanup phases care about (core,
-- billing, lookups, history, Spain-specific, staging, artifacts, report and GIS
-- caches). The rest of the legacy schema — parameter, detail, batch and log
-- tables of every module (seed 002 §7: "core business entities ~60, supporting
-- ~40, billing ~30, accounting ~15" plus their satellites) — is represented here
-- by empty tables with the generic legacy layout, named <module><stem>
-- (cobsaldo, facserie, lecerror, ordmotivo, ...). They are created until the
-- schema holds exactly 1,471 tables, so the count stays right when the other
-- files change.
-- =============================================================================

DO $$
DECLARE
  v_prefixes TEXT[] := ARRAY[
    'cnt', 'fac', 'lec', 'cob', 'ges', 'ord', 'srv', 'aco', 'pto', 'prs', 'dir', 'rem', 'mov',
    'pol', 'cfg', 'int', 'doc', 'not', 'rep', 'sig', 'sec', 'rut', 'usu', 'ofi', 'cal', 'inc',
    'obr', 'pre', 'con', 'ctb'];
  v_stems TEXT[] := ARRAY[
    'param', 'detalle', 'lote', 'log', 'rel', 'cab', 'lin', 'resumen', 'valor', 'regla',
    'concep', 'periodo', 'ajuste', 'motivo', 'agrupa', 'bloqueo', 'control', 'criterio', 'envio',
    'error', 'evento', 'formato', 'grupo', 'indice', 'marca', 'plantilla', 'proceso', 'saldo',
    'serie', 'traza'];
  v_target CONSTANT INTEGER := 1471;
  v_count  INTEGER;
  v_stem   TEXT;
  v_prefix TEXT;
  v_name   TEXT;
  p        TEXT;
BEGIN
  SELECT count(*) INTO v_count FROM pg_tables WHERE schemaname = 'cf_quere_pro';
  <<outer>>
  FOREACH v_stem IN ARRAY v_stems LOOP
    FOREACH v_prefix IN ARRAY v_prefixes LOOP
      EXIT outer WHEN v_count >= v_target;
      v_name := v_prefix || v_stem;
      CONTINUE WHEN to_regclass(format('cf_quere_pro.%I', v_name)) IS NOT NULL;
      p := left(v_name, 4);
      EXECUTE format(
        'CREATE TABLE cf_quere_pro.%I (
            %I NUMERIC(10,0) NOT NULL, %I NUMERIC(5,0), %I VARCHAR(10), %I VARCHAR(100),
            %I DOUBLE PRECISION, %I TIMESTAMP, %I CHAR(1) DEFAULT ''S'', %I VARCHAR(10), %I TIMESTAMP,
            CONSTRAINT %I PRIMARY KEY (%I))',
        v_name, p || 'id', p || 'expid', p || 'codigo', p || 'desc', p || 'valor', p || 'fecha',
        p || 'snactivo', p || 'hstusu', p || 'hsthora', 'pk_' || v_name, p || 'id');
      v_count := v_count + 1;
    END LOOP;
  END LOOP;
  IF v_count <> v_target THEN
    RAISE EXCEPTION 'cf_quere_pro holds % tables, expected %', v_count, v_target;
  END IF;
END $$;
