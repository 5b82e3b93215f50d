-- =============================================================================
-- 001_core.sql — AquaCIS legacy schema `cf_quere_pro`: core entities
-- =============================================================================
--
-- A representative reconstruction of the legacy AquaCIS database of CEA Querétaro,
-- used by supra-sync for tests, demos and `supra-sync dev seed`. The files in
-- sql/legacy/ are applied in file-name order; together they create 1,471 tables.
-- The 2,643 table-per-process instances (tmp_deuda_<id>, aux_varscreditored_<id>,
-- tmpbb_<id>) are NOT here: the fixture generator (crates/fixture) creates them,
-- bringing the schema to the 4,114 tables of seed 000.
--
-- Legacy conventions reproduced on purpose (the sync must cope with them):
--   * ids are NUMERIC(10,0) (NUMERIC(5,0) for small catalogs), never integer;
--   * booleans are CHAR(1) 'S'/'N' flags (columns named *sn*);
--   * GPS coordinates are VARCHAR, and often dirty ('', 'N/A', '20,5888', swapped);
--   * money is DOUBLE PRECISION where the seeds say so (invoices, payments, tariffs);
--   * dates are TIMESTAMP WITHOUT TIME ZONE, even when only the day matters;
--   * every table carries <prefix>hstusu / <prefix>hsthora audit columns;
--   * NO foreign keys anywhere (seed 003 §1), but every table has a PRIMARY KEY so
--     that logical replication has a replica identity.
--
-- This file: sequences, sociedad, explotacion (the god table, ~45 of its 350
-- columns), oficina, persona, cliente, direccion, geolocalizacion, ptoserv
-- (tomas), acometida, servicio, contado (meters) and contrato.
--
-- Code values (lookup tables in 003_lookups.sql) and their SUPRA targets:
--   persona.prstipo        F -> fisica, J -> moral                 (persons.person_type)
--   contrato.cnttestado    P pendiente, A activo, S suspendido, B baja, C cancelado
--   contrato.cnttformapago V ventanilla, D domiciliacion, G digital, O oxxo,
--                          C gestor_cobro                         (contracts.payment_method)
--   ptoserv.ptostipo       DO domestica, CO comercial, IN industrial, GO gobierno,
--                          MX mixta, RU rural, HI hidrante, FU fuente, TE temporal
--   ptoserv.ptosestado     A activa, C cortada, S suspendida, B baja, L clausurada,
--                          P pendiente_alta                       (tomas.status)
--   ptoserv.ptostipofact   M medido, F cuota_fija, E estimado     (tomas.billing_type)
--   ptoserv.ptosperiodic   M mensual, B bimestral, T trimestral   (tomas.billing_period)
--   contado.conestado      A activo, I inactivo, V averiado, R retirado, W en_almacen
--   contado.contipo        1 volumetrico, 2 velocidad, 3 electromagnetico,
--                          4 ultrasonico, 5 smart                 (meters.meter_type)
--   contado.condiametro    millimetres (13, 15, 20, 25, 32, 40, 50, 80, 100);
--                          SUPRA wants inches (meters.diameter_inches)
--   direccion.dirtipo      C callejero, E correspondencia, F fiscal, L libre
--   contrato.cnttcategtarif, ptoserv.ptoscategtarif, tarifa.tartipo (tipotarifa.ttarid):
--                          1 domestica, 2 comercial, 3 industrial, 4 gobierno (seed 003
--                          Sprint 5), 5 mixta, 6 rural, 7 social (tariff_schedules.category)
-- =============================================================================

CREATE SCHEMA cf_quere_pro;

-- Sequences for ids of rows that may be born on the SUPRA side (reverse sync).
-- The fixture moves each one past the largest id it loads.
CREATE SEQUENCE cf_quere_pro.seq_prsid;
CREATE SEQUENCE cf_quere_pro.seq_dirid;
CREATE SEQUENCE cf_quere_pro.seq_ptosid;
CREATE SEQUENCE cf_quere_pro.seq_conid;
CREATE SEQUENCE cf_quere_pro.seq_cnttnum;
CREATE SEQUENCE cf_quere_pro.seq_ordid;
CREATE SEQUENCE cf_quere_pro.seq_lecid;
CREATE SEQUENCE cf_quere_pro.seq_facid;
CREATE SEQUENCE cf_quere_pro.seq_ocgid;
CREATE SEQUENCE cf_quere_pro.seq_exsid;
CREATE SEQUENCE cf_quere_pro.seq_treid;

