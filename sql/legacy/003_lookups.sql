-- =============================================================================
-- 003_lookups.sql — AquaCIS legacy schema `cf_quere_pro`: tabladesc and the
-- 89 tipo*/estado* lookup tables
-- =============================================================================
--
-- Lookup tables as classified by seed 001 (P2-S3-09, P2-S4-04, P2-S4-05, P2-S4-09):
--   * 26 pure two-column tables (id, txtid)                -> domain_values
--   * 15 simple extended tables (id, txtid + 1-3 extras)   -> domain_values.extra
--   * 10 link/junction tables (two ids)                    -> domain_value_links
--   * 12 complex configuration tables, with the exact column counts of the seed
--     (tipocontratcn 37, tiposolaco 29, tipodocumento 22, tipobonif 21,
--      tiporegulf 17, tipomensaj 15, tipovariable 14, tiposumin 12, tipounidad 11,
--      tipoconcep 11, tipoorden 10, tipasiento 10)           -> kept
--   * 26 more code tables used by the core tables (status and type codes).
-- Descriptions live in tabladesc, joined on the *txtid column (seed 003 §3.4).
--
-- Code tables whose values the core tables use are filled here (static rows);
-- their codes are the ones SUPRA's CHECK constraints need mappings for:
--   estadocontrato  P pendiente, A activo, S suspendido, B baja, C cancelado
--   estadoptoserv   A activa, C cortada, S suspendida, B baja, L clausurada,
--                   P pendiente_alta
--   estadocontador  A activo, I inactivo, V averiado, R retirado, W en_almacen
--   estadofactura   P provisional, E emitida, C cobrada, V vencida, A anulada,
--                   R rectificada
--   estadoorden     P pendiente, A asignada, E en curso, F finalizada, C cancelada
--   estadolectura   V valid, S suspicious, E estimated, R rejected, C corrected
--   tipoptoserv     DO domestica, CO comercial, IN industrial, GO gobierno,
--                   MX mixta, RU rural, HI hidrante, FU fuente, TE temporal
--   tipofactptos    M medido, F cuota_fija, E estimado
--   tipoperiodic    M mensual, B bimestral, T trimestral
--   tipolectura     L manual_field, O manual_office, A autolectura, T telelectura,
--                   E estimated, S smart_meter, F photo, W api
--   tipoformapago   V ventanilla, D domiciliacion, G digital, O oxxo, C gestor_cobro
--   tipocanalpago   VE ventanilla, BA banco, OX oxxo, SP spei, DO domiciliacion,
--                   TC tarjeta, WE web, KI kiosko
--   tipocontador    1 volumetrico, 2 velocidad, 3 electromagnetico, 4 ultrasonico,
--                   5 smart
--   tipotarifa      1 domestica, 2 comercial, 3 industrial, 4 gobierno, 5 mixta,
--                   6 rural, 7 social (tariff categories: tarifa.tartipo,
--                   contrato.cnttcategtarif, ptoserv.ptoscategtarif)
--   tipodireccion   C callejero, E correspondencia, F fiscal, L libre
-- The other lookup tables are filled by the fixture generator (seed step).
-- =============================================================================

CREATE TABLE cf_quere_pro.tabladesc (
    tddtddid     NUMERIC(10,0) NOT NULL,
    tddidioma    VARCHAR(5)    DEFAULT 'es',
    tddescri     VARCHAR(200),
    tddhstusu    VARCHAR(10),
    tddhsthora   TIMESTAMP,
    CONSTRAINT pk_tabladesc PRIMARY KEY (tddtddid)
);

