//! `his*` tables into `audit_log` (seed 001 Sprints 1-3, seed 002 §3): per Tier 1 table: backfill (one transaction with its ledger row), `fn_audit_trigger` on
//! the base table, compatibility view checked row for row, and — after the observation
//! period — the swap that drops the table behind its view.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use supra_sync_core::{quote_ident, quote_literal};

pub(crate) use super::tiers::{Tier, recorded, report, selected, tiers};
use super::views;
use crate::catalog::{self, qualified};
use crate::error::{Blocked, CleanupError, Result};
use crate::job::state::{self, RollbackRecord};
use crate::job::{Ctx, ddl};

/// `INSERT INTO audit_log … SELECT` from `source`, a query returning one column `h` of the
/// history table's row type.
pub(crate) fn backfill_sql(schema: &str, t: &Tier, source: &str) -> String {
    let base = t.base.clone().unwrap_or_default();
    let key = t
        .base_key
        .iter()
        .map(|k| format!("coalesce(to_jsonb(s.h) ->> {}, '')", quote_literal(k)))
        .collect::<Vec<_>>()
        .join(" || '|' || ");
    let at = t
        .hora
        .as_ref()
        .map(|h| format!("coalesce((s.h).{}::timestamptz, now())", quote_ident(h)))
        .unwrap_or_else(|| "now()".into());
    let user = t
        .usu
        .as_ref()
        .map(|u| {
            format!(
                "coalesce(nullif((s.h).{}::text, ''), 'backfill')",
                quote_ident(u)
            )
        })
        .unwrap_or_else(|| "'backfill'".into());
    format!(
        "INSERT INTO {}.audit_log (al_table_name, al_record_key, al_operation, al_old_data, al_user_id, al_changed_at)
         SELECT {}, {key}, 'U', to_jsonb(s.h), {user}, {at} FROM ({source}) AS s",
        quote_ident(schema),
        quote_literal(&base)
    )
}

fn partitions_sql(schema: &str, t: &Tier, source: &str) -> Option<String> {
    t.hora.as_ref().map(|h| {
        format!(
            "SELECT supra_sync_cleanup.audit_log_ensure_partitions({}, m, 1)
               FROM (SELECT DISTINCT date_trunc('month', (s.h).{})::date AS m FROM ({source}) AS s WHERE (s.h).{} IS NOT NULL) AS months",
            quote_literal(schema),
            quote_ident(h),
            quote_ident(h)
        )
    })
}

fn full_source(schema: &str, table: &str) -> String {
    format!("SELECT h FROM {} AS h", qualified(schema, table))
}

/// Rows of the history table its view does not return yet (multiset difference).
fn catch_up_source(schema: &str, table: &str) -> String {
    format!(
        "SELECT hh.h FROM (SELECT h, h::text AS t, row_number() OVER (PARTITION BY h::text) AS n FROM {} AS h) AS hh
          WHERE NOT EXISTS (SELECT 1 FROM (SELECT v::text AS t, row_number() OVER (PARTITION BY v::text) AS n FROM {} AS v) AS vv
                             WHERE vv.t = hh.t AND vv.n = hh.n)",
        qualified(schema, table),
        qualified(schema, &views::compat_name(table))
    )
}

/// Step `p2.hist.<t>.backfill`.
pub(crate) async fn backfill(ctx: &Ctx<'_>, t: &Tier) -> Result<Value> {
    let schema = ctx.schema();
    let step = format!("p2.hist.{}.backfill", t.table);
    ctx.guard(&t.table)?;
    let done: Option<i64> = ctx
        .client
        .query_opt("SELECT migrated_rows FROM supra_sync_cleanup.migrated WHERE phase = '2' AND source_table = $1", &[&t.table])
        .await
        .map_err(CleanupError::db("read the ledger"))?
        .map(|r| r.get(0));
    if let Some(n) = done {
        return Ok(json!({ "rows": n, "resumed": true }));
    }
    let source = full_source(schema, &t.table);
    let insert = backfill_sql(schema, t, &source);
    let parts = partitions_sql(schema, t, &source);
    let src = qualified(schema, &t.table);
    let (insert_ref, parts_ref, src_ref, step_ref) = (&insert, &parts, &src, &step);
    let n = ddl::in_tx(ctx, &format!("backfill {}", t.table), || async move {
        ctx.client.batch_execute(&format!("LOCK TABLE {src_ref} IN SHARE MODE")).await.map_err(CleanupError::db(format!("lock {}", t.table)))?;
        if let Some(p) = parts_ref {
            ctx.client.execute(p, &[]).await.map_err(CleanupError::db("create audit_log partitions"))?;
        }
        let rows = catalog::count_rows(ctx.client, schema, &t.table).await?;
        let inserted = ctx.client.execute(insert_ref, &[]).await.map_err(CleanupError::db(format!("backfill {} into audit_log", t.table)))? as i64;
        if inserted != rows {
            return Err(Blocked::new(step_ref, format!("{}: {rows} rows counted, {inserted} inserted into audit_log", t.table)).into());
        }
        ctx.client
            .execute(
                "INSERT INTO supra_sync_cleanup.migrated (phase, family, source_table, target_table, source_rows, migrated_rows)
                 VALUES ('2', 'history', $1, 'audit_log', $2, $3)",
                &[&t.table, &rows, &inserted],
            )
            .await
            .map_err(CleanupError::db("record the backfill"))?;
        Ok(inserted)
    })
    .await?;
    Ok(json!({ "rows": n }))
}