-- Issuing companies (sociedades emisoras). PAC credentials in plain text, as found.
CREATE TABLE cf_quere_pro.sociedad (
    socid            NUMERIC(5,0)  NOT NULL,
    socnombre        VARCHAR(120)  NOT NULL,
    socrfc           VARCHAR(13),
    socregfiscal     VARCHAR(3),
    socdomfiscal     VARCHAR(200),
    soccpfiscal      VARCHAR(5),
    socusupac        VARCHAR(40),
    socpasspac       VARCHAR(40),
    socsnactiva      CHAR(1)       DEFAULT 'S',
    sochstusu        VARCHAR(10),
    sochsthora       TIMESTAMP,
    CONSTRAINT pk_sociedad PRIMARY KEY (socid)
);

-- The god table: one row per operating unit. The real one has 350 columns; these
-- cover the configuration domains of SUPRA's explotacion_configs (seed 003 §3.5).
CREATE TABLE cf_quere_pro.explotacion (
    expid              NUMERIC(5,0)  NOT NULL,
    expnombre          VARCHAR(100)  NOT NULL,
    expestado          NUMERIC(5,0)  DEFAULT 1,
    expsocid           NUMERIC(5,0),
    expmunicipio       VARCHAR(60),
    expfecalta         TIMESTAMP,
    -- billing
    expdiasvencfact    NUMERIC(3,0),
    expmaxmensfact     NUMERIC(3,0),
    expsncrearfact     CHAR(1)       DEFAULT 'S',
    expsnsimulacion    CHAR(1)       DEFAULT 'N',
    expsnrevision      CHAR(1)       DEFAULT 'N',
    expnumfactgrupo    NUMERIC(5,0),
    expnumcopias       NUMERIC(2,0),
    expperiodicfact    CHAR(1)       DEFAULT 'M',
    expredondeo        NUMERIC(1,0),
    -- collections
    expdiasgracia      NUMERIC(3,0),
    exppctrecargo      DOUBLE PRECISION,
    exppctinteres      DOUBLE PRECISION,
    expsnrecargoauto   CHAR(1),
    expdiasaviso       NUMERIC(3,0),
    -- estimation
    exppcttolerancia   NUMERIC(5,0),
    expmetodoestim     VARCHAR(10),
    expm3minestim      NUMERIC(5,0),
    expmaxestimcons    NUMERIC(2,0),
    -- notifications
    expsnsms           CHAR(1),
    expsnemail         CHAR(1),
    expsnwhatsapp      CHAR(1),
    expremitente       VARCHAR(60),
    -- cutoff
    expimpmincorte     DOUBLE PRECISION,
    expmesesmincorte   NUMERIC(2,0),
    expsnbloqestac     CHAR(1),
    expsnvalvula       CHAR(1),
    -- digital
    expurlportal       VARCHAR(120),
    expsnbiometria     CHAR(1),
    expsnpagolinea     CHAR(1),
    -- fiscal
    exppctiva          DOUBLE PRECISION,
    expversioncfdi     VARCHAR(5),
    expseriecfdi       VARCHAR(10),
    explugarexp        VARCHAR(5),
    expregfiscal       VARCHAR(3),
    -- quality
    expumbralquejas    NUMERIC(5,0),
    expdiasinspeccion  NUMERIC(3,0),
    expsnencuesta      CHAR(1),
    exphstusu          VARCHAR(10),
    exphsthora         TIMESTAMP,
    CONSTRAINT pk_explotacion PRIMARY KEY (expid)
);

CREATE TABLE cf_quere_pro.oficina (
    ofiid          NUMERIC(5,0)  NOT NULL,
    ofiexpid       NUMERIC(5,0),
    ofinombre      VARCHAR(80),
    ofidireccion   VARCHAR(200),
    ofitelefono    VARCHAR(20),
    ofitipo        NUMERIC(5,0),
    ofisncaja      CHAR(1)       DEFAULT 'S',
    ofihstusu      VARCHAR(10),
    ofihsthora     TIMESTAMP,
    CONSTRAINT pk_oficina PRIMARY KEY (ofiid)
);

