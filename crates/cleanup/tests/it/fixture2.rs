//! A small phase 2 fixture: base tables with their his* mirrors, lookup tables of the three
//! kinds, a complex table, tabladesc.

use supra_sync_testkit::TestDatabase;

pub const SQL: &str = r#"
CREATE SCHEMA cf_quere_pro;
CREATE TABLE cf_quere_pro.tabladesc (tddtddid NUMERIC(10,0) PRIMARY KEY, tddescri VARCHAR(200));
INSERT INTO cf_quere_pro.tabladesc VALUES (100, 'Oficina central'), (101, 'Módulo "norte"'), (200, 'Primaria');

-- Lookups: simple, extended (also the base of a history table), link, complex.
CREATE TABLE cf_quere_pro.tipocatcalle (tpctcid NUMERIC(5,0) NOT NULL, tpctctxtid NUMERIC(10,0), CONSTRAINT pk_tipocatcalle PRIMARY KEY (tpctcid));
INSERT INTO cf_quere_pro.tipocatcalle VALUES (1, 200), (2, NULL), (30, 999);
CREATE TABLE cf_quere_pro.tipooficina (tofid NUMERIC(5,0) NOT NULL, toftxtid NUMERIC(10,0), tofsncaja CHAR(1), tofsnatencion CHAR(1), tofdesc VARCHAR(60), tofhstusu VARCHAR(10), tofhsthora TIMESTAMP, CONSTRAINT pk_tipooficina PRIMARY KEY (tofid));
INSERT INTO cf_quere_pro.tipooficina VALUES (1, 100, 'S', 'N', 'Centro', 'ADMIN', '2024-05-01 08:00'), (2, 101, NULL, 'S', 'Norte, "B"', NULL, NULL);
CREATE TABLE cf_quere_pro.tipoactsucsif (tasactid NUMERIC(5,0) NOT NULL, tassucsif NUMERIC(5,0) NOT NULL, CONSTRAINT pk_tipoactsucsif PRIMARY KEY (tasactid, tassucsif));
INSERT INTO cf_quere_pro.tipoactsucsif VALUES (1, 1), (1, 2), (7, 3);
CREATE TABLE cf_quere_pro.tipoconcep (tcoid NUMERIC(5,0) PRIMARY KEY, tcotxtid NUMERIC(10,0), c3 CHAR(1), c4 CHAR(1), c5 CHAR(1), c6 CHAR(1), c7 CHAR(1), c8 CHAR(1), c9 CHAR(1), c10 CHAR(1), c11 CHAR(1));
INSERT INTO cf_quere_pro.tipoconcep (tcoid, tcotxtid) VALUES (1, 1);

-- Bases and histories.
CREATE TABLE cf_quere_pro.histipooficina (LIKE cf_quere_pro.tipooficina INCLUDING DEFAULTS, CONSTRAINT pk_histipooficina PRIMARY KEY (tofid, tofhsthora));
INSERT INTO cf_quere_pro.histipooficina VALUES
  (1, 100, 'N', 'N', 'Centro viejo', 'JUAN', '2023-01-15 10:00:00'),
  (1, 100, NULL, 'S', NULL, 'ANA', '2023-11-30 23:59:59.123456'),
  (2, NULL, 'S', 'S', E'línea\nnueva ñ \\ back', NULL, '2024-02-29 12:00');
CREATE TABLE cf_quere_pro.direccion (dirid NUMERIC(10,0) PRIMARY KEY, dirtexto VARCHAR(200), dirlat DOUBLE PRECISION, dirnota TEXT, dirfecalta DATE, dirimporte NUMERIC(12,2), dirflags BOOLEAN, dirhstusu VARCHAR(10), dirhsthora TIMESTAMP);
INSERT INTO cf_quere_pro.direccion VALUES (1, 'Av. Juárez 10', 20.5888, NULL, '2020-01-01', 10.50, true, 'X', '2024-01-01');
CREATE TABLE cf_quere_pro.hisdirec (LIKE cf_quere_pro.direccion INCLUDING DEFAULTS, CONSTRAINT pk_hisdirec PRIMARY KEY (dirid, dirhsthora));
INSERT INTO cf_quere_pro.hisdirec VALUES
  (1, 'Av. Juárez 8', 0.30000000000000004, '{"a": 1}', '2019-12-31', 0.10, false, 'Y', '2023-06-01 00:00'),
  (1, 'Av. Juárez 9', -1e-300, '', NULL, NULL, NULL, NULL, '2023-07-01 00:00'),
  (1, NULL, 'NaN', 'tab	x', '2000-02-29', 99999999.99, true, 'Z', '2023-07-02 00:00');
CREATE TABLE cf_quere_pro.hiscatcalle (x INTEGER);
CREATE TABLE cf_quere_pro.factura (facid NUMERIC(10,0) PRIMARY KEY, factotal NUMERIC(12,2));
CREATE TABLE cf_quere_pro.hisfactura (facid NUMERIC(10,0), factotal NUMERIC(12,2), hsthora TIMESTAMP);
CREATE TABLE cf_quere_pro.persona (prsid NUMERIC(10,0) PRIMARY KEY, prsnombre VARCHAR(60));
CREATE TABLE cf_quere_pro.hispersona (prsid NUMERIC(10,0), prsnombre VARCHAR(60), hsthora TIMESTAMP);
"#;

pub async fn database(prefix: &str) -> TestDatabase {
    let db = supra_sync_testkit::legacy()
        .fresh_database(prefix)
        .await
        .expect("fresh database");
    db.connect()
        .await
        .unwrap()
        .batch_execute(SQL)
        .await
        .expect("phase 2 fixture");
    db
}