-- ---------------------------------------------------------------------------
-- 26 pure two-column tables (seed 001 P2-S3-09)
-- ---------------------------------------------------------------------------
CREATE TABLE cf_quere_pro.tipocatcalle     (tpctcid NUMERIC(5,0) NOT NULL, tpctctxtid NUMERIC(10,0), CONSTRAINT pk_tipocatcalle PRIMARY KEY (tpctcid));
CREATE TABLE cf_quere_pro.tipocorreo       (tpcorid NUMERIC(5,0) NOT NULL, tcortxtid NUMERIC(10,0), CONSTRAINT pk_tipocorreo PRIMARY KEY (tpcorid));
CREATE TABLE cf_quere_pro.tipooperacion    (topeid NUMERIC(5,0) NOT NULL, topetxtid NUMERIC(10,0), CONSTRAINT pk_tipooperacion PRIMARY KEY (topeid));
CREATE TABLE cf_quere_pro.tipositcalle     (tsitid NUMERIC(5,0) NOT NULL, tsittxtid NUMERIC(10,0), CONSTRAINT pk_tipositcalle PRIMARY KEY (tsitid));
CREATE TABLE cf_quere_pro.tipositver       (tsvid NUMERIC(5,0) NOT NULL, tsvtxtid NUMERIC(10,0), CONSTRAINT pk_tipositver PRIMARY KEY (tsvid));
CREATE TABLE cf_quere_pro.tipotarifasocial (ttsid NUMERIC(5,0) NOT NULL, ttstxtid NUMERIC(10,0), CONSTRAINT pk_tipotarifasocial PRIMARY KEY (ttsid));
CREATE TABLE cf_quere_pro.tipoqueja        (tqjid NUMERIC(5,0) NOT NULL, tqjtxtid NUMERIC(10,0), CONSTRAINT pk_tipoqueja PRIMARY KEY (tqjid));
CREATE TABLE cf_quere_pro.tipoindem        (tinid NUMERIC(5,0) NOT NULL, tintxtid NUMERIC(10,0), CONSTRAINT pk_tipoindem PRIMARY KEY (tinid));
CREATE TABLE cf_quere_pro.tippersautoriz   (tpaid NUMERIC(5,0) NOT NULL, tpatxtid NUMERIC(10,0), CONSTRAINT pk_tippersautoriz PRIMARY KEY (tpaid));
CREATE TABLE cf_quere_pro.tipcontmtr       (tcmid NUMERIC(5,0) NOT NULL, tcmtxtid NUMERIC(10,0), CONSTRAINT pk_tipcontmtr PRIMARY KEY (tcmid));
CREATE TABLE cf_quere_pro.tipofacturaext   (tfeid NUMERIC(5,0) NOT NULL, tfetxtid NUMERIC(10,0), CONSTRAINT pk_tipofacturaext PRIMARY KEY (tfeid));
CREATE TABLE cf_quere_pro.estadofraude     (esfid NUMERIC(5,0) NOT NULL, esftxtid NUMERIC(10,0), CONSTRAINT pk_estadofraude PRIMARY KEY (esfid));
CREATE TABLE cf_quere_pro.estadosjuicios   (esjid NUMERIC(5,0) NOT NULL, esjtxtid NUMERIC(10,0), CONSTRAINT pk_estadosjuicios PRIMARY KEY (esjid));
CREATE TABLE cf_quere_pro.tipoalarmatel    (tatid NUMERIC(5,0) NOT NULL, tattxtid NUMERIC(10,0), CONSTRAINT pk_tipoalarmatel PRIMARY KEY (tatid));
CREATE TABLE cf_quere_pro.tipoatencion     (tatnid NUMERIC(5,0) NOT NULL, tatntxtid NUMERIC(10,0), CONSTRAINT pk_tipoatencion PRIMARY KEY (tatnid));
CREATE TABLE cf_quere_pro.tipoesttec       (tetid NUMERIC(5,0) NOT NULL, tettxtid NUMERIC(10,0), CONSTRAINT pk_tipoesttec PRIMARY KEY (tetid));
CREATE TABLE cf_quere_pro.tipogestcobro    (tgcid NUMERIC(5,0) NOT NULL, tgctxtid NUMERIC(10,0), CONSTRAINT pk_tipogestcobro PRIMARY KEY (tgcid));
CREATE TABLE cf_quere_pro.tipoincide       (tincid NUMERIC(5,0) NOT NULL, tinctxtid NUMERIC(10,0), CONSTRAINT pk_tipoincide PRIMARY KEY (tincid));
CREATE TABLE cf_quere_pro.tiposervicio     (tsrvid NUMERIC(5,0) NOT NULL, tsrvtxtid NUMERIC(10,0), CONSTRAINT pk_tiposervicio PRIMARY KEY (tsrvid));
CREATE TABLE cf_quere_pro.tiposubrogacion  (tsbrid NUMERIC(5,0) NOT NULL, tsbrtxtid NUMERIC(10,0), CONSTRAINT pk_tiposubrogacion PRIMARY KEY (tsbrid));
CREATE TABLE cf_quere_pro.estadossicer     (essid NUMERIC(5,0) NOT NULL, esstxtid NUMERIC(10,0), CONSTRAINT pk_estadossicer PRIMARY KEY (essid));
CREATE TABLE cf_quere_pro.estadomotrec     (emrid NUMERIC(5,0) NOT NULL, emrtxtid NUMERIC(10,0), CONSTRAINT pk_estadomotrec PRIMARY KEY (emrid));
CREATE TABLE cf_quere_pro.tipocsc          (tcscid NUMERIC(5,0) NOT NULL, tcsctxtid NUMERIC(10,0), CONSTRAINT pk_tipocsc PRIMARY KEY (tcscid));
CREATE TABLE cf_quere_pro.tiporecface      (trfid NUMERIC(5,0) NOT NULL, trftxtid NUMERIC(10,0), CONSTRAINT pk_tiporecface PRIMARY KEY (trfid));
CREATE TABLE cf_quere_pro.tipvalvula       (tvalid NUMERIC(5,0) NOT NULL, tvaltxtid NUMERIC(10,0), CONSTRAINT pk_tipvalvula PRIMARY KEY (tvalid));
CREATE TABLE cf_quere_pro.tipocontador     (tconid NUMERIC(5,0) NOT NULL, tcontxtid NUMERIC(10,0), CONSTRAINT pk_tipocontador PRIMARY KEY (tconid));

-- ---------------------------------------------------------------------------
-- 15 simple extended tables (seed 001 P2-S4-04)
-- ---------------------------------------------------------------------------
CREATE TABLE cf_quere_pro.tipolicver          (tlvid NUMERIC(5,0) NOT NULL, tlvtxtid NUMERIC(10,0), tlvsnactivo CHAR(1), tlvdias NUMERIC(5,0), CONSTRAINT pk_tipolicver PRIMARY KEY (tlvid));
CREATE TABLE cf_quere_pro.tipocptocobro       (tccid NUMERIC(5,0) NOT NULL, tcctxtid NUMERIC(10,0), tccsnrecargo CHAR(1), tccorden NUMERIC(3,0), CONSTRAINT pk_tipocptocobro PRIMARY KEY (tccid));
CREATE TABLE cf_quere_pro.tipooficina         (tofid NUMERIC(5,0) NOT NULL, toftxtid NUMERIC(10,0), tofsncaja CHAR(1), tofsnatencion CHAR(1), CONSTRAINT pk_tipooficina PRIMARY KEY (tofid));
CREATE TABLE cf_quere_pro.tiposoci            (tsocid NUMERIC(5,0) NOT NULL, tsoctxtid NUMERIC(10,0), tsocsnfiscal CHAR(1), CONSTRAINT pk_tiposoci PRIMARY KEY (tsocid));
CREATE TABLE cf_quere_pro.tiposobre           (tsobid NUMERIC(5,0) NOT NULL, tsobtxtid NUMERIC(10,0), tsobancho NUMERIC(5,0), tsobalto NUMERIC(5,0), CONSTRAINT pk_tiposobre PRIMARY KEY (tsobid));
CREATE TABLE cf_quere_pro.tipotarifa          (ttarid NUMERIC(5,0) NOT NULL, ttartxtid NUMERIC(10,0), ttarcodigo VARCHAR(4), ttarsnmedido CHAR(1), CONSTRAINT pk_tipotarifa PRIMARY KEY (ttarid));
CREATE TABLE cf_quere_pro.tipoelem            (telid NUMERIC(5,0) NOT NULL, teltxtid NUMERIC(10,0), telsnred CHAR(1), CONSTRAINT pk_tipoelem PRIMARY KEY (telid));
CREATE TABLE cf_quere_pro.tipfraude           (tfrid NUMERIC(5,0) NOT NULL, tfrtxtid NUMERIC(10,0), tfrgravedad NUMERIC(1,0), tfrsnsancion CHAR(1), CONSTRAINT pk_tipfraude PRIMARY KEY (tfrid));
CREATE TABLE cf_quere_pro.tipgesdeud          (tgdid NUMERIC(5,0) NOT NULL, tgdtxtid NUMERIC(10,0), tgddiasmin NUMERIC(5,0), tgdsncorte CHAR(1), CONSTRAINT pk_tipgesdeud PRIMARY KEY (tgdid));
CREATE TABLE cf_quere_pro.tipimpues           (timid NUMERIC(5,0) NOT NULL, timtxtid NUMERIC(10,0), timporc DOUBLE PRECISION, timclavesat VARCHAR(3), CONSTRAINT pk_tipimpues PRIMARY KEY (timid));
CREATE TABLE cf_quere_pro.tiposubcon          (tscid NUMERIC(5,0) NOT NULL, tsctxtid NUMERIC(10,0), tsccptoid NUMERIC(5,0), CONSTRAINT pk_tiposubcon PRIMARY KEY (tscid));
CREATE TABLE cf_quere_pro.tipoobs             (tobid NUMERIC(5,0) NOT NULL, tobtxtid NUMERIC(10,0), tobsnlectura CHAR(1), CONSTRAINT pk_tipoobs PRIMARY KEY (tobid));
CREATE TABLE cf_quere_pro.estfirmaelectronica (efeid NUMERIC(5,0) NOT NULL, efetxtid NUMERIC(10,0), efesnfinal CHAR(1), CONSTRAINT pk_estfirmaelectronica PRIMARY KEY (efeid));
CREATE TABLE cf_quere_pro.estopeplatfirma     (eopid NUMERIC(5,0) NOT NULL, eoptxtid NUMERIC(10,0), eopsnerror CHAR(1), CONSTRAINT pk_estopeplatfirma PRIMARY KEY (eopid));
CREATE TABLE cf_quere_pro.estpersautoriz      (epaid NUMERIC(5,0) NOT NULL, epatxtid NUMERIC(10,0), epasnvigente CHAR(1), CONSTRAINT pk_estpersautoriz PRIMARY KEY (epaid));

