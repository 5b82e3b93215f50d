//! Pre-cleanup inventory (seed 000 P1-S1-01, P1-S1-04): `audit_inventory.table_snapshot`
//! (every table of the schema with its category, row counts, column signature, size),
//! `audit_inventory.fk_snapshot`, the `summary_by_category` view (also saved as CSV), and the
//! baseline catalog metrics. After the phase the same snapshot goes to `table_snapshot_post`.

use serde_json::{Value, json};
use tokio_postgres::Client;

use super::{spain, staging};
use crate::error::{CleanupError, Result};
use crate::job::{Ctx, files};

const DDL: &str = "
CREATE SCHEMA IF NOT EXISTS audit_inventory;
CREATE TABLE IF NOT EXISTS audit_inventory.table_snapshot (
    snapshot_at      timestamptz NOT NULL DEFAULT now(),
    schema_name      text        NOT NULL,
    table_name       text        NOT NULL,
    category         text        NOT NULL,
    est_row_count    bigint,
    exact_row_count  bigint,
    column_count     integer     NOT NULL,
    column_signature text        NOT NULL,
    total_bytes      bigint      NOT NULL,
    has_primary_key  boolean     NOT NULL,
    PRIMARY KEY (schema_name, table_name)
);
CREATE TABLE IF NOT EXISTS audit_inventory.table_snapshot_post (LIKE audit_inventory.table_snapshot INCLUDING ALL);
CREATE TABLE IF NOT EXISTS audit_inventory.fk_snapshot (
    snapshot_at      timestamptz NOT NULL DEFAULT now(),
    constraint_name  text        NOT NULL,
    table_name       text        NOT NULL,
    referenced_table text        NOT NULL,
    definition       text        NOT NULL,
    PRIMARY KEY (table_name, constraint_name)
);
CREATE OR REPLACE VIEW audit_inventory.summary_by_category AS
SELECT category, count(*) AS tables, sum(est_row_count) AS est_rows,
       sum(exact_row_count) AS exact_rows, sum(total_bytes) AS total_bytes
  FROM audit_inventory.table_snapshot GROUP BY category ORDER BY category;
";

/// The category of a table, as a SQL expression over `c.relname` with `$2` = Spain list,
/// `$3` = staging list, `$4` = artifact list.
pub(crate) const CATEGORY: &str = r"CASE
    WHEN c.relname ~ '^tmp_deuda_\d+$' THEN 'transient_tmp_deuda'
    WHEN c.relname ~ '^aux_varscreditored_\d+$' THEN 'transient_aux_varscreditored'
    WHEN c.relname ~ '^tmpbb_\d+$' THEN 'transient_tmpbb'
    WHEN c.relname IN ('tmp_deuda', 'aux_varscreditored', 'tmpbb') THEN 'consolidated'
    WHEN c.relname = ANY($2) THEN 'spain'
    WHEN c.relname = ANY($3) OR c.relname = 'tablastmp' THEN 'staging'
    WHEN c.relname = ANY($4) OR c.relname ~ '^zz_backup' THEN 'artifact'
    WHEN c.relname ~ '^tmtr' THEN 'report_temp'
    WHEN c.relname ~ '^(cfditmp|cfdi_?(tmp|temp|stg|staging)|tmp_?cfdi)' THEN 'cfdi_staging'
    WHEN c.relname ~ '^his' THEN 'history'
    WHEN c.relname ~ '^(tipo|tip|estado|est)' THEN 'lookup'
    WHEN c.relname ~ '^liq' THEN 'liq_generic'
    ELSE 'other' END";

/// Takes a snapshot into `target` (`table_snapshot` or `table_snapshot_post`).
pub(crate) async fn snapshot(client: &Client, schema: &str, target: &str) -> Result<i64> {
    snapshot_of(client, schema, target, None).await
}

/// Adds tables that appeared after the inventory (re-accumulated instances) to
/// `table_snapshot`, so that the row totals stay comparable.
pub(crate) async fn add_to_snapshot(
    client: &Client,
    schema: &str,
    tables: &[String],
) -> Result<i64> {
    snapshot_of(client, schema, "table_snapshot", Some(tables)).await
}

