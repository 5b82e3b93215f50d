//! Archive-then-remove (seed 004 task_123, and phase 1 staging tables that hold rows):
//!
//! ```text
//!  LOCK (caller's tx) ─► COPY t TO STDOUT (CSV) ─► <dir>/<t>.csv ─┐
//!                        rollback DDL ─────────► <dir>/<t>.sql ─┼─► manifest.json (SHA-256, rows)
//!  restore test: read file back, check SHA-256, CREATE in scratch schema, COPY FROM,
//!                compare row count and a fingerprint of every row ─► DROP scratch copy
//! ```
//!
//! Only after the restore test passes may the caller record rollback and drop the table.

use std::path::{Path, PathBuf};

use bytes::Bytes;
use futures_util::{SinkExt as _, TryStreamExt as _};
use serde::{Deserialize, Serialize};
use tokio_postgres::Client;

use crate::catalog::{self, ddl::column_list, qualified};
use crate::error::{Blocked, CleanupError, Result};
use crate::job::files;

/// The scratch schema restore tests use.
pub const SCRATCH_SCHEMA: &str = "supra_sync_cleanup_restore";

/// What an archive holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ArchiveManifest {
    /// Schema of the archived table.
    pub schema: String,
    /// Table name.
    pub table: String,
    /// Rows archived.
    pub rows: i64,
    /// Columns in CSV order.
    pub columns: Vec<String>,
    /// CSV file.
    pub data_file: String,
    /// SHA-256 of the CSV file.
    pub data_sha256: String,
    /// DDL file.
    pub ddl_file: String,
    /// SHA-256 of the DDL file.
    pub ddl_sha256: String,
    /// Row fingerprint (md5 over the sorted text of every row) of the original.
    pub fingerprint: String,
    /// Whether the restore test passed.
    pub restore_tested: bool,
}

async fn fingerprint(client: &Client, table_sql: &str, cols: &str) -> Result<(i64, String)> {
    let sql = format!(
        "SELECT count(*), md5(coalesce(string_agg(x::text, E'\\n' ORDER BY x::text), ''))
           FROM (SELECT {cols} FROM {table_sql}) AS x"
    );
    let row = client
        .query_one(&sql, &[])
        .await
        .map_err(CleanupError::db(format!("fingerprint {table_sql}")))?;
    Ok((row.get(0), row.get(1)))
}

/// Archives `schema.table` into `dir` and proves the archive restores. Run it inside the
/// transaction that holds the table's lock and will drop it.
pub(crate) async fn archive_table(
    client: &Client,
    schema: &str,
    table: &str,
    dir: &Path,
    step: &str,
) -> Result<ArchiveManifest> {
    let ddl = catalog::ddl::table_ddl(client, schema, table, schema, false).await?;
    let cols = column_list(&ddl.columns);
    let src = qualified(schema, table);
    let (rows, fp) = fingerprint(client, &src, &cols).await?;
    let stream = client
        .copy_out(&format!(
            "COPY {src} ({cols}) TO STDOUT (FORMAT csv, HEADER true)"
        ))
        .await
        .map_err(CleanupError::db(format!("export {schema}.{table}")))?;
    let chunks: Vec<Bytes> = stream
        .try_collect()
        .await
        .map_err(CleanupError::db(format!("export {schema}.{table}")))?;
    let data: Vec<u8> = chunks.concat();
    let data_path = dir.join(format!("{table}.csv"));
    let ddl_path = dir.join(format!("{table}.sql"));
    let data_sha256 = files::write_durable(&data_path, &data)?;
    let ddl_sha256 = files::write_durable(&ddl_path, ddl.sql.as_bytes())?;
    let mut manifest = ArchiveManifest {
        schema: schema.to_string(),
        table: table.to_string(),
        rows,
        columns: ddl.columns.clone(),
        data_file: data_path.display().to_string(),
        data_sha256,
        ddl_file: ddl_path.display().to_string(),
        ddl_sha256,
        fingerprint: fp,
        restore_tested: false,
    };
    restore_test(client, &manifest, step).await?;
    manifest.restore_tested = true;
    let json = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    files::write_durable(&dir.join(format!("{table}.manifest.json")), &json)?;
    Ok(manifest)
}

/// Reads the archive back, checks its checksum, loads it into the scratch schema and
/// compares it with the original.
async fn restore_test(client: &Client, m: &ArchiveManifest, step: &str) -> Result<()> {
    let portable =
        catalog::ddl::table_ddl(client, &m.schema, &m.table, SCRATCH_SCHEMA, true).await?;
    let scratch = qualified(SCRATCH_SCHEMA, &m.table);
    client
        .batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {}; DROP TABLE IF EXISTS {scratch}; {}",
            supra_sync_core::quote_ident(SCRATCH_SCHEMA),
            portable.sql
        ))
        .await
        .map_err(CleanupError::db(format!(
            "create the restore-test copy of {}",
            m.table
        )))?;
    load_csv(
        client,
        &scratch,
        &m.columns,
        Path::new(&m.data_file),
        &m.data_sha256,
        step,
    )
    .await?;
    let cols = column_list(&m.columns);
    let (rows, fp) = fingerprint(client, &scratch, &cols).await?;
    client
        .batch_execute(&format!("DROP TABLE {scratch}"))
        .await
        .map_err(CleanupError::db("drop the restore-test copy"))?;
    if rows != m.rows || fp != m.fingerprint {
        return Err(Blocked::new(
            step,
            format!(
                "restore test of the archive of {}.{} failed",
                m.schema, m.table
            ),
        )
        .detail(format!(
            "original: {} rows, fingerprint {}; restored: {rows} rows, fingerprint {fp}",
            m.rows, m.fingerprint
        ))
        .hint("nothing was dropped; check the archive directory and the table's column types")
        .into());
    }
    Ok(())
}

/// Loads a CSV archive into `target` after checking its SHA-256.
pub(crate) async fn load_csv(
    client: &Client,
    target: &str,
    columns: &[String],
    file: &Path,
    sha256: &str,
    step: &str,
) -> Result<u64> {
    let data = files::read(file)?;
    let actual = files::sha256_hex(&data);
    if actual != sha256 {
        return Err(Blocked::new(
            step,
            format!("archive {} does not match its checksum", file.display()),
        )
        .detail(format!("expected SHA-256 {sha256}, found {actual}"))
        .into());
    }
    let sink = client
        .copy_in(&format!(
            "COPY {target} ({}) FROM STDIN (FORMAT csv, HEADER true)",
            column_list(columns)
        ))
        .await
        .map_err(CleanupError::db(format!("load {}", file.display())))?;
    futures_util::pin_mut!(sink);
    sink.send(Bytes::from(data))
        .await
        .map_err(CleanupError::db(format!("load {}", file.display())))?;
    sink.finish()
        .await
        .map_err(CleanupError::db(format!("load {}", file.display())))
}

/// The archive directory of a phase.
pub(crate) fn dir(root: &Path, phase: &str) -> PathBuf {
    root.join(format!("phase{phase}")).join("archive")
}
