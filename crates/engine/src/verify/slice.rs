//! The verifier on a slice of one entity, for online reconciliation (`supra-sync reconcile`):
//! a keyset page of legacy rows, or given legacy keys, plus given mapped SUPRA ids, compared
//! inside two short snapshots instead of one per entity.
//!
//! ```text
//!  Slice { After(key, n) | Keys([..]), mapped: [supra ids] }
//!    legacy (REPEATABLE READ, one slice)       SUPRA (REPEATABLE READ, app.is_admin)
//!    page / rows by key ──► expected rows ──►  temp twin ─ EXCEPT ─ rows with those ids only
//!                                                 (index lookups, no scan of the table)
//! ```
//!
//! Same rules as [`super::compare`], with every example kept (the caller wants every key) and
//! without the search for rows mapped to nothing (the caller pages over SUPRA for those).
//! `mapped` ids whose legacy rows are gone are judged by the delete policy (retained or
//! unexpected), exactly as the whole-entity comparison does.

use supra_sync_core::Value;
use supra_sync_mapping::{FetchNeed, MappingSet};
use tokio_postgres::Client;
use uuid::Uuid;

use super::source::LegacyReader;
use super::{EntityComparison, EntityRun};
use crate::{EngineError, book};

/// Which legacy rows of the entity a slice covers.
#[derive(Debug, Clone)]
pub enum SliceRows<'a> {
    /// Up to `rows` rows with a key greater than `after` (all from the start when `None`).
    After {
        /// Keyset position (key values of the last row of the previous slice).
        after: Option<&'a [Value]>,
        /// Page size.
        rows: i64,
    },
    /// The rows with these legacy keys (`sync_mappings.legacy_id` text); absent ones are
    /// simply not there.
    Keys(&'a [String]),
}

/// One slice of an entity.
#[derive(Debug, Clone)]
pub struct Slice<'a> {
    /// Entity.
    pub entity: &'a str,
    /// Legacy rows.
    pub rows: SliceRows<'a>,
    /// SUPRA ids mapped to the entity to bring into scope as well (rows whose legacy row may
    /// be gone).
    pub mapped: &'a [Uuid],
}

/// What a slice found.
#[derive(Debug, Clone)]
pub struct SliceOutcome {
    /// The comparison, every example kept.
    pub comparison: EntityComparison,
    /// Key values of the last legacy row read (`None`: no row).
    pub last_key: Option<Vec<Value>>,
    /// Legacy rows read.
    pub rows: usize,
}

/// Compares one slice, in its own pair of short snapshots.
pub async fn compare_slice(
    legacy: &Client,
    supra: &Client,
    mappings: &MappingSet,
    tenant: &str,
    slice: &Slice<'_>,
) -> Result<SliceOutcome, EngineError> {
    let entity = mappings.entity(slice.entity).ok_or_else(|| {
        EngineError::Definite(format!("verify: unknown entity {:?}", slice.entity))
    })?;
    legacy
        .batch_execute(
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;
             SET LOCAL TimeZone = 'UTC'; SET LOCAL DateStyle = 'ISO'; SET LOCAL extra_float_digits = 3",
        )
        .await
        .map_err(|e| EngineError::sql("verify: opening the legacy snapshot", e))?;
    let opened = supra
        .batch_execute(
            "BEGIN ISOLATION LEVEL REPEATABLE READ;
             SET LOCAL app.is_admin = 'true'; SET LOCAL TimeZone = 'UTC'",
        )
        .await
        .map_err(|e| EngineError::sql("verify: opening the SUPRA snapshot", e));
    let result = match opened {
        Ok(()) => {
            let r = slice_in(legacy, supra, entity, tenant, slice).await;
            let _ = supra.batch_execute("ROLLBACK").await;
            r
        }
        Err(e) => Err(e),
    };
    let _ = legacy.batch_execute("ROLLBACK").await;
    result
}

async fn slice_in(
    legacy: &Client,
    supra: &Client,
    entity: &supra_sync_mapping::EntityMapping,
    tenant: &str,
    slice: &Slice<'_>,
) -> Result<SliceOutcome, EngineError> {
    let tenant_id = book::tenant_id(supra, tenant).await?;
    let mut reader = LegacyReader::new(legacy);
    let mut report = EntityComparison {
        entity: entity.name().to_string(),
        ..EntityComparison::default()
    };
    for d in [
        &mut report.missing,
        &mut report.unexpected,
        &mut report.differing,
        &mut report.unmappable,
    ] {
        d.keep_all = true;
    }
    let mut run = EntityRun {
        entity,
        tenant_id,
        supra,
        tables: Vec::new(),
        unmappable_ids: Vec::new(),
        report,
        temp_prefix: "__reconcile".into(),
        chunk: true,
    };
    let table = entity.legacy_table().clone();
    let page = match &slice.rows {
        SliceRows::After { after, rows } => reader.page(&table, *after, *rows).await?,
        SliceRows::Keys(keys) => {
            let columns = entity.legacy_key();
            let needs: Vec<FetchNeed> = keys
                .iter()
                .map(|k| FetchNeed {
                    table: table.clone(),
                    key: columns
                        .iter()
                        .cloned()
                        .zip(crate::apply::parse_key_text(k))
                        .collect(),
                })
                .collect();
            reader
                .fetch_many(needs.iter())
                .await?
                .remove(&table)
                .unwrap_or_default()
        }
    };
    let last_key = page
        .last()
        .map(|r| r.key_values().into_iter().cloned().collect());
    let rows = page.len();
    if !page.is_empty() {
        run.expect_page(&mut reader, &page).await?;
    }
    let comparison = run.finish_scoped(slice.mapped.to_vec()).await?;
    Ok(SliceOutcome {
        comparison,
        last_key,
        rows,
    })
}
