//! `verify 2`: the acceptance criteria of seed 001 (P2-S1-01..04, P2-S2-07/08, P2-S4-03..09)
//! that a database can answer.

use tokio_postgres::Client;

use super::views;
use crate::catalog::{self, qualified};
use crate::check::CheckResult;
use crate::config::CleanupConfig;
use crate::error::{CleanupError, Result};
use crate::job::state;
use crate::phase::Phase;

const AL_COLUMNS: [&str; 11] = [
    "al_id",
    "al_table_name",
    "al_record_key",
    "al_operation",
    "al_old_data",
    "al_new_data",
    "al_changed_fields",
    "al_sesid",
    "al_user_id",
    "al_changed_at",
    "al_expid",
];

/// Runs every check.
pub(crate) async fn verify(client: &Client, config: &CleanupConfig) -> Result<Vec<CheckResult>> {
    let schema = config.schema.as_str();
    let mut out = Vec::new();
    let has_audit = catalog::relation_kind(client, schema, "audit_log")
        .await?
        .as_deref()
        == Some("p");
    let key: Option<String> = if has_audit {
        client
            .query_one(
                "SELECT pg_get_partkeydef($1::text::regclass)",
                &[&qualified(schema, "audit_log")],
            )
            .await
            .map_err(CleanupError::db("read the partition key"))?
            .get(0)
    } else {
        None
    };
    out.push(CheckResult::new(
        "p2.s1.audit_log_partitioned",
        "audit_log partitioned by RANGE on al_changed_at (P2-S1-01)",
        key.as_deref() == Some("RANGE (al_changed_at)"),
        format!("{key:?}"),
    ));
    let cols: Vec<String> = catalog::columns(client, schema, "audit_log")
        .await?
        .into_iter()
        .map(|c| c.0)
        .collect();
    let missing: Vec<&&str> = AL_COLUMNS
        .iter()
        .filter(|c| !cols.iter().any(|x| x == **c))
        .collect();
    out.push(CheckResult::new(
        "p2.s1.audit_log_columns",
        "audit_log has the seed's al_* columns",
        has_audit && missing.is_empty(),
        format!("missing: {missing:?}"),
    ));
    let indexes: i64 = client
        .query_one(
            "SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND tablename = 'audit_log'
                AND indexname IN ('idx_audit_log_table_record', 'idx_audit_log_user', 'idx_audit_log_changed')",
            &[&schema],
        )
        .await
        .map_err(CleanupError::db("count audit_log indexes"))?
        .get(0);
    out.push(CheckResult::new(
        "p2.s1.audit_log_indexes",
        "composite, user and GIN indexes (P2-S1-03)",
        indexes == 3,
        format!("{indexes} of 3"),
    ));
    let ahead = if has_audit {
        super::audit::months_ahead(client, schema).await?
    } else {
        0
    };
    out.push(CheckResult::new(
        "p2.s1.partitions_ahead",
        "monthly partitions at least 24 months ahead (P2-S1-02)",
        ahead >= 24,
        format!("{ahead} months"),
    ));
    let func: i64 = client
        .query_one("SELECT count(*) FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = $1 AND p.proname = 'fn_audit_trigger' AND p.prosecdef", &[&schema])
        .await
        .map_err(CleanupError::db("look for fn_audit_trigger"))?
        .get(0);
    out.push(CheckResult::new(
        "p2.s1.audit_trigger_fn",
        "fn_audit_trigger() exists, SECURITY DEFINER (P2-S1-04)",
        func == 1,
        format!("{func} found"),
    ));
    let tiers = state::load(client, Phase::Two, "p2.history.tiers").await?;
    out.push(CheckResult::new(
        "p2.s1.tiering_report",
        "his* tiering report written (P2-S1-06)",
        tiers.as_ref().is_some_and(|t| t.status == "done"),
        tiers
            .map(|t| t.state.get("file").cloned().unwrap_or_default().to_string())
            .unwrap_or_else(|| "not run".into()),
    ));

    let ledger = if state::exists(client).await? {
        client
            .query("SELECT family, source_table, target_table, source_rows, migrated_rows FROM supra_sync_cleanup.migrated WHERE phase = '2' ORDER BY 1, 2", &[])
            .await
            .map_err(CleanupError::db("read the ledger"))?
    } else {
        Vec::new()
    };
    let mut counts_bad = Vec::new();
    let mut parity_bad = Vec::new();
    let mut triggers_bad = Vec::new();
    let mut views_ok = 0;
    let mut retired_bases = Vec::new();
    for r in &ledger {
        let (family, table, target): (String, String, String) = (r.get(0), r.get(1), r.get(2));
        let (src, dst): (i64, i64) = (r.get(3), r.get(4));
        if src != dst {
            counts_bad.push(format!("{table}: {src} vs {dst}"));
        }
        match catalog::relation_kind(client, schema, &table)
            .await?
            .as_deref()
        {
            Some("v") => views_ok += 1,
            Some("r") => {
                let compat = views::compat_name(&table);
                if catalog::relation_kind(client, schema, &compat)
                    .await?
                    .is_none()
                {
                    parity_bad.push(format!("{table}: no compatibility view"));
                } else {
                    let types = views::type_mismatches(client, schema, &table, &compat).await?;
                    let (missing, _) = views::parity(client, schema, &table, &compat).await?;
                    if !types.is_empty() || missing > 0 {
                        parity_bad
                            .push(format!("{table}: {missing} rows missing, types {types:?}"));
                    } else {
                        views_ok += 1;
                    }
                }
            }
            _ => parity_bad.push(format!("{table}: neither table nor view")),
        }
        if family == "history" {
            let base = if table == "hisdirec" {
                "direccion".to_string()
            } else {
                table.trim_start_matches("his").to_string()
            };
            let n: i64 = client
                .query_one(
                    "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace
                      WHERE n.nspname = $1 AND t.tgname LIKE 'trg_audit_%' AND (c.relname = $2 OR c.relname = $3)",
                    &[&schema, &base, &config.history.base_overrides.iter().find(|(h, _)| *h == table).map(|(_, b)| b.clone()).unwrap_or_default()],
                )
                .await
                .map_err(CleanupError::db("look for audit triggers"))?
                .get(0);
            if n == 0 {
                // A base that phase 2 itself retired behind a view (a lookup) has no
                // trigger any more: its changes now land in domain_value.
                if catalog::relation_kind(client, schema, &base)
                    .await?
                    .as_deref()
                    == Some("v")
                {
                    retired_bases.push(base.clone());
                } else {
                    triggers_bad.push(table.clone());
                }
            }
        }
        let _ = target;
    }
    out.push(CheckResult::new(
        "p2.s2.row_counts",
        "every migrated table's rows counted into audit_log/domain_value (P2-S2-08)",
        counts_bad.is_empty(),
        if counts_bad.is_empty() {
            format!("{} tables, counts match", ledger.len())
        } else {
            counts_bad.join("; ")
        },
    ));
    out.push(CheckResult::new("p2.s2.views", "backward-compatible views return the original columns, types and rows (P2-S2-07, P2-S4-06)", parity_bad.is_empty(), if parity_bad.is_empty() { format!("{views_ok} views") } else { parity_bad.join("; ") }));
    out.push(CheckResult::new("p2.s2.triggers", "audit trigger attached to every migrated history's base table", triggers_bad.is_empty(), format!("missing: {triggers_bad:?}; bases retired behind views (lookups now in domain_value): {retired_bases:?}")));

    let mut retained_bad = Vec::new();
    let mut retained_ok = 0;
    for t in &config.history.keep {
        if catalog::relation_kind(client, schema, t).await?.as_deref() != Some("r") {
            continue;
        }
        let ok: bool = client
            .query_one(
                "SELECT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = $1::text::regclass AND attname = 'hst_operation' AND NOT attisdropped)
                    AND EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = $1::text::regclass AND attname = 'hst_id' AND attnotnull AND NOT attisdropped)
                    AND EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
                                 WHERE i.indrelid = $1::text::regclass AND i.indisunique AND i.indnatts = 1 AND a.attname = 'hst_id')",
                &[&qualified(schema, t)],
            )
            .await
            .map_err(CleanupError::db("check a retained history table"))?
            .get(0);
        if ok {
            retained_ok += 1
        } else {
            retained_bad.push(t.clone())
        }
    }
    out.push(CheckResult::new("p2.s3.retained_improved", "retained high-value his* tables have hst_id (unique, not null) and hst_operation (P2-S3-07)", retained_bad.is_empty(), format!("{retained_ok} improved; missing: {retained_bad:?}")));

    let dv = catalog::relation_kind(client, schema, "domain_value")
        .await?
        .is_some()
        && catalog::relation_kind(client, schema, "domain_value_link")
            .await?
            .is_some();
    out.push(CheckResult::new(
        "p2.s4.domain_value",
        "domain_value and domain_value_link deployed (P2-S4-01)",
        dv,
        if dv { "present" } else { "missing" },
    ));

    let recorded = state::load(client, Phase::Two, "p2.inventory").await?;
    let mut changed = Vec::new();
    if let Some(rec) = &recorded {
        let names = config.lookups.complex.clone();
        let shapes = catalog::columns_many(client, schema, &names).await?;
        for n in &names {
            let before = rec.state["complex"][n]["signature"]
                .as_str()
                .map(String::from);
            let now = shapes.get(n).map(|c| {
                c.iter()
                    .map(|(a, b)| format!("{a} {b}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            });
            if before != now {
                changed.push(n.clone());
            }
        }
    }
    out.push(CheckResult::new(
        "p2.s4.complex_untouched",
        "the 12 complex configuration tables are unchanged (P2-S4-09)",
        recorded.is_some() && changed.is_empty(),
        if recorded.is_none() {
            "no signatures recorded".into()
        } else {
            format!("changed: {changed:?}")
        },
    ));
    Ok(out)
}
