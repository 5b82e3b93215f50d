//! Which side a differing row is re-synced from (`reconcile --fix`).
//!
//! The per-row content hashes that conflict detection records in `sync_mappings` (the SUPRA
//! image and the legacy image both sides last agreed on) tell which side changed a row since
//! the last sync. The row is re-synced from that side when its changes flow at the entity's
//! stage, else from the stage's primary side; always from a side that still has the row (a fix
//! never deletes).

use supra_sync_core::{Row, Side};
use supra_sync_mapping::{Direction, EntityMapping};

use super::Changed;
use crate::conflict::row_hash;
use crate::stage::Stage;

/// Which side changed the row since both sides last agreed. `agreed` holds the hashes of
/// the SUPRA and the legacy image at the last sync (bidirectional entities record them).
pub(super) fn changed_side(
    entity: &EntityMapping,
    agreed: Option<(Option<&str>, Option<&str>)>,
    legacy: Option<&Row>,
    supra: Option<&Row>,
    image: &[String],
) -> Changed {
    let (Direction::Bidirectional, Some((Some(s), Some(l)))) = (entity.direction(), agreed) else {
        return Changed::Unknown;
    };
    let legacy_changed = legacy.map(|r| row_hash(r, &[])).as_deref() != Some(l);
    let supra_changed = supra.map(|r| row_hash(r, image)).as_deref() != Some(s);
    match (legacy_changed, supra_changed) {
        (true, false) => Changed::Legacy,
        (false, true) => Changed::Supra,
        (true, true) => Changed::Both,
        (false, false) => Changed::Unknown,
    }
}

/// The side to re-sync a row from; see the module docs.
pub(super) fn direction(
    stage: Stage,
    changed: Changed,
    on_legacy: bool,
    on_supra: bool,
) -> Result<Side, String> {
    if stage == Stage::Retired {
        return Err("the entity is retired: nothing is synced".into());
    }
    let preferred = match changed {
        Changed::Legacy => Side::Legacy,
        Changed::Supra => Side::Supra,
        Changed::Both | Changed::Unknown => stage.primary(),
    };
    let has = |s: Side| match s {
        Side::Legacy => on_legacy,
        Side::Supra => on_supra,
    };
    for side in [preferred, preferred.other()] {
        if stage.flows_from(side) && has(side) {
            return Ok(side);
        }
    }
    Err(match (on_legacy, on_supra) {
        (false, false) => "the row is on neither side any more".into(),
        (true, false) | (false, true) => {
            let have = if on_legacy { Side::Legacy } else { Side::Supra };
            format!(
                "only {have} has the row and {have} → {} is off at stage {stage}; a fix never deletes",
                have.other()
            )
        }
        (true, true) => format!("no direction flows at stage {stage}"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn direction_follows_the_changed_side_within_the_stage() {
        use Changed::*;
        assert_eq!(direction(Stage::Dual, Legacy, true, true), Ok(Side::Legacy));
        assert_eq!(direction(Stage::Dual, Supra, true, true), Ok(Side::Supra));
        assert_eq!(direction(Stage::Dual, Both, true, true), Ok(Side::Legacy));
        assert_eq!(
            direction(Stage::SupraPrimary, Unknown, true, true),
            Ok(Side::Supra)
        );
        // SUPRA changed, but SUPRA → legacy is off in shadow: legacy is re-applied.
        assert_eq!(
            direction(Stage::Shadow, Supra, true, true),
            Ok(Side::Legacy)
        );
        // Legacy changed under legacy_readonly: SUPRA restores it.
        assert_eq!(
            direction(Stage::LegacyReadonly, Legacy, true, true),
            Ok(Side::Supra)
        );
        // A row deleted behind the sync's back is re-created, never deleted on the other side.
        assert_eq!(direction(Stage::Dual, Supra, true, false), Ok(Side::Legacy));
        assert!(direction(Stage::Shadow, Unknown, false, true).is_err());
        assert!(direction(Stage::Retired, Legacy, true, true).is_err());
    }
}