-- Persons (fisicas and morales). prsnomape holds the surnames of a persona fisica
-- or the razon social of a persona moral; prspassweb is the web password in plain
-- text (seed 003 §3.2 Phase A3).
CREATE TABLE cf_quere_pro.persona (
    prsid            NUMERIC(10,0) NOT NULL,
    prstipo          CHAR(1)       NOT NULL,
    prsnif           VARCHAR(20),
    prscurp          VARCHAR(25),
    prsnomape        VARCHAR(120),
    prsnombre        VARCHAR(60),
    prsape1          VARCHAR(60),
    prsape2          VARCHAR(60),
    prssexo          CHAR(1),
    prsfecnac        TIMESTAMP,
    prstelef         VARCHAR(20),
    prstelef2        VARCHAR(20),
    prsemail         VARCHAR(100),
    prsdirid         NUMERIC(10,0),
    prsregfiscal     VARCHAR(3),
    prsusocfdi       VARCHAR(4),
    prstipident      NUMERIC(5,0),
    prsnumident      VARCHAR(30),
    prssnvulnerable  CHAR(1)       DEFAULT 'N',
    prssnpubli       CHAR(1)       DEFAULT 'N',
    prspassweb       VARCHAR(30),
    prsfecreg        TIMESTAMP,
    prshstusu        VARCHAR(10),
    prshsthora       TIMESTAMP,
    CONSTRAINT pk_persona PRIMARY KEY (prsid)
);

-- Web/customer-portal accounts (cliwebpass in plain text).
CREATE TABLE cf_quere_pro.cliente (
    cliid          NUMERIC(10,0) NOT NULL,
    cliprsid       NUMERIC(10,0),
    clitipo        NUMERIC(5,0),
    cliwebusu      VARCHAR(60),
    cliwebpass     VARCHAR(30),
    clifecalta     TIMESTAMP,
    clisnactivo    CHAR(1)       DEFAULT 'S',
    clihstusu      VARCHAR(10),
    clihsthora     TIMESTAMP,
    CONSTRAINT pk_cliente PRIMARY KEY (cliid)
);

-- Addresses. dirtexto is the street (with its type), dirbarrio the colonia,
-- dirpob the municipality, dirloc the locality.
CREATE TABLE cf_quere_pro.direccion (
    dirid           NUMERIC(10,0) NOT NULL,
    dirtipo         CHAR(1)       DEFAULT 'C',
    dirtipovia      NUMERIC(5,0),
    dirtexto        VARCHAR(120),
    dirnum          VARCHAR(20),
    dirnumint       VARCHAR(10),
    dirbarrio       VARCHAR(80),
    dirpob          VARCHAR(60),
    dirloc          VARCHAR(60),
    dirprov         VARCHAR(40),
    dircp           VARCHAR(5),
    direntrecalles  VARCHAR(120),
    dirreferencia   VARCHAR(120),
    dircveloc       VARCHAR(20),
    dirsnvalidada   CHAR(1)       DEFAULT 'N',
    dirhstusu       VARCHAR(10),
    dirhsthora      TIMESTAMP,
    CONSTRAINT pk_direccion PRIMARY KEY (dirid)
);

-- GPS of an address, as text. One row per geolocated address; ~3% of addresses
-- have no row, and ~10% of the rows hold unusable values.
CREATE TABLE cf_quere_pro.geolocalizacion (
    geolocdirid      NUMERIC(10,0) NOT NULL,
    geoloclat        VARCHAR(30),
    geoloclong       VARCHAR(30),
    geolocfuente     CHAR(1),
    geolocprecision  NUMERIC(5,0),
    geolochstusu     VARCHAR(10),
    geolochsthora    TIMESTAMP,
    CONSTRAINT pk_geolocalizacion PRIMARY KEY (geolocdirid)
);

CREATE TABLE cf_quere_pro.acometida (
    acoid          NUMERIC(10,0) NOT NULL,
    acoexpid       NUMERIC(5,0),
    acodirid       NUMERIC(10,0),
    acocodigo      VARCHAR(30),
    acodiametro    NUMERIC(5,0),
    acomaterial    VARCHAR(50),
    acofecinst     TIMESTAMP,
    acoestado      CHAR(1),
    acolat         VARCHAR(30),
    acolong        VARCHAR(30),
    acohstusu      VARCHAR(10),
    acohsthora     TIMESTAMP,
    CONSTRAINT pk_acometida PRIMARY KEY (acoid)
);

