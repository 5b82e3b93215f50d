//! Phase 1 (seed 000): emergency cleanup.
//!
//! ```text
//!  p1.inventory ─► for tmp_deuda, aux_varscreditored, tmpbb:
//!                    create ─► check ─► rollback_ddl (file + state) ─► migrate (ledger) ─► drop
//!                    (batches, governor, CHECKPOINT)      [tmp_deuda then p1.catalog_vacuum]
//!               ─► p1.spain (all empty or nothing) ─► p1.staging.* (check, archive if rows,
//!                    tablastmp last) ─► p1.vacuum_full ─► p1.tarea ─► p1.metrics_after
//! ```

pub(crate) mod families;
pub(crate) mod inventory;
pub(crate) mod preflight;
pub(crate) mod rollback;
pub(crate) mod spain;
pub(crate) mod staging;
pub(crate) mod tarea;
pub(crate) mod transfer;
pub(crate) mod verify;

use serde_json::{Value, json};

use self::families::{FAMILIES, Family};
use crate::catalog::{self, qualified};
use crate::error::{Blocked, Result};
use crate::job::{Ctx, ddl, state};
use crate::plan::{AffectedTable, Plan, PlannedStep};

/// Folds several blockers into one (the first leads, the rest go to the detail).
pub(crate) fn merge(mut blockers: Vec<Blocked>) -> Option<Blocked> {
    if blockers.len() <= 1 {
        return blockers.pop();
    }
    let mut first = blockers.remove(0);
    let mut detail = first.detail.take().unwrap_or_default();
    for b in &blockers {
        detail.push_str(&format!("\nalso: {}", b.primary));
        if let Some(d) = &b.detail {
            detail.push_str(&format!("\n{d}"));
        }
    }
    first.primary = format!("{} (and {} more problem(s))", first.primary, blockers.len());
    first.detail = Some(detail);
    Some(first)
}

async fn create(ctx: &Ctx<'_>, f: &Family) -> Result<Value> {
    let step = format!("p1.{}.create", f.name);
    ctx.guard(f.name)?;
    match families::consolidated_state(ctx.client, ctx.schema(), f, &step).await? {
        Err(b) => return Err(b.into()),
        Ok(true) => return Ok(json!({ "created": false })),
        Ok(false) => {}
    }
    let sql = f.create_sql(ctx.schema()).join(";\n");
    let record = state::RollbackRecord {
        step: step.clone(),
        object_name: f.name.to_string(),
        kind: "created_table".into(),
        ddl: format!("DROP TABLE {}", qualified(ctx.schema(), f.name)),
        restore_sql: None,
        archive: None,
        file: None,
    };
    let (sql_ref, rec_ref) = (&sql, &record);
    ddl::in_tx(ctx, &format!("create {}", f.name), || async move {
        state::record_rollback(ctx.client, ctx.phase, std::slice::from_ref(rec_ref)).await?;
        ctx.client
            .batch_execute(sql_ref)
            .await
            .map_err(crate::error::CleanupError::db(format!("create {}", f.name)))
    })
    .await?;
    Ok(json!({ "created": true }))
}

async fn check(ctx: &Ctx<'_>, f: &Family) -> Result<Value> {
    let step = format!("p1.{}.check", f.name);
    let schema = ctx.schema();
    let instances = catalog::tables_matching(ctx.client, schema, f.regex).await?;
    let counts = catalog::count_many(ctx.client, schema, &instances).await?;
    let migrated: Vec<String> = transfer::ledger(ctx.client, f.name)
        .await?
        .into_iter()
        .map(|l| l.0)
        .collect();
    let blockers = preflight::check(
        ctx.client, ctx.config, f, &instances, &counts, &migrated, &step,
    )
    .await?;
    if let Some(b) = merge(blockers) {
        return Err(b.into());
    }
    let non_empty = counts.values().filter(|n| **n > 0).count();
    Ok(
        json!({ "instances": instances.len(), "non_empty": non_empty, "rows": counts.values().sum::<i64>() }),
    )
}

async fn rollback_ddl(ctx: &Ctx<'_>, f: &Family) -> Result<Value> {
    let instances = catalog::tables_matching(ctx.client, ctx.schema(), f.regex).await?;
    transfer::record_rollback(ctx, f, &instances).await
}

async fn vacuum(ctx: &Ctx<'_>, full: bool) -> Result<Value> {
    if full && !ctx.config.vacuum_full_catalog {
        return Ok(json!({ "skipped": "vacuum_full_catalog is off" }));
    }
    let verb = if full { "VACUUM FULL" } else { "VACUUM" };
    for cat in ["pg_class", "pg_attribute", "pg_statistic", "pg_depend"] {
        ctx.progress(
            if full {
                "p1.vacuum_full"
            } else {
                "p1.catalog_vacuum"
            },
            cat,
            0,
            4,
        );
        ddl::outside_tx(ctx, &format!("{verb} {cat}"), &format!("{verb} {cat}")).await?;
    }
    for cat in ["pg_class", "pg_attribute", "pg_statistic", "pg_depend"] {
        ddl::outside_tx(ctx, &format!("ANALYZE {cat}"), &format!("ANALYZE {cat}")).await?;
    }
    Ok(json!({ "vacuum": verb }))
}

