//! The state of one pipeline, shared between the engine (which sets it) and the health
//! endpoints and metrics (which read it).
//!
//! ```text
//!  Starting ─► Standby ─(lease acquired)─► Connecting ─► Streaming ─► Stopped
//!     │           ▲                            ▲            │
//!     │           └──────── Reconnecting ◄─────┴────────────┘ (transient error)
//!     └───────────────────────► Failed (definite error: an operator must act)
//! ```

use std::sync::atomic::{AtomicU8, Ordering};

use crate::names;

/// Where a pipeline is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum PipelineState {
    /// Not started yet.
    Starting = 0,
    /// Waiting for the leader lease: another instance applies.
    Standby = 1,
    /// Holds the lease (or runs without one); connecting and resuming.
    Connecting = 2,
    /// Receiving and applying changes.
    Streaming = 3,
    /// Interrupted by a transient error; reconnecting with backoff.
    Reconnecting = 4,
    /// Stopped by a definite error.
    Failed = 5,
    /// Shut down on request.
    Stopped = 6,
}

impl PipelineState {
    /// Every state, in declaration order.
    pub const ALL: [PipelineState; 7] = [
        PipelineState::Starting,
        PipelineState::Standby,
        PipelineState::Connecting,
        PipelineState::Streaming,
        PipelineState::Reconnecting,
        PipelineState::Failed,
        PipelineState::Stopped,
    ];

    /// Lower-case name, used as metric label and in the health reports.
    pub fn as_str(self) -> &'static str {
        match self {
            PipelineState::Starting => "starting",
            PipelineState::Standby => "standby",
            PipelineState::Connecting => "connecting",
            PipelineState::Streaming => "streaming",
            PipelineState::Reconnecting => "reconnecting",
            PipelineState::Failed => "failed",
            PipelineState::Stopped => "stopped",
        }
    }

    fn from_u8(v: u8) -> PipelineState {
        PipelineState::ALL
            .get(usize::from(v))
            .copied()
            .unwrap_or(PipelineState::Failed)
    }
}

/// A pipeline's state, readable from any thread; every change is also exported as the
/// [`names::PIPELINE_STATE`] gauge once the cell is [named](StateCell::set_pipeline).
#[derive(Debug, Default)]
pub struct StateCell {
    state: AtomicU8,
    pipeline: std::sync::OnceLock<String>,
}

impl StateCell {
    /// Names the pipeline this cell describes (metric label); the first name sticks.
    pub fn set_pipeline(&self, pipeline: &str) {
        let _ = self.pipeline.set(pipeline.to_string());
    }

    /// The pipeline name, when set.
    pub fn pipeline(&self) -> Option<&str> {
        self.pipeline.get().map(String::as_str)
    }

    /// The current state.
    pub fn get(&self) -> PipelineState {
        PipelineState::from_u8(self.state.load(Ordering::Acquire))
    }

    /// Moves to `state` and updates the gauge.
    pub fn set(&self, state: PipelineState) {
        self.state.store(state as u8, Ordering::Release);
        if let Some(pipeline) = self.pipeline.get() {
            for s in PipelineState::ALL {
                metrics::gauge!(names::PIPELINE_STATE, names::LABEL_PIPELINE => pipeline.clone(), names::LABEL_STATE => s.as_str())
                    .set(if s == state { 1.0 } else { 0.0 });
            }
            if !matches!(state, PipelineState::Connecting | PipelineState::Streaming) {
                metrics::gauge!(names::LEASE_HELD, names::LABEL_PIPELINE => pipeline.clone())
                    .set(0.0);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cell_round_trips_every_state() {
        let cell = StateCell::default();
        assert_eq!(cell.get(), PipelineState::Starting);
        cell.set_pipeline("legacy_to_supra");
        for s in PipelineState::ALL {
            cell.set(s);
            assert_eq!(cell.get(), s);
        }
        assert_eq!(cell.pipeline(), Some("legacy_to_supra"));
    }
}
