-- =============================================================================
-- 006_spain_staging.sql — AquaCIS legacy schema `cf_quere_pro`: dead weight
-- =============================================================================
--
-- The tables the cleanup phases remove or replace (seed 000 Sprint 3, seed 002
-- §7 reduction roadmap), all empty unless noted:
--   * 26 Spain-specific regional tables (25 liq* + varbonifpvasco), seed 000
--     P1-S3-06; plus 6 generic liq* tables that stay (liqanual, liqanutmtr,
--     liqbloquetramo, ...)
--   * 14 persistent staging tables (seed 000 P1-S3-07), tablastmp included: it
--     lists the table-per-process instances (the fixture fills it)
--   * 4 backup / migration artifacts (zz_backupexpedsif mirrors expedsif,
--     zz_backuphisexpedsif mirrors hisexpedsif, imagenmigradas, ...)
--   * 12 report staging tables (tmtr* family, info*)
--   * 3 CFDI staging tables
--   * 25 GIS cache tables (vgis_*, vgiss_*) and 13 per-municipality copies
--     vw_gis_pad_usu_<municipio>_new (tables despite the vw_ prefix)
--   * 6 legacy placeholders left behind by developers
-- =============================================================================

CREATE FUNCTION pg_temp.liq_table(p_name TEXT, p TEXT) RETURNS VOID
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format(
    'CREATE TABLE cf_quere_pro.%I (
        %I NUMERIC(10,0) NOT NULL, %I NUMERIC(4,0), %I NUMERIC(2,0), %I NUMERIC(5,0),
        %I VARCHAR(10), %I DOUBLE PRECISION, %I DOUBLE PRECISION, %I NUMERIC(12,0),
        %I DOUBLE PRECISION, %I TIMESTAMP, %I CHAR(1), %I VARCHAR(10), %I TIMESTAMP,
        CONSTRAINT %I PRIMARY KEY (%I))',
    p_name, p || 'id', p || 'anno', p || 'periodo', p || 'socid', p || 'codine', p || 'baseimp',
    p || 'cuota', p || 'm3', p || 'canon', p || 'fecpres', p || 'estado', p || 'hstusu',
    p || 'hsthora', 'pk_' || p_name, p || 'id');
END $$;

-- Spain-specific regional tables (Baleares, Galicia, Murcia, Catalunya, Cantabria,
-- Extremadura, Pais Vasco).
DO $$ BEGIN
  PERFORM pg_temp.liq_table(t.name, t.prefix) FROM (VALUES
    ('liqanubaleares', 'lab'), ('liqcobbalear', 'lcb'), ('liqcobpobbalear', 'lcpb'),
    ('liqdetanubalear', 'ldab'), ('liqdetpobbalear', 'ldpb'),
    ('liqanugalicia', 'lag'), ('liqcobgalicia', 'lcg'), ('liqdetanugalic', 'ldag'),
    ('liqaacfacgali', 'laafg'), ('liqdatfacgali', 'ldfg'), ('liqcarfacgali', 'lcfg'),
    ('liqdetfacgali', 'ldefg'), ('liqautocuadgali', 'lacg'),
    ('liqanumurcia', 'lam'), ('liqcobmurcia', 'lcm'), ('liqdsimurcia', 'ldsm'), ('liqcuadmurcia', 'lcum'),
    ('liqcobcat', 'lcc'), ('liqcieanucat', 'lcac'), ('liqcieabocat', 'lcabc'),
    ('liqbloqcat', 'lbc'), ('liqcobpostcat', 'lcpc'), ('liqdetvolcat', 'ldvc'),
    ('liqautocuadcanta', 'lacc'), ('liqautocuadextr', 'lace')
  ) AS t(name, prefix);
END $$;

CREATE TABLE cf_quere_pro.varbonifpvasco (
    vbpid NUMERIC(10,0) NOT NULL, vbpcnttnum NUMERIC(10,0), vbptipo NUMERIC(5,0), vbppct DOUBLE PRECISION,
    vbpfecini TIMESTAMP, vbpfecfin TIMESTAMP, vbphstusu VARCHAR(10), vbphsthora TIMESTAMP,
    CONSTRAINT pk_varbonifpvasco PRIMARY KEY (vbpid));

