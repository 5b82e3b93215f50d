-- =============================================================================
-- 004_operations.sql — AquaCIS legacy schema `cf_quere_pro`: work orders, fraud
-- files, processes, users and the street catalogue
-- =============================================================================
--
--   orden        work orders (-> work_orders); ordtipo -> tipoorden.torid,
--                ordestado P pendiente, A asignada, E en curso, F finalizada,
--                C cancelada; GPS of the visit as VARCHAR
--   expedsif     fraud files (-> fraud_cases); exstipo -> tipfraude,
--                exsestado -> estadofraude
--   tarea        background processes. Every billing / collection / credit run
--                that created a table-per-process instance has its row here, with
--                tredroptablastemporales = 0 (the framework did not drop it;
--                seed 000 P1-S4-04 changes the default to 1)
--   gestreclam, pasoproced, observac, referencia, sesion
--   usuario, usuexplo, usuoficina, usuperfil, usupermiso, ususociedad, perfil,
--   permisos     users and permissions (usupassword in plain text, as found)
--   calle, nomcalle, barrio, localidad, poblacion, lineadistrib, elemestruc
--                street catalogue and network elements
-- =============================================================================

CREATE TABLE cf_quere_pro.orden (
    ordid          NUMERIC(10,0) NOT NULL,
    ordtipo        NUMERIC(5,0),
    ordestado      CHAR(1),
    ordexpid       NUMERIC(5,0),
    ordptosid      NUMERIC(10,0),
    ordcnttnum     NUMERIC(10,0),
    ordprioridad   NUMERIC(1,0),
    orddesc        VARCHAR(200),
    ordfeccrea     TIMESTAMP,
    ordfecprog     TIMESTAMP,
    ordfecini      TIMESTAMP,
    ordfecfin      TIMESTAMP,
    ordoperario    VARCHAR(10),
    ordbrigada     VARCHAR(10),
    ordgpslat      VARCHAR(30),
    ordgpslong     VARCHAR(30),
    ordresultado   VARCHAR(200),
    ordmateriales  VARCHAR(200),
    ordhstusu      VARCHAR(10),
    ordhsthora     TIMESTAMP,
    CONSTRAINT pk_orden PRIMARY KEY (ordid)
);

CREATE TABLE cf_quere_pro.expedsif (
    exsid              NUMERIC(10,0) NOT NULL,
    exsexpid           NUMERIC(5,0),
    exscnttnum         NUMERIC(10,0),
    exsptosid          NUMERIC(10,0),
    exstipo            NUMERIC(5,0),
    exsestado          NUMERIC(5,0),
    exsfecapertura     TIMESTAMP,
    exsfeccierre       TIMESTAMP,
    exsimpdefraudado   DOUBLE PRECISION,
    exsimpsancion      DOUBLE PRECISION,
    exsm3estimados     NUMERIC(10,0),
    exsdesc            VARCHAR(200),
    exsinspector       VARCHAR(10),
    exshstusu          VARCHAR(10),
    exshsthora         TIMESTAMP,
    CONSTRAINT pk_expedsif PRIMARY KEY (exsid)
);

CREATE TABLE cf_quere_pro.tarea (
    treid                     NUMERIC(10,0) NOT NULL,
    tretipo                   NUMERIC(5,0),
    treproceso                VARCHAR(30),
    tredesc                   VARCHAR(100),
    treexpid                  NUMERIC(5,0),
    trefecini                 TIMESTAMP,
    trefecfin                 TIMESTAMP,
    treestado                 CHAR(1),
    treusuario                VARCHAR(10),
    tredroptablastemporales   NUMERIC(1,0)  NOT NULL DEFAULT 0,
    trehstusu                 VARCHAR(10),
    trehsthora                TIMESTAMP,
    CONSTRAINT pk_tarea PRIMARY KEY (treid)
);

CREATE TABLE cf_quere_pro.gestreclam (
    grcid          NUMERIC(10,0) NOT NULL,
    grccnttnum     NUMERIC(10,0),
    grctipo        NUMERIC(5,0),
    grcfecha       TIMESTAMP,
    grcestado      CHAR(1),
    grcdesc        VARCHAR(200),
    grcimporte     DOUBLE PRECISION,
    grchstusu      VARCHAR(10),
    grchsthora     TIMESTAMP,
    CONSTRAINT pk_gestreclam PRIMARY KEY (grcid)
);