-- ---------------------------------------------------------------------------
-- 10 link/junction tables (seed 001 P2-S4-05)
-- ---------------------------------------------------------------------------
CREATE TABLE cf_quere_pro.tipoactsucsif (tasactid NUMERIC(5,0) NOT NULL, tassucsif NUMERIC(5,0) NOT NULL, CONSTRAINT pk_tipoactsucsif PRIMARY KEY (tasactid, tassucsif));
CREATE TABLE cf_quere_pro.tipoenvfac    (tefenvid NUMERIC(5,0) NOT NULL, teftipfac NUMERIC(5,0) NOT NULL, CONSTRAINT pk_tipoenvfac PRIMARY KEY (tefenvid, teftipfac));
CREATE TABLE cf_quere_pro.tipoordenperf (topordid NUMERIC(5,0) NOT NULL, topperfid NUMERIC(5,0) NOT NULL, CONSTRAINT pk_tipoordenperf PRIMARY KEY (topordid, topperfid));
CREATE TABLE cf_quere_pro.tipptoservtao (tptptostipo NUMERIC(5,0) NOT NULL, tpttaoid NUMERIC(5,0) NOT NULL, CONSTRAINT pk_tipptoservtao PRIMARY KEY (tptptostipo, tpttaoid));
CREATE TABLE cf_quere_pro.tipovarepi    (tvevarid NUMERIC(5,0) NOT NULL, tveepiid NUMERIC(5,0) NOT NULL, CONSTRAINT pk_tipovarepi PRIMARY KEY (tvevarid, tveepiid));
CREATE TABLE cf_quere_pro.tipoviaaca    (tvaviaid NUMERIC(5,0) NOT NULL, tvaacaid NUMERIC(5,0) NOT NULL, CONSTRAINT pk_tipoviaaca PRIMARY KEY (tvaviaid, tvaacaid));
CREATE TABLE cf_quere_pro.tipliqsoc     (tlsliqid NUMERIC(5,0) NOT NULL, tlssocid NUMERIC(5,0) NOT NULL, CONSTRAINT pk_tipliqsoc PRIMARY KEY (tlsliqid, tlssocid));
CREATE TABLE cf_quere_pro.tipfacgasrec  (tfgfacid NUMERIC(5,0) NOT NULL, tfggasid NUMERIC(5,0) NOT NULL, CONSTRAINT pk_tipfacgasrec PRIMARY KEY (tfgfacid, tfggasid));
CREATE TABLE cf_quere_pro.tipfichtao    (tftfichid NUMERIC(5,0) NOT NULL, tfttaoid NUMERIC(5,0) NOT NULL, CONSTRAINT pk_tipfichtao PRIMARY KEY (tftfichid, tfttaoid));
CREATE TABLE cf_quere_pro.tipobonifdoc  (tbdbonid NUMERIC(5,0) NOT NULL, tbddocid NUMERIC(5,0) NOT NULL, CONSTRAINT pk_tipobonifdoc PRIMARY KEY (tbdbonid, tbddocid));