-- Generic liquidation tables used for Mexican reporting (kept by the cleanup).
DO $$ BEGIN
  PERFORM pg_temp.liq_table(t.name, t.prefix) FROM (VALUES
    ('liqanual', 'lqa'), ('liqanutmtr', 'lqat'), ('liqbloquetramo', 'lqbt'),
    ('liqcobro', 'lqc'), ('liqdetalle', 'lqd'), ('liqresumen', 'lqr')
  ) AS t(name, prefix);
END $$;

DROP FUNCTION pg_temp.liq_table(TEXT, TEXT);

-- Persistent staging tables.
CREATE TABLE cf_quere_pro.tmpcntt (
    tctsesid NUMERIC(10,0) NOT NULL, tctcnttnum NUMERIC(10,0) NOT NULL, tctprsid NUMERIC(10,0),
    tctestado CHAR(1), tctimporte DOUBLE PRECISION, tcthsthora TIMESTAMP,
    CONSTRAINT pk_tmpcntt PRIMARY KEY (tctsesid, tctcnttnum));
CREATE TABLE cf_quere_pro.tmpcrr (
    tcrsesid NUMERIC(10,0) NOT NULL, tcrlin NUMERIC(10,0) NOT NULL, tcrcnttnum NUMERIC(10,0),
    tcrtexto VARCHAR(200), CONSTRAINT pk_tmpcrr PRIMARY KEY (tcrsesid, tcrlin));
CREATE TABLE cf_quere_pro.tmpfac (
    tfcsesid NUMERIC(10,0) NOT NULL, tfcfacid NUMERIC(10,0) NOT NULL, tfccnttnum NUMERIC(10,0),
    tfctotal DOUBLE PRECISION, tfcestado CHAR(1), CONSTRAINT pk_tmpfac PRIMARY KEY (tfcsesid, tfcfacid));
CREATE TABLE cf_quere_pro.tmpimpufact (
    tipsesid NUMERIC(10,0) NOT NULL, tipfacid NUMERIC(10,0) NOT NULL, tipimpid NUMERIC(5,0) NOT NULL,
    tipbase DOUBLE PRECISION, tipcuota DOUBLE PRECISION,
    CONSTRAINT pk_tmpimpufact PRIMARY KEY (tipsesid, tipfacid, tipimpid));
CREATE TABLE cf_quere_pro.tmplin (
    tlnsesid NUMERIC(10,0) NOT NULL, tlnfacid NUMERIC(10,0) NOT NULL, tlnnum NUMERIC(3,0) NOT NULL,
    tlncptoid NUMERIC(5,0), tlnimporte DOUBLE PRECISION,
    CONSTRAINT pk_tmplin PRIMARY KEY (tlnsesid, tlnfacid, tlnnum));
CREATE TABLE cf_quere_pro.tmplinprecsubcon (
    tlpsesid NUMERIC(10,0) NOT NULL, tlpfacid NUMERIC(10,0) NOT NULL, tlpnum NUMERIC(3,0) NOT NULL,
    tlpsubcon NUMERIC(5,0), tlpprecio DOUBLE PRECISION,
    CONSTRAINT pk_tmplinprecsubcon PRIMARY KEY (tlpsesid, tlpfacid, tlpnum));
CREATE TABLE cf_quere_pro.tmpgeo (
    tgedirid NUMERIC(10,0) NOT NULL, tgelat VARCHAR(30), tgelong VARCHAR(30), tgefuente VARCHAR(20),
    CONSTRAINT pk_tmpgeo PRIMARY KEY (tgedirid));
CREATE TABLE cf_quere_pro.tmpmejdiaremcal (
    tmrsesid NUMERIC(10,0) NOT NULL, tmrremid NUMERIC(10,0) NOT NULL, tmrfecha TIMESTAMP,
    tmrdias NUMERIC(3,0), CONSTRAINT pk_tmpmejdiaremcal PRIMARY KEY (tmrsesid, tmrremid));
CREATE TABLE cf_quere_pro.tmpses (
    tssid NUMERIC(10,0) NOT NULL, tssusuario VARCHAR(10), tssfecini TIMESTAMP, tssfecult TIMESTAMP,
    tssdatos VARCHAR(4000), CONSTRAINT pk_tmpses PRIMARY KEY (tssid));
CREATE TABLE cf_quere_pro.tmpsesevtcliente (
    tsesesid NUMERIC(10,0) NOT NULL, tseevento NUMERIC(10,0) NOT NULL, tsecnttnum NUMERIC(10,0),
    tsefecha TIMESTAMP, CONSTRAINT pk_tmpsesevtcliente PRIMARY KEY (tsesesid, tseevento));
