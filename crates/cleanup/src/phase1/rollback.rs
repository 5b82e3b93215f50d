//! `rollback 1`: replays what apply recorded, newest kind first — the `tarea` default and
//! rows, staging and Spain tables (reloading archives after checking their SHA-256), every
//! dropped family instance with its rows copied back from the consolidated table, then the
//! consolidated tables this phase created (only while empty). Each object is restored in one
//! transaction together with its "applied" mark, so an interrupted rollback resumes.

use std::path::Path;

use serde_json::{Value, json};

use super::families::FAMILIES;
use crate::catalog::{self, qualified};
use crate::error::{CleanupError, Result};
use crate::final_::archive::{self, ArchiveManifest};
use crate::job::state::{self, RollbackRecord};
use crate::job::{Ctx, ddl};

const STEP: &str = "p1.rollback";

fn rank(kind: &str) -> u8 {
    match kind {
        "column_default" => 0,
        "table" | "archived_table" => 1,
        "family_table" => 2,
        _ => 3,
    }
}

async fn mark_applied(ctx: &Ctx<'_>, object: &str) -> Result<()> {
    ctx.client
        .execute(
            "UPDATE supra_sync_cleanup.rollback_ddl SET applied_at = now() WHERE phase = $1 AND object_name = $2",
            &[&ctx.phase.as_str(), &object],
        )
        .await
        .map_err(CleanupError::db("mark the rollback record applied"))?;
    Ok(())
}

/// Restores one table from its DDL and, for archived ones, its CSV.
pub(crate) async fn restore_table(ctx: &Ctx<'_>, r: &RollbackRecord) -> Result<String> {
    let schema = ctx.schema();
    let exists = catalog::relation_kind(ctx.client, schema, &r.object_name)
        .await?
        .is_some();
    ddl::in_tx(
        ctx,
        &format!("restore {schema}.{}", r.object_name),
        || async move {
            if exists {
                mark_applied(ctx, &r.object_name).await?;
                return Ok("still present".to_string());
            }
            ctx.client
                .batch_execute(&r.ddl)
                .await
                .map_err(CleanupError::db(format!(
                    "recreate {schema}.{}",
                    r.object_name
                )))?;
            let mut rows = 0;
            if r.kind == "archived_table" {
                let m: ArchiveManifest = serde_json::from_value(
                    r.archive.clone().unwrap_or(Value::Null),
                )
                .map_err(|e| {
                    CleanupError::invalid(format!(
                        "archive manifest of {} unreadable: {e}",
                        r.object_name
                    ))
                })?;
                let target = qualified(schema, &r.object_name);
                archive::load_csv(
                    ctx.client,
                    &target,
                    &m.columns,
                    Path::new(&m.data_file),
                    &m.data_sha256,
                    STEP,
                )
                .await?;
                rows = catalog::count_rows(ctx.client, schema, &r.object_name).await?;
                if rows != m.rows {
                    return Err(CleanupError::invalid(format!(
                        "restored {rows} rows into {}, archive holds {}",
                        r.object_name, m.rows
                    )));
                }
            }
            mark_applied(ctx, &r.object_name).await?;
            Ok(format!("recreated ({rows} rows)"))
        },
    )
    .await
}