/// Instances that appeared after the family was done (an unpatched code path, seed R10)
/// reopen the family: its steps run again and handle only the new tables.
async fn reopen_if_reaccumulated(ctx: &Ctx<'_>, f: &Family) -> Result<()> {
    if !is_done(ctx, &format!("p1.{}.drop", f.name)).await? {
        return Ok(());
    }
    let known: std::collections::BTreeSet<String> = transfer::ledger(ctx.client, f.name)
        .await?
        .into_iter()
        .map(|l| l.0)
        .collect();
    let new: Vec<String> = catalog::tables_matching(ctx.client, ctx.schema(), f.regex)
        .await?
        .into_iter()
        .filter(|t| !known.contains(t))
        .collect();
    if new.is_empty() {
        return Ok(());
    }
    tracing::warn!(
        family = f.name,
        tables = new.len(),
        "table-per-process instances re-accumulated; reopening the family"
    );
    inventory::add_to_snapshot(ctx.client, ctx.schema(), &new).await?;
    let steps: Vec<String> = ["check", "rollback_ddl", "migrate", "drop"]
        .iter()
        .map(|s| format!("p1.{}.{s}", f.name))
        .collect();
    state::forget_steps(ctx.client, ctx.phase, &steps).await
}

/// Runs phase 1.
pub(crate) async fn apply(ctx: &Ctx<'_>, dump_target: Option<&str>) -> Result<()> {
    ctx.step("p1.inventory", "inventory", || {
        inventory::apply(ctx, dump_target)
    })
    .await?;
    for f in &FAMILIES {
        let g = f.name;
        reopen_if_reaccumulated(ctx, f).await?;
        ctx.step(&format!("p1.{g}.create"), g, || create(ctx, f))
            .await?;
        ctx.step(&format!("p1.{g}.check"), g, || check(ctx, f))
            .await?;
        ctx.step(&format!("p1.{g}.rollback_ddl"), g, || rollback_ddl(ctx, f))
            .await?;
        ctx.step(&format!("p1.{g}.migrate"), g, || transfer::migrate(ctx, f))
            .await?;
        ctx.step(&format!("p1.{g}.drop"), g, || {
            transfer::drop_instances(ctx, f)
        })
        .await?;
        if g == "tmp_deuda" {
            ctx.step("p1.catalog_vacuum", "catalog_vacuum", || vacuum(ctx, false))
                .await?;
        }
    }
    ctx.step(spain::STEP, "spain", || spain::apply(ctx)).await?;
    ctx.step(staging::CHECK_STEP, "staging", || staging::check(ctx))
        .await?;
    ctx.step(staging::ROLLBACK_STEP, "staging", || {
        staging::record_rollback_file(ctx)
    })
    .await?;
    if !ctx.group_blocked("staging") {
        for t in staging::candidates(ctx).await? {
            ctx.step(&format!("p1.staging.{t}"), "staging", || {
                staging::drop_one(ctx, &t)
            })
            .await?;
        }
    }
    ctx.step("p1.vacuum_full", "vacuum_full", || vacuum(ctx, true))
        .await?;
    ctx.step(tarea::STEP, "tarea", || tarea::apply(ctx)).await?;
    // Always re-measured: the after figures belong to the latest apply.
    state::mark_running(ctx.client, ctx.phase, "p1.metrics_after", "metrics").await?;
    let after = inventory::apply_after(ctx, dump_target).await?;
    state::mark(
        ctx.client,
        ctx.phase,
        "p1.metrics_after",
        "done",
        &after,
        None,
    )
    .await?;
    Ok(())
}

async fn is_done(ctx: &Ctx<'_>, id: &str) -> Result<bool> {
    Ok(state::load(ctx.client, ctx.phase, id)
        .await?
        .map(|r| r.status == "done")
        .unwrap_or(false))
}

