-- =============================================================================
-- 005_history.sql — AquaCIS legacy schema `cf_quere_pro`: the 230 his* tables
-- =============================================================================
--
-- Every his* table mirrors the columns of its base table (seed 002 §3): it is
-- created with CREATE TABLE ... (LIKE base INCLUDING DEFAULTS) and keyed by the
-- base primary key plus the base's <prefix>hsthora column (the time the old
-- version was archived). Base tables without audit columns get hstusu/hsthora.
--
-- The list follows the seed 001 classification:
--   * 44 histipo*            history of lookup tables        (Tier 1, wave 1)
--   *  8 geographic          hisdirec, hiscalle, ...          (Tier 1, wave 1)
--   *  8 user/security       hisusuario, ...                  (Tier 1, wave 1)
--   * 28 exploitation config hisexplotipvar, ...              (Tier 1, wave 2)
--   * 42 misc low-volume     financial, communication, fraud  (Tier 1, wave 2)
--   * 18 high-value          hiscontrato, hisfactura, ...     (kept, seed 001 P2-S3-07)
--   * 82 medium-volume       orders, claims, meters, ...      (Tier 2)
-- A base table that the other files do not define is created here with a
-- generic legacy layout (<p>id, <p>expid, <p>codigo, <p>desc, <p>valor,
-- <p>fecha, <p>snactivo, <p>hstusu, <p>hsthora; <p> = first 4 letters).
-- hisdirec mirrors direccion; every other his<x> mirrors <x>.
-- =============================================================================

CREATE FUNCTION pg_temp.legacy_generic_table(p_name TEXT) RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE p TEXT := left(p_name, 4);
BEGIN
  EXECUTE format(
    'CREATE TABLE cf_quere_pro.%I (
        %I NUMERIC(10,0) NOT NULL, %I NUMERIC(5,0), %I VARCHAR(10), %I VARCHAR(100),
        %I DOUBLE PRECISION, %I TIMESTAMP, %I CHAR(1) DEFAULT ''S'', %I VARCHAR(10), %I TIMESTAMP,
        CONSTRAINT %I PRIMARY KEY (%I))',
    p_name, p || 'id', p || 'expid', p || 'codigo', p || 'desc', p || 'valor', p || 'fecha',
    p || 'snactivo', p || 'hstusu', p || 'hsthora', 'pk_' || p_name, p || 'id');
END $$;

CREATE FUNCTION pg_temp.legacy_history_table(p_his TEXT, p_base TEXT) RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE
  v_pk   TEXT;
  v_hora TEXT;
BEGIN
  IF to_regclass(format('cf_quere_pro.%I', p_base)) IS NULL THEN
    PERFORM pg_temp.legacy_generic_table(p_base);
  END IF;
  EXECUTE format('CREATE TABLE cf_quere_pro.%I (LIKE cf_quere_pro.%I INCLUDING DEFAULTS)', p_his, p_base);

  SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY array_position(i.indkey::int2[], a.attnum))
    INTO v_pk
    FROM pg_index i
    JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY (i.indkey::int2[])
   WHERE i.indrelid = format('cf_quere_pro.%I', p_base)::regclass AND i.indisprimary;

  SELECT a.attname INTO v_hora
    FROM pg_attribute a
   WHERE a.attrelid = format('cf_quere_pro.%I', p_his)::regclass
     AND a.attname LIKE '%hsthora' AND NOT a.attisdropped
   LIMIT 1;
  IF v_hora IS NULL THEN
    EXECUTE format('ALTER TABLE cf_quere_pro.%I ADD COLUMN hstusu VARCHAR(10), ADD COLUMN hsthora TIMESTAMP', p_his);
    v_hora := 'hsthora';
  END IF;

  EXECUTE format('ALTER TABLE cf_quere_pro.%I ADD CONSTRAINT %I PRIMARY KEY (%s, %I)',
                 p_his, 'pk_' || p_his, v_pk, v_hora);
END $$;

DO $$
DECLARE
  v_his TEXT;