-- ---------------------------------------------------------------------------
-- 12 complex configuration tables (seed 001 P2-S4-09), exact column counts
-- ---------------------------------------------------------------------------
CREATE TABLE cf_quere_pro.tipocontratcn (              -- 37 columns
    tcnid NUMERIC(5,0) NOT NULL, tcntxtid NUMERIC(10,0), tcncodigo VARCHAR(6), tcndesc VARCHAR(80),
    tcnexpid NUMERIC(5,0), tcntipoptos VARCHAR(2), tcncategtarif NUMERIC(5,0), tcntarid NUMERIC(5,0),
    tcnperiodic CHAR(1), tcnsnmedido CHAR(1), tcnsnfianza CHAR(1), tcnimpfianza DOUBLE PRECISION,
    tcnsnderconex CHAR(1), tcnimpderconex DOUBLE PRECISION, tcnsnprorrateo CHAR(1), tcndiasvenc NUMERIC(3,0),
    tcnsnfactelec CHAR(1), tcnsnrecargo CHAR(1), tcnpctrecargo DOUBLE PRECISION, tcnsnsocial CHAR(1),
    tcnpctdescsocial DOUBLE PRECISION, tcnsndomicilia CHAR(1), tcnformapago CHAR(1), tcnmaxhab NUMERIC(3,0),
    tcndocreq VARCHAR(100), tcnsncontrato CHAR(1), tcnplantilla VARCHAR(60), tcnsnfirma CHAR(1),
    tcnvigencia NUMERIC(3,0), tcnsnrenov CHAR(1), tcnsnbaja CHAR(1), tcnmotbaja NUMERIC(5,0),
    tcnorden NUMERIC(3,0), tcnsnactivo CHAR(1), tcnobserv VARCHAR(200), tcnhstusu VARCHAR(10), tcnhsthora TIMESTAMP,
    CONSTRAINT pk_tipocontratcn PRIMARY KEY (tcnid)
);
CREATE TABLE cf_quere_pro.tiposolaco (                 -- 29 columns
    tsaid NUMERIC(5,0) NOT NULL, tsatxtid NUMERIC(10,0), tsacodigo VARCHAR(6), tsadesc VARCHAR(80),
    tsaexpid NUMERIC(5,0), tsadiametro NUMERIC(5,0), tsamaterial VARCHAR(30), tsalongmax NUMERIC(5,0),
    tsaimpbase DOUBLE PRECISION, tsaimpml DOUBLE PRECISION, tsaimpderecho DOUBLE PRECISION, tsasnpresup CHAR(1),
    tsasnobra CHAR(1), tsasnpermiso CHAR(1), tsadiasresol NUMERIC(3,0), tsadiasobra NUMERIC(3,0),
    tsasninspec CHAR(1), tsasnmedidor CHAR(1), tsacalibre NUMERIC(5,0), tsacptoid NUMERIC(5,0),
    tsasniva CHAR(1), tsapctiva DOUBLE PRECISION, tsadocreq VARCHAR(100), tsaplantilla VARCHAR(60),
    tsaorden NUMERIC(3,0), tsasnactivo CHAR(1), tsaobserv VARCHAR(200), tsahstusu VARCHAR(10), tsahsthora TIMESTAMP,
    CONSTRAINT pk_tiposolaco PRIMARY KEY (tsaid)
);
CREATE TABLE cf_quere_pro.tipodocumento (              -- 22 columns
    tdoid NUMERIC(5,0) NOT NULL, tdotxtid NUMERIC(10,0), tdocodigo VARCHAR(6), tdodesc VARCHAR(80),
    tdoextension VARCHAR(10), tdomime VARCHAR(60), tdosnobligatorio CHAR(1), tdosnfirma CHAR(1),
    tdosnvigencia CHAR(1), tdodiasvigencia NUMERIC(5,0), tdotamanomax NUMERIC(10,0), tdosncliente CHAR(1),
    tdosncontrato CHAR(1), tdosnorden CHAR(1), tdosnexpediente CHAR(1), tdoruta VARCHAR(120),
    tdoplantilla VARCHAR(60), tdoorden NUMERIC(3,0), tdosnactivo CHAR(1), tdoobserv VARCHAR(200),
    tdohstusu VARCHAR(10), tdohsthora TIMESTAMP,
    CONSTRAINT pk_tipodocumento PRIMARY KEY (tdoid)
);
CREATE TABLE cf_quere_pro.tipobonif (                  -- 21 columns
    tboid NUMERIC(5,0) NOT NULL, tbotxtid NUMERIC(10,0), tbocodigo VARCHAR(6), tbodesc VARCHAR(80),
    tboexpid NUMERIC(5,0), tbocptoid NUMERIC(5,0), tbopct DOUBLE PRECISION, tboimporte DOUBLE PRECISION,
    tbolimm3 NUMERIC(5,0), tbosnjubilado CHAR(1), tbosndiscap CHAR(1), tbosnsocial CHAR(1),
    tbodiasvig NUMERIC(5,0), tbofecini TIMESTAMP, tbofecfin TIMESTAMP, tbodocreq VARCHAR(100),
    tbosnrenov CHAR(1), tboorden NUMERIC(3,0), tbosnactivo CHAR(1), tbohstusu VARCHAR(10), tbohsthora TIMESTAMP,
    CONSTRAINT pk_tipobonif PRIMARY KEY (tboid)
);
CREATE TABLE cf_quere_pro.tiporegulf (                 -- 17 columns
    trgid NUMERIC(5,0) NOT NULL, trgtxtid NUMERIC(10,0), trgcodigo VARCHAR(6), trgdesc VARCHAR(80),
    trgexpid NUMERIC(5,0), trgcptoid NUMERIC(5,0), trgsnabono CHAR(1), trgsncargo CHAR(1),
    trgsnautoriz CHAR(1), trgimpmax DOUBLE PRECISION, trgnivelaut NUMERIC(1,0), trgsnfactura CHAR(1),
    trgsnnotacred CHAR(1), trgorden NUMERIC(3,0), trgsnactivo CHAR(1), trghstusu VARCHAR(10), trghsthora TIMESTAMP,
    CONSTRAINT pk_tiporegulf PRIMARY KEY (trgid)
);
CREATE TABLE cf_quere_pro.tipomensaj (                 -- 15 columns
    tmsid NUMERIC(5,0) NOT NULL, tmstxtid NUMERIC(10,0), tmscodigo VARCHAR(6), tmsdesc VARCHAR(80),
    tmscanal VARCHAR(10), tmsplantilla VARCHAR(200), tmsasunto VARCHAR(100), tmssnautom CHAR(1),
    tmsdiasantes NUMERIC(3,0), tmsevento VARCHAR(30), tmsprioridad NUMERIC(1,0), tmsorden NUMERIC(3,0),
    tmssnactivo CHAR(1), tmshstusu VARCHAR(10), tmshsthora TIMESTAMP,
    CONSTRAINT pk_tipomensaj PRIMARY KEY (tmsid)
);
CREATE TABLE cf_quere_pro.tipovariable (               -- 14 columns
    tvaid NUMERIC(5,0) NOT NULL, tvatxtid NUMERIC(10,0), tvacodigo VARCHAR(10), tvadesc VARCHAR(80),
    tvatipodato CHAR(1), tvalongitud NUMERIC(5,0), tvadecimales NUMERIC(2,0), tvavalordef VARCHAR(30),
    tvasnobligat CHAR(1), tvaambito VARCHAR(10), tvaorden NUMERIC(3,0), tvasnactivo CHAR(1),
    tvahstusu VARCHAR(10), tvahsthora TIMESTAMP,
    CONSTRAINT pk_tipovariable PRIMARY KEY (tvaid)
);
CREATE TABLE cf_quere_pro.tiposumin (                  -- 12 columns
    tsuid NUMERIC(5,0) NOT NULL, tsutxtid NUMERIC(10,0), tsucodigo VARCHAR(6), tsudesc VARCHAR(80),
    tsutipoptos VARCHAR(2), tsucategtarif NUMERIC(5,0), tsusnmedido CHAR(1), tsudotacion NUMERIC(5,0),
    tsuorden NUMERIC(3,0), tsusnactivo CHAR(1), tsuhstusu VARCHAR(10), tsuhsthora TIMESTAMP,
    CONSTRAINT pk_tiposumin PRIMARY KEY (tsuid)
);
CREATE TABLE cf_quere_pro.tipounidad (                 -- 11 columns
    tunid NUMERIC(5,0) NOT NULL, tuntxtid NUMERIC(10,0), tuncodigo VARCHAR(6), tundesc VARCHAR(80),
    tunclavesat VARCHAR(3), tunsimbolo VARCHAR(6), tunfactor DOUBLE PRECISION, tunorden NUMERIC(3,0),
    tunsnactivo CHAR(1), tunhstusu VARCHAR(10), tunhsthora TIMESTAMP,
    CONSTRAINT pk_tipounidad PRIMARY KEY (tunid)
);
CREATE TABLE cf_quere_pro.tipoconcep (                 -- 11 columns (seed 002 §2 view)
    tcoicod NUMERIC(5,0) NOT NULL, tcoitxtid NUMERIC(10,0), tcoidesc VARCHAR(80), tcoicategory VARCHAR(20),
    tcoisnimpuesto CHAR(1), tcoicuentacont VARCHAR(20), tcoiclaveprodserv VARCHAR(8), tcoiorden NUMERIC(3,0),
    tcoisnactivo CHAR(1), tcoihstusu VARCHAR(10), tcoihsthora TIMESTAMP,
    CONSTRAINT pk_tipoconcep PRIMARY KEY (tcoicod)
);
CREATE TABLE cf_quere_pro.tipoorden (                  -- 10 columns; orden.ordtipo
    torid NUMERIC(5,0) NOT NULL, tortxtid NUMERIC(10,0), torcodigo VARCHAR(6), tordesc VARCHAR(80),
    torprioridad NUMERIC(1,0), torhorassla NUMERIC(5,0), torsncorte CHAR(1), torsnmaterial CHAR(1),
    torhstusu VARCHAR(10), torhsthora TIMESTAMP,
    CONSTRAINT pk_tipoorden PRIMARY KEY (torid)
);
CREATE TABLE cf_quere_pro.tipasiento (                 -- 10 columns
    tasid NUMERIC(5,0) NOT NULL, tastxtid NUMERIC(10,0), tascodigo VARCHAR(6), tasdesc VARCHAR(80),
    tascuentadebe VARCHAR(20), tascuentahaber VARCHAR(20), tasdiario VARCHAR(10), tassnactivo CHAR(1),
    tashstusu VARCHAR(10), tashsthora TIMESTAMP,
    CONSTRAINT pk_tipasiento PRIMARY KEY (tasid)
);

