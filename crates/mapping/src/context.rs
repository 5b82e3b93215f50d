//! What flows between the sync engine and a mapping: the [`Needs`] of a row, the
//! [`ResolvedContext`] the engine fills from them, and the [`TargetOp`]s a mapping produces.
//!
//! ```text
//!  row ──forward_needs──► Needs ──engine: batched lookups (sync_mappings, legacy reads)──┐
//!   │                                                                                    ▼
//!   └──────────────────────────────forward(row, &ResolvedContext)──► Vec<TargetOp> ──► applier
//! ```
//!
//! Evaluation never does I/O. A context may be shared by the rows of a batch: every map is
//! keyed so that each row finds its own entries; only `supra_id` is per row, and it may stay
//! `None` (the row's own mapping is then looked up in `supra_ids`, else minted).

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use supra_sync_core::{Row, TableName, Value};
use uuid::Uuid;

/// In which role a source table feeds an entity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The entity's own table: one row maps to one primary SUPRA row.
    Primary,
    /// A table joined 1:1 into the entity (e.g. `geolocalizacion` into `direccion`):
    /// a change recomputes the parent row.
    Secondary,
    /// Rows aggregated into a JSONB array of the entity (e.g. `aplictarif` into `tarifa`):
    /// a change recomputes the parent row.
    Child,
}

/// One entity a source table feeds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Entity name.
    pub entity: String,
    /// Role of the table for that entity.
    pub role: Role,
}

/// A legacy foreign key to resolve to a SUPRA id through `sync_mappings`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RefNeed {
    /// Referenced entity.
    pub entity: String,
    /// Its legacy key text (as `sync_mappings.legacy_id`).
    pub legacy_key: String,
}

/// A SUPRA foreign key to resolve to a legacy id through `sync_mappings`
/// (or, for the row itself, to allocate with the entity's id strategy).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReverseRefNeed {
    /// Referenced entity.
    pub entity: String,
    /// Its SUPRA id.
    pub supra_id: Uuid,
}

/// Legacy rows to read: those of `table` whose `key` columns equal the given values.
#[derive(Debug, Clone, PartialEq)]
pub struct FetchNeed {
    /// Legacy table.
    pub table: TableName,
    /// Column = value filter (all must match).
    pub key: Vec<(String, Value)>,
}

/// What must be looked up before `forward`/`reverse` can run for a row.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Needs {
    /// Legacy keys to resolve to SUPRA ids.
    pub refs: Vec<RefNeed>,
    /// SUPRA ids to resolve to legacy ids (the first one, for `reverse`, is the row itself).
    pub reverse_refs: Vec<ReverseRefNeed>,
    /// Joined rows to read (at most one row each); put them in [`ResolvedContext::secondary`].
    pub secondary: Vec<FetchNeed>,
    /// Child rows to read (all matching); put them in [`ResolvedContext::children`].
    pub children: Vec<FetchNeed>,
    /// For a Secondary or Child row: the primary (entity, legacy key) to recompute instead.
    pub parent: Option<(String, String)>,
}

/// Everything `forward`/`reverse` may read besides the row itself.
#[derive(Debug, Clone)]
pub struct ResolvedContext {
    /// SUPRA ids by entity, then legacy key (from `sync_mappings`).
    pub supra_ids: HashMap<String, HashMap<String, Uuid>>,
    /// Legacy keys by entity, then SUPRA id (from `sync_mappings`, or freshly allocated).
    pub legacy_ids: HashMap<String, HashMap<Uuid, String>>,
    /// Fetched joined rows by legacy table. The mapping picks the row matching the join
    /// condition, so one map may hold the rows of a whole batch; no match reads as NULLs.
    pub secondary: HashMap<TableName, Vec<Row>>,
    /// Fetched child rows by legacy table, any order: the mapping keeps those matching the
    /// parent (so a batch may share one map) and sorts them by `order_by`.
    pub children: HashMap<TableName, Vec<Row>>,
    /// The SUPRA id of the row being mapped (existing mapping or newly minted). When `None`,
    /// `forward` uses [`crate::mint_supra_id`].
    pub supra_id: Option<Uuid>,
    /// The tenant's id (resolved by the engine from the `[supra] tenant` code).
    pub tenant_id: Uuid,
    /// The time of the operation (what `now()` returns).
    pub now: DateTime<Utc>,
}

impl ResolvedContext {
    /// An empty context for `tenant_id` at `now`.
    pub fn new(tenant_id: Uuid, now: DateTime<Utc>) -> ResolvedContext {
        ResolvedContext {
            supra_ids: HashMap::new(),
            legacy_ids: HashMap::new(),
            secondary: HashMap::new(),
            children: HashMap::new(),
            supra_id: None,
            tenant_id,
            now,
        }
    }