/// `CREATE TRIGGER` statement of a base table.
pub(crate) fn trigger_sql(schema: &str, t: &Tier) -> String {
    let base = t.base.clone().unwrap_or_default();
    let args = t
        .base_key
        .iter()
        .map(|k| quote_literal(k))
        .collect::<Vec<_>>()
        .join(", ");
    format!(
        "CREATE TRIGGER {} AFTER INSERT OR UPDATE OR DELETE ON {} FOR EACH ROW EXECUTE FUNCTION {}.fn_audit_trigger({args})",
        quote_ident(&format!("trg_audit_{base}")),
        qualified(schema, &base),
        quote_ident(schema)
    )
}

/// Step `p2.hist.<t>.trigger`.
pub(crate) async fn trigger(ctx: &Ctx<'_>, t: &Tier) -> Result<Value> {
    let schema = ctx.schema();
    let base = t.base.clone().unwrap_or_default();
    ctx.guard(&base)?;
    let name = format!("trg_audit_{base}");
    let exists: bool = ctx
        .client
        .query_one("SELECT EXISTS (SELECT 1 FROM pg_trigger WHERE tgname = $1 AND tgrelid = $2::text::regclass)", &[&name, &qualified(schema, &base)])
        .await
        .map_err(CleanupError::db("look for the audit trigger"))?
        .get(0);
    if exists {
        return Ok(json!({ "trigger": name, "created": false }));
    }
    let record = RollbackRecord {
        step: format!("p2.hist.{}.trigger", t.table),
        object_name: format!("trigger:{name}"),
        kind: "sql".into(),
        ddl: format!(
            "DROP TRIGGER IF EXISTS {} ON {}",
            quote_ident(&name),
            qualified(schema, &base)
        ),
        restore_sql: None,
        archive: None,
        file: None,
    };
    let sql = trigger_sql(schema, t);
    let (sql_ref, rec_ref, base) = (&sql, &record, &base);
    ddl::in_tx(
        ctx,
        &format!("attach the audit trigger to {base}"),
        || async move {
            state::record_rollback(ctx.client, ctx.phase, std::slice::from_ref(rec_ref)).await?;
            ctx.client
                .batch_execute(sql_ref)
                .await
                .map_err(CleanupError::db(format!("create trigger on {base}")))
        },
    )
    .await?;
    Ok(json!({ "trigger": name, "created": true }))
}

/// The compatibility view's query.
pub(crate) async fn view_select(ctx: &Ctx<'_>, t: &Tier) -> Result<String> {
    let cols = catalog::columns(ctx.client, ctx.schema(), &t.table).await?;
    Ok(format!(
        "SELECT x.* FROM {}.audit_log AS a CROSS JOIN LATERAL jsonb_to_record(a.al_old_data) AS x({})
          WHERE a.al_table_name = {} AND a.al_operation IN ('U', 'D')",
        quote_ident(ctx.schema()),
        views::record_def(&cols),
        quote_literal(t.base.as_deref().unwrap_or_default())
    ))
}

/// Step `p2.hist.<t>.view`.
pub(crate) async fn view(ctx: &Ctx<'_>, t: &Tier) -> Result<Value> {
    if catalog::relation_kind(ctx.client, ctx.schema(), &t.table)
        .await?
        .as_deref()
        == Some("v")
    {
        return Ok(json!({ "view": t.table, "swapped": true }));
    }
    let select = view_select(ctx, t).await?;
    views::create_checked(ctx, &format!("p2.hist.{}.view", t.table), &t.table, &select).await
}

/// Step `p2.hist.<t>.drop` (after the observation period).
pub(crate) async fn retire(ctx: &Ctx<'_>, t: &Tier) -> Result<Value> {
    let step = format!("p2.hist.{}.drop", t.table);
    views::observed(ctx, &format!("p2.hist.{}.view", t.table), &step).await?;
    let catch_up = backfill_sql(ctx.schema(), t, &catch_up_source(ctx.schema(), &t.table));
    let v = views::swap(
        ctx,
        &step,
        &t.table,
        Some(&catch_up),
        json!({ "history": true }),
    )
    .await?;
    ctx.client
        .execute("UPDATE supra_sync_cleanup.migrated SET dropped_at = now() WHERE phase = '2' AND source_table = $1", &[&t.table])
        .await
        .map_err(CleanupError::db("record the drop"))?;
    Ok(v)
}

/// Migrated history tables and their ledger rows.
pub(crate) async fn ledger(ctx: &Ctx<'_>) -> Result<BTreeMap<String, (i64, i64)>> {
    let rows = ctx
        .client
        .query("SELECT source_table, source_rows, migrated_rows FROM supra_sync_cleanup.migrated WHERE phase = '2' AND family = 'history'", &[])
        .await
        .map_err(CleanupError::db("read the ledger"))?;
    Ok(rows
        .iter()
        .map(|r| (r.get(0), (r.get(1), r.get(2))))
        .collect())
}
