//! Persistent staging, backup-artifact, report-temp and CFDI staging tables (seed 000
//! P1-S3-07): `tmpses` must hold no active session and `tmp_gestordocumental` no pending
//! document, or the whole group stops; any other table that still holds rows is archived
//! (CSV + DDL + SHA-256, restore-tested) before it is dropped; `tablastmp` goes last.

use serde_json::{Value, json};

use crate::catalog::{self, qualified};
use crate::error::{Blocked, CleanupError, Result};
use crate::final_::archive;
use crate::job::state::{self, RollbackRecord};
use crate::job::{Ctx, ddl, files};
use crate::plan::{AffectedTable, PlannedStep};

/// Persistent staging tables (P1-S3-07), `tablastmp` last.
pub(crate) const STAGING: [&str; 13] = [
    "tmpcntt",
    "tmpcrr",
    "tmpfac",
    "tmpimpufact",
    "tmplin",
    "tmplinprecsubcon",
    "tmpgeo",
    "tmpmejdiaremcal",
    "tmpses",
    "tmpsesevtcliente",
    "tmpsesmonproccanc",
    "tmp_gestordocumental",
    "contratos_aplicacion_anticipo_masivo_tmp",
];
/// Backup artifacts.
pub(crate) const ARTIFACTS: [&str; 3] = [
    "zz_backupexpedsif",
    "zz_backuphisexpedsif",
    "imagenmigradas",
];
/// Further backup artifacts (`zz_backup*`), report temp tables (`tmtr*`) and CFDI staging
/// tables (`cfditmp*`).
pub(crate) const PATTERNS: [&str; 3] = [
    r"^zz_backup",
    r"^tmtr",
    r"^(cfditmp|cfdi_?(tmp|temp|stg|staging)|tmp_?cfdi)",
];
/// Tracks temp tables: dropped last.
pub(crate) const LAST: &str = "tablastmp";

pub(crate) const CHECK_STEP: &str = "p1.staging.check";
pub(crate) const ROLLBACK_STEP: &str = "p1.staging.rollback_ddl";

/// The candidates present now, in drop order (`tablastmp` last).
pub(crate) async fn candidates(ctx: &Ctx<'_>) -> Result<Vec<String>> {
    let schema = ctx.schema();
    let mut names: Vec<String> = STAGING
        .iter()
        .chain(ARTIFACTS.iter())
        .map(|s| s.to_string())
        .collect();
    for p in PATTERNS {
        for t in catalog::tables_matching(ctx.client, schema, p).await? {
            if !names.contains(&t) {
                names.push(t);
            }
        }
    }
    names.push(LAST.to_string());
    catalog::existing(ctx.client, schema, &names).await
}

/// Rows of `table`, or 0 when it does not exist.
async fn rows_of(ctx: &Ctx<'_>, table: &str) -> Result<Option<i64>> {
    if catalog::relation_kind(ctx.client, ctx.schema(), table)
        .await?
        .is_none()
    {
        return Ok(None);
    }
    Ok(Some(
        catalog::count_rows(ctx.client, ctx.schema(), table).await?,
    ))
}

/// The seed's pre-drop safety checks plus dependents and protection.
pub(crate) async fn blockers(ctx: &Ctx<'_>, present: &[String]) -> Result<Vec<Blocked>> {
    let schema = ctx.schema();
    let mut out = Vec::new();
    if let Some(n) = rows_of(ctx, "tmpses").await?.filter(|n| *n > 0) {
        let sample = catalog::sample_rows(ctx.client, schema, "tmpses", "", 10).await?;
        out.push(
            Blocked::new(CHECK_STEP, format!("tmpses has {n} active session(s)"))
                .detail(format!("sessions:\n{}", sample.join("\n")))
                .hint(
                    "schedule the drop after all sessions expire (seed R9), then run apply again",
                ),
        );
    }
    if let Some(n) = rows_of(ctx, "tmp_gestordocumental")
        .await?
        .filter(|n| *n > 0)
    {
        let sample =
            catalog::sample_rows(ctx.client, schema, "tmp_gestordocumental", "", 10).await?;
        out.push(
            Blocked::new(
                CHECK_STEP,
                format!("tmp_gestordocumental has {n} pending document(s)"),
            )
            .detail(format!("documents:\n{}", sample.join("\n")))
            .hint("export or process the pending documents first (seed R8), then run apply again"),
        );
    }
    let protected: Vec<&String> = present
        .iter()
        .filter(|t| ctx.config.is_protected(t))
        .collect();
    if !protected.is_empty() {
        out.push(
            Blocked::new(CHECK_STEP, "staging tables are published by the sync")
                .detail(format!("{protected:?}")),
        );
    }
    let deps = catalog::dependents(ctx.client, schema, present).await?;
    if !deps.is_empty() {
        out.push(
            Blocked::new(
                CHECK_STEP,
                format!("{} staging table(s) have dependent objects", deps.len()),
            )
            .detail(
                deps.iter()
                    .map(|(t, d)| format!("{t}: {}", d.join(", ")))
                    .collect::<Vec<_>>()
                    .join("\n"),
            )
            .hint("drop or redefine the dependent objects first, then run apply again"),
        );
    }
    Ok(out)
}

