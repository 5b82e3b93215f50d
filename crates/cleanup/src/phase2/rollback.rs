//! `rollback 2`: tables retired behind views come back (refilled from their views), compat
//! views and triggers go, migrated rows leave `domain_value`/`domain_value_link`/`audit_log`,
//! and the objects phase 2 created are dropped.

use serde_json::{Value, json};
use supra_sync_core::{quote_ident, quote_literal};

use super::{history, lookups, views};
use crate::catalog::{self, qualified};
use crate::error::{CleanupError, Result};
use crate::job::{Ctx, ddl, state};

async fn applied(ctx: &Ctx<'_>, object: &str) -> Result<()> {
    ctx.client
        .execute("UPDATE supra_sync_cleanup.rollback_ddl SET applied_at = now() WHERE phase = $1 AND object_name = $2", &[&ctx.phase.as_str(), &object])
        .await
        .map_err(CleanupError::db("mark the rollback applied"))?;
    Ok(())
}

/// Rolls phase 2 back.
pub(crate) async fn rollback(ctx: &Ctx<'_>) -> Result<Value> {
    let schema = ctx.schema();
    let records = state::pending_rollbacks(ctx.client, ctx.phase).await?;
    let mut log = serde_json::Map::new();
    let total = records.len() as u64;
    for (i, r) in records
        .iter()
        .filter(|r| r.kind == "swapped_table")
        .enumerate()
    {
        let outcome = views::unswap(ctx, r).await?;
        ctx.progress(
            "p2.rollback",
            format!("{}: {outcome}", r.object_name),
            i as u64 + 1,
            total,
        );
        log.insert(r.object_name.clone(), Value::String(outcome));
    }
    for r in records.iter().filter(|r| r.kind == "sql") {
        ddl::in_tx(ctx, &format!("undo {}", r.object_name), || async move {
            ctx.client
                .batch_execute(&r.ddl)
                .await
                .map_err(CleanupError::db(format!("undo {}", r.object_name)))?;
            applied(ctx, &r.object_name).await
        })
        .await?;
        log.insert(r.object_name.clone(), Value::String("dropped".into()));
    }
    let ledger = ctx
        .client
        .query(
            "SELECT family, source_table FROM supra_sync_cleanup.migrated WHERE phase = '2'",
            &[],
        )
        .await
        .map_err(CleanupError::db("read the ledger"))?;
    for row in &ledger {
        let (family, table): (String, String) = (row.get(0), row.get(1));
        let view = qualified(schema, &views::compat_name(&table));
        let undo = if family == "history" {
            let base = if table == "hisdirec" {
                "direccion".to_string()
            } else {
                table.trim_start_matches("his").to_string()
            };
            format!(
                "DELETE FROM {}.audit_log WHERE al_table_name = {}",
                quote_ident(schema),
                quote_literal(&base)
            )
        } else if catalog::relation_kind(ctx.client, schema, "domain_value")
            .await?
            .is_some()
        {
            let d = quote_literal(&lookups::domain_name(&table));
            format!(
                "DELETE FROM {s}.domain_value WHERE dv_domain = {d}; DELETE FROM {s}.domain_value_link WHERE dvl_link_type = {d}",
                s = quote_ident(schema)
            )
        } else {
            String::new()
        };
        let has_audit = catalog::relation_kind(ctx.client, schema, "audit_log")
            .await?
            .is_some();
        let (view_ref, undo_ref, table_ref, family) = (&view, &undo, &table, &family);
        ddl::in_tx(ctx, &format!("undo the migration of {table}"), || async move {
            ctx.client.batch_execute(&format!("DROP VIEW IF EXISTS {view_ref}")).await.map_err(CleanupError::db("drop the compat view"))?;
            if !undo_ref.is_empty() && (family != "history" || has_audit) {
                ctx.client.batch_execute(undo_ref).await.map_err(CleanupError::db("remove migrated rows"))?;
            }
            ctx.client
                .execute("DELETE FROM supra_sync_cleanup.migrated WHERE phase = '2' AND source_table = $1", &[table_ref])
                .await
                .map_err(CleanupError::db("clear the ledger row"))?;
            Ok(())
        })
        .await?;
    }
    for r in records.iter().filter(|r| r.kind == "created_table") {
        let exists = catalog::relation_kind(ctx.client, schema, &r.object_name)
            .await?
            .is_some();
        let rows = if exists {
            catalog::count_rows(ctx.client, schema, &r.object_name).await?
        } else {
            0
        };
        let outcome = if rows > 0 {
            format!("kept: {rows} rows that this rollback did not put there")
        } else {
            if exists {
                let extra = match r.object_name.as_str() {
                    "domain_value" => format!(
                        "; DROP FUNCTION IF EXISTS {}.migrate_tipo_to_domain(text, text, text, text)",
                        quote_ident(schema)
                    ),
                    _ => String::new(),
                };
                let sql = format!("{}{extra}", r.ddl);
                let sql_ref = &sql;
                ddl::in_tx(ctx, &format!("drop {}", r.object_name), || async move {
                    ctx.client
                        .batch_execute(sql_ref)
                        .await
                        .map_err(CleanupError::db("drop a created object"))
                })
                .await?;
            }
            "dropped (created by phase 2)".into()
        };
        applied(ctx, &r.object_name).await?;
        log.insert(r.object_name.clone(), Value::String(outcome));
    }
    let _ = history::ledger;
    state::forget_phase(ctx.client, ctx.phase).await?;
    Ok(json!({ "objects": log }))
}
