//! Per-entity cutover stages (strangler fig, seed 003 §3.3 Phase B4): which directions sync
//! and which side wins a conflict, entity by entity.
//!
//! ```text
//!  shadow ──► dual ──► supra_primary ──► legacy_readonly ──► retired      (bidirectional)
//!  shadow ─────────────────────────────────────────────────► retired      (legacy_to_supra)
//!
//!             legacy → SUPRA   SUPRA → legacy   conflict policy
//!  shadow          yes              no          legacy_wins (SUPRA is a read-only copy)
//!  dual            yes              yes         the mapping's
//!  supra_primary   yes              yes         the mapping's, legacy_wins ⇄ supra_wins
//!  legacy_readonly no               yes         supra_wins
//!  retired         no               no          -
//! ```
//!
//! Stages live in `supra_sync.entity_stages` (history in `entity_stage_history`); an entity
//! without a row is at its default, [`Stage::default_for`] its direction, so a deployment that
//! never sets a stage behaves as before. Every applier reloads the table before planning each
//! batch ([`StageBook::load`]: one query over a table of a dozen rows), so `supra-sync stage
//! set` takes effect on the running service from its next batch, without a restart. A change
//! that its entity's stage does not let through is logged as `skipped` with the reason
//! (nothing is dropped silently). Transitions and their preconditions: [`transition`].

mod preconditions;
pub mod transition;

use std::collections::HashMap;
use std::fmt;
use std::str::FromStr;

use supra_sync_core::Side;
use supra_sync_mapping::{ConflictPolicy, Direction, EntityMapping};
use tokio_postgres::GenericClient;

use crate::EngineError;

/// Where an entity is in its cutover.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Stage {
    /// Legacy → SUPRA only; SUPRA is a read-only copy.
    Shadow,
    /// Both ways; legacy is the system of record.
    Dual,
    /// Both ways; SUPRA is the system of record.
    SupraPrimary,
    /// SUPRA → legacy only; legacy is read-only for its users.
    LegacyReadonly,
    /// No sync at all.
    Retired,
}

impl Stage {
    /// Every stage, in order.
    pub const ALL: [Stage; 5] = [
        Stage::Shadow,
        Stage::Dual,
        Stage::SupraPrimary,
        Stage::LegacyReadonly,
        Stage::Retired,
    ];

    /// The name stored in `entity_stages.stage`.
    pub fn name(self) -> &'static str {
        match self {
            Stage::Shadow => "shadow",
            Stage::Dual => "dual",
            Stage::SupraPrimary => "supra_primary",
            Stage::LegacyReadonly => "legacy_readonly",
            Stage::Retired => "retired",
        }
    }

    /// Position, 1 (shadow) to 5 (retired), as `supra_sync.stage_rank`.
    pub fn rank(self) -> u8 {
        self as u8 + 1
    }

    /// The stage an entity is at when none is recorded: today's behaviour.
    pub fn default_for(direction: Direction) -> Stage {
        match direction {
            Direction::LegacyToSupra => Stage::Shadow,
            Direction::Bidirectional => Stage::Dual,
        }
    }

    /// The stages an entity of this direction may be at, in order.
    pub fn allowed(direction: Direction) -> &'static [Stage] {
        match direction {
            Direction::LegacyToSupra => &[Stage::Shadow, Stage::Retired],
            Direction::Bidirectional => &Stage::ALL,
        }
    }

    /// Whether changes made on `side` are synced to the other side.
    pub fn flows_from(self, side: Side) -> bool {
        matches!(
            (self, side),
            (
                Stage::Shadow | Stage::Dual | Stage::SupraPrimary,
                Side::Legacy
            ) | (
                Stage::Dual | Stage::SupraPrimary | Stage::LegacyReadonly,
                Side::Supra
            )
        )
    }

    /// The side that is the system of record (wins by default, is re-synced from).
    pub fn primary(self) -> Side {
        match self {
            Stage::Shadow | Stage::Dual | Stage::Retired => Side::Legacy,
            Stage::SupraPrimary | Stage::LegacyReadonly => Side::Supra,
        }
    }

    /// The conflict policy in force at this stage for a mapping whose policy is `mapping`.
    /// `manual` stays manual while both sides are written (dual, supra_primary).
    pub fn policy(self, mapping: ConflictPolicy) -> ConflictPolicy {
        match (self, mapping) {
            (Stage::Shadow | Stage::Retired, _) => ConflictPolicy::LegacyWins,
            (Stage::LegacyReadonly, _) => ConflictPolicy::SupraWins,
            (Stage::Dual, p) => p,
            (Stage::SupraPrimary, ConflictPolicy::LegacyWins) => ConflictPolicy::SupraWins,
            (Stage::SupraPrimary, ConflictPolicy::SupraWins) => ConflictPolicy::LegacyWins,
            (Stage::SupraPrimary, p) => p,
        }
    }
}