CREATE TABLE cf_quere_pro.tmpsesmonproccanc (
    tsmsesid NUMERIC(10,0) NOT NULL, tsmtreid NUMERIC(10,0) NOT NULL, tsmfecha TIMESTAMP,
    tsmmotivo VARCHAR(100), CONSTRAINT pk_tmpsesmonproccanc PRIMARY KEY (tsmsesid, tsmtreid));
CREATE TABLE cf_quere_pro.tmp_gestordocumental (
    tgdid NUMERIC(10,0) NOT NULL, tgdnombre VARCHAR(200), tgdtipodoc NUMERIC(5,0), tgdentidad VARCHAR(20),
    tgdclave NUMERIC(10,0), tgddocumento BYTEA, tgdestado CHAR(1), tgdfecha TIMESTAMP,
    CONSTRAINT pk_tmp_gestordocumental PRIMARY KEY (tgdid));
CREATE TABLE cf_quere_pro.contratos_aplicacion_anticipo_masivo_tmp (
    caasesid NUMERIC(10,0) NOT NULL, caacnttnum NUMERIC(10,0) NOT NULL, caaimporte DOUBLE PRECISION,
    caafecha TIMESTAMP, CONSTRAINT pk_contratos_aplicacion_anticipo_masivo_tmp PRIMARY KEY (caasesid, caacnttnum));
CREATE TABLE cf_quere_pro.tablastmp (
    tbtnombre VARCHAR(63) NOT NULL, tbttreid NUMERIC(10,0), tbtfeccrea TIMESTAMP, tbtusuario VARCHAR(10),
    tbtsnborrar CHAR(1) DEFAULT 'N', CONSTRAINT pk_tablastmp PRIMARY KEY (tbtnombre));

-- Backup and migration artifacts.
CREATE TABLE cf_quere_pro.zz_backupexpedsif (LIKE cf_quere_pro.expedsif INCLUDING ALL);
CREATE TABLE cf_quere_pro.zz_backuphisexpedsif (LIKE cf_quere_pro.hisexpedsif INCLUDING ALL);
CREATE TABLE cf_quere_pro.zz_backuptarifa2019 (LIKE cf_quere_pro.tarifa INCLUDING ALL);
CREATE TABLE cf_quere_pro.imagenmigradas (
    imgid NUMERIC(10,0) NOT NULL, imgruta VARCHAR(250), imgentidad VARCHAR(20), imgclave NUMERIC(10,0),
    imgfecmigra TIMESTAMP, CONSTRAINT pk_imagenmigradas PRIMARY KEY (imgid));

-- Report staging (tmtr* family and info*).
CREATE FUNCTION pg_temp.report_table(p_name TEXT) RETURNS VOID
LANGUAGE plpgsql AS $$
DECLARE p TEXT := left(regexp_replace(p_name, '^(tmtr|info)', ''), 4);
BEGIN
  EXECUTE format(
    'CREATE TABLE cf_quere_pro.%I (
        %I NUMERIC(10,0) NOT NULL, %I NUMERIC(10,0) NOT NULL, %I NUMERIC(5,0), %I NUMERIC(4,0),
        %I NUMERIC(2,0), %I VARCHAR(60), %I NUMERIC(12,0), %I DOUBLE PRECISION, %I TIMESTAMP,
        CONSTRAINT %I PRIMARY KEY (%I, %I))',
    p_name, p || 'sesid', p || 'lin', p || 'expid', p || 'anno', p || 'periodo', p || 'concepto',
    p || 'cantidad', p || 'importe', p || 'fecgen', 'pk_' || p_name, p || 'sesid', p || 'lin');
END $$;
DO $$ BEGIN
  PERFORM pg_temp.report_table(n) FROM unnest(ARRAY[
    'tmtrfacturacion', 'tmtrcobros', 'tmtrlecturas', 'tmtrdeuda', 'tmtrconsumos', 'tmtrcortes',
    'tmtrordenes', 'tmtrpadron', 'tmtrsaldos', 'infocobro', 'infolecturas', 'infofacturas']) AS n;
END $$;
DROP FUNCTION pg_temp.report_table(TEXT);