async fn snapshot_of(
    client: &Client,
    schema: &str,
    target: &str,
    only: Option<&[String]>,
) -> Result<i64> {
    client
        .batch_execute(DDL)
        .await
        .map_err(CleanupError::db("create the audit_inventory schema"))?;
    let spain: Vec<String> = spain::SPAIN_TABLES.iter().map(|s| s.to_string()).collect();
    let staging: Vec<String> = staging::STAGING.iter().map(|s| s.to_string()).collect();
    let artifacts: Vec<String> = staging::ARTIFACTS.iter().map(|s| s.to_string()).collect();
    let target_sql = format!("audit_inventory.{}", supra_sync_core::quote_ident(target));
    let sql = format!(
        "WITH t AS (
             SELECT c.oid, c.relname::text AS relname, {CATEGORY} AS category, c.reltuples
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
                AND ($5::text[] IS NULL OR c.relname = ANY($5)))
         INSERT INTO {target_sql}
             (schema_name, table_name, category, est_row_count, exact_row_count, column_count,
              column_signature, total_bytes, has_primary_key)
         SELECT $1, t.relname, t.category, greatest(t.reltuples, 0)::bigint,
                CASE WHEN t.category NOT IN ('other', 'history', 'lookup', 'liq_generic') THEN
                     (xpath('/row/c/text()', query_to_xml(format('SELECT count(*) AS c FROM %I.%I', $1::text, t.relname), false, true, '')))[1]::text::bigint
                END,
                (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped),
                (SELECT md5(string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END, ', ' ORDER BY a.attnum))
                   FROM pg_attribute a WHERE a.attrelid = t.oid AND a.attnum > 0 AND NOT a.attisdropped),
                pg_total_relation_size(t.oid),
                EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = t.oid AND contype = 'p')
           FROM t
         ON CONFLICT (schema_name, table_name) DO NOTHING"
    );
    let clear = if only.is_some() {
        String::new()
    } else {
        format!("DELETE FROM {target_sql};")
    };
    client
        .batch_execute(&format!("BEGIN; {clear}"))
        .await
        .map_err(CleanupError::db("clear the snapshot"))?;
    let only: Option<Vec<String>> = only.map(|o| o.to_vec());
    let n = client
        .execute(&sql, &[&schema, &spain, &staging, &artifacts, &only])
        .await;
    let n = match n {
        Ok(n) => n,
        Err(e) => {
            let _ = client.batch_execute("ROLLBACK").await;
            return Err(CleanupError::db(format!("snapshot tables into {target}"))(
                e,
            ));
        }
    };
    client
        .batch_execute("COMMIT")
        .await
        .map_err(CleanupError::db("commit the snapshot"))?;
    Ok(n as i64)
}

/// Foreign keys of the schema into `fk_snapshot`.
async fn fk_snapshot(client: &Client, schema: &str) -> Result<i64> {
    client
        .batch_execute("DELETE FROM audit_inventory.fk_snapshot")
        .await
        .map_err(CleanupError::db("clear fk_snapshot"))?;
    let n = client
        .execute(
            "INSERT INTO audit_inventory.fk_snapshot (constraint_name, table_name, referenced_table, definition)
             SELECT con.conname, c.relname, r.relname, pg_get_constraintdef(con.oid)
               FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_class r ON r.oid = con.confrelid
              WHERE con.contype = 'f' AND n.nspname = $1",
            &[&schema],
        )
        .await
        .map_err(CleanupError::db("snapshot foreign keys"))?;
    Ok(n as i64)
}

/// Category summary as CSV text.
pub(crate) async fn summary_csv(client: &Client, target: &str) -> Result<String> {
    let rows = client
        .query(
            &format!(
                "SELECT category, count(*), coalesce(sum(est_row_count), 0)::bigint,
                        sum(exact_row_count)::bigint, sum(total_bytes)::bigint
                   FROM audit_inventory.{} GROUP BY category ORDER BY category",
                supra_sync_core::quote_ident(target)
            ),
            &[],
        )
        .await
        .map_err(CleanupError::db("summarise the inventory"))?;
    let mut csv = String::from("category,tables,est_rows,exact_rows,total_bytes\n");
    for r in &rows {
        csv.push_str(&format!(
            "{},{},{},{},{}\n",
            r.get::<_, String>(0),
            r.get::<_, i64>(1),
            r.get::<_, i64>(2),
            r.get::<_, Option<i64>>(3)
                .map(|v| v.to_string())
                .unwrap_or_default(),
            r.get::<_, i64>(4)
        ));
    }
    Ok(csv)
}

/// Step `p1.inventory`: snapshots, summary CSV, baseline metrics.
pub(crate) async fn apply(ctx: &Ctx<'_>, dump_target: Option<&str>) -> Result<Value> {
    let schema = ctx.schema();
    let before = crate::metrics::capture(ctx.client, schema, dump_target).await?;
    let tables = snapshot(ctx.client, schema, "table_snapshot").await?;
    let fks = fk_snapshot(ctx.client, schema).await?;
    let csv = summary_csv(ctx.client, "table_snapshot").await?;
    let path = ctx
        .config
        .archive_dir
        .join("phase1")
        .join("inventory_summary_before.csv");
    files::write_durable(&path, csv.as_bytes())?;
    let metrics = serde_json::to_value(&before).unwrap_or(Value::Null);
    crate::job::state::save_metrics(ctx.client, ctx.phase, "before", &metrics).await?;
    Ok(
        json!({ "tables": tables, "foreign_keys": fks, "summary_csv": path.display().to_string(), "metrics": metrics }),
    )
}

/// Step `p1.metrics_after`: post snapshot, summary CSV, after metrics.
pub(crate) async fn apply_after(ctx: &Ctx<'_>, dump_target: Option<&str>) -> Result<Value> {
    let schema = ctx.schema();
    let tables = snapshot(ctx.client, schema, "table_snapshot_post").await?;
    let csv = summary_csv(ctx.client, "table_snapshot_post").await?;
    let path = ctx
        .config
        .archive_dir
        .join("phase1")
        .join("inventory_summary_after.csv");
    files::write_durable(&path, csv.as_bytes())?;
    let after = crate::metrics::capture(ctx.client, schema, dump_target).await?;
    let metrics = serde_json::to_value(&after).unwrap_or(Value::Null);
    crate::job::state::save_metrics(ctx.client, ctx.phase, "after", &metrics).await?;
    Ok(json!({ "tables": tables, "summary_csv": path.display().to_string(), "metrics": metrics }))
}