/// Read-only plan of the group.
pub(crate) async fn plan(ctx: &Ctx<'_>) -> Result<PlannedStep> {
    let schema = ctx.schema();
    let present = candidates(ctx).await?;
    let counts = catalog::count_many(ctx.client, schema, &present).await?;
    let mut step = PlannedStep {
        id: "p1.staging".into(),
        title: "drop staging, artifact, report-temp and CFDI staging tables; archive any that hold rows; tablastmp last (P1-S3-07)".into(),
        ..Default::default()
    };
    step.blockers = blockers(ctx, &present).await?;
    for t in &present {
        let rows = counts.get(t).copied().unwrap_or(0);
        let action = if rows > 0 {
            "archive (CSV + DDL + SHA-256, restore test), drop"
        } else {
            "verify empty, drop"
        };
        step.affected.push(AffectedTable {
            table: t.clone(),
            rows,
            action: action.into(),
        });
        step.statements.push(format!(
            "LOCK TABLE {} IN ACCESS EXCLUSIVE MODE",
            qualified(schema, t)
        ));
        if rows > 0 {
            step.statements.push(format!(
                "COPY {} TO '<archive>/{t}.csv' (FORMAT csv, HEADER)",
                qualified(schema, t)
            ));
        }
        step.statements
            .push(format!("DROP TABLE {}", qualified(schema, t)));
    }
    step.freed = catalog::footprint(ctx.client, schema, &present).await?;
    Ok(step)
}

/// Safety checks (step `p1.staging.check`).
pub(crate) async fn check(ctx: &Ctx<'_>) -> Result<Value> {
    let present = candidates(ctx).await?;
    if let Some(b) = super::merge(blockers(ctx, &present).await?) {
        return Err(b.into());
    }
    Ok(json!({ "tables": present }))
}

/// Writes `rollback_staging.sql` (step `p1.staging.rollback_ddl`).
pub(crate) async fn record_rollback_file(ctx: &Ctx<'_>) -> Result<Value> {
    let schema = ctx.schema();
    let present = candidates(ctx).await?;
    let ddls = catalog::ddl::table_ddl_many(ctx.client, schema, &present, schema, false).await?;
    let header = String::from(
        "-- Rollback DDL for staging/artifact tables (seed 000 P1-S3-03). Tables that held rows\n\
         -- were archived: reload them with COPY … FROM '<archive>/<table>.csv' (FORMAT csv, HEADER).\n\n",
    );
    let sections: Vec<(String, String)> = present
        .iter()
        .filter_map(|t| ddls.get(t).map(|d| (format!("-- {t}"), d.sql.clone())))
        .collect();
    let path = ctx
        .config
        .archive_dir
        .join("phase1")
        .join("rollback_staging.sql");
    let sha = files::write_sections(&path, &header, &sections)?;
    Ok(json!({ "file": path.display().to_string(), "sha256": sha, "tables": present }))
}

/// Drops one table (archiving it first if it holds rows), recording rollback atomically.
pub(crate) async fn drop_one(ctx: &Ctx<'_>, table: &str) -> Result<Value> {
    let schema = ctx.schema();
    let step = format!("p1.staging.{table}");
    ctx.guard(table)?;
    if catalog::relation_kind(ctx.client, schema, table)
        .await?
        .is_none()
    {
        return Ok(json!({ "dropped": false, "reason": "does not exist" }));
    }
    let src = qualified(schema, table);
    let dir = archive::dir(&ctx.config.archive_dir, "1");
    let rollback_file = ctx
        .config
        .archive_dir
        .join("phase1")
        .join("rollback_staging.sql")
        .display()
        .to_string();
    let (step_ref, src_ref, dir_ref, file_ref) = (&step, &src, &dir, &rollback_file);
    ddl::in_tx(ctx, &format!("drop {schema}.{table}"), || async move {
        ctx.client
            .batch_execute(&format!("LOCK TABLE {src_ref} IN ACCESS EXCLUSIVE MODE"))
            .await
            .map_err(CleanupError::db(format!("lock {schema}.{table}")))?;
        let rows = catalog::count_rows(ctx.client, schema, table).await?;
        let ddl = catalog::ddl::table_ddl(ctx.client, schema, table, schema, false).await?;
        let manifest = if rows > 0 {
            Some(archive::archive_table(ctx.client, schema, table, dir_ref, step_ref).await?)
        } else {
            None
        };
        let record = RollbackRecord {
            step: step_ref.clone(),
            object_name: table.to_string(),
            kind: if manifest.is_some() {
                "archived_table".into()
            } else {
                "table".into()
            },
            ddl: ddl.sql,
            restore_sql: None,
            archive: manifest
                .as_ref()
                .map(|m| serde_json::to_value(m).unwrap_or(Value::Null)),
            file: Some(file_ref.clone()),
        };
        state::record_rollback(ctx.client, ctx.phase, &[record]).await?;
        ctx.client
            .batch_execute(&format!("DROP TABLE {src_ref}"))
            .await
            .map_err(CleanupError::db(format!("drop {schema}.{table}")))?;
        Ok(json!({ "dropped": true, "rows": rows, "archive": manifest }))
    })
    .await
}
