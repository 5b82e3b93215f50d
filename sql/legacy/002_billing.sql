-- =============================================================================
-- 002_billing.sql — AquaCIS legacy schema `cf_quere_pro`: readings, tariffs,
-- invoices and payments
-- =============================================================================
--
-- Volume tables of the billing pipeline (seed 002 §5: facturacio -> factura ->
-- facturable -> linfactura; gescartera -> opecargest -> opedesglos). Money is
-- DOUBLE PRECISION as in the legacy system (SUPRA converts it with legacy_money).
-- The largest tables carry no hsthora column: their own date is the audit time.
--
--   concepto      billing concepts with SAT codes (static rows below)
--   tarifa        one tariff per category and year (2024 closed, 2025 open-ended);
--                 tartipo is the category (tipotarifa.ttarid), as in seed 003
--                 Sprint 5: 1 domestica, 2 comercial, 3 industrial, 4 gobierno, and
--                 5 mixta, 6 rural, 7 social; contrato.cnttcategtarif and
--                 ptoserv.ptoscategtarif use the same codes
--   aplictarif    consumption blocks of a tariff (-> tariff_schedules.blocks):
--                 aptlimi..aptlimf m3 (aptlimf NULL = open), aptprecio per m3,
--                 aptcuotafija fixed charge of the block, aptfecapl = tarfecini
--   lectura       monthly meter readings; lectipo L campo, O oficina, A autolectura,
--                 T telelectura, E estimada, S smart, F foto, W api;
--                 lecestado V valida, S sospechosa, E estimada, R rechazada,
--                 C corregida (-> meter_readings.source / status)
--   factura       monthly invoices; facestado P provisional, E emitida, C cobrada,
--                 V vencida, A anulada, R rectificada; facperiodo 'YYYYMM';
--                 facorigen L lectura, E estimada, F cuota fija, M manual
--   facturable    billable period of an invoice (fblimpfac billed, fblimpcob paid)
--   linfactura    invoice lines, PK (linfacid = facid, linfacnum)
--   opecargest    payment operations; ocgcanal VE ventanilla, BA banco, OX oxxo,
--                 SP spei, DO domiciliacion, TC tarjeta, WE web, KI kiosko;
--                 ocgformapago is the SAT forma de pago; ocgestado A aplicada,
--                 X cancelada
--   opedesglos    breakdown of a payment by concept, PK (odgocgid, odglin)
-- =============================================================================

CREATE TABLE cf_quere_pro.concepto (
    cptoid             NUMERIC(5,0)  NOT NULL,
    cptocodigo         VARCHAR(10),
    cptodesc           VARCHAR(60),
    cptoclaveprodserv  VARCHAR(8),
    cptoclaveunidad    VARCHAR(3),
    cptopctiva         DOUBLE PRECISION,
    cptotipo           NUMERIC(5,0),
    cptosnrecargo      CHAR(1)       DEFAULT 'N',
    cptoorden          NUMERIC(3,0),
    cptohstusu         VARCHAR(10),
    cptohsthora        TIMESTAMP,
    CONSTRAINT pk_concepto PRIMARY KEY (cptoid)
);

INSERT INTO cf_quere_pro.concepto VALUES
 (1, 'AGUA',   'AGUA POTABLE',              '10171500', 'MTQ', 0,  1, 'S', 1, 'MIGRA', '2012-01-02 08:00:00'),
 (2, 'DREN',   'DRENAJE Y ALCANTARILLADO',  '72151802', 'E48', 0,  1, 'S', 2, 'MIGRA', '2012-01-02 08:00:00'),
 (3, 'SANEA',  'SANEAMIENTO',               '72151801', 'E48', 0,  1, 'S', 3, 'MIGRA', '2012-01-02 08:00:00'),
 (4, 'RECARG', 'RECARGOS',                  '84111506', 'E48', 0,  2, 'N', 4, 'MIGRA', '2012-01-02 08:00:00'),
 (5, 'CFIJA',  'CUOTA FIJA',                '10171500', 'E48', 0,  1, 'S', 5, 'MIGRA', '2012-01-02 08:00:00'),
 (6, 'RECON',  'RECONEXION DE SERVICIO',    '72151802', 'E48', 16, 3, 'N', 6, 'MIGRA', '2012-01-02 08:00:00'),
 (7, 'MEDID',  'SUMINISTRO DE MEDIDOR',     '41112501', 'H87', 16, 3, 'N', 7, 'MIGRA', '2012-01-02 08:00:00'),
 (8, 'CONV',   'ABONO A CONVENIO',          '84111506', 'E48', 0,  2, 'N', 8, 'MIGRA', '2012-01-02 08:00:00');