impl fmt::Display for Stage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl serde::Serialize for Stage {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

/// A stage name that is not one of [`Stage::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown stage {0:?}: expected shadow, dual, supra_primary, legacy_readonly or retired")]
pub struct UnknownStage(pub String);

impl FromStr for Stage {
    type Err = UnknownStage;

    fn from_str(s: &str) -> Result<Stage, UnknownStage> {
        Stage::ALL
            .into_iter()
            .find(|st| st.name() == s.trim())
            .ok_or_else(|| UnknownStage(s.to_string()))
    }
}

/// The recorded stages, as an applier sees them for one batch.
#[derive(Debug, Clone, Default)]
pub struct StageBook {
    recorded: HashMap<String, Stage>,
}

impl StageBook {
    /// Reads `supra_sync.entity_stages` (SUPRA).
    pub async fn load<C: GenericClient>(client: &C) -> Result<StageBook, EngineError> {
        let rows = client
            .query(
                "SELECT entity_type::text, stage::text FROM supra_sync.entity_stages",
                &[],
            )
            .await
            .map_err(|e| EngineError::sql("reading entity stages", e))?;
        let mut recorded = HashMap::with_capacity(rows.len());
        for r in rows {
            let (entity, stage): (String, String) = (r.get(0), r.get(1));
            let stage = stage.parse().map_err(|e: UnknownStage| {
                EngineError::Definite(format!("entity_stages row of {entity}: {e}"))
            })?;
            recorded.insert(entity, stage);
        }
        Ok(StageBook { recorded })
    }

    /// A book with the given stages (tests, tools).
    pub fn from_stages(stages: impl IntoIterator<Item = (String, Stage)>) -> StageBook {
        StageBook {
            recorded: stages.into_iter().collect(),
        }
    }

    /// The stage of `entity`: recorded, else its direction's default.
    pub fn stage(&self, entity: &EntityMapping) -> Stage {
        self.recorded
            .get(entity.name())
            .copied()
            .unwrap_or_else(|| Stage::default_for(entity.direction()))
    }

    /// Whether the stage is recorded (not the default).
    pub fn is_recorded(&self, entity: &str) -> bool {
        self.recorded.contains_key(entity)
    }

    /// Why a change to `entity` coming from `side` must not be synced now, if so.
    pub fn gate(&self, entity: &EntityMapping, side: Side) -> Option<String> {
        let stage = self.stage(entity);
        (!stage.flows_from(side)).then(|| {
            format!(
                "stage {stage}: {} changes of {} are not synced ({} → {} is off)",
                side,
                entity.name(),
                side,
                side.other()
            )
        })
    }

    /// The conflict policy in force for `entity` now.
    pub fn policy(&self, entity: &EntityMapping) -> ConflictPolicy {
        self.stage(entity).policy(entity.conflicts())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ConflictPolicy::*;

    #[test]
    fn names_ranks_and_parsing_round_trip() {
        for (i, s) in Stage::ALL.into_iter().enumerate() {
            assert_eq!(s.rank() as usize, i + 1);
            assert_eq!(s.name().parse::<Stage>(), Ok(s));
        }
        assert!("planned".parse::<Stage>().is_err());
    }

    #[test]
    fn directions_by_stage() {
        let flows: Vec<(bool, bool)> = Stage::ALL
            .iter()
            .map(|s| (s.flows_from(Side::Legacy), s.flows_from(Side::Supra)))
            .collect();
        assert_eq!(
            flows,
            [
                (true, false),
                (true, true),
                (true, true),
                (false, true),
                (false, false)
            ]
        );
        assert_eq!(Stage::default_for(Direction::Bidirectional), Stage::Dual);
        assert_eq!(Stage::default_for(Direction::LegacyToSupra), Stage::Shadow);
        assert_eq!(
            Stage::allowed(Direction::LegacyToSupra),
            &[Stage::Shadow, Stage::Retired]
        );
    }

    #[test]
    fn supra_primary_flips_the_default_policy_and_manual_stays_manual() {
        assert_eq!(Stage::Dual.policy(LegacyWins), LegacyWins);
        assert_eq!(Stage::SupraPrimary.policy(LegacyWins), SupraWins);
        assert_eq!(Stage::SupraPrimary.policy(SupraWins), LegacyWins);
        assert_eq!(Stage::SupraPrimary.policy(Manual), Manual);
        assert_eq!(Stage::SupraPrimary.policy(NewestWins), NewestWins);
        assert_eq!(Stage::Shadow.policy(Manual), LegacyWins);
        assert_eq!(Stage::LegacyReadonly.policy(Manual), SupraWins);
    }
}
