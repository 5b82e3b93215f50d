//! Phase 2 (seeds 001, 002): history tables into `audit_log`, lookups into `domain_value`.
//!
//! ```text
//!  p2.inventory (complex-table signatures) ─► p2.audit_log (table, 3 indexes, partitions,
//!  fn_audit_trigger) ─► p2.history.tiers (report) ─► per Tier 1 his* table:
//!      backfill (ledger) ─► trigger on base ─► <t>_compat view (types + rows checked)
//!      ─► [observation period] ─► swap: DROP TABLE <t>, view renamed to <t>
//!  p2.domain_value ─► per lookup: migrate_tipo_to_domain / link rows ─► view ─► swap
//! ```

pub(crate) mod audit;
pub(crate) mod history;
pub(crate) mod lookups;
pub(crate) mod retained;
mod rollback;
pub(crate) mod tiers;
mod verify;
pub(crate) mod views;

use serde_json::json;

use self::lookups::Kind;
use crate::catalog::{self, qualified};
use crate::error::{Blocked, Result};
use crate::job::{Ctx, state};
use crate::plan::{AffectedTable, Plan, PlannedStep};

pub(crate) use rollback::rollback;
pub(crate) use verify::verify;

/// The lookup tables of the configuration with their kind, complex ones excluded.
pub(crate) fn lookup_tables(ctx: &Ctx<'_>) -> Vec<(String, Kind)> {
    let l = &ctx.config.lookups;
    l.simple
        .iter()
        .chain(l.extended.iter())
        .map(|t| (t.clone(), Kind::Value))
        .chain(l.links.iter().map(|t| (t.clone(), Kind::Link)))
        .filter(|(t, _)| !l.complex.contains(t))
        .collect()
}

/// Runs phase 2.
pub(crate) async fn apply(ctx: &Ctx<'_>) -> Result<()> {
    ctx.step("p2.inventory", "inventory", || async {
        Ok(json!({ "complex": lookups::complex_signatures(ctx).await? }))
    })
    .await?;
    let today = chrono::Utc::now().date_naive();
    ctx.step("p2.audit_log", "audit", || audit::create(ctx, today))
        .await?;
    if let Some(tiers) = ctx
        .step("p2.history.tiers", "audit", || history::report(ctx))
        .await?
    {
        let tiers = history::recorded(&tiers);
        for t in tiers
            .iter()
            .filter(|t| ctx.config.history.keep.contains(&t.table))
        {
            let id = format!("p2.retained.{}", t.table);
            ctx.step(&id, &format!("retained.{}", t.table), || {
                retained::improve(ctx, t)
            })
            .await?;
        }
        for t in history::selected(ctx, &tiers) {
            let g = format!("history.{}", t.table);
            let id = |s: &str| format!("p2.hist.{}.{s}", t.table);
            ctx.step(&id("backfill"), &g, || history::backfill(ctx, &t))
                .await?;
            ctx.step(&id("trigger"), &g, || history::trigger(ctx, &t))
                .await?;
            ctx.step(&id("view"), &g, || history::view(ctx, &t)).await?;
            ctx.step(&id("drop"), &g, || history::retire(ctx, &t))
                .await?;
        }
    }
    ctx.step("p2.domain_value", "lookups", || lookups::create(ctx))
        .await?;
    if ctx.group_blocked("lookups") {
        return Ok(());
    }
    for (table, kind) in lookup_tables(ctx) {
        let done = state::load(ctx.client, ctx.phase, &format!("p2.lookup.{table}.migrate"))
            .await?
            .is_some();
        if !done
            && catalog::relation_kind(ctx.client, ctx.schema(), &table)
                .await?
                .as_deref()
                != Some("r")
        {
            continue;
        }
        let g = format!("lookup.{table}");
        let id = |s: &str| format!("p2.lookup.{table}.{s}");
        ctx.step(&id("migrate"), &g, || lookups::migrate(ctx, &table, kind))
            .await?;
        ctx.step(&id("view"), &g, || lookups::view(ctx, &table, kind))
            .await?;
        ctx.step(&id("drop"), &g, || lookups::retire(ctx, &table))
            .await?;
    }
    Ok(())
}

