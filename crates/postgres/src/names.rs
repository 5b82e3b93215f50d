//! The names of the objects supra-sync creates, derived from one configurable prefix so that
//! two environments can share a server without colliding.

use supra_sync_core::Side;

/// Object names for one deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ObjectNames {
    prefix: String,
}

impl Default for ObjectNames {
    fn default() -> Self {
        ObjectNames {
            prefix: "supra_sync".into(),
        }
    }
}

impl ObjectNames {
    /// Names with a custom prefix (lowercase letters, digits and `_`).
    pub fn with_prefix(prefix: &str) -> ObjectNames {
        ObjectNames {
            prefix: prefix.to_string(),
        }
    }

    /// Logical slot on `side` (the source of a pipeline).
    pub fn slot(&self, side: Side) -> String {
        format!("{}_{side}", self.prefix)
    }

    /// Publication on `side`.
    pub fn publication(&self, side: Side) -> String {
        format!("{}_{side}_pub", self.prefix)
    }

    /// Replication origin under which changes *from* `source` are applied on the other side.
    /// A source drops transactions carrying the origin of the opposite pipeline (no echo).
    pub fn origin(&self, source: Side) -> String {
        format!("{}_{source}", self.prefix)
    }

    /// Replication origin under which `supra-sync replay` applies Kafka records to SUPRA.
    pub fn replay_origin(&self) -> String {
        format!("{}_replay", self.prefix)
    }

    /// Replication origin under which `supra-sync reconcile --fix` re-syncs rows (on either
    /// side).
    pub fn reconcile_origin(&self) -> String {
        format!("{}_reconcile", self.prefix)
    }

    /// Every origin supra-sync applies under: a source drops transactions carrying any of
    /// them except its own pipeline's (which never appears on its own side).
    pub fn all_origins(&self) -> Vec<String> {
        vec![
            self.origin(Side::Legacy),
            self.origin(Side::Supra),
            self.replay_origin(),
            self.reconcile_origin(),
        ]
    }

    /// The pipeline name used in checkpoints, logs and metrics.
    pub fn pipeline(&self, source: Side) -> String {
        format!("{source}_to_{}", source.other())
    }
}
