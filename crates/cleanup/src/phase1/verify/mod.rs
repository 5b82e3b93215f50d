//! `verify 1`: the checks of seed 000 §7 (Definition of Done) and P1-S4-01 that a database
//! can answer, plus the invariants of the sidecar (nothing unintended dropped, rollback
//! recorded for everything dropped, published tables untouched).

use tokio_postgres::Client;

mod rows;

use self::rows::{functional_test, no_data_loss, tarea_check};
use super::families::{BUGGY_TMPBB_COLUMNS, FAMILIES};
use super::{spain, staging};
use crate::catalog;
use crate::check::CheckResult;
use crate::config::CleanupConfig;
use crate::error::{CleanupError, Result};
use crate::job::state;
use crate::phase::Phase;

async fn scalar(
    client: &Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<i64> {
    Ok(client
        .query_one(sql, params)
        .await
        .map_err(CleanupError::db("run a verification query"))?
        .get(0))
}

async fn snapshot_exists(client: &Client) -> Result<bool> {
    Ok(client
        .query_one(
            "SELECT to_regclass('audit_inventory.table_snapshot') IS NOT NULL",
            &[],
        )
        .await
        .map_err(CleanupError::db("look for the inventory"))?
        .get(0))
}

/// Runs every check.
pub(crate) async fn verify(client: &Client, config: &CleanupConfig) -> Result<Vec<CheckResult>> {
    let schema = config.schema.as_str();
    let mut out = Vec::new();

    let remaining = scalar(
        client,
        r"SELECT count(*) FROM pg_tables WHERE schemaname = $1
            AND (tablename ~ '^tmp_deuda_\d+' OR tablename ~ '^aux_varscreditored_\d+' OR tablename ~ '^tmpbb_\d+')",
        &[&schema],
    )
    .await?;
    out.push(CheckResult::new(
        "p1.dod.zero_transient",
        "no tmp_deuda_*, aux_varscreditored_*, tmpbb_* tables",
        remaining == 0,
        format!("{remaining} remaining"),
    ));

    let mut shapes_ok = true;
    let mut shape_detail = Vec::new();
    for f in &FAMILIES {
        let cols = catalog::columns(client, schema, f.name).await?;
        let ok = cols == f.consolidated_columns();
        shapes_ok &= ok;
        shape_detail.push(format!(
            "{}={} columns{}",
            f.name,
            cols.len(),
            if ok { "" } else { " (WRONG)" }
        ));
    }
    out.push(CheckResult::new(
        "p1.dod.consolidated_columns",
        "consolidated tables have the seed's columns (6/5/16)",
        shapes_ok,
        shape_detail.join(", "),
    ));

    let mut functional = Vec::new();
    for f in &FAMILIES {
        if catalog::relation_kind(client, schema, f.name)
            .await?
            .is_none()
        {
            functional.push(format!("{}: missing", f.name));
            continue;
        }
        match functional_test(client, schema, f.name, f.key).await {
            Ok(true) => {}
            Ok(false) => functional.push(format!("{}: insert/select/delete mismatch", f.name)),
            Err(e) => functional.push(format!("{}: {e}", f.name)),
        }
    }
    out.push(CheckResult::new(
        "p1.dod.consolidated_functional",
        "INSERT/SELECT/DELETE work on the consolidated tables (rolled back)",
        functional.is_empty(),
        if functional.is_empty() {
            "all three work".into()
        } else {
            functional.join("; ")
        },
    ));

    let tmpbb_cols: Vec<String> = catalog::columns(client, schema, "tmpbb")
        .await?
        .into_iter()
        .map(|c| c.0)
        .collect();
    let buggy: Vec<&&str> = BUGGY_TMPBB_COLUMNS
        .iter()
        .filter(|c| tmpbb_cols.iter().any(|t| t == **c))
        .collect();
    out.push(CheckResult::new(
        "p1.dod.tmpbb_fixed",
        "tmpbb uses the real columns (bbfbleid, bbsbid, …), not bbid/bbexpid/…",
        buggy.is_empty() && tmpbb_cols.iter().any(|c| c == "bbfbleid"),
        format!("buggy columns present: {buggy:?}"),
    ));

    out.push(no_data_loss(client, schema).await?);

    let vacuumed = state::load(client, Phase::One, "p1.vacuum_full").await?;
    let (ok, detail) = match vacuumed {
        Some(r) if r.status == "done" && r.state.get("skipped").is_none() => (
            true,
            format!(
                "done at {}",
                r.finished_at.map(|t| t.to_rfc3339()).unwrap_or_default()
            ),
        ),
        Some(r) if r.status == "done" => (
            false,
            "skipped by configuration (vacuum_full_catalog = false)".into(),
        ),
        _ => (false, "not run".into()),
    };
    out.push(CheckResult::new(
        "p1.dod.catalog_vacuumed",
        "VACUUM FULL on pg_class, pg_attribute, pg_statistic, pg_depend",
        ok,
        detail,
    ));

    out.push(tarea_check(client, schema).await?);

    let staging_left = catalog::existing(
        client,
        schema,
        &staging::STAGING
            .iter()
            .chain(staging::ARTIFACTS.iter())
            .chain([staging::LAST].iter())
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
    )
    .await?;
    out.push(CheckResult::new(
        "p1.s4.staging_gone",
        "no staging/artifact tables remain (P1-S4-01 query 4)",
        staging_left.is_empty(),
        format!("remaining: {staging_left:?}"),
    ));

    let spain_left = catalog::existing(
        client,
        schema,
        &spain::SPAIN_TABLES
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>(),
    )
    .await?;
    out.push(CheckResult::new(
        "p1.s3.spain_gone",
        "Spain-specific tables dropped (P1-S3-06)",
        spain_left.is_empty(),
        format!("remaining: {spain_left:?}"),
    ));

    if snapshot_exists(client).await? {
        let kept = client
            .query(
                "SELECT s.table_name, s.category FROM audit_inventory.table_snapshot s
                  WHERE s.schema_name = $1
                    AND s.category IN ('other', 'history', 'lookup', 'liq_generic', 'consolidated')
                    AND NOT EXISTS (SELECT 1 FROM pg_tables t WHERE t.schemaname = s.schema_name AND t.tablename = s.table_name)",
                &[&schema],
            )
            .await
            .map_err(CleanupError::db("compare with the inventory"))?;
        let lost: Vec<String> = kept
            .iter()
            .map(|r| format!("{} ({})", r.get::<_, String>(0), r.get::<_, String>(1)))
            .collect();
        out.push(CheckResult::new(
            "p1.unintended_drops",
            "no table outside the cleanup lists disappeared (generic liq* intact)",
            lost.is_empty(),
            if lost.is_empty() {
                "none".into()
            } else {
                format!("missing: {}", lost.join(", "))
            },
        ));

        let unrecorded = client
            .query(
                "SELECT s.table_name FROM audit_inventory.table_snapshot s
                  WHERE s.schema_name = $1
                    AND NOT EXISTS (SELECT 1 FROM pg_tables t WHERE t.schemaname = s.schema_name AND t.tablename = s.table_name)
                    AND NOT EXISTS (SELECT 1 FROM supra_sync_cleanup.rollback_ddl r WHERE r.phase = '1' AND r.object_name = s.table_name)
                  ORDER BY 1 LIMIT 20",
                &[&schema],
            )
            .await
            .map_err(CleanupError::db("look for unrecorded drops"))?;
        let unrecorded: Vec<String> = unrecorded.iter().map(|r| r.get(0)).collect();
        out.push(CheckResult::new(
            "p1.rollback_recorded",
            "every dropped table has rollback DDL recorded (P1-S1-03)",
            unrecorded.is_empty(),
            if unrecorded.is_empty() {
                "all recorded".into()
            } else {
                format!("unrecorded: {unrecorded:?}")
            },
        ));

        let protected: Vec<String> = config
            .protected_tables
            .iter()
            .map(|p| p.rsplit('.').next().unwrap_or(p).to_string())
            .collect();
        let changed = client
            .query(
                "SELECT s.table_name FROM audit_inventory.table_snapshot s
                  WHERE s.schema_name = $1 AND s.table_name = ANY($2)
                    AND NOT EXISTS (
                        SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                         WHERE n.nspname = s.schema_name AND c.relname = s.table_name
                           AND (SELECT md5(string_agg(a.attname || ' ' || format_type(a.atttypid, a.atttypmod) || CASE WHEN a.attnotnull THEN ' not null' ELSE '' END, ', ' ORDER BY a.attnum))
                                  FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped) = s.column_signature)",
                &[&schema, &protected],
            )
            .await
            .map_err(CleanupError::db("check the published tables"))?;
        let changed: Vec<String> = changed.iter().map(|r| r.get(0)).collect();
        out.push(CheckResult::new(
            "p1.protected_untouched",
            "tables the sync publishes are unchanged",
            changed.is_empty(),
            format!(
                "{} protected; changed or missing: {changed:?}",
                protected.len()
            ),
        ));
    } else {
        out.push(CheckResult::new(
            "p1.inventory",
            "pre-cleanup inventory taken (P1-S1-01)",
            false,
            "audit_inventory.table_snapshot does not exist",
        ));
    }

    let total = scalar(
        client,
        "SELECT count(*) FROM pg_tables WHERE schemaname = $1",
        &[&schema],
    )
    .await?;
    out.push(CheckResult::new(
        "p1.dod.table_count",
        "schema holds <= 1,500 tables",
        total <= 1500,
        format!("{total} tables"),
    ));

    let before = state::load_metrics(client, Phase::One, "before").await?;
    let after = state::load_metrics(client, Phase::One, "after").await?;
    out.push(CheckResult::new(
        "p1.dod.metrics",
        "before/after metrics recorded (P1-S1-04, P1-S4-02)",
        before.is_some() && after.is_some(),
        format!("before: {}, after: {}", before.is_some(), after.is_some()),
    ));
    Ok(out)
}
