//! Comparing candidates again: after the pipelines caught up (what was only in flight is
//! gone), and after `--fix` (what was repaired is gone).
//!
//! ```text
//!  differing keys ─► legacy keys + SUPRA ids (orphans mapped meanwhile join the keys)
//!                 ─► verify::slice(Keys, mapped) per chunk ─► what differs now
//! ```

use std::collections::{BTreeSet, HashMap, HashSet};

use supra_sync_core::quote_ident;
use supra_sync_mapping::EntityMapping;
use uuid::Uuid;

use super::rows::{Scanner, collect};
use super::{DiffKind, EntityReport, KeyDiff};
use crate::EngineError;
use crate::verify::slice::{Slice, SliceRows};

impl Scanner<'_> {
    /// Compares the differing keys of `report` again and keeps only what still differs.
    pub(crate) async fn recheck(&mut self, report: &mut EntityReport) -> Result<(), EngineError> {
        if report.differences.is_empty() {
            return Ok(());
        }
        let Some(entity) = self.mappings.entity(&report.entity) else {
            return Ok(());
        };
        let before = distinct_rows(&report.differences);
        let fresh = self.compare_keys(entity, &report.differences).await?;
        report.settled += before.saturating_sub(distinct_rows(&fresh));
        report.differences = fresh;
        Ok(())
    }

    /// Compares the rows behind `diffs` again; returns what differs now.
    pub(crate) async fn compare_keys(
        &mut self,
        entity: &EntityMapping,
        diffs: &[KeyDiff],
    ) -> Result<Vec<KeyDiff>, EngineError> {
        let primary = entity.supra_tables()[0].to_string();
        let mut keys: BTreeSet<String> = BTreeSet::new();
        let mut ids: BTreeSet<Uuid> = BTreeSet::new();
        let mut orphans: Vec<Uuid> = Vec::new();
        for d in diffs {
            if let Some(k) = &d.legacy_key {
                keys.insert(k.clone());
            }
            let Some(id) = d.supra_id.as_deref().and_then(|s| s.parse::<Uuid>().ok()) else {
                continue;
            };
            if d.table != primary {
                continue;
            }
            match (d.kind, &d.legacy_key) {
                (DiffKind::MissingInLegacy, None) => orphans.push(id),
                _ => {
                    ids.insert(id);
                }
            }
        }
        // Orphans mapped meanwhile are compared through their legacy key.
        let mapped: Vec<(Uuid, String)> = self
            .supra()
            .query(
                "SELECT supra_id, legacy_id::text FROM supra_sync.sync_mappings
                  WHERE entity_type = $1 AND supra_id = ANY($2)",
                &[&entity.name(), &orphans],
            )
            .await
            .map_err(|e| EngineError::sql("reconcile: reading sync_mappings", e))?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let mut out = Vec::new();
        for id in &orphans {
            match mapped.iter().find(|(m, _)| m == id) {
                Some((m, k)) => {
                    keys.insert(k.clone());
                    ids.insert(*m);
                }
                None => {
                    let still: bool = self
                        .supra()
                        .query_opt(
                            &format!(
                                "SELECT 1 FROM {} WHERE {} = $1",
                                entity.supra_tables()[0].quoted(),
                                quote_ident(entity.supra_id_column())
                            ),
                            &[id],
                        )
                        .await
                        .map_err(|e| EngineError::sql("reconcile: rechecking a SUPRA row", e))?
                        .is_some();
                    if still {
                        out.extend(
                            diffs
                                .iter()
                                .filter(|d| d.supra_id == Some(id.to_string()))
                                .cloned(),
                        );
                    }
                }
            }
        }
        let legacy_of: HashMap<Uuid, String> = self
            .supra()
            .query(
                "SELECT supra_id, legacy_id::text FROM supra_sync.sync_mappings
                  WHERE entity_type = $1 AND supra_id = ANY($2)",
                &[&entity.name(), &ids.iter().copied().collect::<Vec<_>>()],
            )
            .await
            .map_err(|e| EngineError::sql("reconcile: reading sync_mappings", e))?
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        let keys: Vec<String> = keys.into_iter().collect();
        let ids: Vec<Uuid> = ids.into_iter().collect();
        for (n, part) in keys.chunks(self.chunk_rows()).enumerate() {
            let mapped: &[Uuid] = if n == 0 { &ids } else { &[] };
            self.pace(part.len()).await;
            let (cmp, _, _) = self
                .slice(Slice {
                    entity: entity.name(),
                    rows: SliceRows::Keys(part),
                    mapped,
                })
                .await?;
            out.extend(collect(cmp, &legacy_of));
        }
        if keys.is_empty() && !ids.is_empty() {
            let (cmp, _, _) = self
                .slice(Slice {
                    entity: entity.name(),
                    rows: SliceRows::Keys(&[]),
                    mapped: &ids,
                })
                .await?;
            out.extend(collect(cmp, &legacy_of));
        }
        Ok(out)
    }
}

/// Number of distinct rows (table, key) among differences.
fn distinct_rows(diffs: &[KeyDiff]) -> usize {
    diffs
        .iter()
        .map(|d| (&d.table, &d.legacy_key, &d.supra_id))
        .collect::<HashSet<_>>()
        .len()
}
