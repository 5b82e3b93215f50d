//! The operator's side of the sync: review and settle conflicts, retry failed changes, and
//! read the state of both pipelines — the library behind `supra-sync conflicts`, `log`,
//! `retry` and `status`.
//!
//! ```text
//!  sync_conflicts (open) ──show──► recorded images + current rows + last synced version
//!        │
//!        └─resolve──► lock legacy row ─┐ (FOR UPDATE, both databases)
//!                     lock SUPRA row ──┤ refuse if the rows changed since (stale)
//!                                      ├─ chosen version through the mappings (forward / reverse)
//!                                      ├─ legacy write   (session origin: SUPRA pipeline's)  COMMIT
//!                                      └─ SUPRA write + sync_mappings versions + conflict
//!                                         resolved       (session origin: legacy pipeline's) COMMIT
//!                     release held changes, in seq order: superseded ones are logged
//!                     `skipped`, later ones replayed through an [`crate::Applier`]
//!
//!  sync_log (failed) ──retry──► raw change ─► Applier (current mappings) ─► new sync_log row
//!                                                 old row: `retried`, new row: retry_of = old
//! ```
//!
//! Writes carry a replication origin that the opposite pipeline's source drops, so a
//! resolution is never captured and sent back ([`origin`]). Every refusal (unknown id,
//! resolved or stale conflict, bad merge) happens before anything is written.

pub mod compare;
pub mod conflicts;
pub mod current;
pub mod execute;
pub mod image;
pub mod log;
pub mod merge;
pub mod origin;
pub mod plan;
pub mod refresh;
pub mod release;
pub mod replay;
pub mod retry;
pub mod rows;
pub mod show;
pub mod status;

use std::sync::Arc;

use supra_sync_mapping::MappingSet;
use supra_sync_postgres::DbConfig;
use supra_sync_postgres::names::ObjectNames;
use tokio_postgres::Client;
use uuid::Uuid;

use crate::EngineError;

pub use conflicts::{ConflictFilter, ConflictRecord};
pub use execute::{ResolveOptions, ResolveOutcome};
pub use merge::{Choice, MergeSpec};
pub use release::ReleaseSummary;
pub use retry::RetryOutcome;
pub use status::{HealthThresholds, StatusReport};

/// Why an operator action was refused or failed. Refusals change nothing.
#[derive(Debug, thiserror::Error)]
pub enum ResolveError {
    /// No such conflict / log row.
    #[error("{0}")]
    NotFound(String),
    /// The conflict is not open any more.
    #[error(
        "conflict {id} is already {status}{}{}\nhint: nothing was changed; see `supra-sync conflicts show {id}`",
        resolution.as_ref().map(|r| format!(" ({r})")).unwrap_or_default(),
        by.as_ref().map(|b| format!(" by {b}")).unwrap_or_default()
    )]
    NotOpen {
        /// Conflict id.
        id: Uuid,
        /// Its status.
        status: String,
        /// How it was resolved.
        resolution: Option<String>,
        /// Who resolved it.
        by: Option<String>,
    },
    /// A row changed on one side since the conflict was recorded.
    #[error(
        "conflict {id} is stale: the {side} row changed since the conflict was recorded ({})\ndetail: resolving it now would overwrite a change nobody reviewed; nothing was changed\nhint: review the current rows with `supra-sync conflicts show {id}`, then record them with `supra-sync conflicts refresh {id}` and resolve again",
        columns.join(", ")
    )]
    Stale {
        /// Conflict id.
        id: Uuid,
        /// `legacy` or `SUPRA`.
        side: String,
        /// The columns that changed (or a note that the row appeared / disappeared).
        columns: Vec<String>,
    },
    /// A merge specification that cannot be used.
    #[error("{0}")]
    BadMerge(String),
    /// The request cannot be carried out as asked (e.g. retrying a row that did not fail).
    #[error("{0}")]
    Refused(String),
    /// From the engine (database errors, mapping errors).
    #[error(transparent)]
    Engine(#[from] EngineError),
}

impl ResolveError {
    /// A database error with context.
    pub(crate) fn sql(context: impl Into<String>, e: tokio_postgres::Error) -> ResolveError {
        ResolveError::Engine(EngineError::sql(context, e))
    }
}

/// Connections and settings for operator actions.
pub struct Operator {
    /// Legacy connection (session pinned to UTC / ISO text forms).
    pub legacy: Client,
    /// SUPRA connection (same session settings).
    pub supra: Client,
    /// Legacy connection settings (appliers open their own connections).
    pub legacy_db: DbConfig,
    /// SUPRA connection settings.
    pub supra_db: DbConfig,
    /// The mapping files.
    pub mappings: Arc<MappingSet>,
    /// Object names (prefix of slots, publications, origins).
    pub names: ObjectNames,
    /// Tenant code (`tenants.slug`) the mappings write for.
    pub tenant: String,
    /// The tenant's id (the SUPRA session runs in its context).
    pub tenant_id: Uuid,
}

impl Operator {
    /// Connects to both databases.
    pub async fn connect(
        legacy_db: DbConfig,
        supra_db: DbConfig,
        mappings: Arc<MappingSet>,
        names: ObjectNames,
        tenant: String,
    ) -> Result<Operator, ResolveError> {
        let legacy = legacy_db.connect().await.map_err(EngineError::from)?;
        let supra = supra_db.connect().await.map_err(EngineError::from)?;
        rows::pin_session(&legacy).await?;
        rows::pin_session(&supra).await?;
        let tenant_id = crate::book::tenant_id(&supra, &tenant).await?;
        supra
            .execute(
                "SELECT set_config('app.current_tenant', $1, false)",
                &[&tenant_id.to_string()],
            )
            .await
            .map_err(|e| ResolveError::sql("setting the tenant context", e))?;
        Ok(Operator {
            legacy,
            supra,
            legacy_db,
            supra_db,
            mappings,
            names,
            tenant,
            tenant_id,
        })
    }

    /// The mapping of an entity, or a clear error.
    pub fn entity(&self, name: &str) -> Result<&supra_sync_mapping::EntityMapping, ResolveError> {
        self.mappings.entity(name).ok_or_else(|| {
            ResolveError::Refused(format!(
                "entity {name:?} is not in the mapping files\nhint: pass the --mappings directory the service runs with"
            ))
        })
    }
}
