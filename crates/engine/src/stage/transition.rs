//! Moving an entity to another stage: the preconditions, the write, and what operators read
//! back (`stage show`, the history).
//!
//! ```text
//!  set(entity, to, by, reason)
//!    BEGIN; advisory lock per entity; current stage (FOR UPDATE)
//!    preconditions ── any fails ──► ROLLBACK, StageError::Refused { reasons }  (unless force)
//!    INSERT default row (first change) · UPDATE stage   ── trigger writes the history
//!    NOTIFY supra_sync_stages; COMMIT              ── appliers see it at their next batch
//! ```
//!
//! The stage must be allowed by the mapping's direction and differ from the current one;
//! the other preconditions are in [`super::preconditions`]. `force` records the transition despite failed preconditions (never despite an invalid
//! stage) and appends what was overridden to the reason in the history.

use chrono::{DateTime, Utc};
use supra_sync_mapping::{Direction, EntityMapping, MappingSet};
use tokio_postgres::{Client, GenericClient};

use super::{Stage, StageBook, preconditions};
use crate::EngineError;

/// Why a stage change was not made.
#[derive(Debug, thiserror::Error)]
pub enum StageError {
    /// No mapping of that name.
    #[error("unknown entity {0:?}")]
    UnknownEntity(String),
    /// The stage does not exist for the entity's direction.
    #[error("stage {to} is not allowed for {entity}, a {direction} entity (allowed: {allowed})")]
    NotAllowed {
        /// Entity.
        entity: String,
        /// Requested stage.
        to: Stage,
        /// Its direction, as in the mapping file.
        direction: &'static str,
        /// The allowed stages.
        allowed: String,
    },
    /// The entity is already there.
    #[error("{entity} is already at stage {stage}")]
    Unchanged {
        /// Entity.
        entity: String,
        /// Its stage.
        stage: Stage,
    },
    /// Preconditions do not hold.
    #[error("refusing to move {entity} from {from} to {to}:\n{}", bullet(.reasons))]
    Refused {
        /// Entity.
        entity: String,
        /// Current stage.
        from: Stage,
        /// Requested stage.
        to: Stage,
        /// Every failed precondition.
        reasons: Vec<String>,
    },
    /// A database error.
    #[error(transparent)]
    Engine(#[from] EngineError),
}

fn bullet(reasons: &[String]) -> String {
    reasons
        .iter()
        .map(|r| format!("  * {r}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn direction_name(d: Direction) -> &'static str {
    match d {
        Direction::LegacyToSupra => "legacy_to_supra",
        Direction::Bidirectional => "bidirectional",
    }
}

/// One entity's stage, as `stage show` prints it.
#[derive(Debug, Clone, serde::Serialize)]
pub struct StageRow {
    /// Entity.
    pub entity: String,
    /// Its mapping's direction.
    pub direction: &'static str,
    /// Current stage.
    pub stage: Stage,
    /// False when the entity is at its default (never set).
    pub recorded: bool,
    /// Conflict policy in force.
    pub policy: &'static str,
    /// Who set it.
    pub changed_by: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// When.
    pub changed_at: Option<DateTime<Utc>>,
}

/// One row of `entity_stage_history`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HistoryRow {
    /// Previous stage (`None`: registered).
    pub from: Option<String>,
    /// New stage.
    pub to: String,
    /// Who.
    pub changed_by: String,
    /// Why.
    pub reason: String,
    /// When.
    pub changed_at: DateTime<Utc>,
}

/// Every entity of `mappings` with its stage.
pub async fn overview<C: GenericClient>(
    client: &C,
    mappings: &MappingSet,
) -> Result<Vec<StageRow>, EngineError> {
    let rows = client
        .query(
            "SELECT entity_type::text, changed_by, reason, changed_at FROM supra_sync.entity_stages",
            &[],
        )
        .await
        .map_err(|e| EngineError::sql("reading entity stages", e))?;
    let book = StageBook::load(client).await?;
    Ok(mappings
        .entities()
        .iter()
        .map(|e| {
            let row = rows.iter().find(|r| r.get::<_, String>(0) == e.name());
            StageRow {
                entity: e.name().to_string(),
                direction: direction_name(e.direction()),
                stage: book.stage(e),
                recorded: row.is_some(),
                policy: crate::conflict::policy_name(book.policy(e)),
                changed_by: row.map(|r| r.get(1)),
                reason: row.map(|r| r.get(2)),
                changed_at: row.map(|r| r.get(3)),
            }
        })
        .collect())
}

/// The stage history of one entity, oldest first.
pub async fn history<C: GenericClient>(
    client: &C,
    entity: &str,
) -> Result<Vec<HistoryRow>, EngineError> {
    let rows = client
        .query(
            "SELECT from_stage::text, to_stage::text, changed_by, reason, changed_at
               FROM supra_sync.entity_stage_history WHERE entity_type = $1 ORDER BY id",
            &[&entity],
        )
        .await
        .map_err(|e| EngineError::sql("reading the stage history", e))?;
    Ok(rows
        .iter()
        .map(|r| HistoryRow {
            from: r.get(0),
            to: r.get(1),
            changed_by: r.get(2),
            reason: r.get(3),
            changed_at: r.get(4),
        })
        .collect())
}

/// A stage change that was made.
#[derive(Debug, Clone)]
pub struct Transition {
    /// Entity.
    pub entity: String,
    /// Previous stage.
    pub from: Stage,
    /// New stage.
    pub to: Stage,
    /// Preconditions that failed and were overridden with `force`.
    pub overridden: Vec<String>,
}

/// Moves `entity` to `to` if the preconditions hold (or `force`); see the module docs.
pub async fn set(
    client: &mut Client,
    mappings: &MappingSet,
    entity: &str,
    to: Stage,
    by: &str,
    reason: &str,
    force: bool,
) -> Result<Transition, StageError> {
    let mapping = mappings
        .entity(entity)
        .ok_or_else(|| StageError::UnknownEntity(entity.to_string()))?;
    let allowed = Stage::allowed(mapping.direction());
    if !allowed.contains(&to) {
        return Err(StageError::NotAllowed {
            entity: entity.to_string(),
            to,
            direction: direction_name(mapping.direction()),
            allowed: allowed
                .iter()
                .map(|s| s.name())
                .collect::<Vec<_>>()
                .join(", "),
        });
    }
    let tx = client
        .transaction()
        .await
        .map_err(|e| EngineError::sql("starting the stage change", e))?;
    tx.execute(
        "SELECT pg_advisory_xact_lock(hashtext('supra_sync.entity_stages'), hashtext($1))",
        &[&entity],
    )
    .await
    .map_err(|e| EngineError::sql("locking the entity's stage", e))?;
    let book = StageBook::load(&tx).await?;
    let from = book.stage(mapping);
    if from == to {
        return Err(StageError::Unchanged {
            entity: entity.to_string(),
            stage: to,
        });
    }
    let reasons = preconditions::check(&tx, mappings, &book, mapping, from, to).await?;
    if !reasons.is_empty() && !force {
        return Err(StageError::Refused {
            entity: entity.to_string(),
            from,
            to,
            reasons,
        });
    }
    if !book.is_recorded(entity) {
        tx.execute(
            "INSERT INTO supra_sync.entity_stages (entity_type, stage, changed_by, reason)
             VALUES ($1, $2, $3, $4)",
            &[
                &entity,
                &from.name(),
                &by,
                &format!(
                    "registered at the default stage of a {} entity",
                    direction_name(mapping.direction())
                ),
            ],
        )
        .await
        .map_err(|e| EngineError::sql("registering the entity's stage", e))?;
    }
    let recorded_reason = if reasons.is_empty() {
        reason.to_string()
    } else {
        format!("{reason} [forced past: {}]", reasons.join("; "))
    };
    tx.execute(
        "UPDATE supra_sync.entity_stages SET stage = $2, changed_by = $3, reason = $4
          WHERE entity_type = $1",
        &[&entity, &to.name(), &by, &recorded_reason],
    )
    .await
    .map_err(|e| EngineError::sql("recording the stage", e))?;
    tx.execute("SELECT pg_notify('supra_sync_stages', $1)", &[&entity])
        .await
        .map_err(|e| EngineError::sql("notifying the stage change", e))?;
    tx.commit()
        .await
        .map_err(|e| EngineError::sql("committing the stage change", e))?;
    Ok(Transition {
        entity: entity.to_string(),
        from,
        to,
        overridden: reasons,
    })
}

/// What would stop `entity` from moving to `to` now (empty: nothing).
pub async fn check<C: GenericClient>(
    client: &C,
    mappings: &MappingSet,
    entity: &EntityMapping,
    to: Stage,
) -> Result<Vec<String>, EngineError> {
    let book = StageBook::load(client).await?;
    let from = book.stage(entity);
    preconditions::check(client, mappings, &book, entity, from, to).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusal_lists_every_reason() {
        let e = StageError::Refused {
            entity: "persona".into(),
            from: Stage::Dual,
            to: Stage::SupraPrimary,
            reasons: vec!["a".into(), "b".into()],
        };
        assert_eq!(
            e.to_string(),
            "refusing to move persona from dual to supra_primary:\n  * a\n  * b"
        );
    }
}