async fn done(ctx: &Ctx<'_>, id: &str) -> Result<bool> {
    Ok(state::load(ctx.client, ctx.phase, id)
        .await?
        .map(|r| r.status == "done")
        .unwrap_or(false))
}

/// The dry run of phase 2.
pub(crate) async fn plan(ctx: &Ctx<'_>) -> Result<Plan> {
    let schema = ctx.schema();
    let mut steps = Vec::new();
    steps.push(PlannedStep {
        id: "p2.audit_log".into(),
        title: "audit_log partitioned by month on al_changed_at, 24 months ahead, 3 indexes, fn_audit_trigger() (P2-S1-01..04)".into(),
        done: done(ctx, "p2.audit_log").await?,
        statements: vec![audit::audit_log_sql(schema), audit::trigger_sql(schema)],
        ..Default::default()
    });
    let tiers = history::tiers(ctx).await?;
    let selected = history::selected(ctx, &tiers);
    let mut report = PlannedStep {
        id: "p2.history.tiers".into(),
        title: format!(
            "tiering of {} his* tables: {} Tier 1 (migrate), {} Tier 2 (keep) (P2-S1-06)",
            tiers.len(),
            tiers.iter().filter(|t| t.tier == 1).count(),
            tiers.iter().filter(|t| t.tier == 2).count()
        ),
        ..Default::default()
    };
    for t in &tiers {
        report.notes.push(format!(
            "{}: tier {} — {} ({} rows, {:.1}/month)",
            t.table, t.tier, t.reason, t.rows, t.rows_per_month
        ));
    }
    steps.push(report);
    for t in tiers
        .iter()
        .filter(|t| ctx.config.history.keep.contains(&t.table))
    {
        let mut s = PlannedStep {
            id: format!("p2.retained.{}", t.table),
            title: format!(
                "{}: hst_operation, hst_id (numbered in batches, then unique), (key, hsthora DESC) index (P2-S3-07)",
                t.table
            ),
            done: done(ctx, &format!("p2.retained.{}", t.table)).await?,
            ..Default::default()
        };
        s.statements.push(format!("ALTER TABLE {} ADD COLUMN IF NOT EXISTS hst_operation CHAR(1), ADD COLUMN IF NOT EXISTS hst_id BIGINT", qualified(schema, &t.table)));
        s.statements.push(format!("UPDATE {} SET hst_id = nextval(…) WHERE … LIMIT 5000 -- repeated until every row is numbered", qualified(schema, &t.table)));
        s.statements.extend(retained::index_sql(schema, t));
        if ctx.config.is_protected(&t.table) {
            s.blockers.push(Blocked::new(
                &s.id,
                format!("{} is published by the sync", t.table),
            ));
        }
        steps.push(s);
    }
    for t in &selected {
        let mut s = PlannedStep {
            id: format!("p2.hist.{}", t.table),
            title: format!(
                "{} → audit_log (base {}), trigger, compatibility view, drop after the observation period",
                t.table,
                t.base.clone().unwrap_or_default()
            ),
            done: done(ctx, &format!("p2.hist.{}.drop", t.table)).await?,
            ..Default::default()
        };
        let source = format!("SELECT h FROM {} AS h", qualified(schema, &t.table));
        s.statements.push(history::backfill_sql(schema, t, &source));
        s.statements.push(history::trigger_sql(schema, t));
        if catalog::relation_kind(ctx.client, schema, &t.table)
            .await?
            .as_deref()
            == Some("r")
        {
            s.statements.push(format!(
                "CREATE VIEW {} AS {}",
                qualified(schema, &views::compat_name(&t.table)),
                history::view_select(ctx, t).await?
            ));
        }
        s.statements
            .push(format!("DROP TABLE {}", qualified(schema, &t.table)));
        s.statements.push(format!(
            "ALTER VIEW {} RENAME TO {}",
            qualified(schema, &views::compat_name(&t.table)),
            supra_sync_core::quote_ident(&t.table)
        ));
        s.affected.push(AffectedTable {
            table: t.table.clone(),
            rows: t.rows,
            action: "backfill, view, drop after observation".into(),
        });
        s.freed = catalog::footprint(ctx.client, schema, std::slice::from_ref(&t.table)).await?;
        steps.push(s);
    }
    steps.push(PlannedStep {
        id: "p2.domain_value".into(),
        title: "domain_value, domain_value_link, migrate_tipo_to_domain() (P2-S3-08, P2-S3-10, P2-S4-02)".into(),
        done: done(ctx, "p2.domain_value").await?,
        statements: vec![lookups::domain_sql(schema)],
        ..Default::default()
    });
    for (table, kind) in lookup_tables(ctx) {
        if catalog::relation_kind(ctx.client, schema, &table)
            .await?
            .as_deref()
            != Some("r")
        {
            continue;
        }
        let rows = catalog::count_rows(ctx.client, schema, &table).await?;
        let mut s = PlannedStep {
            id: format!("p2.lookup.{table}"),
            title: format!(
                "{table} → {} as {}",
                if kind == Kind::Link {
                    "domain_value_link"
                } else {
                    "domain_value"
                },
                lookups::domain_name(&table)
            ),
            done: done(ctx, &format!("p2.lookup.{table}.drop")).await?,
            ..Default::default()
        };
        if ctx.config.is_protected(&table) {
            s.blockers.push(Blocked::new(
                &s.id,
                format!("{table} is published by the sync"),
            ));
        }
        let deps: Vec<String> =
            catalog::dependents(ctx.client, schema, std::slice::from_ref(&table))
                .await?
                .into_values()
                .flatten()
                .collect();
        if !deps.is_empty() {
            s.blockers.push(
                Blocked::new(
                    &format!("p2.lookup.{table}.drop"),
                    format!("{table} has dependent objects: the drop will wait"),
                )
                .detail(deps.join("\n")),
            );
        }
        s.dependents = deps;
        match kind {
            Kind::Value => s.statements.push(format!(
                "SELECT {}.migrate_tipo_to_domain({}, …)",
                supra_sync_core::quote_ident(schema),
                supra_sync_core::quote_literal(&table)
            )),
            Kind::Link => s.statements.push(format!(
                "INSERT INTO {}.domain_value_link … SELECT … FROM {}",
                supra_sync_core::quote_ident(schema),
                qualified(schema, &table)
            )),
        }
        match lookups::view_select(ctx, &table, kind).await {
            Ok(v) => s.statements.push(format!(
                "CREATE VIEW {} AS {v}",
                qualified(schema, &views::compat_name(&table))
            )),
            Err(crate::error::CleanupError::Blocked(b)) => s.blockers.push(*b),
            Err(e) => return Err(e),
        }
        s.statements
            .push(format!("DROP TABLE {}", qualified(schema, &table)));
        s.statements.push(format!(
            "ALTER VIEW {} RENAME TO {}",
            qualified(schema, &views::compat_name(&table)),
            supra_sync_core::quote_ident(&table)
        ));
        s.affected.push(AffectedTable {
            table: table.clone(),
            rows,
            action: "migrate, view, drop after observation".into(),
        });
        s.freed = catalog::footprint(ctx.client, schema, std::slice::from_ref(&table)).await?;
        steps.push(s);
    }
    steps.push(PlannedStep {
        id: "p2.complex".into(),
        title: "the 12 complex configuration tables stay untouched (P2-S4-09)".into(),
        notes: ctx.config.lookups.complex.clone(),
        ..Default::default()
    });
    Ok(Plan {
        phase: ctx.phase,
        steps,
    })
}
