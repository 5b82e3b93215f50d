//! Baseline and after metrics (seed 000 P1-S1-04 / P1-S4-02): catalog row counts and sizes,
//! table counts, `pg_dump --schema-only` time.

use std::fmt;
use std::path::PathBuf;
use std::time::Instant;

use serde::{Deserialize, Serialize};
use tokio_postgres::Client;

use crate::error::{CleanupError, Result};

/// Catalog figures at one moment.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CatalogMetrics {
    /// Tables in the legacy schema.
    pub tables_in_schema: i64,
    /// `pg_class` rows.
    pub pg_class_rows: i64,
    /// `pg_attribute` rows.
    pub pg_attribute_rows: i64,
    /// `pg_statistic` rows.
    pub pg_statistic_rows: i64,
    /// `pg_depend` rows.
    pub pg_depend_rows: i64,
    /// `pg_total_relation_size` of `pg_class`, bytes.
    pub pg_class_bytes: i64,
    /// `pg_total_relation_size` of `pg_attribute`, bytes.
    pub pg_attribute_bytes: i64,
    /// `pg_total_relation_size` of `pg_statistic`, bytes.
    pub pg_statistic_bytes: i64,
    /// `pg_total_relation_size` of `pg_depend`, bytes.
    pub pg_depend_bytes: i64,
    /// `pg_database_size`, bytes.
    pub database_bytes: i64,
    /// Milliseconds `pg_dump --schema-only` took, when measured.
    pub schema_dump_ms: Option<u64>,
}

impl CatalogMetrics {
    /// Bytes of the four catalogs together.
    pub fn catalog_bytes(&self) -> i64 {
        self.pg_class_bytes
            + self.pg_attribute_bytes
            + self.pg_statistic_bytes
            + self.pg_depend_bytes
    }
}

/// Measures now. `dump_target` is a libpq connection string for timing `pg_dump`.
pub(crate) async fn capture(
    client: &Client,
    schema: &str,
    dump_target: Option<&str>,
) -> Result<CatalogMetrics> {
    let r = client
        .query_one(
            "SELECT (SELECT count(*) FROM pg_tables WHERE schemaname = $1),
                    (SELECT count(*) FROM pg_class), (SELECT count(*) FROM pg_attribute),
                    (SELECT count(*) FROM pg_statistic), (SELECT count(*) FROM pg_depend),
                    pg_total_relation_size('pg_class'), pg_total_relation_size('pg_attribute'),
                    pg_total_relation_size('pg_statistic'), pg_total_relation_size('pg_depend'),
                    pg_database_size(current_database())",
            &[&schema],
        )
        .await
        .map_err(CleanupError::db("measure the catalogs"))?;
    let schema_dump_ms = match dump_target {
        Some(conn) => time_schema_dump(conn, schema).await,
        None => None,
    };
    Ok(CatalogMetrics {
        tables_in_schema: r.get(0),
        pg_class_rows: r.get(1),
        pg_attribute_rows: r.get(2),
        pg_statistic_rows: r.get(3),
        pg_depend_rows: r.get(4),
        pg_class_bytes: r.get(5),
        pg_attribute_bytes: r.get(6),
        pg_statistic_bytes: r.get(7),
        pg_depend_bytes: r.get(8),
        database_bytes: r.get(9),
        schema_dump_ms,
    })
}

fn pg_dump_binary() -> PathBuf {
    let debian = PathBuf::from("/usr/lib/postgresql/15/bin/pg_dump");
    if debian.exists() {
        debian
    } else {
        PathBuf::from("pg_dump")
    }
}

async fn time_schema_dump(conn: &str, schema: &str) -> Option<u64> {
    let start = Instant::now();
    let status = tokio::process::Command::new(pg_dump_binary())
        .arg("--schema-only")
        .arg("--schema")
        .arg(schema)
        .arg("--dbname")
        .arg(conn)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .await
        .ok()?;
    status.success().then(|| start.elapsed().as_millis() as u64)
}

/// Before/after side by side.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricsComparison {
    /// Baseline.
    pub before: CatalogMetrics,
    /// Now (or after the phase).
    pub after: CatalogMetrics,
}

fn mib(b: i64) -> String {
    format!("{:.1} MiB", b as f64 / (1024.0 * 1024.0))
}

impl fmt::Display for MetricsComparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (b, a) = (&self.before, &self.after);
        writeln!(
            f,
            "{:<24} {:>14} {:>14} {:>10}",
            "metric", "before", "after", "change"
        )?;
        let rows: [(&str, i64, i64); 5] = [
            ("tables in schema", b.tables_in_schema, a.tables_in_schema),
            ("pg_class rows", b.pg_class_rows, a.pg_class_rows),
            (
                "pg_attribute rows",
                b.pg_attribute_rows,
                a.pg_attribute_rows,
            ),
            (
                "pg_statistic rows",
                b.pg_statistic_rows,
                a.pg_statistic_rows,
            ),
            ("pg_depend rows", b.pg_depend_rows, a.pg_depend_rows),
        ];
        for (name, x, y) in rows {
            writeln!(f, "{name:<24} {x:>14} {y:>14} {:>+10}", y - x)?;
        }
        let sizes: [(&str, i64, i64); 5] = [
            ("pg_class size", b.pg_class_bytes, a.pg_class_bytes),
            (
                "pg_attribute size",
                b.pg_attribute_bytes,
                a.pg_attribute_bytes,
            ),
            (
                "pg_statistic size",
                b.pg_statistic_bytes,
                a.pg_statistic_bytes,
            ),
            ("pg_depend size", b.pg_depend_bytes, a.pg_depend_bytes),
            ("database size", b.database_bytes, a.database_bytes),
        ];
        for (name, x, y) in sizes {
            writeln!(f, "{name:<24} {:>14} {:>14}", mib(x), mib(y))?;
        }
        let ms = |v: Option<u64>| v.map(|v| format!("{v} ms")).unwrap_or_else(|| "-".into());
        writeln!(
            f,
            "{:<24} {:>14} {:>14}",
            "pg_dump --schema-only",
            ms(b.schema_dump_ms),
            ms(a.schema_dump_ms)
        )
    }
}
