//! Replaying stored raw changes (held or failed) through the engine's [`Applier`], in the
//! direction they were captured, under an origin the other side's source drops.
//!
//! The replayed transaction carries the change's own commit LSN and time (so the conflict
//! check and the supersession rule see it as what it was) but `end_lsn = 0/0`: the origin's
//! resume point is never moved by an operator action.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use supra_sync_core::{Change, Lsn, Side, Transaction};
use supra_sync_mapping::MappingSet;
use supra_sync_postgres::DbConfig;
use supra_sync_postgres::names::ObjectNames;

use super::origin::{self, IN_USE};
use super::{Operator, ResolveError};
use crate::{Applier, ApplierOptions, BatchSummary};

/// What appliers are built from.
struct Settings {
    legacy_db: DbConfig,
    supra_db: DbConfig,
    mappings: Arc<MappingSet>,
    names: ObjectNames,
    tenant: String,
}

/// Lazily built appliers, one per direction.
pub struct Replayer {
    settings: Settings,
    forward: Option<Applier>,
    reverse: Option<Applier>,
}

impl Replayer {
    /// A replayer with the operator's connections settings and mappings.
    pub fn new(op: &Operator) -> Replayer {
        Replayer {
            settings: Settings {
                legacy_db: op.legacy_db.clone(),
                supra_db: op.supra_db.clone(),
                mappings: op.mappings.clone(),
                names: op.names.clone(),
                tenant: op.tenant.clone(),
            },
            forward: None,
            reverse: None,
        }
    }

    /// Applies one change captured on `source` (committed at `lsn`, `ts`).
    pub async fn apply(
        &mut self,
        source: Side,
        change: Change,
        lsn: Lsn,
        ts: DateTime<Utc>,
        xid: u32,
    ) -> Result<BatchSummary, ResolveError> {
        let slot = match source {
            Side::Legacy => &mut self.forward,
            Side::Supra => &mut self.reverse,
        };
        if slot.is_none() {
            *slot = Some(applier(&self.settings, source).await?);
        }
        let applier = slot.as_mut().expect("set above");
        let tx = Transaction {
            side: source,
            xid,
            commit_lsn: lsn,
            end_lsn: Lsn::ZERO,
            commit_ts: ts,
            origin: None,
            changes: vec![change],
        };
        Ok(applier.apply(std::slice::from_ref(&tx)).await?)
    }
}

/// An applier for changes from `source`, attached to the first free origin.
async fn applier(op: &Settings, source: Side) -> Result<Applier, ResolveError> {
    let written = source.other();
    let candidates = origin::candidates(&op.names, written);
    for name in &candidates {
        let (target_db, reader_db) = match source {
            Side::Legacy => (&op.supra_db, &op.legacy_db),
            Side::Supra => (&op.legacy_db, &op.supra_db),
        };
        let target = target_db
            .connect()
            .await
            .map_err(crate::EngineError::from)?;
        if *name != op.names.origin(written.other()) {
            origin::ensure(&target, name).await?;
        }
        let book = match source {
            Side::Legacy => None,
            Side::Supra => Some(
                op.supra_db
                    .connect()
                    .await
                    .map_err(crate::EngineError::from)?,
            ),
        };
        let reader = reader_db
            .connect()
            .await
            .map_err(crate::EngineError::from)?;
        let opts = ApplierOptions {
            source,
            names: op.names.clone(),
            origin: name.clone(),
            tenant: op.tenant.clone(),
            halt_on_failure: false,
        };
        match Applier::new(opts, op.mappings.clone(), target, book, reader).await {
            Ok(a) => return Ok(a),
            Err(e) if matches!(e.sqlstate(), Some(IN_USE) | Some("42704")) => {
                tracing::debug!(origin = %name, error = %e, "origin not available; trying the next");
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(ResolveError::Refused(format!(
        "every replication origin supra-sync may write {written} under is in use ({})\nhint: the service, a `supra-sync reconcile --fix` and a `supra-sync replay` are probably running; retry when one has finished",
        candidates.join(", ")
    )))
}
