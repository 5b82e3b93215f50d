//! The row-level passes over one entity, and the recheck of what they found.
//!
//! ```text
//!  pass 1  legacy keyset pages      ─► verify::slice(After)           missing · differs · unmappable
//!  pass 2  sync_mappings pages      ─► legacy row still there? ─ no ─► verify::slice(mapped)
//!                                                                      unexpected (or retained)
//!  pass 3  SUPRA primary-table pages ─► mapped at all? ─ no ────────► missing in legacy
//! ```
//! The recheck of what these passes find is in [`super::recheck`].

use std::collections::{HashMap, HashSet};
use std::num::NonZeroU32;
use std::time::Instant;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use supra_sync_core::{Value, quote_ident};
use supra_sync_mapping::{EntityMapping, MappingSet};
use supra_sync_postgres::DbConfig;
use tokio_postgres::Client;
use uuid::Uuid;

use super::{DiffKind, EntityReport, KeyDiff, ReconcileOptions};
use crate::reader::RowReader;
use crate::verify::EntityComparison;
use crate::verify::slice::{Slice, SliceRows, compare_slice};
use crate::{EngineError, book};

/// Connections and pacing shared by every pass of a run.
pub(crate) struct Scanner<'m> {
    /// Legacy connection for verifier slices.
    legacy: Client,
    /// SUPRA connection for verifier slices (temporary tables live in its transactions).
    slices: Client,
    /// SUPRA connection for bookkeeping reads (admin context).
    book: Client,
    /// Legacy reads by key (existence checks, fixes, finance).
    pub(super) legacy_rows: RowReader,
    pub(super) mappings: &'m MappingSet,
    tenant: String,
    tenant_id: Uuid,
    chunk: i64,
    limiter: Option<DefaultDirectRateLimiter>,
    read: u64,
}

