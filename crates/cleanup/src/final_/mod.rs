//! Final cleanup (seed 004, tasks 122-129).
//!
//! ```text
//!  pf.unused_report ─► pf.archive.<t> (approved only: CSV + DDL + SHA-256, restore test,
//!  (read-only)          rollback record, DROP) ─► pf.index_report ─► pf.integrity_report
//!                     ─► pf.constraint.<name> (NOT VALID, then VALIDATE) ─► pf.dictionary
//!                        (Markdown data dictionary + Mermaid ERD)
//! ```

pub(crate) mod archive;
mod constraints;
mod dictionary;
mod reports;
mod verify;

pub(crate) use verify::verify;

use serde_json::{Value, json};

use crate::catalog::{self, qualified};
use crate::config::CleanupConfig;
use crate::error::{Blocked, CleanupError, Result};
use crate::job::state::{self, RollbackRecord};
use crate::job::{Ctx, ddl, files};
use crate::plan::{AffectedTable, Plan, PlannedStep};

fn archive_dir(config: &CleanupConfig) -> std::path::PathBuf {
    config.archive_dir.join("final").join("archive")
}

/// Step `pf.archive.<t>`: archive-then-remove of one approved table.
async fn remove(ctx: &Ctx<'_>, table: &str) -> Result<Value> {
    let schema = ctx.schema();
    let step = format!("pf.archive.{table}");
    ctx.guard(table)?;
    if catalog::relation_kind(ctx.client, schema, table)
        .await?
        .as_deref()
        != Some("r")
    {
        return Ok(json!({ "removed": false, "reason": "not a table (already removed?)" }));
    }
    let deps: Vec<String> = catalog::dependents(ctx.client, schema, &[table.to_string()])
        .await?
        .into_values()
        .flatten()
        .collect();
    if !deps.is_empty() {
        return Err(Blocked::new(&step, format!("{table} is referenced"))
            .detail(deps.join("\n"))
            .hint("it is not unused: withdraw the approval or drop the references first")
            .into());
    }
    let src = qualified(schema, table);
    let dir = archive_dir(ctx.config);
    let (src_ref, dir_ref, step_ref) = (&src, &dir, &step);
    ddl::in_tx(
        ctx,
        &format!("archive and remove {schema}.{table}"),
        || async move {
            ctx.client
                .batch_execute(&format!("LOCK TABLE {src_ref} IN ACCESS EXCLUSIVE MODE"))
                .await
                .map_err(CleanupError::db(format!("lock {table}")))?;
            let manifest =
                archive::archive_table(ctx.client, schema, table, dir_ref, step_ref).await?;
            let ddl_sql =
                String::from_utf8_lossy(&files::read(std::path::Path::new(&manifest.ddl_file))?)
                    .into_owned();
            let record = RollbackRecord {
                step: step_ref.clone(),
                object_name: table.to_string(),
                kind: "archived_table".into(),
                ddl: ddl_sql,
                restore_sql: None,
                archive: Some(serde_json::to_value(&manifest).unwrap_or(Value::Null)),
                file: Some(manifest.data_file.clone()),
            };
            state::record_rollback(ctx.client, ctx.phase, &[record]).await?;
            ctx.client
                .batch_execute(&format!("DROP TABLE {src_ref}"))
                .await
                .map_err(CleanupError::db(format!("drop {table}")))?;
            Ok(json!({ "removed": true, "rows": manifest.rows, "archive": manifest }))
        },
    )
    .await
}

/// Runs the final cleanup.
pub(crate) async fn apply(ctx: &Ctx<'_>) -> Result<()> {
    ctx.step("pf.unused_report", "reports", || {
        reports::unused_report(ctx)
    })
    .await?;
    for t in &ctx.config.final_cleanup.approved_for_removal {
        ctx.step(&format!("pf.archive.{t}"), &format!("archive.{t}"), || {
            remove(ctx, t)
        })
        .await?;
    }
    ctx.step("pf.index_report", "reports", || reports::index_report(ctx))
        .await?;
    ctx.step("pf.integrity_report", "reports", || {
        reports::integrity_report(ctx)
    })
    .await?;
    for c in &ctx.config.final_cleanup.constraints {
        ctx.step(
            &format!("pf.constraint.{}", c.name),
            &format!("constraint.{}", c.name),
            || constraints::apply(ctx, c),
        )
        .await?;
    }
    // Always regenerated: the documentation describes the latest state.
    state::mark_running(ctx.client, ctx.phase, "pf.dictionary", "docs").await?;
    let docs = dictionary::generate(ctx).await?;
    state::mark(ctx.client, ctx.phase, "pf.dictionary", "done", &docs, None).await?;
    Ok(())
}