-- ---------------------------------------------------------------------------
-- 26 code tables used by the core tables
-- ---------------------------------------------------------------------------
CREATE TABLE cf_quere_pro.estadocontrato (ectcod CHAR(1) NOT NULL, ecttxtid NUMERIC(10,0), ectsnactivo CHAR(1), ecthstusu VARCHAR(10), ecthsthora TIMESTAMP, CONSTRAINT pk_estadocontrato PRIMARY KEY (ectcod));
CREATE TABLE cf_quere_pro.estadoptoserv  (eptcod CHAR(1) NOT NULL, epttxtid NUMERIC(10,0), eptsnsuministro CHAR(1), epthstusu VARCHAR(10), epthsthora TIMESTAMP, CONSTRAINT pk_estadoptoserv PRIMARY KEY (eptcod));
CREATE TABLE cf_quere_pro.estadocontador (ecocod CHAR(1) NOT NULL, ecotxtid NUMERIC(10,0), ecosninstalado CHAR(1), ecohstusu VARCHAR(10), ecohsthora TIMESTAMP, CONSTRAINT pk_estadocontador PRIMARY KEY (ecocod));
CREATE TABLE cf_quere_pro.estadofactura  (efacod CHAR(1) NOT NULL, efatxtid NUMERIC(10,0), efasnpendiente CHAR(1), efahstusu VARCHAR(10), efahsthora TIMESTAMP, CONSTRAINT pk_estadofactura PRIMARY KEY (efacod));
CREATE TABLE cf_quere_pro.estadoorden    (eorcod CHAR(1) NOT NULL, eortxtid NUMERIC(10,0), eorsnfinal CHAR(1), eorhstusu VARCHAR(10), eorhsthora TIMESTAMP, CONSTRAINT pk_estadoorden PRIMARY KEY (eorcod));
CREATE TABLE cf_quere_pro.estadolectura  (elecod CHAR(1) NOT NULL, eletxtid NUMERIC(10,0), elesnfacturable CHAR(1), elehstusu VARCHAR(10), elehsthora TIMESTAMP, CONSTRAINT pk_estadolectura PRIMARY KEY (elecod));
CREATE TABLE cf_quere_pro.tipoptoserv    (tptcod VARCHAR(2) NOT NULL, tpttxtid NUMERIC(10,0), tptcategdef NUMERIC(5,0), tptsnmedido CHAR(1), tpthstusu VARCHAR(10), tpthsthora TIMESTAMP, CONSTRAINT pk_tipoptoserv PRIMARY KEY (tptcod));
CREATE TABLE cf_quere_pro.tipofactptos   (tftcod CHAR(1) NOT NULL, tfttxtid NUMERIC(10,0), tfthstusu VARCHAR(10), tfthsthora TIMESTAMP, CONSTRAINT pk_tipofactptos PRIMARY KEY (tftcod));
CREATE TABLE cf_quere_pro.tipoperiodic   (tpecod CHAR(1) NOT NULL, tpetxtid NUMERIC(10,0), tpemeses NUMERIC(2,0), tpehstusu VARCHAR(10), tpehsthora TIMESTAMP, CONSTRAINT pk_tipoperiodic PRIMARY KEY (tpecod));
CREATE TABLE cf_quere_pro.tipolectura    (tlecod CHAR(1) NOT NULL, tletxtid NUMERIC(10,0), tlesnreal CHAR(1), tlehstusu VARCHAR(10), tlehsthora TIMESTAMP, CONSTRAINT pk_tipolectura PRIMARY KEY (tlecod));
CREATE TABLE cf_quere_pro.tipoformapago  (tfpcod CHAR(1) NOT NULL, tfptxtid NUMERIC(10,0), tfpsnbanco CHAR(1), tfphstusu VARCHAR(10), tfphsthora TIMESTAMP, CONSTRAINT pk_tipoformapago PRIMARY KEY (tfpcod));
CREATE TABLE cf_quere_pro.tipocanalpago  (tcpcod VARCHAR(2) NOT NULL, tcptxtid NUMERIC(10,0), tcpformasat VARCHAR(2), tcpsnpresencial CHAR(1), tcphstusu VARCHAR(10), tcphsthora TIMESTAMP, CONSTRAINT pk_tipocanalpago PRIMARY KEY (tcpcod));
CREATE TABLE cf_quere_pro.tipcliente     (tclid NUMERIC(5,0) NOT NULL, tcltxtid NUMERIC(10,0), tclhstusu VARCHAR(10), tclhsthora TIMESTAMP, CONSTRAINT pk_tipcliente PRIMARY KEY (tclid));
CREATE TABLE cf_quere_pro.tipfactura     (tfaid NUMERIC(5,0) NOT NULL, tfatxtid NUMERIC(10,0), tfasnrectif CHAR(1), tfahstusu VARCHAR(10), tfahsthora TIMESTAMP, CONSTRAINT pk_tipfactura PRIMARY KEY (tfaid));
CREATE TABLE cf_quere_pro.tiporelps      (trpid NUMERIC(5,0) NOT NULL, trptxtid NUMERIC(10,0), trphstusu VARCHAR(10), trphsthora TIMESTAMP, CONSTRAINT pk_tiporelps PRIMARY KEY (trpid));
CREATE TABLE cf_quere_pro.tiposucsif     (tssid NUMERIC(5,0) NOT NULL, tsstxtid NUMERIC(10,0), tsshstusu VARCHAR(10), tsshsthora TIMESTAMP, CONSTRAINT pk_tiposucsif PRIMARY KEY (tssid));
CREATE TABLE cf_quere_pro.tipovarbonif   (tvbid NUMERIC(5,0) NOT NULL, tvbtxtid NUMERIC(10,0), tvbpct DOUBLE PRECISION, tvbhstusu VARCHAR(10), tvbhsthora TIMESTAMP, CONSTRAINT pk_tipovarbonif PRIMARY KEY (tvbid));
CREATE TABLE cf_quere_pro.tipovia        (tviid NUMERIC(5,0) NOT NULL, tvitxtid NUMERIC(10,0), tviabrev VARCHAR(6), tvihstusu VARCHAR(10), tvihsthora TIMESTAMP, CONSTRAINT pk_tipovia PRIMARY KEY (tviid));
CREATE TABLE cf_quere_pro.tipomotbaja    (tmbid NUMERIC(5,0) NOT NULL, tmbtxtid NUMERIC(10,0), tmbhstusu VARCHAR(10), tmbhsthora TIMESTAMP, CONSTRAINT pk_tipomotbaja PRIMARY KEY (tmbid));
CREATE TABLE cf_quere_pro.tipomotcorte   (tmcid NUMERIC(5,0) NOT NULL, tmctxtid NUMERIC(10,0), tmcsnadeudo CHAR(1), tmchstusu VARCHAR(10), tmchsthora TIMESTAMP, CONSTRAINT pk_tipomotcorte PRIMARY KEY (tmcid));
CREATE TABLE cf_quere_pro.tipoinmueble   (tinmid NUMERIC(5,0) NOT NULL, tinmtxtid NUMERIC(10,0), tinmhstusu VARCHAR(10), tinmhsthora TIMESTAMP, CONSTRAINT pk_tipoinmueble PRIMARY KEY (tinmid));
CREATE TABLE cf_quere_pro.tiporegfiscal  (trfcod VARCHAR(3) NOT NULL, trftxtid NUMERIC(10,0), trfsnfisica CHAR(1), trfsnmoral CHAR(1), trfhstusu VARCHAR(10), trfhsthora TIMESTAMP, CONSTRAINT pk_tiporegfiscal PRIMARY KEY (trfcod));
CREATE TABLE cf_quere_pro.tipousocfdi    (tucod VARCHAR(4) NOT NULL, tutxtid NUMERIC(10,0), tuhstusu VARCHAR(10), tuhsthora TIMESTAMP, CONSTRAINT pk_tipousocfdi PRIMARY KEY (tucod));
CREATE TABLE cf_quere_pro.tipoidentif    (tidid NUMERIC(5,0) NOT NULL, tidtxtid NUMERIC(10,0), tidhstusu VARCHAR(10), tidhsthora TIMESTAMP, CONSTRAINT pk_tipoidentif PRIMARY KEY (tidid));
CREATE TABLE cf_quere_pro.tipodireccion  (tdicod CHAR(1) NOT NULL, tditxtid NUMERIC(10,0), tdihstusu VARCHAR(10), tdihsthora TIMESTAMP, CONSTRAINT pk_tipodireccion PRIMARY KEY (tdicod));
CREATE TABLE cf_quere_pro.tipoanomalia   (tanid NUMERIC(5,0) NOT NULL, tantxtid NUMERIC(10,0), tansnestima CHAR(1), tanhstusu VARCHAR(10), tanhsthora TIMESTAMP, CONSTRAINT pk_tipoanomalia PRIMARY KEY (tanid));

