//! Small legacy fixtures built in SQL, and helpers to compare databases.

use std::collections::BTreeMap;
use std::path::PathBuf;

use supra_sync_cleanup::{CleanupConfig, Progress};
use supra_sync_testkit::TestDatabase;

/// Sizes of the table-per-process families and extra tables.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub deuda: usize,
    pub aux: usize,
    pub bb: usize,
    /// Every n-th instance holds rows.
    pub every: usize,
    /// Padding tables ("other").
    pub padding: usize,
}

impl Shape {
    pub fn small() -> Shape {
        Shape {
            deuda: 40,
            aux: 12,
            bb: 6,
            every: 5,
            padding: 0,
        }
    }
}

pub fn sql(shape: Shape) -> String {
    format!(
        r#"
CREATE SCHEMA cf_quere_pro;
CREATE TABLE cf_quere_pro.persona (prsid NUMERIC(10,0) PRIMARY KEY, prsnombre VARCHAR(60));
INSERT INTO cf_quere_pro.persona VALUES (1, 'Ana'), (2, 'Luis'), (3, NULL);
CREATE TABLE cf_quere_pro.contrato (cnttnum NUMERIC(10,0) PRIMARY KEY, cnttprsid NUMERIC(10,0) REFERENCES cf_quere_pro.persona, cnttestado CHAR(1));
INSERT INTO cf_quere_pro.contrato VALUES (10, 1, 'A'), (11, 2, 'B');
CREATE TABLE cf_quere_pro.tarea (treid NUMERIC(10,0) PRIMARY KEY, trenombre VARCHAR(40),
    tredroptablastemporales NUMERIC(1,0) NOT NULL DEFAULT 0);
INSERT INTO cf_quere_pro.tarea SELECT g, 'proceso ' || g, CASE WHEN g % 3 = 0 THEN 1 ELSE 0 END FROM generate_series(1, 9) g;

DO $$
DECLARE i int;
BEGIN
  FOR i IN 1..{deuda} LOOP
    EXECUTE format('CREATE TABLE cf_quere_pro.%I (importe NUMERIC(18,2), numfacturas NUMERIC(10,0), facsocemi NUMERIC(10,0), faccnttnum NUMERIC(10,0))', 'tmp_deuda_' || (1779000 + i));
    IF i % {every} = 0 THEN
      EXECUTE format('INSERT INTO cf_quere_pro.%I SELECT g * 10.25 + %s, g, 1, 5000 + g FROM generate_series(1, 3 + %s %% 4) g', 'tmp_deuda_' || (1779000 + i), i, i);
    END IF;
  END LOOP;
  FOR i IN 1..{aux} LOOP
    EXECUTE format('CREATE TABLE cf_quere_pro.%I (cnttnum NUMERIC(10,0), impvariable NUMERIC(18,2), impvaranterior NUMERIC(18,2))', 'aux_varscreditored_' || (880000 + i));
    IF i % {every} = 0 THEN
      EXECUTE format('INSERT INTO cf_quere_pro.%I SELECT 7000 + g, g * 1.5, NULL FROM generate_series(1, 2) g', 'aux_varscreditored_' || (880000 + i));
    END IF;
  END LOOP;
  FOR i IN 1..{bb} LOOP
    EXECUTE format('CREATE TABLE cf_quere_pro.%I (bbfbleid NUMERIC(10,0), bbsbid NUMERIC(10,0), bbcnttnum NUMERIC(10,0), bbaplicacion NUMERIC(5,0), bbfecini DATE, bbfecfin DATE, bbvardel NUMERIC(10,0), bbexpdid NUMERIC(5,0), bbcptodel NUMERIC(10,0), bbtariddel NUMERIC(10,0), bbctponew NUMERIC(10,0), bbtaridnew NUMERIC(10,0), bbfecfinbonif DATE, bbfecinitar DATE)', 'tmpbb_' || (4400 + i));
    IF i % 2 = 0 THEN
      EXECUTE format('INSERT INTO cf_quere_pro.%I VALUES (1, 2, 900, 1, DATE ''2024-01-01'', NULL, 3, 1, 4, 5, 6, 7, NULL, DATE ''2024-02-29'')', 'tmpbb_' || (4400 + i));
    END IF;
  END LOOP;
  FOR i IN 1..{padding} LOOP
    EXECUTE format('CREATE TABLE cf_quere_pro.%I (id NUMERIC(10,0) PRIMARY KEY, valor VARCHAR(20))', 'padtabla' || i);
  END LOOP;
END $$;

-- Spain-specific (empty) and a generic liq* table that must stay.
CREATE TABLE cf_quere_pro.liqanubaleares (labid NUMERIC(10,0) PRIMARY KEY, labcuota DOUBLE PRECISION);
CREATE TABLE cf_quere_pro.liqcobcat (lccid NUMERIC(10,0) PRIMARY KEY);
CREATE TABLE cf_quere_pro.varbonifpvasco (vbpid NUMERIC(10,0) PRIMARY KEY, vbppct DOUBLE PRECISION);
CREATE TABLE cf_quere_pro.liqanual (lqaid NUMERIC(10,0) PRIMARY KEY, lqacuota DOUBLE PRECISION);
INSERT INTO cf_quere_pro.liqanual VALUES (1, 10.5), (2, NULL);

-- Staging and artifacts.
CREATE TABLE cf_quere_pro.tmpses (tssid NUMERIC(10,0) PRIMARY KEY, tssdatos VARCHAR(4000));
CREATE TABLE cf_quere_pro.tmp_gestordocumental (tgdid NUMERIC(10,0) PRIMARY KEY, tgddocumento BYTEA);
CREATE TABLE cf_quere_pro.tmpcntt (tcnid NUMERIC(10,0) PRIMARY KEY, tcntexto VARCHAR(50), tcnfecha TIMESTAMP, tcnbin BYTEA);
INSERT INTO cf_quere_pro.tmpcntt VALUES (1, 'uno, "dos"', '2024-03-01 10:00', '\x00ff'), (2, '', NULL, NULL), (3, NULL, '2024-03-02', '\x');
CREATE TABLE cf_quere_pro.tablastmp (tbtnombre VARCHAR(63) PRIMARY KEY, tbtsnborrar CHAR(1) DEFAULT 'N');
INSERT INTO cf_quere_pro.tablastmp SELECT tablename, 'N' FROM pg_tables WHERE schemaname = 'cf_quere_pro' AND tablename ~ '_\d+$';
CREATE TABLE cf_quere_pro.zz_backupexpedsif (expid NUMERIC(10,0) PRIMARY KEY, expnota TEXT);
INSERT INTO cf_quere_pro.zz_backupexpedsif VALUES (1, E'línea\nnueva'), (2, 'x');
CREATE TABLE cf_quere_pro.tmtrfacturacion (tmsesid NUMERIC(10,0), tmlin NUMERIC(10,0), PRIMARY KEY (tmsesid, tmlin));
CREATE TABLE cf_quere_pro.cfditmpfactura (cftfacid NUMERIC(10,0) PRIMARY KEY, cftxml TEXT);
INSERT INTO cf_quere_pro.cfditmpfactura VALUES (77, '<cfdi/>');
"#,
        deuda = shape.deuda,
        aux = shape.aux,
        bb = shape.bb,
        every = shape.every,
        padding = shape.padding,
    )
}