-- Service points (tomas).
CREATE TABLE cf_quere_pro.ptoserv (
    ptosid          NUMERIC(10,0) NOT NULL,
    ptosexpid       NUMERIC(5,0),
    ptosdirid       NUMERIC(10,0),
    ptoscodigo      VARCHAR(20),
    ptostipo        VARCHAR(2),
    ptosestado      CHAR(1),
    ptosfeccorte    TIMESTAMP,
    ptosmotcorte    NUMERIC(5,0),
    ptossncontador  CHAR(1)       DEFAULT 'S',
    ptostipofact    CHAR(1)       DEFAULT 'M',
    ptoscategtarif  NUMERIC(5,0),
    ptosperiodic    CHAR(1)       DEFAULT 'M',
    ptoslat         VARCHAR(30),
    ptoslong        VARCHAR(30),
    ptoshabitantes  NUMERIC(3,0),
    ptostipoinm     NUMERIC(5,0),
    ptosacoid       NUMERIC(10,0),
    ptossector      VARCHAR(10),
    ptosruta        VARCHAR(10),
    ptosfecalta     TIMESTAMP,
    ptosobserv      VARCHAR(200),
    ptoshstusu      VARCHAR(10),
    ptoshsthora     TIMESTAMP,
    CONSTRAINT pk_ptoserv PRIMARY KEY (ptosid)
);

CREATE TABLE cf_quere_pro.servicio (
    srvid          NUMERIC(10,0) NOT NULL,
    srvptosid      NUMERIC(10,0),
    srvacoid       NUMERIC(10,0),
    srvtipo        NUMERIC(5,0),
    srvfecalta     TIMESTAMP,
    srvfecbaja     TIMESTAMP,
    srvestado      CHAR(1),
    srvhstusu      VARCHAR(10),
    srvhsthora     TIMESTAMP,
    CONSTRAINT pk_servicio PRIMARY KEY (srvid)
);

-- Meters.
CREATE TABLE cf_quere_pro.contado (
    conid           NUMERIC(10,0) NOT NULL,
    conptosid       NUMERIC(10,0),
    connumserie     VARCHAR(30),
    conmarca        VARCHAR(30),
    conmodelo       VARCHAR(30),
    condiametro     NUMERIC(5,0),
    contipo         NUMERIC(5,0),
    conestado       CHAR(1),
    confecinst      TIMESTAMP,
    conanyofab      NUMERIC(4,0),
    confeccalib     TIMESTAMP,
    confecreemp     TIMESTAMP,
    conlectini      NUMERIC(10,0),
    conesferas      NUMERIC(2,0),
    consnsmart      CHAR(1)       DEFAULT 'N',
    conprotocolo    VARCHAR(10),
    coneui          VARCHAR(30),
    conultcom       TIMESTAMP,
    conubicacion    VARCHAR(100),
    consnaccesible  CHAR(1)       DEFAULT 'S',
    conobserv       VARCHAR(200),
    conhstusu       VARCHAR(10),
    conhsthora      TIMESTAMP,
    CONSTRAINT pk_contado PRIMARY KEY (conid)
);

-- Contracts (the real table has 104 columns).
CREATE TABLE cf_quere_pro.contrato (
    cnttnum          NUMERIC(10,0) NOT NULL,
    cnttprsid        NUMERIC(10,0),
    cnttptosid       NUMERIC(10,0),
    cnttexpid        NUMERIC(5,0),
    cnttsocemi       NUMERIC(5,0),
    cnttestado       CHAR(1),
    cnttfecalta      TIMESTAMP,
    cnttfecbaja      TIMESTAMP,
    cnttmotbaja      NUMERIC(5,0),
    cnttcategtarif   NUMERIC(5,0),
    cntttarid        NUMERIC(5,0),
    cnttformapago    CHAR(1)       DEFAULT 'V',
    cnttbanco        VARCHAR(40),
    cnttclabe        VARCHAR(18),
    cnttsnfactelec   CHAR(1)       DEFAULT 'N',
    cnttsntarsocial  CHAR(1)       DEFAULT 'N',
    cnttdirenvio     NUMERIC(10,0),
    cnttcanalpref    VARCHAR(10),
    cnttcnttant      NUMERIC(10,0),
    cnttobserv       VARCHAR(200),
    cntthstusu       VARCHAR(10),
    cntthsthora      TIMESTAMP,
    CONSTRAINT pk_contrato PRIMARY KEY (cnttnum)
);