-- ---------------------------------------------------------------------------
-- Static code rows
-- ---------------------------------------------------------------------------
INSERT INTO cf_quere_pro.estadocontrato (ectcod, ecttxtid, ectsnactivo) VALUES
 ('P',1001,'N'),('A',1002,'S'),('S',1003,'N'),('B',1004,'N'),('C',1005,'N');
INSERT INTO cf_quere_pro.estadoptoserv (eptcod, epttxtid, eptsnsuministro) VALUES
 ('A',1011,'S'),('C',1012,'N'),('S',1013,'N'),('B',1014,'N'),('L',1015,'N'),('P',1016,'N');
INSERT INTO cf_quere_pro.estadocontador (ecocod, ecotxtid, ecosninstalado) VALUES
 ('A',1021,'S'),('I',1022,'S'),('V',1023,'S'),('R',1024,'N'),('W',1025,'N');
INSERT INTO cf_quere_pro.estadofactura (efacod, efatxtid, efasnpendiente) VALUES
 ('P',1031,'S'),('E',1032,'S'),('C',1033,'N'),('V',1034,'S'),('A',1035,'N'),('R',1036,'N');
INSERT INTO cf_quere_pro.estadoorden (eorcod, eortxtid, eorsnfinal) VALUES
 ('P',1041,'N'),('A',1042,'N'),('E',1043,'N'),('F',1044,'S'),('C',1045,'S');
INSERT INTO cf_quere_pro.estadolectura (elecod, eletxtid, elesnfacturable) VALUES
 ('V',1051,'S'),('S',1052,'S'),('E',1053,'S'),('R',1054,'N'),('C',1055,'S');
INSERT INTO cf_quere_pro.tipoptoserv (tptcod, tpttxtid, tptcategdef, tptsnmedido) VALUES
 ('DO',1101,1,'S'),('CO',1102,2,'S'),('IN',1103,3,'S'),('GO',1104,4,'S'),
 ('MX',1105,5,'S'),('RU',1106,6,'N'),('HI',1107,4,'N'),('FU',1108,4,'N'),('TE',1109,2,'N');
INSERT INTO cf_quere_pro.tipofactptos (tftcod, tfttxtid) VALUES ('M',1111),('F',1112),('E',1113);
INSERT INTO cf_quere_pro.tipoperiodic (tpecod, tpetxtid, tpemeses) VALUES ('M',1121,1),('B',1122,2),('T',1123,3);
INSERT INTO cf_quere_pro.tipolectura (tlecod, tletxtid, tlesnreal) VALUES
 ('L',1131,'S'),('O',1132,'S'),('A',1133,'S'),('T',1134,'S'),('E',1135,'N'),('S',1136,'S'),('F',1137,'S'),('W',1138,'S');
