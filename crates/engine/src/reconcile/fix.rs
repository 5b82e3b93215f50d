//! `reconcile --fix`: re-sync exactly the differing keys through the normal pipeline.
//!
//! ```text
//!  differing key ─► current rows on both sides + sync_mappings' agreed hashes
//!                 ─► which side changed since the last sync (per-row content hash)
//!                 ─► direction: that side if its changes flow at the entity's stage, else
//!                    the stage's primary side; always from a side that has the row
//!                 ─► synthetic change (the row as it is now) ─► Applier, origin
//!                    <prefix>_reconcile, the re-synced side winning a conflict unless both
//!                    sides changed the row (then the stage's policy decides) ─► recheck
//! ```
//!
//! Why synthetic changes through an [`Applier`], and not touching the rows on legacy
//! (`UPDATE … SET x = x`) or queueing parked changes: the billing system's tables get no
//! writes they did not ask for (no audit columns bumped, no triggers fired, nothing for the
//! legacy WAL and Kafka to carry); the fix is applied synchronously, so it can be rechecked
//! and reported per key; and it goes through everything a streamed change goes through —
//! stage gating, conflict checks under the stage's policy (a row both sides changed goes to
//! the review queue instead of being overwritten), identity mappings, `sync_log`, versions,
//! domain events — in one target transaction under its own replication origin, which both
//! sources drop (no echo) and which does not move either pipeline's resume position.
//!
//! A fix never deletes: a row missing on one side is re-created from the side that has it
//! (where the stage lets that direction flow); deletions made behind the sync's back are left
//! for an operator to repeat through the application.

use std::sync::Arc;

use chrono::Utc;
use supra_sync_core::{Change, ChangeOp, Lsn, Row, Side, Transaction, Value};
use supra_sync_mapping::{ConflictPolicy, EntityMapping, MappingSet};
use supra_sync_postgres::DbConfig;
use tokio_postgres::Client;
use uuid::Uuid;

use super::direction::{changed_side, direction};
use super::rows::Scanner;
use super::{Changed, DiffKind, EntityReport, KeyDiff, ReconcileOptions};
use crate::events::DomainEvents;
use crate::reader::RowReader;
use crate::stage::Stage;
use crate::{Applier, ApplierOptions, EngineError};

/// Re-syncs differing keys.
pub(super) struct Fixer<'a> {
    legacy_db: &'a DbConfig,
    supra_db: &'a DbConfig,
    mappings: &'a Arc<MappingSet>,
    opts: &'a ReconcileOptions,
}

/// One row to re-sync.
struct Target {
    legacy_key: Option<String>,
    supra_id: Option<Uuid>,
    legacy: Option<Row>,
    supra: Option<Row>,
    changed: Changed,
    from: Result<Side, String>,
}