async fn restore_column_default(ctx: &Ctx<'_>, r: &RollbackRecord) -> Result<String> {
    let a = r.archive.clone().unwrap_or(Value::Null);
    let table = a["table"].as_str().unwrap_or_default().to_string();
    let column = a["column"].as_str().unwrap_or_default().to_string();
    let keys: Vec<String> = a["key"]
        .as_array()
        .map(|k| {
            k.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let rows = a["rows"].clone();
    let t = qualified(ctx.schema(), &table);
    let join = keys
        .iter()
        .map(|k| format!("t.{0} = r.{0}", supra_sync_core::quote_ident(k)))
        .collect::<Vec<_>>()
        .join(" AND ");
    let update = format!(
        "UPDATE {t} AS t SET {} = 0 FROM jsonb_populate_recordset(NULL::{t}, $1) AS r WHERE {join}",
        supra_sync_core::quote_ident(&column)
    );
    let (update_ref, rows_ref) = (&update, &rows);
    ddl::in_tx(ctx, &format!("restore {table}.{column}"), || async move {
        ctx.client
            .batch_execute(&r.ddl)
            .await
            .map_err(CleanupError::db("restore the column default"))?;
        let n = ctx
            .client
            .execute(update_ref, &[rows_ref])
            .await
            .map_err(CleanupError::db("restore the column values"))?;
        mark_applied(ctx, &r.object_name).await?;
        Ok(format!("default restored, {n} rows set back to 0"))
    })
    .await
}

async fn restore_family_table(ctx: &Ctx<'_>, r: &RollbackRecord) -> Result<String> {
    let schema = ctx.schema();
    let a = r.archive.clone().unwrap_or(Value::Null);
    let family = a["family"].as_str().unwrap_or_default().to_string();
    let proceso = a["proceso_id"].as_i64().unwrap_or_default();
    let ledger: Option<(i64, bool)> = ctx
        .client
        .query_opt(
            "SELECT migrated_rows, dropped_at IS NOT NULL FROM supra_sync_cleanup.migrated WHERE phase = '1' AND source_table = $1",
            &[&r.object_name],
        )
        .await
        .map_err(CleanupError::db("read the migration ledger"))?
        .map(|row| (row.get(0), row.get(1)));
    let exists = catalog::relation_kind(ctx.client, schema, &r.object_name)
        .await?
        .is_some();
    let cons = qualified(schema, &family);
    let delete = format!("DELETE FROM {cons} WHERE proceso_id = $1");
    let (delete_ref, ledger_ref, family) = (&delete, &ledger, &family);
    ddl::in_tx(ctx, &format!("restore {schema}.{}", r.object_name), || async move {
        let outcome = match (ledger_ref, exists) {
            (None, _) => "never migrated".to_string(),
            (Some((migrated, _)), true) => {
                let n = if *migrated > 0 {
                    ctx.client.execute(delete_ref, &[&proceso]).await.map_err(CleanupError::db("undo a migration"))?
                } else {
                    0
                };
                format!("not dropped; {n} migrated rows removed from {family}")
            }
            (Some((migrated, _)), false) => {
                ctx.client.batch_execute(&r.ddl).await.map_err(CleanupError::db(format!("recreate {}", r.object_name)))?;
                if let Some(sql) = &r.restore_sql {
                    ctx.client.batch_execute(sql).await.map_err(CleanupError::db(format!("copy rows back into {}", r.object_name)))?;
                }
                let back = catalog::count_rows(ctx.client, schema, &r.object_name).await?;
                if back < *migrated {
                    return Err(CleanupError::invalid(format!(
                        "only {back} of the {migrated} rows migrated from {} are still in {family}",
                        r.object_name
                    )));
                }
                ctx.client.execute(delete_ref, &[&proceso]).await.map_err(CleanupError::db("remove restored rows from the consolidated table"))?;
                format!("recreated with {back} rows")
            }
        };
        ctx.client
            .execute("DELETE FROM supra_sync_cleanup.migrated WHERE phase = '1' AND source_table = $1", &[&r.object_name])
            .await
            .map_err(CleanupError::db("clear the ledger row"))?;
        mark_applied(ctx, &r.object_name).await?;
        Ok(outcome)
    })
    .await
}

async fn drop_created(ctx: &Ctx<'_>, r: &RollbackRecord) -> Result<String> {
    let schema = ctx.schema();
    if catalog::relation_kind(ctx.client, schema, &r.object_name)
        .await?
        .is_none()
    {
        mark_applied(ctx, &r.object_name).await?;
        return Ok("already gone".into());
    }
    let t = qualified(schema, &r.object_name);
    let t_ref = &t;
    ddl::in_tx(
        ctx,
        &format!("drop {schema}.{}", r.object_name),
        || async move {
            ctx.client
                .batch_execute(&format!("LOCK TABLE {t_ref} IN ACCESS EXCLUSIVE MODE"))
                .await
                .map_err(CleanupError::db("lock"))?;
            let rows = catalog::count_rows(ctx.client, schema, &r.object_name).await?;
            if rows > 0 {
                mark_applied(ctx, &r.object_name).await?;
                return Ok(format!(
                    "kept: it holds {rows} rows that did not come from this phase"
                ));
            }
            ctx.client
                .batch_execute(&r.ddl)
                .await
                .map_err(CleanupError::db(format!("drop {}", r.object_name)))?;
            mark_applied(ctx, &r.object_name).await?;
            Ok("dropped (it was created by phase 1)".into())
        },
    )
    .await
}

/// Rolls phase 1 back.
pub(crate) async fn rollback(ctx: &Ctx<'_>) -> Result<Value> {
    let mut records = state::pending_rollbacks(ctx.client, ctx.phase).await?;
    records.sort_by_key(|r| rank(&r.kind));
    let total = records.len() as u64;
    let mut outcomes = serde_json::Map::new();
    for (i, r) in records.iter().enumerate() {
        let outcome = match r.kind.as_str() {
            "column_default" => restore_column_default(ctx, r).await?,
            "table" | "archived_table" => restore_table(ctx, r).await?,
            "family_table" => restore_family_table(ctx, r).await?,
            "created_table" => drop_created(ctx, r).await?,
            other => format!("unknown kind {other}: left alone"),
        };
        ctx.progress(
            STEP,
            format!("{}: {outcome}", r.object_name),
            i as u64 + 1,
            total,
        );
        if r.kind != "family_table" || !outcome.starts_with("not dropped; 0") {
            outcomes.insert(r.object_name.clone(), Value::String(outcome));
        }
    }
    let families: Vec<&str> = FAMILIES.iter().map(|f| f.name).collect();
    ctx.client
        .execute(
            "DELETE FROM supra_sync_cleanup.migrated WHERE phase = '1' AND family = ANY($1)",
            &[&families],
        )
        .await
        .map_err(CleanupError::db("clear the ledger"))?;
    state::forget_phase(ctx.client, ctx.phase).await?;
    Ok(json!({ "restored": records.len(), "objects": outcomes }))
}