INSERT INTO cf_quere_pro.tipoformapago (tfpcod, tfptxtid, tfpsnbanco) VALUES
 ('V',1141,'N'),('D',1142,'S'),('G',1143,'N'),('O',1144,'N'),('C',1145,'N');
INSERT INTO cf_quere_pro.tipocanalpago (tcpcod, tcptxtid, tcpformasat, tcpsnpresencial) VALUES
 ('VE',1151,'01','S'),('BA',1152,'03','S'),('OX',1153,'01','S'),('SP',1154,'03','N'),
 ('DO',1155,'03','N'),('TC',1156,'04','N'),('WE',1157,'28','N'),('KI',1158,'01','S');
INSERT INTO cf_quere_pro.tipfactura (tfaid, tfatxtid, tfasnrectif) VALUES
 (1,1161,'N'),(2,1162,'N'),(3,1163,'S'),(4,1164,'S');
INSERT INTO cf_quere_pro.tipovia (tviid, tvitxtid, tviabrev) VALUES
 (1,1171,'C.'),(2,1172,'AV.'),(3,1173,'BLVD.'),(4,1174,'PRIV.'),(5,1175,'AND.'),
 (6,1176,'CIRC.'),(7,1177,'CALZ.'),(8,1178,'CAM.'),(9,1179,'CARR.'),(10,1180,'PROL.');
INSERT INTO cf_quere_pro.tipomotbaja (tmbid, tmbtxtid) VALUES
 (1,1181),(2,1182),(3,1183),(4,1184),(5,1185),(6,1186);
INSERT INTO cf_quere_pro.tipomotcorte (tmcid, tmctxtid, tmcsnadeudo) VALUES
 (1,1191,'S'),(2,1192,'N'),(3,1193,'N'),(4,1194,'N'),(5,1195,'S');
INSERT INTO cf_quere_pro.tipoinmueble (tinmid, tinmtxtid) VALUES
 (1,1201),(2,1202),(3,1203),(4,1204),(5,1205),(6,1206),(7,1207),(8,1208);
INSERT INTO cf_quere_pro.tiporegfiscal (trfcod, trftxtid, trfsnfisica, trfsnmoral) VALUES
 ('601',1211,'N','S'),('603',1212,'N','S'),('605',1213,'S','N'),('606',1214,'S','N'),
 ('612',1215,'S','N'),('616',1216,'S','N'),('621',1217,'S','N'),('626',1218,'S','S');
INSERT INTO cf_quere_pro.tipousocfdi (tucod, tutxtid) VALUES
 ('G01',1221),('G03',1222),('S01',1223),('D10',1224),('CP01',1225),('I01',1226);
INSERT INTO cf_quere_pro.tipoidentif (tidid, tidtxtid) VALUES (1,1231),(2,1232),(3,1233),(4,1234),(5,1235);
INSERT INTO cf_quere_pro.tipodireccion (tdicod, tditxtid) VALUES ('C',1241),('E',1242),('F',1243),('L',1244);
INSERT INTO cf_quere_pro.tipoanomalia (tanid, tantxtid, tansnestima) VALUES
 (1,1251,'S'),(2,1252,'S'),(3,1253,'N'),(4,1254,'S'),(5,1255,'N'),(6,1256,'N'),(7,1257,'S'),(8,1258,'N');
INSERT INTO cf_quere_pro.tipocontador (tconid, tcontxtid) VALUES (1,1261),(2,1262),(3,1263),(4,1264),(5,1265);
INSERT INTO cf_quere_pro.tipotarifa (ttarid, ttartxtid, ttarcodigo, ttarsnmedido) VALUES
 (1,1271,'DOM','S'),(2,1272,'COM','S'),(3,1273,'IND','S'),(4,1274,'GOB','S'),
 (5,1275,'MIX','S'),(6,1276,'RUR','N'),(7,1277,'SOC','S');
INSERT INTO cf_quere_pro.tipoorden (torid, tortxtid, torcodigo, tordesc, torprioridad, torhorassla, torsncorte, torsnmaterial) VALUES
 (1,1281,'INS','INSTALACION DE TOMA Y MEDIDOR',3,240,'N','S'),
 (2,1282,'COR','CORTE POR ADEUDO',2,72,'S','N'),
 (3,1283,'REC','RECONEXION DE SERVICIO',1,24,'N','N'),
 (4,1284,'FUG','REPARACION DE FUGA',1,12,'N','S'),
 (5,1285,'CMB','CAMBIO DE MEDIDOR',3,168,'N','S'),
 (6,1286,'INP','INSPECCION DE TOMA',3,120,'N','N'),
 (7,1287,'VLE','VERIFICACION DE LECTURA',4,120,'N','N'),
 (8,1288,'BAJ','BAJA Y RETIRO DE TOMA',4,240,'S','N');
INSERT INTO cf_quere_pro.tipfraude (tfrid, tfrtxtid, tfrgravedad, tfrsnsancion) VALUES
 (1,1291,3,'S'),(2,1292,3,'S'),(3,1293,2,'S'),(4,1294,2,'S'),(5,1295,1,'N'),(6,1296,1,'N');
INSERT INTO cf_quere_pro.estadofraude (esfid, esftxtid) VALUES (1,1301),(2,1302),(3,1303),(4,1304),(5,1305);