impl<'m> Scanner<'m> {
    /// Opens the connections.
    pub(crate) async fn connect(
        legacy_db: &DbConfig,
        supra_db: &DbConfig,
        mappings: &'m MappingSet,
        opts: &ReconcileOptions,
    ) -> Result<Scanner<'m>, EngineError> {
        let book = supra_db.connect().await?;
        book.batch_execute("SET app.is_admin = 'true'; SET TimeZone = 'UTC'")
            .await
            .map_err(|e| EngineError::sql("reconcile: configuring the SUPRA session", e))?;
        let tenant_id = book::tenant_id(&book, &opts.tenant).await?;
        let chunk = opts.chunk_rows.max(1);
        let limiter = opts.max_rate.map(|rate| {
            let burst = NonZeroU32::new(chunk.clamp(1, u32::MAX as i64) as u32)
                .unwrap_or(NonZeroU32::MIN)
                .max(rate);
            RateLimiter::direct(Quota::per_second(rate).allow_burst(burst))
        });
        Ok(Scanner {
            legacy: legacy_db.connect().await?,
            slices: supra_db.connect().await?,
            book,
            legacy_rows: RowReader::new(legacy_db.connect().await?).await?,
            mappings,
            tenant: opts.tenant.clone(),
            tenant_id,
            chunk,
            limiter,
            read: 0,
        })
    }

    /// The SUPRA bookkeeping connection (admin context).
    pub(crate) fn supra(&self) -> &Client {
        &self.book
    }

    /// The tenant's id.
    pub(crate) fn tenant_id(&self) -> Uuid {
        self.tenant_id
    }

    /// Legacy rows per slice.
    pub(super) fn chunk_rows(&self) -> usize {
        self.chunk as usize
    }

    /// Rows read so far, both sides.
    pub(crate) fn rows_read(&self) -> u64 {
        self.read
    }

    /// Counts `rows` rows read.
    pub(crate) fn count(&mut self, rows: usize) {
        self.read += rows as u64;
    }

    /// Waits for the rate limiter before reading up to `rows` rows.
    pub(crate) async fn pace(&self, rows: usize) {
        if let (Some(l), Some(n)) = (&self.limiter, NonZeroU32::new(rows as u32)) {
            // A request larger than the burst is split so that it can always be granted.
            let mut left = n.get();
            while left > 0 {
                let step = left.min(self.chunk as u32).max(1);
                let _ = l
                    .until_n_ready(NonZeroU32::new(step).unwrap_or(NonZeroU32::MIN))
                    .await;
                left -= step;
            }
        }
    }

    pub(super) async fn slice(
        &mut self,
        slice: Slice<'_>,
    ) -> Result<(EntityComparison, usize, Option<Vec<Value>>), EngineError> {
        let out = compare_slice(
            &self.legacy,
            &self.slices,
            self.mappings,
            &self.tenant,
            &slice,
        )
        .await?;
        Ok((out.comparison, out.rows, out.last_key))
    }

    /// Passes 1–3 over one entity.
    pub(crate) async fn scan(
        &mut self,
        entity: &EntityMapping,
    ) -> Result<EntityReport, EngineError> {
        let started = Instant::now();
        let mut report = EntityReport {
            entity: entity.name().to_string(),
            ..EntityReport::default()
        };
        let mut after: Option<Vec<Value>> = None;
        loop {
            self.pace(self.chunk as usize).await;
            let (cmp, rows, last) = self
                .slice(Slice {
                    entity: entity.name(),
                    rows: SliceRows::After {
                        after: after.as_deref(),
                        rows: self.chunk,
                    },
                    mapped: &[],
                })
                .await?;
            self.count(rows + cmp.expected_rows);
            absorb(&mut report, cmp, &HashMap::new());
            if (rows as i64) < self.chunk {
                break;
            }
            after = last;
        }
        self.gone_pass(entity, &mut report).await?;
        self.orphan_pass(entity, &mut report).await?;
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    }

    /// Pass 2: mapped rows whose legacy row is gone.
    async fn gone_pass(
        &mut self,
        entity: &EntityMapping,
        report: &mut EntityReport,
    ) -> Result<(), EngineError> {
        let mut after = Uuid::nil();
        loop {
            let rows = self
                .book
                .query(
                    "SELECT supra_id, legacy_id::text FROM supra_sync.sync_mappings
                      WHERE entity_type = $1 AND supra_id > $2 ORDER BY supra_id LIMIT $3",
                    &[&entity.name(), &after, &self.chunk],
                )
                .await
                .map_err(|e| EngineError::sql("reconcile: reading sync_mappings", e))?;
            self.count(rows.len());
            let Some(last) = rows.last() else { break };
            after = last.get(0);
            self.pace(rows.len()).await;
            let pairs: Vec<(Uuid, String)> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
            let present = self
                .legacy_present(entity, pairs.iter().map(|(_, k)| k.as_str()))
                .await?;
            let gone: HashMap<Uuid, String> = pairs
                .into_iter()
                .filter(|(_, k)| !present.contains(k))
                .collect();
            if !gone.is_empty() {
                let ids: Vec<Uuid> = gone.keys().copied().collect();
                let (cmp, _, _) = self
                    .slice(Slice {
                        entity: entity.name(),
                        rows: SliceRows::Keys(&[]),
                        mapped: &ids,
                    })
                    .await?;
                absorb(report, cmp, &gone);
            }
            if (rows.len() as i64) < self.chunk {
                break;
            }
        }
        Ok(())
    }

    /// The legacy keys among `keys` whose row exists now.
    pub(super) async fn legacy_present<'k>(
        &mut self,
        entity: &EntityMapping,
        keys: impl Iterator<Item = &'k str>,
    ) -> Result<HashSet<String>, EngineError> {
        let values: Vec<Vec<Value>> = keys.map(crate::apply::parse_key_text).collect();
        if values.is_empty() {
            return Ok(HashSet::new());
        }
        let rows = self
            .legacy_rows
            .fetch_many(entity.legacy_table(), entity.legacy_key(), &values)
            .await?;
        Ok(rows.iter().map(|r| r.key_text()).collect())
    }

    /// Pass 3: rows of the primary SUPRA table (tenant) mapped to nothing; counts the table.
    async fn orphan_pass(
        &mut self,
        entity: &EntityMapping,
        report: &mut EntityReport,
    ) -> Result<(), EngineError> {
        let table = entity.supra_tables()[0].clone();
        let id = quote_ident(entity.supra_id_column());
        let tenant = match entity.tenant_column() {
            Some(c) => format!("t.{} = $4", quote_ident(c)),
            None => "$4::uuid IS NOT NULL".into(),
        };
        let sql = format!(
            "WITH page AS (SELECT t.{id} AS id FROM {} t WHERE {tenant} AND t.{id} > $1 ORDER BY t.{id} LIMIT $2)
             SELECT p.id, EXISTS (SELECT 1 FROM supra_sync.sync_mappings m
                                   WHERE m.entity_type = $3 AND m.supra_id = p.id)
               FROM page p ORDER BY p.id",
            table.quoted()
        );
        let mut after = Uuid::nil();
        loop {
            let rows = self
                .book
                .query(
                    &sql,
                    &[&after, &self.chunk, &entity.name(), &self.tenant_id],
                )
                .await
                .map_err(|e| EngineError::sql(format!("reconcile: paging {table}"), e))?;
            self.count(rows.len());
            self.pace(rows.len()).await;
            report.supra_rows += rows.len() as u64;
            let Some(last) = rows.last() else { break };
            after = last.get(0);
            for r in rows.iter().filter(|r| !r.get::<_, bool>(1)) {
                report.differences.push(KeyDiff {
                    kind: DiffKind::MissingInLegacy,
                    table: table.to_string(),
                    legacy_key: None,
                    supra_id: Some(r.get::<_, Uuid>(0).to_string()),
                    detail: "SUPRA row mapped to no legacy row".into(),
                    changed: None,
                    fix: None,
                });
            }
            if (rows.len() as i64) < self.chunk {
                break;
            }
        }
        Ok(())
    }
}

/// Adds a slice's comparison to the entity's report.
pub(super) fn absorb(
    report: &mut EntityReport,
    cmp: EntityComparison,
    legacy_of: &HashMap<Uuid, String>,
) {
    report.legacy_rows += cmp.legacy_rows as u64;
    report.expected_rows += cmp.expected_rows as u64;
    report.retained += cmp.retained as u64;
    report.differences.extend(collect(cmp, legacy_of));
}

/// The comparison's examples (all of them, in a slice) as differing keys.
pub(super) fn collect(cmp: EntityComparison, legacy_of: &HashMap<Uuid, String>) -> Vec<KeyDiff> {
    let mut out = Vec::new();
    for (kind, d) in [
        (DiffKind::MissingInSupra, cmp.missing),
        (DiffKind::Differs, cmp.differing),
        (DiffKind::MissingInLegacy, cmp.unexpected),
        (DiffKind::Unmappable, cmp.unmappable),
    ] {
        for e in d.examples {
            let legacy_key = e.legacy_key.or_else(|| {
                e.supra_id
                    .as_deref()
                    .and_then(|s| s.parse::<Uuid>().ok())
                    .and_then(|id| legacy_of.get(&id).cloned())
            });
            out.push(KeyDiff {
                kind,
                table: e.table,
                legacy_key,
                supra_id: e.supra_id,
                detail: e.detail,
                changed: None,
                fix: None,
            });
        }
    }
    out
}