BEGIN
  FOREACH v_his IN ARRAY ARRAY[
    -- 44 histipo* (lookup history)
    'histipobonif', 'histipocsc', 'histipodocumento', 'histipoelem', 'histipolicver',
    'histipomensaj', 'histipooficina', 'histiporegulf', 'histiporelps', 'histiposoci',
    'histiposubcon', 'histiposucsif', 'histiposumin', 'histipotarifa', 'histipounidad',
    'histipovarbonif', 'histipovariable', 'histipovia', 'histipfactura', 'histipfraude',
    'histipasiento', 'histipocptocobro', 'histipoconcep', 'histipocatcalle', 'histipocorreo',
    'histipositcalle', 'histipositver', 'histipocontratcn', 'histiposolaco', 'histipoorden',
    'histipooperacion', 'histipotarifasocial', 'histipoqueja', 'histipoindem', 'histipcontmtr',
    'histipoatencion', 'histipogestcobro', 'histipoincide', 'histiposervicio', 'histiposubrogacion',
    'histipocontador', 'histiposobre', 'histipgesdeud', 'histipimpues',
    -- 8 geographic
    'hisdirec', 'hiscalle', 'hisnomcalle', 'hisbarrio', 'hislocalidad', 'hispoblacion',
    'hislineadistrib', 'hiselemestruc',
    -- 8 user / security
    'hisusuario', 'hisusuexplo', 'hisusuoficina', 'hisusuperfil', 'hisusupermiso',
    'hisususociedad', 'hisperfil', 'hispermisos',
    -- 28 exploitation configuration
    'hisexplotipvar', 'hisexploestim', 'hisexploperiodic', 'hisexplociclinc', 'hisexplosocpro',
    'hisexplosocemi', 'hisexplotloc', 'hisexplotxtcnt', 'hisexplotxtfunc', 'hisexptipdocumento',
    'hisexptipsubdoccontr', 'hisexpgestofi', 'hisexpintervalido', 'hisexplcentdist',
    'hisexploclausula', 'hisexplomensaje', 'hisexplomotorden', 'hisexploperiodo', 'hisexplorapro',
    'hisexpccobro', 'hisexpctafrmpago', 'hisexpservcentral', 'hisexplotiposubrog', 'hisexpvertido',
    'hisexsubcontra', 'hispolnegexp', 'hisexpedrecobro', 'hisexplotacion',
    -- 42 miscellaneous low-volume (financial, communication, configuration, fraud)
    'hisbanco', 'hiscuentabanc', 'hisformapago', 'hiscaja', 'hisarqueo', 'hisasiento', 'hisapunte',
    'hiscentrocoste', 'hisimpuesto', 'hisretencion', 'hisdescuento', 'hisbonificacion',
    'hisconvenio', 'hisplazoconv', 'hiscarta', 'hisplantcarta', 'hisnotificacion', 'hismensajesms',
    'hiscorreoe', 'hisavisoweb', 'hisparametro', 'hisconfigproc', 'hiscalendario', 'hisfestivo',
    'hisinspeccion', 'hisactafraude', 'hissancion', 'hisprecinto', 'hisoficina', 'hissociedad',
    'hissector', 'hisruta', 'hisitinerario', 'hiszona', 'hiscircuito', 'hisdistrito', 'hisgestor',
    'hisagencia', 'hispuntocobro', 'hisentidadcob', 'hisremesabanc', 'hissubtarifa',
    -- 18 high-value (kept as dedicated tables)
    'hiscontrato', 'hisfactura', 'hismovccontrato', 'hispersona', 'hisptoserv', 'hiscontado',
    'hisorden', 'hisexpedsif', 'hisopecargest', 'hislectura', 'hisaplictarif', 'histarifa',
    'hisconcepto', 'hiscliente', 'hisservicio', 'hisacometida', 'hisremesa', 'hisrecargo',
    -- 82 medium-volume
    'hisreclamacion', 'hisreclamdet', 'hisgestreclam', 'hispasoproced', 'hisprocedimiento',
    'hisexpediente', 'hisincidencia', 'hisincidlec', 'hisleclote', 'hisrutalec', 'hislecturista',
    'hiscontadormod', 'hiscontmarca', 'hiscalibre', 'hisprecintocont', 'hisinstalacion',
    'hisretirada', 'hisverificacion', 'hisaforo', 'hisvalvula', 'hishidrante', 'hisfuente',
    'hissectorhid', 'hisdepositos', 'hiscaptacion', 'hispozo', 'hisdesglose', 'hisopedesglos',
    'hismovcaja', 'hiscobro', 'hisdevolucion', 'hisanticipo', 'hisfianza', 'hisdeposito',
    'hisfraccion', 'hisplanpago', 'hiscuota', 'hisdomiciliacion', 'hismandato', 'hisdocumento',
    'hisimagen', 'hisadjunto', 'hisobservac', 'hisreferencia', 'hiscontacto', 'hisatencion',
    'hiscita', 'histurno', 'hisventanilla', 'hisencuesta', 'hisqueja', 'hissugerencia',
    'hissolicitud', 'hissolaco', 'hispresupuesto', 'hispresuplin', 'hisobra', 'hisobralin',
    'hisproyecto', 'hisacuerdo', 'hissubrogacion', 'hiscambiotit', 'hisbajacontr', 'hisaltacontr',
    'hisreconexion', 'hiscorte', 'hissuspension', 'hisclausura', 'hisinspec', 'hisavisocorte',
    'hisrequerim', 'hisembargo', 'hisjuicio', 'hisabogado', 'hisdemanda', 'hisprescrip',
    'hisincobrable', 'hisquebranto', 'hiscondonacion', 'hisajuste', 'hisnotacredito', 'hisrefactura'
  ]
  LOOP
    PERFORM pg_temp.legacy_history_table(
      v_his,
      CASE v_his WHEN 'hisdirec' THEN 'direccion' ELSE substr(v_his, 4) END);
  END LOOP;
END $$;

DROP FUNCTION pg_temp.legacy_history_table(TEXT, TEXT);
DROP FUNCTION pg_temp.legacy_generic_table(TEXT);