INSERT INTO cf_quere_pro.tabladesc (tddtddid, tddescri) VALUES
 (1001,'PENDIENTE DE ALTA'),(1002,'ACTIVO'),(1003,'SUSPENDIDO'),(1004,'BAJA'),(1005,'CANCELADO'),
 (1011,'ACTIVA'),(1012,'CORTADA'),(1013,'SUSPENDIDA'),(1014,'BAJA'),(1015,'CLAUSURADA'),(1016,'PENDIENTE DE ALTA'),
 (1021,'ACTIVO'),(1022,'INACTIVO'),(1023,'AVERIADO'),(1024,'RETIRADO'),(1025,'EN ALMACEN'),
 (1031,'PROVISIONAL'),(1032,'EMITIDA'),(1033,'COBRADA'),(1034,'VENCIDA'),(1035,'ANULADA'),(1036,'RECTIFICADA'),
 (1041,'PENDIENTE'),(1042,'ASIGNADA'),(1043,'EN CURSO'),(1044,'FINALIZADA'),(1045,'CANCELADA'),
 (1051,'VALIDA'),(1052,'SOSPECHOSA'),(1053,'ESTIMADA'),(1054,'RECHAZADA'),(1055,'CORREGIDA'),
 (1101,'DOMESTICA'),(1102,'COMERCIAL'),(1103,'INDUSTRIAL'),(1104,'GOBIERNO'),(1105,'MIXTA'),
 (1106,'RURAL'),(1107,'HIDRANTE'),(1108,'FUENTE'),(1109,'TEMPORAL DE OBRA'),
 (1111,'SERVICIO MEDIDO'),(1112,'CUOTA FIJA'),(1113,'ESTIMADO'),
 (1121,'MENSUAL'),(1122,'BIMESTRAL'),(1123,'TRIMESTRAL'),
 (1131,'LECTURA EN CAMPO'),(1132,'LECTURA EN OFICINA'),(1133,'AUTOLECTURA'),(1134,'TELELECTURA'),
 (1135,'ESTIMADA'),(1136,'MEDIDOR INTELIGENTE'),(1137,'FOTOLECTURA'),(1138,'SERVICIO WEB'),
 (1141,'VENTANILLA'),(1142,'DOMICILIACION BANCARIA'),(1143,'PAGO DIGITAL'),(1144,'OXXO'),(1145,'GESTOR DE COBRO'),
 (1151,'VENTANILLA CEA'),(1152,'BANCO'),(1153,'OXXO'),(1154,'SPEI'),(1155,'DOMICILIACION'),
 (1156,'TARJETA'),(1157,'PORTAL WEB'),(1158,'KIOSKO'),
 (1161,'ORDINARIA'),(1162,'COMPLEMENTARIA'),(1163,'RECTIFICATIVA'),(1164,'NOTA DE CREDITO'),
 (1171,'CALLE'),(1172,'AVENIDA'),(1173,'BOULEVARD'),(1174,'PRIVADA'),(1175,'ANDADOR'),
 (1176,'CIRCUITO'),(1177,'CALZADA'),(1178,'CAMINO'),(1179,'CARRETERA'),(1180,'PROLONGACION'),
 (1181,'A PETICION DEL USUARIO'),(1182,'CAMBIO DE TITULAR'),(1183,'DEMOLICION DE INMUEBLE'),
 (1184,'FUSION DE PREDIOS'),(1185,'ADEUDO INCOBRABLE'),(1186,'DUPLICIDAD'),
 (1191,'FALTA DE PAGO'),(1192,'TOMA CLANDESTINA'),(1193,'A PETICION DEL USUARIO'),(1194,'FUGA EN PREDIO'),(1195,'CONVENIO INCUMPLIDO'),
 (1201,'CASA HABITACION'),(1202,'DEPARTAMENTO'),(1203,'LOCAL COMERCIAL'),(1204,'BODEGA'),
 (1205,'TERRENO BALDIO'),(1206,'OFICINA'),(1207,'ESCUELA'),(1208,'HOSPITAL'),
 (1211,'GENERAL DE LEY PERSONAS MORALES'),(1212,'PERSONAS MORALES CON FINES NO LUCRATIVOS'),
 (1213,'SUELDOS Y SALARIOS'),(1214,'ARRENDAMIENTO'),(1215,'ACTIVIDADES EMPRESARIALES Y PROFESIONALES'),
 (1216,'SIN OBLIGACIONES FISCALES'),(1217,'INCORPORACION FISCAL'),(1218,'REGIMEN SIMPLIFICADO DE CONFIANZA'),
 (1221,'ADQUISICION DE MERCANCIAS'),(1222,'GASTOS EN GENERAL'),(1223,'SIN EFECTOS FISCALES'),
 (1224,'PAGOS POR SERVICIOS EDUCATIVOS'),(1225,'PAGOS'),(1226,'CONSTRUCCIONES'),
 (1231,'CREDENCIAL PARA VOTAR'),(1232,'PASAPORTE'),(1233,'CEDULA PROFESIONAL'),(1234,'CARTILLA MILITAR'),(1235,'LICENCIA DE CONDUCIR'),
 (1241,'CALLEJERO'),(1242,'CORRESPONDENCIA'),(1243,'FISCAL'),(1244,'LIBRE'),
 (1251,'MEDIDOR OPACO'),(1252,'MEDIDOR DETENIDO'),(1253,'PERRO BRAVO'),(1254,'PREDIO CERRADO'),
 (1255,'FUGA VISIBLE'),(1256,'MEDIDOR INVERTIDO'),(1257,'MEDIDOR ENTERRADO'),(1258,'SELLO VIOLADO'),
 (1261,'VOLUMETRICO'),(1262,'VELOCIDAD'),(1263,'ELECTROMAGNETICO'),(1264,'ULTRASONICO'),(1265,'INTELIGENTE AMI'),
 (1271,'DOMESTICO'),(1272,'COMERCIAL'),(1273,'INDUSTRIAL'),(1274,'GOBIERNO Y SERVICIOS PUBLICOS'),
 (1275,'MIXTO'),(1276,'RURAL'),(1277,'DOMESTICO SOCIAL'),
 (1281,'INSTALACION'),(1282,'CORTE'),(1283,'RECONEXION'),(1284,'FUGA'),(1285,'CAMBIO DE MEDIDOR'),
 (1286,'INSPECCION'),(1287,'VERIFICACION DE LECTURA'),(1288,'BAJA'),
 (1291,'TOMA CLANDESTINA'),(1292,'DERIVACION NO AUTORIZADA'),(1293,'MEDIDOR MANIPULADO'),
 (1294,'RECONEXION NO AUTORIZADA'),(1295,'USO DISTINTO AL CONTRATADO'),(1296,'SELLO ROTO'),
 (1301,'ABIERTO'),(1302,'EN INSPECCION'),(1303,'SANCIONADO'),(1304,'CONVENIO'),(1305,'CERRADO');

-- Audit columns of the static rows: the 2012 migration into AquaCIS.
DO $$
DECLARE r RECORD;
BEGIN
  FOR r IN
    SELECT c.table_name, c.column_name AS usu, replace(c.column_name, 'hstusu', 'hsthora') AS hora
    FROM information_schema.columns c
    WHERE c.table_schema = 'cf_quere_pro' AND c.column_name LIKE '%hstusu'
      AND (c.table_name ~ '^(tipo|tip|estado|est)' OR c.table_name = 'tabladesc')
  LOOP
    EXECUTE format('UPDATE cf_quere_pro.%I SET %I = ''MIGRA'', %I = ''2012-01-02 08:00:00'' WHERE %I IS NULL',
                   r.table_name, r.usu, r.hora, r.usu);
  END LOOP;
END $$;
