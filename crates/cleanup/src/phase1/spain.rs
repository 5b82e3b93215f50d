//! Spain-specific dead tables (seed 000 P1-S3-06): dropped only when every one of them is
//! empty, all in one transaction; a single table with rows aborts the step and nothing is
//! dropped. Generic `liq*` tables are not in the list and are never touched.

use serde_json::{Value, json};

use crate::catalog::{self, qualified};
use crate::error::{Blocked, CleanupError, Result};
use crate::job::state::{self, RollbackRecord};
use crate::job::{Ctx, ddl, files};
use crate::plan::PlannedStep;

/// The seed's list, verbatim.
pub(crate) const SPAIN_TABLES: [&str; 26] = [
    "liqanubaleares",
    "liqcobbalear",
    "liqcobpobbalear",
    "liqdetanubalear",
    "liqdetpobbalear",
    "liqanugalicia",
    "liqcobgalicia",
    "liqdetanugalic",
    "liqaacfacgali",
    "liqdatfacgali",
    "liqcarfacgali",
    "liqdetfacgali",
    "liqautocuadgali",
    "liqanumurcia",
    "liqcobmurcia",
    "liqdsimurcia",
    "liqcuadmurcia",
    "liqcobcat",
    "liqcieanucat",
    "liqcieabocat",
    "liqbloqcat",
    "liqcobpostcat",
    "liqdetvolcat",
    "liqautocuadcanta",
    "liqautocuadextr",
    "varbonifpvasco",
];

pub(crate) const STEP: &str = "p1.spain";

fn list() -> Vec<String> {
    SPAIN_TABLES.iter().map(|s| s.to_string()).collect()
}

/// Read-only: tables present, their rows, blockers, statements.
pub(crate) async fn plan(ctx: &Ctx<'_>) -> Result<PlannedStep> {
    let schema = ctx.schema();
    let present = catalog::existing(ctx.client, schema, &list()).await?;
    let counts = catalog::count_many(ctx.client, schema, &present).await?;
    let mut step = PlannedStep {
        id: STEP.into(),
        title: "drop Spain-specific tables if all are empty (P1-S3-06); generic liq* untouched"
            .into(),
        ..Default::default()
    };
    step.blockers = blockers(ctx, &present, &counts).await?;
    for t in &present {
        let rows = counts.get(t).copied().unwrap_or(0);
        step.affected.push(crate::plan::AffectedTable {
            table: t.clone(),
            rows,
            action: "verify empty, drop".into(),
        });
    }
    step.dependents = catalog::dependents(ctx.client, schema, &present)
        .await?
        .into_iter()
        .flat_map(|(t, d)| d.into_iter().map(move |d| format!("{t}: {d}")))
        .collect();
    step.freed = catalog::footprint(ctx.client, schema, &present).await?;
    if !present.is_empty() {
        step.statements.push(format!(
            "LOCK TABLE {} IN ACCESS EXCLUSIVE MODE",
            qualified_list(schema, &present)
        ));
        step.statements
            .push(format!("DROP TABLE {}", qualified_list(schema, &present)));
    }
    let missing = SPAIN_TABLES.len() - present.len();
    if missing > 0 {
        step.notes.push(format!(
            "{missing} of the seed's 26 tables do not exist (already dropped or never created)"
        ));
    }
    Ok(step)
}

fn qualified_list(schema: &str, tables: &[String]) -> String {
    tables
        .iter()
        .map(|t| qualified(schema, t))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn blockers(
    ctx: &Ctx<'_>,
    present: &[String],
    counts: &std::collections::BTreeMap<String, i64>,
) -> Result<Vec<Blocked>> {
    let mut out = Vec::new();
    let full: Vec<String> = present
        .iter()
        .filter_map(|t| {
            counts
                .get(t)
                .filter(|n| **n > 0)
                .map(|n| format!("{t} has {n} rows"))
        })
        .collect();
    if !full.is_empty() {
        out.push(
            Blocked::new(STEP, "Spain-specific tables are not empty -- ABORTING this step")
                .detail(full.join("\n"))
                .hint("confirm with the Aqualia ERP team what these rows are; archive them (final cleanup) or empty the tables, then run apply again"),
        );
    }
    let protected: Vec<&String> = present
        .iter()
        .filter(|t| ctx.config.is_protected(t))
        .collect();
    if !protected.is_empty() {
        out.push(
            Blocked::new(STEP, "Spain-specific tables are published by the sync")
                .detail(format!("{protected:?}")),
        );
    }
    let deps = catalog::dependents(ctx.client, ctx.schema(), present).await?;
    if !deps.is_empty() {
        out.push(
            Blocked::new(STEP, "Spain-specific tables have dependent objects")
                .detail(
                    deps.iter()
                        .map(|(t, d)| format!("{t}: {}", d.join(", ")))
                        .collect::<Vec<_>>()
                        .join("\n"),
                )
                .hint("drop or redefine the dependent objects first"),
        );
    }
    Ok(out)
}

/// Verifies and drops, atomically.
pub(crate) async fn apply(ctx: &Ctx<'_>) -> Result<Value> {
    let schema = ctx.schema();
    let present = catalog::existing(ctx.client, schema, &list()).await?;
    if present.is_empty() {
        return Ok(json!({ "dropped": 0 }));
    }
    let counts = catalog::count_many(ctx.client, schema, &present).await?;
    if let Some(b) = super::merge(blockers(ctx, &present, &counts).await?) {
        return Err(b.into());
    }
    let ddls = catalog::ddl::table_ddl_many(ctx.client, schema, &present, schema, false).await?;
    let path = ctx
        .config
        .archive_dir
        .join("phase1")
        .join("rollback_spain.sql");
    let header = "-- Rollback DDL for the Spain-specific tables (seed 000 P1-S3-06); they were empty when dropped.\n\n";
    let mut sections = Vec::new();
    let mut records = Vec::new();
    for t in &present {
        let Some(d) = ddls.get(t) else { continue };
        sections.push((format!("-- {t}"), d.sql.clone()));
        records.push(RollbackRecord {
            step: STEP.into(),
            object_name: t.clone(),
            kind: "table".into(),
            ddl: d.sql.clone(),
            restore_sql: None,
            archive: None,
            file: Some(path.display().to_string()),
        });
    }
    files::write_sections(&path, header, &sections)?;
    let list_sql = qualified_list(schema, &present);
    let (present_ref, records_ref, list_ref) = (&present, &records, &list_sql);
    ddl::in_tx(ctx, "drop the Spain-specific tables", || async move {
        ctx.client
            .batch_execute(&format!("LOCK TABLE {list_ref} IN ACCESS EXCLUSIVE MODE"))
            .await
            .map_err(CleanupError::db("lock the Spain-specific tables"))?;
        let counts = catalog::count_many(ctx.client, schema, present_ref).await?;
        let full: Vec<String> = counts
            .iter()
            .filter(|(_, n)| **n > 0)
            .map(|(t, n)| format!("{t} has {n} rows"))
            .collect();
        if !full.is_empty() {
            return Err(Blocked::new(
                STEP,
                "Spain-specific tables are not empty -- ABORTING this step",
            )
            .detail(full.join("\n"))
            .into());
        }
        state::record_rollback(ctx.client, ctx.phase, records_ref).await?;
        ctx.client
            .batch_execute(&format!("DROP TABLE {list_ref}"))
            .await
            .map_err(CleanupError::db("drop the Spain-specific tables"))?;
        Ok(())
    })
    .await?;
    Ok(json!({ "dropped": present.len(), "tables": present }))
}