/// The dry run.
pub(crate) async fn plan(ctx: &Ctx<'_>) -> Result<Plan> {
    let schema = ctx.schema();
    let (unused, reset) = reports::unused_tables(ctx.client, ctx.config).await?;
    let mut steps = vec![PlannedStep {
        id: "pf.unused_report".into(),
        title: format!(
            "unused-table report (task_122, read-only): {} candidates, statistics since {}",
            unused.len(),
            reset.unwrap_or_else(|| "never reset".into())
        ),
        notes: unused
            .iter()
            .map(|u| format!("unused: {}", u.table))
            .collect(),
        ..Default::default()
    }];
    for t in &ctx.config.final_cleanup.approved_for_removal {
        let mut s = PlannedStep {
            id: format!("pf.archive.{t}"),
            title: format!("archive then remove {t} (task_123)"),
            ..Default::default()
        };
        if ctx.config.is_protected(t) {
            s.blockers
                .push(Blocked::new(&s.id, format!("{t} is published by the sync")));
        }
        match catalog::relation_kind(ctx.client, schema, t)
            .await?
            .as_deref()
        {
            Some("r") => {
                let rows = catalog::count_rows(ctx.client, schema, t).await?;
                s.affected.push(AffectedTable {
                    table: t.clone(),
                    rows,
                    action: "archive (CSV + DDL + SHA-256), restore test, drop".into(),
                });
                s.dependents = catalog::dependents(ctx.client, schema, std::slice::from_ref(t))
                    .await?
                    .into_values()
                    .flatten()
                    .collect();
                if !s.dependents.is_empty() {
                    s.blockers.push(
                        Blocked::new(&s.id, format!("{t} is referenced"))
                            .detail(s.dependents.join("\n")),
                    );
                }
                s.statements = vec![
                    format!(
                        "LOCK TABLE {} IN ACCESS EXCLUSIVE MODE",
                        qualified(schema, t)
                    ),
                    format!(
                        "COPY {} TO '{}/{t}.csv' (FORMAT csv, HEADER)",
                        qualified(schema, t),
                        archive_dir(ctx.config).display()
                    ),
                    format!(
                        "CREATE TABLE {} (…); COPY … FROM '{t}.csv'; -- restore test, compared row for row",
                        qualified(archive::SCRATCH_SCHEMA, t)
                    ),
                    format!("DROP TABLE {}", qualified(schema, t)),
                ];
                s.freed = catalog::footprint(ctx.client, schema, std::slice::from_ref(t)).await?;
            }
            _ => s
                .notes
                .push(format!("{t} is not a table of {schema}: nothing to do")),
        }
        steps.push(s);
    }
    steps.push(PlannedStep { id: "pf.index_report".into(), title: "index report: unused non-unique indexes, foreign-key-like columns without an index (task_124, read-only)".into(), ..Default::default() });
    steps.push(PlannedStep { id: "pf.integrity_report".into(), title: "integrity report: orphans, duplicates, NULLs in required columns (task_125, reported, not fixed)".into(), ..Default::default() });
    for c in &ctx.config.final_cleanup.constraints {
        let mut s = PlannedStep {
            id: format!("pf.constraint.{}", c.name),
            title: format!(
                "add {} on {} NOT VALID, then VALIDATE (task_126)",
                c.name, c.table
            ),
            statements: vec![
                constraints::add_sql(schema, c),
                constraints::validate_sql(schema, c),
            ],
            ..Default::default()
        };
        if ctx.config.is_protected(&c.table) {
            s.blockers.push(Blocked::new(
                &s.id,
                format!("{} is published by the sync", c.table),
            ));
        }
        steps.push(s);
    }
    steps.push(PlannedStep {
        id: "pf.dictionary".into(),
        title: "data dictionary (Markdown) and ERD (Mermaid) of the result (task_128)".into(),
        ..Default::default()
    });
    Ok(Plan {
        phase: ctx.phase,
        steps,
    })
}

/// `rollback final`: archived tables come back from their CSV (checksum checked),
/// constraints are dropped.
pub(crate) async fn rollback(ctx: &Ctx<'_>) -> Result<Value> {
    let records = state::pending_rollbacks(ctx.client, ctx.phase).await?;
    let mut log = serde_json::Map::new();
    for r in &records {
        let outcome = match r.kind.as_str() {
            "archived_table" | "table" => crate::phase1::rollback::restore_table(ctx, r).await?,
            "sql" => {
                ddl::in_tx(ctx, &format!("undo {}", r.object_name), || async move {
                    ctx.client.batch_execute(&r.ddl).await.map_err(CleanupError::db(format!("undo {}", r.object_name)))?;
                    ctx.client
                        .execute("UPDATE supra_sync_cleanup.rollback_ddl SET applied_at = now() WHERE phase = $1 AND object_name = $2", &[&ctx.phase.as_str(), &r.object_name])
                        .await
                        .map_err(CleanupError::db("mark the rollback applied"))?;
                    Ok(())
                })
                .await?;
                "dropped".to_string()
            }
            other => format!("unknown kind {other}: left alone"),
        };
        log.insert(r.object_name.clone(), Value::String(outcome));
    }
    state::forget_phase(ctx.client, ctx.phase).await?;
    Ok(json!({ "objects": log }))
}
