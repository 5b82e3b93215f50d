//! Tiering of the `his*` tables (seed 001 P2-S1-06, seed 002 §3): rows, change rate over the
//! last year, base table and key; Tier 1 moves to `audit_log`, Tier 2 stays a dedicated table.

use serde::Serialize;
use serde_json::{Value, json};
use supra_sync_core::quote_ident;

use crate::catalog::{self, qualified};
use crate::error::{CleanupError, Result};
use crate::job::{Ctx, files};

/// One `his*` table and its classification.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Tier {
    pub table: String,
    pub base: Option<String>,
    pub base_key: Vec<String>,
    pub rows: i64,
    pub rows_per_month: f64,
    pub hora: Option<String>,
    pub usu: Option<String>,
    pub tier: u8,
    pub reason: String,
}

fn base_name(ctx: &Ctx<'_>, his: &str) -> String {
    if let Some((_, b)) = ctx
        .config
        .history
        .base_overrides
        .iter()
        .find(|(h, _)| h == his)
    {
        return b.clone();
    }
    if his == "hisdirec" {
        return "direccion".into();
    }
    his.trim_start_matches("his").to_string()
}

/// Classifies every `his*` table (P2-S1-06).
pub(crate) async fn tiers(ctx: &Ctx<'_>) -> Result<Vec<Tier>> {
    let schema = ctx.schema();
    let his: Vec<String> = catalog::tables_matching(ctx.client, schema, "^his.").await?;
    let counts = catalog::count_many(ctx.client, schema, &his).await?;
    let shapes = catalog::columns_many(ctx.client, schema, &his).await?;
    let h = &ctx.config.history;
    let mut out = Vec::new();
    for t in &his {
        let cols = shapes.get(t).cloned().unwrap_or_default();
        let hora = cols
            .iter()
            .find(|(n, ty)| n.ends_with("hsthora") && ty.starts_with("timestamp"))
            .map(|c| c.0.clone());
        let usu = cols
            .iter()
            .find(|(n, _)| n.ends_with("hstusu"))
            .map(|c| c.0.clone());
        let rows = counts.get(t).copied().unwrap_or(0);
        let mut rows_per_month = 0.0;
        if let (Some(hcol), true) = (&hora, rows > 0) {
            let n: i64 = ctx
                .client
                .query_one(
                    &format!(
                        "SELECT count(*) FROM {} WHERE {} >= now() - interval '12 months'",
                        qualified(schema, t),
                        quote_ident(hcol)
                    ),
                    &[],
                )
                .await
                .map_err(CleanupError::db(format!("measure the change rate of {t}")))?
                .get(0);
            rows_per_month = n as f64 / 12.0;
        }
        let base = base_name(ctx, t);
        let base_exists = catalog::relation_kind(ctx.client, schema, &base)
            .await?
            .as_deref()
            == Some("r");
        let base_key = if base_exists {
            catalog::primary_key(ctx.client, schema, &base).await?
        } else {
            Vec::new()
        };
        let (tier, reason) = if h.keep.contains(t) {
            (
                2,
                "high-value history kept as a dedicated table".to_string(),
            )
        } else if ctx.config.is_protected(t) {
            (2, "published by the sync".into())
        } else if !base_exists {
            (2, format!("base table {base} not found"))
        } else if base_key.is_empty() {
            (2, format!("base table {base} has no primary key"))
        } else if ctx.config.is_protected(&base) {
            (
                2,
                format!("base table {base} is published by the sync (no trigger may be added)"),
            )
        } else if !base_key.iter().all(|k| cols.iter().any(|(n, _)| n == k)) {
            (
                2,
                format!("{t} does not carry the key {base_key:?} of {base}"),
            )
        } else if rows > h.tier1_max_rows {
            (2, format!("{rows} rows > {}", h.tier1_max_rows))
        } else if rows_per_month > h.tier1_max_rows_per_month {
            (
                2,
                format!(
                    "{rows_per_month:.0} rows/month > {}",
                    h.tier1_max_rows_per_month
                ),
            )
        } else {
            (1, "low volume: migrate to audit_log".into())
        };
        out.push(Tier {
            table: t.clone(),
            base: base_exists.then_some(base),
            base_key,
            rows,
            rows_per_month,
            hora,
            usu,
            tier,
            reason,
        });
    }
    Ok(out)
}

/// The Tier 1 tables this run migrates.
pub(crate) fn selected(ctx: &Ctx<'_>, tiers: &[Tier]) -> Vec<Tier> {
    tiers
        .iter()
        .filter(|t| t.tier == 1)
        .filter(|t| {
            ctx.config
                .history
                .only
                .as_ref()
                .is_none_or(|only| only.contains(&t.table))
        })
        .cloned()
        .collect()
}

/// Step `p2.history.tiers`: the report (CSV + state).
pub(crate) async fn report(ctx: &Ctx<'_>) -> Result<Value> {
    let tiers = tiers(ctx).await?;
    let mut csv = String::from("table,base,rows,rows_per_month,tier,reason\n");
    for t in &tiers {
        csv.push_str(&format!(
            "{},{},{},{:.2},{},\"{}\"\n",
            t.table,
            t.base.clone().unwrap_or_default(),
            t.rows,
            t.rows_per_month,
            t.tier,
            t.reason.replace('"', "'")
        ));
    }
    let path = ctx
        .config
        .archive_dir
        .join("phase2")
        .join("history_tiers.csv");
    files::write_durable(&path, csv.as_bytes())?;
    let tier1 = tiers.iter().filter(|t| t.tier == 1).count();
    Ok(
        json!({ "file": path.display().to_string(), "tables": tiers.len(), "tier1": tier1, "tier2": tiers.len() - tier1, "tiers": tiers }),
    )
}

/// Tiers as recorded by the tiering step (so a resumed run works on the same list).
pub(crate) fn recorded(state: &Value) -> Vec<Tier> {
    let mut out = Vec::new();
    if let Some(list) = state.get("tiers").and_then(|t| t.as_array()) {
        for v in list {
            let s = |k: &str| v.get(k).and_then(|x| x.as_str()).map(String::from);
            out.push(Tier {
                table: s("table").unwrap_or_default(),
                base: s("base"),
                base_key: v
                    .get("base_key")
                    .and_then(|k| k.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|x| x.as_str().map(String::from))
                            .collect()
                    })
                    .unwrap_or_default(),
                rows: v.get("rows").and_then(|x| x.as_i64()).unwrap_or(0),
                rows_per_month: v
                    .get("rows_per_month")
                    .and_then(|x| x.as_f64())
                    .unwrap_or(0.0),
                hora: s("hora"),
                usu: s("usu"),
                tier: v.get("tier").and_then(|x| x.as_u64()).unwrap_or(2) as u8,
                reason: s("reason").unwrap_or_default(),
            });
        }
    }
    out
}
