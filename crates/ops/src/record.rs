//! Recording calls for the engine: one function per event, so that metric names and label
//! keys stay in [`names`] and the engine's diff is a call per event.
//!
//! Without an installed recorder (tests, `supra-sync` commands other than `run`) every call
//! is a cheap no-op.

use std::time::Duration;

use crate::names;

/// What happened to one planned change, as counted in `sync_log`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Written to the target.
    Applied,
    /// Logged as failed.
    Failed,
    /// Deliberately not applied.
    Skipped,
    /// Queued behind an open conflict (not counted by a metric of its own: see
    /// [`names::CONFLICTS_OPEN`]).
    Held,
}

/// One change of `entity` committed with `outcome`; `parked` when it was also parked.
pub fn change(entity: &str, direction: &'static str, outcome: Outcome, parked: bool) {
    let name = match outcome {
        Outcome::Applied => Some(names::CHANGES_APPLIED),
        Outcome::Failed => Some(names::CHANGES_FAILED),
        Outcome::Skipped => Some(names::CHANGES_SKIPPED),
        Outcome::Held => None,
    };
    let labels = [
        (names::LABEL_ENTITY, entity.to_string()),
        (names::LABEL_DIRECTION, direction.to_string()),
    ];
    if let Some(name) = name {
        metrics::counter!(name, &labels).increment(1);
    }
    if parked {
        metrics::counter!(names::CHANGES_PARKED, &labels).increment(1);
    }
}

/// A target transaction committed after `elapsed` (writes and COMMIT).
pub fn batch_committed(direction: &'static str, elapsed: Duration) {
    metrics::counter!(names::BATCHES, names::LABEL_DIRECTION => direction).increment(1);
    metrics::histogram!(names::BATCH_COMMIT_SECONDS, names::LABEL_DIRECTION => direction)
        .record(elapsed.as_secs_f64());
}

/// Source transactions that committed at `commit_micros` (Unix µs) are now committed on the
/// target: records source commit → target commit for each, and the last one's commit time.
pub fn transactions_applied(direction: &'static str, commit_micros: impl IntoIterator<Item = i64>) {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    let lag = metrics::histogram!(names::APPLY_LAG_SECONDS, names::LABEL_DIRECTION => direction);
    let mut last = None;
    for ts in commit_micros {
        lag.record((now - ts).max(0) as f64 / 1e6);
        last = Some(ts);
    }
    if let Some(last) = last {
        metrics::gauge!(names::LAST_APPLIED_COMMIT_TIMESTAMP, names::LABEL_DIRECTION => direction)
            .set(last as f64 / 1e6);
    }
}

/// The pipeline reconnects after a transient error.
pub fn reconnect(pipeline: &str) {
    metrics::counter!(names::RECONNECTS, names::LABEL_PIPELINE => pipeline.to_string())
        .increment(1);
}

/// A snapshot chunk of `entity` with `rows` rows was applied.
pub fn snapshot_rows(entity: &str, rows: u64) {
    metrics::counter!(names::SNAPSHOT_ROWS_READ, names::LABEL_ENTITY => entity.to_string())
        .increment(rows);
}