CREATE TABLE cf_quere_pro.tarifa (
    tarid              NUMERIC(5,0)  NOT NULL,
    tardesc            VARCHAR(80),
    tartipo            NUMERIC(5,0),
    tarexpid           NUMERIC(5,0),
    tarfecini          TIMESTAMP,
    tarfecfin          TIMESTAMP,
    tarperiodic        CHAR(1)       DEFAULT 'M',
    tarsniva           CHAR(1)       DEFAULT 'N',
    tarpctdescsocial   DOUBLE PRECISION,
    taraprobado        VARCHAR(100),
    tarfecaprob        TIMESTAMP,
    targaceta          VARCHAR(60),
    tarhstusu          VARCHAR(10),
    tarhsthora         TIMESTAMP,
    CONSTRAINT pk_tarifa PRIMARY KEY (tarid)
);

CREATE TABLE cf_quere_pro.subtarifa (
    stfid          NUMERIC(5,0)  NOT NULL,
    stftarid       NUMERIC(5,0),
    stfdesc        VARCHAR(80),
    stfcptoid      NUMERIC(5,0),
    stfhstusu      VARCHAR(10),
    stfhsthora     TIMESTAMP,
    CONSTRAINT pk_subtarifa PRIMARY KEY (stfid)
);

CREATE TABLE cf_quere_pro.aplictarif (
    apttarid       NUMERIC(5,0)  NOT NULL,
    aptfecapl      TIMESTAMP     NOT NULL,
    aptlimi        NUMERIC(10,0) NOT NULL,
    aptlimf        NUMERIC(10,0),
    aptprecio      DOUBLE PRECISION,
    aptcuotafija   DOUBLE PRECISION,
    aptcptoid      NUMERIC(5,0),
    apthstusu      VARCHAR(10),
    apthsthora     TIMESTAMP,
    CONSTRAINT pk_aplictarif PRIMARY KEY (apttarid, aptfecapl, aptlimi)
);

-- Reading batches (one per route and period).
CREATE TABLE cf_quere_pro.leclote (
    llid           NUMERIC(10,0) NOT NULL,
    llexpid        NUMERIC(5,0),
    llruta         VARCHAR(10),
    llanno         NUMERIC(4,0),
    llperiodo      NUMERIC(2,0),
    llfecini       TIMESTAMP,
    llfecfin       TIMESTAMP,
    llestado       CHAR(1),
    llhstusu       VARCHAR(10),
    llhsthora      TIMESTAMP,
    CONSTRAINT pk_leclote PRIMARY KEY (llid)
);

CREATE TABLE cf_quere_pro.lectura (
    lecid          NUMERIC(10,0) NOT NULL,
    leccontid      NUMERIC(10,0),
    lecptosid      NUMERIC(10,0),
    lecfecha       TIMESTAMP,
    lecvalor       NUMERIC(10,0),
    lecvalorant    NUMERIC(10,0),
    lecconsumo     NUMERIC(10,0),
    lectipo        CHAR(1),
    lecestado      CHAR(1),
    lecanomalia    NUMERIC(5,0),
    leclecturista  VARCHAR(10),
    leclat         VARCHAR(30),
    leclong        VARCHAR(30),
    lecobserv      VARCHAR(100),
    CONSTRAINT pk_lectura PRIMARY KEY (lecid)
);

-- Billing runs.
CREATE TABLE cf_quere_pro.facturacio (
    fctid          NUMERIC(10,0) NOT NULL,
    fctexpid       NUMERIC(5,0),
    fctanno        NUMERIC(4,0),
    fctperiodo     NUMERIC(2,0),
    fctfecini      TIMESTAMP,
    fctfecfin      TIMESTAMP,
    fctnumfact     NUMERIC(10,0),
    fctestado      CHAR(1),
    fcttreid       NUMERIC(10,0),
    fcthstusu      VARCHAR(10),
    fcthsthora     TIMESTAMP,
    CONSTRAINT pk_facturacio PRIMARY KEY (fctid)
);

CREATE TABLE cf_quere_pro.factura (
    facid          NUMERIC(10,0) NOT NULL,
    facexpid       NUMERIC(5,0),
    facsocemi      NUMERIC(5,0),
    faccnttnum     NUMERIC(10,0),
    facperiodo     VARCHAR(6),
    facfecfact     TIMESTAMP,
    facfecvto      TIMESTAMP,
    factipo        NUMERIC(5,0),
    facorigen      CHAR(1),
    facestado      CHAR(1),
    facconsumo     NUMERIC(10,0),
    facimporte     DOUBLE PRECISION,
    faciva         DOUBLE PRECISION,
    factotal       DOUBLE PRECISION,
    facuuid        VARCHAR(36),
    facreferencia  VARCHAR(30),
    fachstusu      VARCHAR(10),
    fachsthora     TIMESTAMP,
    CONSTRAINT pk_factura PRIMARY KEY (facid)
);