impl<'a> Fixer<'a> {
    pub(super) fn new(
        legacy_db: &'a DbConfig,
        supra_db: &'a DbConfig,
        mappings: &'a Arc<MappingSet>,
        opts: &'a ReconcileOptions,
    ) -> Fixer<'a> {
        Fixer {
            legacy_db,
            supra_db,
            mappings,
            opts,
        }
    }

    /// Re-syncs the differences of `report` (plus `extra` legacy keys, from the financial
    /// checks), rechecks them, and moves the repaired ones to `report.fixed`.
    pub(super) async fn fix(
        &self,
        scanner: &mut Scanner<'_>,
        entity: &EntityMapping,
        stage: Stage,
        report: &mut EntityReport,
        extra: &[String],
    ) -> Result<(), EngineError> {
        let mut diffs = std::mem::take(&mut report.differences);
        for k in extra {
            if !diffs
                .iter()
                .any(|d| d.legacy_key.as_deref() == Some(k.as_str()))
            {
                diffs.push(KeyDiff {
                    kind: DiffKind::Differs,
                    table: entity.supra_tables()[0].to_string(),
                    legacy_key: Some(k.clone()),
                    supra_id: None,
                    detail: "financial reconciliation: amount or period differs".into(),
                    changed: None,
                    fix: None,
                });
            }
        }
        if diffs.is_empty() {
            return Ok(());
        }
        let mut targets = self.targets(scanner, entity, stage, &diffs).await?;
        for side in [Side::Legacy, Side::Supra] {
            // A row both sides changed is a conflict: the stage's policy decides it (manual:
            // review). Otherwise the side the fix re-syncs from wins by construction.
            for contested in [false, true] {
                let rows: Vec<Row> = targets
                    .iter()
                    .filter(|t| t.from.as_ref().ok() == Some(&side))
                    .filter(|t| (t.changed == Changed::Both) == contested)
                    .filter_map(|t| match side {
                        Side::Legacy => t.legacy.clone(),
                        Side::Supra => t.supra.clone(),
                    })
                    .collect();
                if !rows.is_empty() {
                    let wins = (!contested).then_some(match side {
                        Side::Legacy => ConflictPolicy::LegacyWins,
                        Side::Supra => ConflictPolicy::SupraWins,
                    });
                    self.apply(side, entity, rows, &targets, wins).await?;
                }
            }
        }
        let still = scanner.compare_keys(entity, &diffs).await?;
        for d in diffs {
            let target = targets.iter_mut().find(|t| {
                (d.legacy_key.is_some() && t.legacy_key == d.legacy_key)
                    || (t.supra_id.map(|i| i.to_string()) == d.supra_id && d.supra_id.is_some())
            });
            let (changed, from) = match target {
                Some(t) => (Some(t.changed), t.from.clone()),
                None => (None, Err("unmappable rows are not re-synced".into())),
            };
            let remains = still.iter().any(|s| {
                s.table == d.table
                    && ((s.legacy_key.is_some() && s.legacy_key == d.legacy_key)
                        || (s.supra_id.is_some() && s.supra_id == d.supra_id))
            });
            let mut d = d;
            d.changed = changed;
            d.fix = Some(match (&from, remains) {
                (Ok(side), false) => format!("fixed: re-synced {side} → {}", side.other()),
                (Ok(side), true) => format!(
                    "re-synced {side} → {} but it still differs (see sync_log / sync_conflicts)",
                    side.other()
                ),
                (Err(why), true) => format!("not fixed: {why}"),
                (Err(_), false) => "no longer differs".into(),
            });
            if remains {
                report.differences.push(d);
            } else {
                report.fixed.push(d);
            }
        }
        Ok(())
    }

    /// Current rows, attribution and direction for every differing row.
    async fn targets(
        &self,
        scanner: &mut Scanner<'_>,
        entity: &EntityMapping,
        stage: Stage,
        diffs: &[KeyDiff],
    ) -> Result<Vec<Target>, EngineError> {
        let primary = entity.supra_tables()[0].to_string();
        let mut keys: Vec<String> = Vec::new();
        let mut orphans: Vec<Uuid> = Vec::new();
        for d in diffs {
            if d.kind == DiffKind::Unmappable {
                continue;
            }
            match (&d.legacy_key, d.supra_id.as_deref().map(str::parse::<Uuid>)) {
                (Some(k), _) if !keys.contains(k) => keys.push(k.clone()),
                (None, Some(Ok(id))) if d.table == primary && !orphans.contains(&id) => {
                    orphans.push(id)
                }
                _ => {}
            }
        }
        let book = scanner.supra();
        let rows = book
            .query(
                "SELECT legacy_id::text, supra_id, last_synced_hash, last_legacy_hash
                   FROM supra_sync.sync_mappings WHERE entity_type = $1 AND legacy_id = ANY($2)",
                &[&entity.name(), &keys],
            )
            .await
            .map_err(|e| EngineError::sql("reconcile: reading agreed versions", e))?;
        type Agreed = (Uuid, Option<String>, Option<String>);
        let agreed: std::collections::HashMap<String, Agreed> = rows
            .iter()
            .map(|r| (r.get(0), (r.get(1), r.get(2), r.get(3))))
            .collect();
        let mut supra_rows = RowReader::new(self.supra_db.connect().await?).await?;
        supra_rows
            .client()
            .batch_execute("SET app.is_admin = 'true'")
            .await
            .map_err(|e| EngineError::sql("reconcile: configuring the SUPRA reader", e))?;
        let table = entity.supra_tables()[0].clone();
        let image: Vec<String> = entity.compared_supra_columns();
        let mut out = Vec::new();
        for k in keys {
            let key_values = crate::apply::parse_key_text(&k);
            let legacy = scanner
                .legacy_rows
                .fetch_by_key(entity.legacy_table(), &key_values)
                .await?;
            let a = agreed.get(&k);
            let supra_id = a.map(|a| a.0);
            let supra = match supra_id {
                Some(id) => supra_rows.fetch_by_key(&table, &[Value::Uuid(id)]).await?,
                None => None,
            };
            let agreed_hashes = a.map(|a| (a.1.as_deref(), a.2.as_deref()));
            let changed = changed_side(
                entity,
                agreed_hashes,
                legacy.as_ref(),
                supra.as_ref(),
                &image,
            );
            let from = direction(stage, changed, legacy.is_some(), supra.is_some());
            out.push(Target {
                legacy_key: Some(k),
                supra_id,
                legacy,
                supra,
                changed,
                from,
            });
        }
        for id in orphans {
            let supra = supra_rows.fetch_by_key(&table, &[Value::Uuid(id)]).await?;
            let from = direction(stage, Changed::Supra, false, supra.is_some());
            out.push(Target {
                legacy_key: None,
                supra_id: Some(id),
                legacy: None,
                supra,
                changed: Changed::Unknown,
                from,
            });
        }
        Ok(out)
    }

    /// Applies the current rows of `from` as one synthetic transaction.
    async fn apply(
        &self,
        from: Side,
        entity: &EntityMapping,
        rows: Vec<Row>,
        targets: &[Target],
        wins: Option<ConflictPolicy>,
    ) -> Result<(), EngineError> {
        let origin = self.opts.names.reconcile_origin();
        let (source_db, target_db) = match from {
            Side::Legacy => (self.legacy_db, self.supra_db),
            Side::Supra => (self.supra_db, self.legacy_db),
        };
        let target = target_db.connect().await?;
        ensure_origin(&target, &origin).await?;
        let source = source_db.connect().await?;
        // The source's clock: conflict detection compares it with the times supra-sync last
        // wrote each side (read on those servers).
        let row = source
            .query_one("SELECT pg_current_wal_lsn()::text, clock_timestamp()", &[])
            .await
            .map_err(|e| EngineError::sql("reconcile: reading the WAL position", e))?;
        let lsn: Lsn = row.get::<_, String>(0).parse().unwrap_or(Lsn::ZERO);
        let now: chrono::DateTime<Utc> = row.get(1);
        let book = match from {
            Side::Legacy => None,
            Side::Supra => Some(self.supra_db.connect().await?),
        };
        let opts = ApplierOptions {
            source: from,
            names: self.opts.names.clone(),
            origin: origin.clone(),
            tenant: self.opts.tenant.clone(),
            halt_on_failure: false,
        };
        let mut applier = Applier::new(opts, self.mappings.clone(), target, book, source).await?;
        applier.set_domain_events(DomainEvents::new(self.mappings, &self.opts.domain_events)?);
        applier.set_policy_override(wins);
        let changes = rows
            .into_iter()
            .map(|row| {
                let exists_on_target = targets.iter().any(|t| {
                    let same = match from {
                        Side::Legacy => {
                            t.legacy.as_ref().map(Row::key_text) == Some(row.key_text())
                        }
                        Side::Supra => t.supra.as_ref().map(Row::key_text) == Some(row.key_text()),
                    };
                    same && match from {
                        Side::Legacy => t.supra.is_some(),
                        Side::Supra => t.legacy.is_some(),
                    }
                });
                Change {
                    op: if exists_on_target {
                        ChangeOp::Update
                    } else {
                        ChangeOp::Insert
                    },
                    table: row.schema.table.clone(),
                    old: None,
                    new: Some(row),
                }
            })
            .collect::<Vec<_>>();
        for chunk in changes.chunks(500) {
            let tx = Transaction {
                side: from,
                xid: 0,
                commit_lsn: lsn,
                end_lsn: lsn,
                commit_ts: now,
                origin: Some(origin.clone()),
                changes: chunk.to_vec(),
            };
            let summary = applier.apply(std::slice::from_ref(&tx)).await?;
            tracing::info!(
                entity = entity.name(),
                from = %from,
                applied = summary.applied,
                failed = summary.failed,
                parked = summary.parked,
                skipped = summary.skipped,
                "reconcile: re-synced differing rows"
            );
        }
        Ok(())
    }
}

/// Creates the replication origin on `client`'s database when missing.
async fn ensure_origin(client: &Client, origin: &str) -> Result<(), EngineError> {
    client
        .execute(
            "SELECT pg_replication_origin_create($1)
              WHERE NOT EXISTS (SELECT 1 FROM pg_replication_origin WHERE roname = $1)",
            &[&origin],
        )
        .await
        .map_err(|e| EngineError::sql(format!("creating the replication origin {origin}"), e))?;
    Ok(())
}
