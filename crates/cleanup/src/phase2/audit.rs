//! `audit_log` (seed 001 P2-S1-01..04): the partitioned table, its three indexes, monthly
//! partitions kept 24 months ahead, and `fn_audit_trigger()`.

use serde_json::{Value, json};
use supra_sync_core::quote_ident;
use tokio_postgres::Client;

use crate::catalog;
use crate::config::CleanupConfig;
use crate::error::{CleanupError, Result};
use crate::job::state::{self, RollbackRecord};
use crate::job::{Ctx, ddl};

const AUDIT_LOG_SQL: &str = include_str!("../../../../sql/cleanup/0002_audit_log.sql");
const TRIGGER_SQL: &str = include_str!("../../../../sql/cleanup/0003_fn_audit_trigger.sql");

/// Months of partitions kept ahead (P2-S1-02).
pub(crate) const MONTHS_AHEAD: i32 = 24;

/// The DDL of `audit_log` and its partition function for `schema`.
pub(crate) fn audit_log_sql(schema: &str) -> String {
    AUDIT_LOG_SQL.replace("@schema@", &quote_ident(schema))
}

/// The DDL of `fn_audit_trigger()` for `schema`.
pub(crate) fn trigger_sql(schema: &str) -> String {
    TRIGGER_SQL.replace("@schema@", &quote_ident(schema))
}

/// Creates `audit_log`, partitions from `from_month` to 24 months ahead, and the trigger
/// function (step `p2.audit_log`).
pub(crate) async fn create(ctx: &Ctx<'_>, from: chrono::NaiveDate) -> Result<Value> {
    let schema = ctx.schema();
    ctx.guard("audit_log")?;
    let existed = catalog::relation_kind(ctx.client, schema, "audit_log")
        .await?
        .is_some();
    let sql = format!("{}\n{}", audit_log_sql(schema), trigger_sql(schema));
    let record = RollbackRecord {
        step: "p2.audit_log".into(),
        object_name: "audit_log".into(),
        kind: "created_table".into(),
        ddl: format!(
            "DROP TABLE {}.audit_log; DROP FUNCTION IF EXISTS {}.fn_audit_trigger()",
            quote_ident(schema),
            quote_ident(schema)
        ),
        restore_sql: None,
        archive: None,
        file: None,
    };
    let (sql_ref, rec_ref) = (&sql, &record);
    let created: Vec<String> = ddl::in_tx(ctx, "create audit_log", || async move {
        ctx.client
            .batch_execute(sql_ref)
            .await
            .map_err(CleanupError::db("create audit_log and fn_audit_trigger"))?;
        if !existed {
            state::record_rollback(ctx.client, ctx.phase, std::slice::from_ref(rec_ref)).await?;
        }
        ensure_partitions(ctx.client, schema, from).await
    })
    .await?;
    Ok(json!({ "created": !existed, "partitions_created": created.len() }))
}

/// Creates the missing monthly partitions from `from` to 24 months past the current month.
pub(crate) async fn ensure_partitions(
    client: &Client,
    schema: &str,
    from: chrono::NaiveDate,
) -> Result<Vec<String>> {
    let now = chrono::Utc::now().date_naive();
    let from = from.min(now);
    let months = months_between(from, now) + MONTHS_AHEAD;
    let rows = client
        .query(
            "SELECT supra_sync_cleanup.audit_log_ensure_partitions($1, $2, $3)",
            &[&schema, &from, &months],
        )
        .await
        .map_err(CleanupError::db("create audit_log partitions"))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

fn months_between(from: chrono::NaiveDate, to: chrono::NaiveDate) -> i32 {
    use chrono::Datelike as _;
    (to.year() - from.year()) * 12 + to.month() as i32 - from.month() as i32
}

/// The monitor's pass: keeps partitions ahead, reports how many months are covered.
pub(crate) async fn maintain_partitions(
    client: &Client,
    config: &CleanupConfig,
) -> Result<(Option<i32>, Vec<String>)> {
    if catalog::relation_kind(client, &config.schema, "audit_log")
        .await?
        .is_none()
    {
        return Ok((None, Vec::new()));
    }
    let created =
        ensure_partitions(client, &config.schema, chrono::Utc::now().date_naive()).await?;
    Ok((Some(months_ahead(client, &config.schema).await?), created))
}

/// Months covered by `audit_log` partitions from the current month on.
pub(crate) async fn months_ahead(client: &Client, schema: &str) -> Result<i32> {
    let ahead: i32 = client
        .query_one(
            r"SELECT coalesce(max((regexp_match(c.relname, '^audit_log_(\d{4})_(\d{2})$'))[1]::int * 12
                               + (regexp_match(c.relname, '^audit_log_(\d{4})_(\d{2})$'))[2]::int), 0)
                     - (extract(year FROM now())::int * 12 + extract(month FROM now())::int) + 1
               FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
               JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace
              WHERE n.nspname = $1 AND p.relname = 'audit_log'",
            &[&schema],
        )
        .await
        .map_err(CleanupError::db("measure audit_log partitions"))?
        .get(0);
    Ok(ahead)
}