    /// Records that legacy row `legacy_key` of `entity` is SUPRA row `supra_id` (both ways).
    pub fn add_mapping(&mut self, entity: &str, legacy_key: &str, supra_id: Uuid) {
        self.supra_ids
            .entry(entity.to_string())
            .or_default()
            .insert(legacy_key.to_string(), supra_id);
        self.legacy_ids
            .entry(entity.to_string())
            .or_default()
            .insert(supra_id, legacy_key.to_string());
    }

    /// The SUPRA id of a legacy row, if mapped.
    pub fn supra_id_of(&self, entity: &str, legacy_key: &str) -> Option<Uuid> {
        self.supra_ids.get(entity)?.get(legacy_key).copied()
    }

    /// The legacy key of a SUPRA row, if mapped.
    pub fn legacy_id_of(&self, entity: &str, supra_id: Uuid) -> Option<&str> {
        self.legacy_ids
            .get(entity)?
            .get(&supra_id)
            .map(String::as_str)
    }
}

/// One write on a target database. Values are bound as parameters, never spliced.
#[derive(Debug, Clone, PartialEq)]
pub enum TargetOp {
    /// `INSERT (columns) VALUES (values) ON CONFLICT (conflict_columns) DO UPDATE SET` every
    /// other column.
    Upsert {
        /// Target table.
        table: TableName,
        /// Columns identifying the row (a unique constraint).
        conflict_columns: Vec<String>,
        /// All columns written, conflict columns included.
        columns: Vec<String>,
        /// One value per column.
        values: Vec<Value>,
    },
    /// `UPDATE table SET columns = values WHERE key_columns = key_values` (no insert):
    /// used by the soft-delete policy.
    Update {
        /// Target table.
        table: TableName,
        /// Key columns.
        key_columns: Vec<String>,
        /// Key values.
        key_values: Vec<Value>,
        /// Columns to set.
        columns: Vec<String>,
        /// Values to set.
        values: Vec<Value>,
    },
    /// `DELETE FROM table WHERE key_columns = key_values`.
    Delete {
        /// Target table.
        table: TableName,
        /// Key columns.
        key_columns: Vec<String>,
        /// Key values.
        key_values: Vec<Value>,
    },
}

impl TargetOp {
    /// The table written.
    pub fn table(&self) -> &TableName {
        match self {
            TargetOp::Upsert { table, .. }
            | TargetOp::Update { table, .. }
            | TargetOp::Delete { table, .. } => table,
        }
    }

    /// The columns and values written (upserts and updates; `None` for deletes).
    pub fn written(&self) -> Option<(&[String], &[Value])> {
        match self {
            TargetOp::Upsert {
                columns, values, ..
            }
            | TargetOp::Update {
                columns, values, ..
            } => Some((columns, values)),
            TargetOp::Delete { .. } => None,
        }
    }

    /// The value written to `column` (upserts and updates).
    pub fn value(&self, column: &str) -> Option<&Value> {
        let (columns, values) = self.written()?;
        columns.iter().position(|c| c == column).map(|i| &values[i])
    }
}

/// Why a row could not be mapped.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum EvalError {
    /// A referenced legacy row has no SUPRA id yet: park the row and retry later.
    #[error("{entity} {legacy_key} is not mapped yet")]
    MissingReference {
        /// Referenced entity.
        entity: String,
        /// Its legacy key.
        legacy_key: String,
    },
    /// A referenced SUPRA row has no legacy id yet: park the row and retry later.
    #[error("{entity} {supra_id} has no legacy id yet")]
    MissingLegacyId {
        /// Referenced entity.
        entity: String,
        /// Its SUPRA id.
        supra_id: Uuid,
    },
    /// The row's data cannot be mapped (goes to `sync_log` as failed).
    #[error("{column}: {message}")]
    Invalid {
        /// Target column (`table.column` for secondary SUPRA tables).
        column: String,
        /// What went wrong.
        message: String,
    },
    /// A column the mapping reads came as "unchanged TOAST": fetch the full row and retry.
    #[error("{column}: the source sent no value (unchanged TOAST); the full row is needed")]
    Unchanged {
        /// Source column.
        column: String,
    },
    /// The row's schema lacks a column the mapping reads (schema drift).
    #[error("{table} has no column `{column}` (the mapping reads it)")]
    MissingColumn {
        /// Source table.
        table: TableName,
        /// Missing column.
        column: String,
    },
    /// `reverse` on an entity that only flows legacy → SUPRA.
    #[error("entity {entity} is not bidirectional")]
    NotBidirectional {
        /// Entity name.
        entity: String,
    },
}

impl EvalError {
    /// True when retrying later may succeed without changing the data (park, don't fail).
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            EvalError::MissingReference { .. }
                | EvalError::MissingLegacyId { .. }
                | EvalError::Unchanged { .. }
        )
    }
}