CREATE TABLE cf_quere_pro.facturable (
    fblid          NUMERIC(10,0) NOT NULL,
    fblfacid       NUMERIC(10,0),
    fblcnttnum     NUMERIC(10,0),
    fblanno        NUMERIC(4,0),
    fblperiid      NUMERIC(2,0),
    fblcptoid      NUMERIC(5,0),
    fblimpfac      DOUBLE PRECISION,
    fblimpcob      DOUBLE PRECISION,
    fblestado      CHAR(1),
    CONSTRAINT pk_facturable PRIMARY KEY (fblid)
);

CREATE TABLE cf_quere_pro.linfactura (
    linfacid       NUMERIC(10,0) NOT NULL,
    linfacnum      NUMERIC(3,0)  NOT NULL,
    linfaccptoid   NUMERIC(5,0),
    linfacdesc     VARCHAR(60),
    linfaccant     DOUBLE PRECISION,
    linfacprecio   DOUBLE PRECISION,
    linfacimporte  DOUBLE PRECISION,
    linfacimpiva   DOUBLE PRECISION,
    CONSTRAINT pk_linfactura PRIMARY KEY (linfacid, linfacnum)
);

CREATE TABLE cf_quere_pro.opecargest (
    ocgid          NUMERIC(10,0) NOT NULL,
    ocgcnttnum     NUMERIC(10,0),
    ocgfacid       NUMERIC(10,0),
    ocgfecha       TIMESTAMP,
    ocgimporte     DOUBLE PRECISION,
    ocgcanal       VARCHAR(2),
    ocgformapago   VARCHAR(2),
    ocgreferencia  VARCHAR(30),
    ocgofiid       NUMERIC(5,0),
    ocgcajero      VARCHAR(10),
    ocgestado      CHAR(1),
    ocghstusu      VARCHAR(10),
    CONSTRAINT pk_opecargest PRIMARY KEY (ocgid)
);

CREATE TABLE cf_quere_pro.opedesglos (
    odgocgid       NUMERIC(10,0) NOT NULL,
    odglin         NUMERIC(3,0)  NOT NULL,
    odgfacid       NUMERIC(10,0),
    odgcptoid      NUMERIC(5,0),
    odgimporte     DOUBLE PRECISION,
    CONSTRAINT pk_opedesglos PRIMARY KEY (odgocgid, odglin)
);

-- Bank remittances and bank collections (domiciliacion).
CREATE TABLE cf_quere_pro.remesa (
    remid          NUMERIC(10,0) NOT NULL,
    remexpid       NUMERIC(5,0),
    rembanco       VARCHAR(40),
    remfecha       TIMESTAMP,
    remimporte     DOUBLE PRECISION,
    remnumrec      NUMERIC(10,0),
    remestado      CHAR(1),
    remhstusu      VARCHAR(10),
    remhsthora     TIMESTAMP,
    CONSTRAINT pk_remesa PRIMARY KEY (remid)
);

CREATE TABLE cf_quere_pro.cobrobancario (
    cbbid          NUMERIC(10,0) NOT NULL,
    cbbremid       NUMERIC(10,0),
    cbbcnttnum     NUMERIC(10,0),
    cbbfacid       NUMERIC(10,0),
    cbbimporte     DOUBLE PRECISION,
    cbbfecha       TIMESTAMP,
    cbbestado      CHAR(1),
    cbbhstusu      VARCHAR(10),
    cbbhsthora     TIMESTAMP,
    CONSTRAINT pk_cobrobancario PRIMARY KEY (cbbid)
);

-- Contract current-account movements.
CREATE TABLE cf_quere_pro.movccontrato (
    mccid          NUMERIC(10,0) NOT NULL,
    mcccnttnum     NUMERIC(10,0),
    mccsociedad    NUMERIC(5,0),
    mccfecha       TIMESTAMP,
    mcctipo        NUMERIC(5,0),
    mccimporte     DOUBLE PRECISION,
    mccsaldo       DOUBLE PRECISION,
    mccfacid       NUMERIC(10,0),
    mccocgid       NUMERIC(10,0),
    mcchstusu      VARCHAR(10),
    mcchsthora     TIMESTAMP,
    CONSTRAINT pk_movccontrato PRIMARY KEY (mccid)
);

CREATE TABLE cf_quere_pro.recargo (
    rcgid          NUMERIC(10,0) NOT NULL,
    rcgexpid       NUMERIC(5,0),
    rcgcptoid      NUMERIC(5,0),
    rcgpct         DOUBLE PRECISION,
    rcgdiasmin     NUMERIC(3,0),
    rcgfecini      TIMESTAMP,
    rcgfecfin      TIMESTAMP,
    rcghstusu      VARCHAR(10),
    rcghsthora     TIMESTAMP,
    CONSTRAINT pk_recargo PRIMARY KEY (rcgid)
);