-- CFDI staging.
CREATE TABLE cf_quere_pro.cfditmpfactura (
    cftfacid NUMERIC(10,0) NOT NULL, cftserie VARCHAR(10), cftfolio NUMERIC(10,0), cftrfcreceptor VARCHAR(13),
    cfttotal DOUBLE PRECISION, cftxml TEXT, cftestado CHAR(1), cftfecha TIMESTAMP,
    CONSTRAINT pk_cfditmpfactura PRIMARY KEY (cftfacid));
CREATE TABLE cf_quere_pro.cfditmpconcepto (
    cfcfacid NUMERIC(10,0) NOT NULL, cfclin NUMERIC(3,0) NOT NULL, cfcclaveprodserv VARCHAR(8),
    cfcclaveunidad VARCHAR(3), cfcimporte DOUBLE PRECISION,
    CONSTRAINT pk_cfditmpconcepto PRIMARY KEY (cfcfacid, cfclin));
CREATE TABLE cf_quere_pro.cfditmprespuesta (
    cfrfacid NUMERIC(10,0) NOT NULL, cfruuid VARCHAR(36), cfrcodigo VARCHAR(10), cfrmensaje VARCHAR(500),
    cfrfecha TIMESTAMP, CONSTRAINT pk_cfditmprespuesta PRIMARY KEY (cfrfacid));

-- GIS cache tables.
CREATE FUNCTION pg_temp.gis_table(p_name TEXT) RETURNS VOID
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format(
    'CREATE TABLE cf_quere_pro.%I (
        gisid NUMERIC(10,0) NOT NULL, giscnttnum NUMERIC(10,0), gisptosid NUMERIC(10,0),
        gismunicipio VARCHAR(60), giscolonia VARCHAR(80), gisvalor DOUBLE PRECISION,
        gislat VARCHAR(30), gislong VARCHAR(30), gisfecact TIMESTAMP,
        CONSTRAINT %I PRIMARY KEY (gisid))',
    p_name, 'pk_' || p_name);
END $$;
DO $$ BEGIN
  PERFORM pg_temp.gis_table(n) FROM unnest(ARRAY[
    'vgis_tomas', 'vgis_contratos', 'vgis_medidores', 'vgis_lecturas', 'vgis_deuda', 'vgis_cortes',
    'vgis_ordenes', 'vgis_fugas', 'vgis_sectores', 'vgis_rutas', 'vgis_acometidas', 'vgis_valvulas',
    'vgis_hidrantes', 'vgis_colonias', 'vgis_consumos', 'vgis_facturacion', 'vgis_pagos',
    'vgis_fraudes', 'vgis_pozos', 'vgis_tanques', 'vgiss_tomas', 'vgiss_contratos', 'vgiss_sectores',
    'vgiss_deuda', 'vgiss_consumos']) AS n;
END $$;
DO $$ BEGIN
  PERFORM pg_temp.gis_table('vw_gis_pad_usu_' || n || '_new') FROM unnest(ARRAY[
    'queretaro', 'corregidora', 'elmarques', 'huimilpan', 'pedroescobedo', 'colon', 'amealco',
    'toliman', 'cadereyta', 'ezequielmontes', 'penamiller', 'pinalamoles', 'jalpan']) AS n;
END $$;
DROP FUNCTION pg_temp.gis_table(TEXT);

-- Placeholders left behind by developers.
CREATE TABLE cf_quere_pro.prueba (id NUMERIC(10,0) NOT NULL, texto VARCHAR(100), CONSTRAINT pk_prueba PRIMARY KEY (id));
CREATE TABLE cf_quere_pro.prueba2 (id NUMERIC(10,0) NOT NULL, texto VARCHAR(100), fecha TIMESTAMP, CONSTRAINT pk_prueba2 PRIMARY KEY (id));
CREATE TABLE cf_quere_pro.test_facturas (facid NUMERIC(10,0) NOT NULL, total DOUBLE PRECISION, CONSTRAINT pk_test_facturas PRIMARY KEY (facid));
CREATE TABLE cf_quere_pro.tabla1 (campo1 NUMERIC(10,0) NOT NULL, campo2 VARCHAR(50), CONSTRAINT pk_tabla1 PRIMARY KEY (campo1));
CREATE TABLE cf_quere_pro.borrame (id NUMERIC(10,0) NOT NULL, CONSTRAINT pk_borrame PRIMARY KEY (id));
CREATE TABLE cf_quere_pro.x_juan_respaldo (cnttnum NUMERIC(10,0) NOT NULL, cnttestado CHAR(1), CONSTRAINT pk_x_juan_respaldo PRIMARY KEY (cnttnum));