CREATE TABLE cf_quere_pro.pasoproced (
    ppcid          NUMERIC(10,0) NOT NULL,
    ppcgrcid       NUMERIC(10,0),
    ppcpaso        NUMERIC(3,0),
    ppctipo        NUMERIC(5,0),
    ppcfecha       TIMESTAMP,
    ppcresultado   VARCHAR(100),
    ppcordid       NUMERIC(10,0),
    ppchstusu      VARCHAR(10),
    ppchsthora     TIMESTAMP,
    CONSTRAINT pk_pasoproced PRIMARY KEY (ppcid)
);

CREATE TABLE cf_quere_pro.observac (
    obsid          NUMERIC(10,0) NOT NULL,
    obstipo        NUMERIC(5,0),
    obsentidad     VARCHAR(20),
    obsclave       NUMERIC(10,0),
    obstexto       VARCHAR(500),
    obshstusu      VARCHAR(10),
    obshsthora     TIMESTAMP,
    CONSTRAINT pk_observac PRIMARY KEY (obsid)
);

CREATE TABLE cf_quere_pro.referencia (
    refid          NUMERIC(10,0) NOT NULL,
    refcnttnum     NUMERIC(10,0),
    refbanco       VARCHAR(40),
    refvalor       VARCHAR(30),
    refsnactiva    CHAR(1),
    refhstusu      VARCHAR(10),
    refhsthora     TIMESTAMP,
    CONSTRAINT pk_referencia PRIMARY KEY (refid)
);

CREATE TABLE cf_quere_pro.sesion (
    sesid          NUMERIC(10,0) NOT NULL,
    sesusuario     VARCHAR(10),
    sesoficina     NUMERIC(5,0),
    sesfecini      TIMESTAMP,
    sesfecfin      TIMESTAMP,
    sesip          VARCHAR(40),
    sesestado      CHAR(1),
    CONSTRAINT pk_sesion PRIMARY KEY (sesid)
);

-- Users and permissions.
CREATE TABLE cf_quere_pro.usuario (
    usucod         VARCHAR(10)   NOT NULL,
    usunombre      VARCHAR(100),
    usupassword    VARCHAR(30),
    usuemail       VARCHAR(100),
    usuperfil      NUMERIC(5,0),
    usuofiid       NUMERIC(5,0),
    usufecalta     TIMESTAMP,
    usufecbaja     TIMESTAMP,
    ususnactivo    CHAR(1)       DEFAULT 'S',
    usuhstusu      VARCHAR(10),
    usuhsthora     TIMESTAMP,
    CONSTRAINT pk_usuario PRIMARY KEY (usucod)
);
CREATE TABLE cf_quere_pro.perfil (
    perid NUMERIC(5,0) NOT NULL, perdesc VARCHAR(60), persnadmin CHAR(1),
    perhstusu VARCHAR(10), perhsthora TIMESTAMP, CONSTRAINT pk_perfil PRIMARY KEY (perid));
CREATE TABLE cf_quere_pro.permisos (
    pmsid NUMERIC(5,0) NOT NULL, pmsmodulo VARCHAR(30), pmsaccion VARCHAR(30), pmsdesc VARCHAR(100),
    pmshstusu VARCHAR(10), pmshsthora TIMESTAMP, CONSTRAINT pk_permisos PRIMARY KEY (pmsid));
CREATE TABLE cf_quere_pro.usuexplo (
    uexusucod VARCHAR(10) NOT NULL, uexexpid NUMERIC(5,0) NOT NULL, uexsndefecto CHAR(1),
    uexhstusu VARCHAR(10), uexhsthora TIMESTAMP, CONSTRAINT pk_usuexplo PRIMARY KEY (uexusucod, uexexpid));
CREATE TABLE cf_quere_pro.usuoficina (
    uofusucod VARCHAR(10) NOT NULL, uofofiid NUMERIC(5,0) NOT NULL, uofsncaja CHAR(1),
    uofhstusu VARCHAR(10), uofhsthora TIMESTAMP, CONSTRAINT pk_usuoficina PRIMARY KEY (uofusucod, uofofiid));