/// A fresh database with the fixture.
pub async fn database(prefix: &str, shape: Shape) -> TestDatabase {
    let db = supra_sync_testkit::legacy()
        .fresh_database(prefix)
        .await
        .expect("fresh database");
    let client = db.connect().await.expect("connect");
    client.batch_execute(&sql(shape)).await.expect("fixture");
    db
}

/// A test configuration: fast retries, no pg_dump timing, a private archive directory.
pub fn config(name: &str) -> CleanupConfig {
    let dir: PathBuf =
        std::env::temp_dir().join(format!("supra-sync-cleanup-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    CleanupConfig {
        archive_dir: dir,
        measure_schema_dump: false,
        lock_timeout_ms: 200,
        lock_attempts: 3,
        backoff_initial_ms: 50,
        backoff_max_ms: 200,
        drops_per_second: std::num::NonZeroU32::new(5000).unwrap(),
        drop_batch_size: 10,
        protected_tables: ["persona".to_string(), "cf_quere_pro.contrato".to_string()].into(),
        history: supra_sync_cleanup::HistoryConfig {
            tier1_max_rows: 10_000_000,
            ..Default::default()
        },
        ..CleanupConfig::default()
    }
}

pub fn quiet(_: Progress) {}

/// Every table of the schema with its rows (as JSON text without `created_at`, sorted).
pub async fn dump(client: &tokio_postgres::Client, schema: &str) -> BTreeMap<String, Vec<String>> {
    let tables: Vec<String> = client
        .query(
            "SELECT tablename::text FROM pg_tables WHERE schemaname = $1 ORDER BY 1",
            &[&schema],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let mut out = BTreeMap::new();
    for t in tables {
        let rows = client
            .query(
                &format!(
                    "SELECT (to_jsonb(t) - 'created_at' - 'al_id' - 'dv_id' - 'dv_created_at' - 'dv_updated_at')::text
                       FROM \"{schema}\".\"{t}\" t ORDER BY 1"
                ),
                &[],
            )
            .await
            .unwrap();
        out.insert(t, rows.iter().map(|r| r.get(0)).collect());
    }
    out
}

/// Column definitions of every table (for "restored exactly" checks).
pub async fn shapes(client: &tokio_postgres::Client, schema: &str) -> BTreeMap<String, String> {
    client
        .query(
            "SELECT c.relname::text, string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' nn' ELSE '' END, ', ' ORDER BY a.attnum)
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
              WHERE n.nspname = $1 AND c.relkind = 'r' GROUP BY 1",
            &[&schema],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect()
}

pub async fn count(client: &tokio_postgres::Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}