/// The dry run of phase 1.
pub(crate) async fn plan(ctx: &Ctx<'_>) -> Result<Plan> {
    let schema = ctx.schema();
    let mut steps = Vec::new();
    let tables = catalog::tables_matching(ctx.client, schema, ".")
        .await?
        .len();
    steps.push(PlannedStep {
        id: "p1.inventory".into(),
        title: "inventory into audit_inventory (table_snapshot, fk_snapshot, summary_by_category) and baseline metrics (P1-S1-01, P1-S1-04)".into(),
        done: is_done(ctx, "p1.inventory").await?,
        statements: vec![
            "CREATE SCHEMA IF NOT EXISTS audit_inventory".into(),
            format!("INSERT INTO audit_inventory.table_snapshot … ({tables} tables of {schema})"),
            "INSERT INTO audit_inventory.fk_snapshot …".into(),
        ],
        notes: vec![format!("summary CSV and metrics go to {}", ctx.config.archive_dir.join("phase1").display())],
        ..Default::default()
    });
    for f in &FAMILIES {
        steps.push(plan_family(ctx, f).await?);
        if f.name == "tmp_deuda" {
            steps.push(PlannedStep {
                id: "p1.catalog_vacuum".into(),
                title: "intermediate catalog VACUUM (P1-S2-04)".into(),
                done: is_done(ctx, "p1.catalog_vacuum").await?,
                statements: ["pg_class", "pg_attribute", "pg_statistic", "pg_depend"]
                    .iter()
                    .map(|c| format!("VACUUM {c}"))
                    .chain([
                        "ANALYZE pg_class".to_string(),
                        "ANALYZE pg_attribute".to_string(),
                    ])
                    .collect(),
                ..Default::default()
            });
        }
    }
    let mut s = spain::plan(ctx).await?;
    s.done = is_done(ctx, spain::STEP).await?;
    steps.push(s);
    steps.push(staging::plan(ctx).await?);
    steps.push(PlannedStep {
        id: "p1.vacuum_full".into(),
        title: "VACUUM FULL and ANALYZE of the catalogs (P1-S3-08); takes exclusive catalog locks"
            .into(),
        done: is_done(ctx, "p1.vacuum_full").await?,
        statements: if ctx.config.vacuum_full_catalog {
            ["pg_class", "pg_attribute", "pg_statistic", "pg_depend"]
                .iter()
                .map(|c| format!("VACUUM FULL {c}"))
                .collect()
        } else {
            Vec::new()
        },
        ..Default::default()
    });
    let mut t = tarea::plan(ctx).await?;
    t.done = is_done(ctx, tarea::STEP).await?;
    steps.push(t);
    steps.push(PlannedStep {
        id: "p1.metrics_after".into(),
        title: "post inventory (audit_inventory.table_snapshot_post) and after metrics (P1-S4-02)"
            .into(),
        ..Default::default()
    });
    Ok(Plan {
        phase: ctx.phase,
        steps,
    })
}

async fn plan_family(ctx: &Ctx<'_>, f: &Family) -> Result<PlannedStep> {
    let schema = ctx.schema();
    let id = format!("p1.{}", f.name);
    let instances = catalog::tables_matching(ctx.client, schema, f.regex).await?;
    let counts = catalog::count_many(ctx.client, schema, &instances).await?;
    let migrated: Vec<String> = transfer::ledger(ctx.client, f.name)
        .await?
        .into_iter()
        .map(|l| l.0)
        .collect();
    let mut step = PlannedStep {
        id: id.clone(),
        title: format!(
            "consolidate {} instances of {}_<id> into {} and drop them",
            instances.len(),
            f.name,
            f.name
        ),
        done: is_done(ctx, &format!("{id}.drop")).await?,
        ..Default::default()
    };
    match families::consolidated_state(ctx.client, schema, f, &format!("{id}.create")).await? {
        Err(b) => step.blockers.push(b),
        Ok(true) => step.notes.push(format!(
            "{schema}.{} exists with the expected columns",
            f.name
        )),
        Ok(false) => step.statements.extend(f.create_sql(schema)),
    }
    step.blockers.extend(
        preflight::check(
            ctx.client,
            ctx.config,
            f,
            &instances,
            &counts,
            &migrated,
            &format!("{id}.check"),
        )
        .await?,
    );
    step.dependents = catalog::dependents(ctx.client, schema, &instances)
        .await?
        .into_iter()
        .flat_map(|(t, d)| d.into_iter().map(move |d| format!("{t}: {d}")))
        .collect();
    step.notes.push(format!(
        "rollback DDL of every instance goes to {} and supra_sync_cleanup.rollback_ddl before any drop",
        ctx.config.archive_dir.join("phase1").join(f.rollback_file).display()
    ));
    for t in &instances {
        let rows = counts.get(t).copied().unwrap_or(0);
        if rows > 0 {
            step.statements
                .push(f.migrate_sql(schema, t, f.proceso_id(t)));
        }
    }
    let batch = ctx.config.drop_batch_size.max(1);
    for (i, t) in instances.iter().enumerate() {
        let rows = counts.get(t).copied().unwrap_or(0);
        let action = if rows > 0 {
            format!(
                "migrate {rows} rows (proceso_id {}), drop",
                f.proceso_id(t).unwrap_or_default()
            )
        } else {
            "verify empty, drop".into()
        };
        step.affected.push(AffectedTable {
            table: t.clone(),
            rows,
            action,
        });
        step.statements
            .push(format!("DROP TABLE {}", qualified(schema, t)));
        if ctx.config.checkpoint_between_batches && (i + 1) % batch == 0 && i + 1 < instances.len()
        {
            step.statements.push("CHECKPOINT".into());
        }
    }
    step.freed = catalog::footprint(ctx.client, schema, &instances).await?;
    Ok(step)
}
