//! The baselines supra-sync is measured against, each in the same run on the same clusters:
//! native logical replication ([`native`]) and a raw `COPY … TO STDOUT | COPY … FROM STDIN`
//! pipe ([`copy`]). Both write into a *plain copy* of the legacy table on the SUPRA cluster:
//! the same columns and types and the primary key, nothing else (no mapping, no SUPRA
//! indexes or constraints, no bookkeeping) — the cost floor of moving the rows.

pub mod copy;
pub mod native;

use anyhow::Context;
use tokio_postgres::Client;

/// Creates on `target` a plain copy of `table` (`schema.name`) as it is defined on `source`:
/// columns, types, NOT NULL and the primary key.
pub async fn create_plain_copy(
    source: &Client,
    target: &Client,
    table: &str,
) -> anyhow::Result<()> {
    let (schema, _) = table
        .split_once('.')
        .context("table names are schema-qualified")?;
    let row = source
        .query_one(
            "SELECT string_agg(format('%I %s%s', a.attname, format_type(a.atttypid, a.atttypmod),
                                      CASE WHEN a.attnotnull THEN ' NOT NULL' ELSE '' END),
                               ', ' ORDER BY a.attnum),
                    (SELECT pg_get_constraintdef(c.oid) FROM pg_constraint c
                      WHERE c.conrelid = $1::text::regclass AND c.contype = 'p')
               FROM pg_attribute a
              WHERE a.attrelid = $1::text::regclass AND a.attnum > 0 AND NOT a.attisdropped",
            &[&table],
        )
        .await
        .with_context(|| format!("reading the definition of {table}"))?;
    let columns: String = row.get(0);
    let key: Option<String> = row.get(1);
    let key = key.map(|k| format!(", {k}")).unwrap_or_default();
    target
        .batch_execute(&format!(
            "CREATE SCHEMA IF NOT EXISTS {schema}; CREATE TABLE {table} ({columns}{key})"
        ))
        .await
        .with_context(|| format!("creating the plain copy of {table}"))?;
    Ok(())
}