CREATE TABLE cf_quere_pro.usuperfil (
    upfusucod VARCHAR(10) NOT NULL, upfperid NUMERIC(5,0) NOT NULL,
    upfhstusu VARCHAR(10), upfhsthora TIMESTAMP, CONSTRAINT pk_usuperfil PRIMARY KEY (upfusucod, upfperid));
CREATE TABLE cf_quere_pro.usupermiso (
    upmusucod VARCHAR(10) NOT NULL, upmpmsid NUMERIC(5,0) NOT NULL, upmsnconcedido CHAR(1),
    upmhstusu VARCHAR(10), upmhsthora TIMESTAMP, CONSTRAINT pk_usupermiso PRIMARY KEY (upmusucod, upmpmsid));
CREATE TABLE cf_quere_pro.ususociedad (
    ussusucod VARCHAR(10) NOT NULL, usssocid NUMERIC(5,0) NOT NULL,
    usshstusu VARCHAR(10), usshsthora TIMESTAMP, CONSTRAINT pk_ususociedad PRIMARY KEY (ussusucod, usssocid));

-- Street catalogue and network elements.
CREATE TABLE cf_quere_pro.poblacion (
    pobid NUMERIC(5,0) NOT NULL, pobnombre VARCHAR(60), pobcvemun VARCHAR(3), pobexpid NUMERIC(5,0),
    pobhstusu VARCHAR(10), pobhsthora TIMESTAMP, CONSTRAINT pk_poblacion PRIMARY KEY (pobid));
CREATE TABLE cf_quere_pro.localidad (
    locid NUMERIC(10,0) NOT NULL, locpobid NUMERIC(5,0), locnombre VARCHAR(80), loccveinegi VARCHAR(20),
    lochstusu VARCHAR(10), lochsthora TIMESTAMP, CONSTRAINT pk_localidad PRIMARY KEY (locid));
CREATE TABLE cf_quere_pro.barrio (
    barid NUMERIC(10,0) NOT NULL, barlocid NUMERIC(10,0), barnombre VARCHAR(80), barcp VARCHAR(5),
    barhstusu VARCHAR(10), barhsthora TIMESTAMP, CONSTRAINT pk_barrio PRIMARY KEY (barid));
CREATE TABLE cf_quere_pro.calle (
    calid NUMERIC(10,0) NOT NULL, callocid NUMERIC(10,0), caltipovia NUMERIC(5,0), calcatcalle NUMERIC(5,0),
    calsitcalle NUMERIC(5,0), calhstusu VARCHAR(10), calhsthora TIMESTAMP, CONSTRAINT pk_calle PRIMARY KEY (calid));
CREATE TABLE cf_quere_pro.nomcalle (
    ncaid NUMERIC(10,0) NOT NULL, ncacalid NUMERIC(10,0), ncanombre VARCHAR(120), ncafecini TIMESTAMP,
    ncahstusu VARCHAR(10), ncahsthora TIMESTAMP, CONSTRAINT pk_nomcalle PRIMARY KEY (ncaid));
CREATE TABLE cf_quere_pro.lineadistrib (
    ldiid NUMERIC(10,0) NOT NULL, ldiexpid NUMERIC(5,0), ldicodigo VARCHAR(20), ldidiametro NUMERIC(5,0),
    ldimaterial VARCHAR(30), ldilongitud DOUBLE PRECISION, ldihstusu VARCHAR(10), ldihsthora TIMESTAMP,
    CONSTRAINT pk_lineadistrib PRIMARY KEY (ldiid));
CREATE TABLE cf_quere_pro.elemestruc (
    eesid NUMERIC(10,0) NOT NULL, eesexpid NUMERIC(5,0), eestipo NUMERIC(5,0), eescodigo VARCHAR(20),
    eeslat VARCHAR(30), eeslong VARCHAR(30), eeshstusu VARCHAR(10), eeshsthora TIMESTAMP,
    CONSTRAINT pk_elemestruc PRIMARY KEY (eesid));
