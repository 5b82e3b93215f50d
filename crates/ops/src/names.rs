//! Every metric supra-sync exports, its labels, and the HTTP routes, as constants.
//!
//! The alert rules (`deploy/prometheus/alerts.yml`) and the Grafana dashboard
//! (`deploy/grafana/supra-sync.json`) may only use names listed in [`ALL`]: the test suite
//! checks it, so renaming a metric here without updating them fails the build.
//!
//! Conventions (Prometheus): `_total` for counters, `_seconds`/`_bytes` units, no unit-less
//! gauges without a clear noun. Label values are small fixed sets (entity names from the
//! mapping files, the two directions, slot and database names), never row data.

/// Label: mapping entity (`persona`, `contrato`, …).
pub const LABEL_ENTITY: &str = "entity";
/// Label: `legacy_to_supra` or `supra_to_legacy`.
pub const LABEL_DIRECTION: &str = "direction";
/// Label: logical replication slot name.
pub const LABEL_SLOT: &str = "slot";
/// Label: `legacy` or `supra`.
pub const LABEL_DATABASE: &str = "database";
/// Label: source table of a snapshot (`cf_quere_pro.persona`).
pub const LABEL_TABLE: &str = "table";
/// Label: pipeline name (`legacy_to_supra`, `supra_to_legacy`).
pub const LABEL_PIPELINE: &str = "pipeline";
/// Label: pipeline state (see [`crate::PipelineState::as_str`]).
pub const LABEL_STATE: &str = "state";
/// Label: Kafka topic.
pub const LABEL_TOPIC: &str = "topic";
/// Label: replication origin name.
pub const LABEL_ORIGIN: &str = "origin";

// ── Apply (recorded by the engine as it commits) ────────────────────────────────────────

/// Counter: changes applied to the target, by entity and direction.
pub const CHANGES_APPLIED: &str = "supra_sync_changes_applied_total";
/// Counter: changes logged to `sync_log` as failed, by entity and direction.
pub const CHANGES_FAILED: &str = "supra_sync_changes_failed_total";
/// Counter: changes parked until a referenced row is mapped, by entity and direction.
pub const CHANGES_PARKED: &str = "supra_sync_changes_parked_total";
/// Counter: changes deliberately not applied (echo, no mapped row, …), by entity and direction.
pub const CHANGES_SKIPPED: &str = "supra_sync_changes_skipped_total";
/// Counter: target transactions committed, by direction.
pub const BATCHES: &str = "supra_sync_batches_total";
/// Histogram: time to write and commit one target transaction (a batch), by direction.
pub const BATCH_COMMIT_SECONDS: &str = "supra_sync_batch_commit_seconds";
/// Histogram: source commit → target commit, per source transaction, by direction.
pub const APPLY_LAG_SECONDS: &str = "supra_sync_apply_lag_seconds";
/// Gauge: Unix time of the source commit of the last applied transaction, by direction.
pub const LAST_APPLIED_COMMIT_TIMESTAMP: &str = "supra_sync_last_applied_commit_timestamp_seconds";
/// Counter: reconnections after transient errors, by pipeline.
pub const RECONNECTS: &str = "supra_sync_reconnects_total";
/// Counter: snapshot rows read, by entity.
pub const SNAPSHOT_ROWS_READ: &str = "supra_sync_snapshot_rows_read_total";

// ── Pipelines and leader lease ─────────────────────────────────────────────────────────

/// Gauge: 1 for the current state of each pipeline (label `state`), 0 for the others.
pub const PIPELINE_STATE: &str = "supra_sync_pipeline_state";
/// Gauge: 1 while this instance holds the leader lease of a pipeline.
pub const LEASE_HELD: &str = "supra_sync_lease_held";
/// Counter: leader leases acquired (a takeover or a start), by pipeline.
pub const LEASE_ACQUIRED: &str = "supra_sync_lease_acquired_total";

// ── Databases (collected periodically) ─────────────────────────────────────────────────

/// Gauge: 1 when the database answered `SELECT 1` at the last check, by database.
pub const DATABASE_UP: &str = "supra_sync_database_up";
/// Gauge: WAL the slot's consumer has not confirmed yet
/// (`pg_current_wal_lsn() − confirmed_flush_lsn`), by slot and database.
pub const REPLICATION_LAG_BYTES: &str = "supra_sync_replication_lag_bytes";
/// Gauge: PostgreSQL's `flush_lag` of the slot's walsender (`pg_stat_replication`), 0 when
/// caught up, by slot and database.
pub const REPLICATION_LAG_SECONDS: &str = "supra_sync_replication_lag_seconds";
/// Gauge: WAL kept on disk for the slot (`pg_current_wal_lsn() − restart_lsn`).
pub const SLOT_RETAINED_WAL_BYTES: &str = "supra_sync_slot_retained_wal_bytes";
/// Gauge: 1 while a walsender is attached to the slot.
pub const SLOT_ACTIVE: &str = "supra_sync_slot_active";
/// Gauge: 1 when the slot exists (0: dropped or never created).
pub const SLOT_PRESENT: &str = "supra_sync_slot_present";
/// Gauge: position stored in the target's replication origin (the resume point), as a byte
/// offset, by origin and database.
pub const ORIGIN_LSN: &str = "supra_sync_origin_lsn_bytes";
/// Gauge: snapshot rows copied so far, by entity and source table.
pub const SNAPSHOT_ROWS_COPIED: &str = "supra_sync_snapshot_rows_copied";
/// Gauge: estimated rows of the snapshot's source table (`pg_class.reltuples`).
pub const SNAPSHOT_ROWS_ESTIMATED: &str = "supra_sync_snapshot_rows_estimated";
/// Gauge: 1 when the entity's snapshot is done.
pub const SNAPSHOT_DONE: &str = "supra_sync_snapshot_done";
/// Gauge: open conflicts in `sync_conflicts`, by entity.
pub const CONFLICTS_OPEN: &str = "supra_sync_conflicts_open";
/// Gauge: `sync_log` rows with status `failed` (not yet retried), by entity and direction.
pub const SYNC_LOG_FAILED: &str = "supra_sync_sync_log_failed_rows";
/// Gauge: changes waiting in `parked_changes`, by entity and direction.
pub const PARKED_CHANGES: &str = "supra_sync_parked_changes";
/// Counter: collector rounds that failed to query a database, by database.
pub const COLLECTOR_ERRORS: &str = "supra_sync_collector_errors_total";
/// Histogram: time one collector round took.
pub const COLLECTOR_SECONDS: &str = "supra_sync_collector_duration_seconds";

// ── Kafka (recorded by the publisher and the replay consumer) ──────────────────────────

/// Counter: records published to Kafka, by topic.
pub const KAFKA_PUBLISHED: &str = "supra_sync_kafka_published_total";
/// Counter: publish attempts that failed (retried or not), by topic.
pub const KAFKA_PUBLISH_ERRORS: &str = "supra_sync_kafka_publish_errors_total";
/// Counter: records replayed from Kafka through the mappings, by topic.
pub const KAFKA_REPLAYED: &str = "supra_sync_kafka_replayed_total";
/// Counter: replayed records that could not be decoded or applied, by topic.
pub const KAFKA_REPLAY_ERRORS: &str = "supra_sync_kafka_replay_errors_total";

// ── Process ─────────────────────────────────────────────────────────────────────────────

/// Gauge: always 1, with the version as label `version`.
pub const BUILD_INFO: &str = "supra_sync_build_info";

/// What kind of metric a name is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Monotonic counter.
    Counter,
    /// Value that goes up and down.
    Gauge,
    /// Distribution (exported with `_bucket`, `_sum`, `_count`).
    Histogram,
}

/// Every metric: name, kind and help text (the `# HELP` line).
pub const ALL: &[(&str, Kind, &str)] = &[
    (
        CHANGES_APPLIED,
        Kind::Counter,
        "Changes applied to the target.",
    ),
    (
        CHANGES_FAILED,
        Kind::Counter,
        "Changes logged to sync_log as failed.",
    ),
    (
        CHANGES_PARKED,
        Kind::Counter,
        "Changes parked until a referenced row is mapped.",
    ),
    (
        CHANGES_SKIPPED,
        Kind::Counter,
        "Changes deliberately not applied.",
    ),
    (BATCHES, Kind::Counter, "Target transactions committed."),
    (
        BATCH_COMMIT_SECONDS,
        Kind::Histogram,
        "Time to write and commit one target transaction.",
    ),
    (
        APPLY_LAG_SECONDS,
        Kind::Histogram,
        "Source commit to target commit, per source transaction.",
    ),
    (
        LAST_APPLIED_COMMIT_TIMESTAMP,
        Kind::Gauge,
        "Source commit time of the last applied transaction (Unix seconds).",
    ),
    (
        RECONNECTS,
        Kind::Counter,
        "Pipeline reconnections after transient errors.",
    ),
    (
        SNAPSHOT_ROWS_READ,
        Kind::Counter,
        "Snapshot rows read from the source.",
    ),
    (
        PIPELINE_STATE,
        Kind::Gauge,
        "1 for the current state of each pipeline.",
    ),
    (
        LEASE_HELD,
        Kind::Gauge,
        "1 while this instance holds the pipeline's leader lease.",
    ),
    (
        LEASE_ACQUIRED,
        Kind::Counter,
        "Leader leases acquired by this instance.",
    ),
    (
        DATABASE_UP,
        Kind::Gauge,
        "1 when the database answered at the last check.",
    ),
    (
        REPLICATION_LAG_BYTES,
        Kind::Gauge,
        "WAL not yet confirmed by the slot's consumer.",
    ),
    (
        REPLICATION_LAG_SECONDS,
        Kind::Gauge,
        "flush_lag of the slot's walsender, 0 when caught up.",
    ),
    (
        SLOT_RETAINED_WAL_BYTES,
        Kind::Gauge,
        "WAL retained on disk for the slot.",
    ),
    (
        SLOT_ACTIVE,
        Kind::Gauge,
        "1 while a walsender is attached to the slot.",
    ),
    (SLOT_PRESENT, Kind::Gauge, "1 when the slot exists."),
    (
        ORIGIN_LSN,
        Kind::Gauge,
        "Resume point stored in the target's replication origin (byte offset).",
    ),
    (
        SNAPSHOT_ROWS_COPIED,
        Kind::Gauge,
        "Snapshot rows copied so far.",
    ),
    (
        SNAPSHOT_ROWS_ESTIMATED,
        Kind::Gauge,
        "Estimated rows of the snapshot's source table.",
    ),
    (
        SNAPSHOT_DONE,
        Kind::Gauge,
        "1 when the entity's snapshot is done.",
    ),
    (
        CONFLICTS_OPEN,
        Kind::Gauge,
        "Open conflicts in sync_conflicts.",
    ),
    (
        SYNC_LOG_FAILED,
        Kind::Gauge,
        "sync_log rows with status failed.",
    ),
    (
        PARKED_CHANGES,
        Kind::Gauge,
        "Changes waiting in parked_changes.",
    ),
    (
        COLLECTOR_ERRORS,
        Kind::Counter,
        "Collector rounds that failed to query a database.",
    ),
    (
        COLLECTOR_SECONDS,
        Kind::Histogram,
        "Time one collector round took.",
    ),
    (
        KAFKA_PUBLISHED,
        Kind::Counter,
        "Records published to Kafka.",
    ),
    (
        KAFKA_PUBLISH_ERRORS,
        Kind::Counter,
        "Kafka publish attempts that failed.",
    ),
    (
        KAFKA_REPLAYED,
        Kind::Counter,
        "Records replayed from Kafka.",
    ),
    (
        KAFKA_REPLAY_ERRORS,
        Kind::Counter,
        "Replayed records that could not be decoded or applied.",
    ),
    (BUILD_INFO, Kind::Gauge, "Always 1; the version is a label."),
];

/// True when `series` is a metric of [`ALL`] or one of the series a histogram is exported
/// as (`_bucket`, `_sum`, `_count`).
pub fn is_known_series(series: &str) -> bool {
    ALL.iter().any(|(name, kind, _)| {
        series == *name
            || (*kind == Kind::Histogram
                && ["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|suffix| series.strip_prefix(name) == Some(suffix)))
    })
}

// ── HTTP ────────────────────────────────────────────────────────────────────────────────

/// Where the metrics and health server listens unless configured otherwise.
pub const DEFAULT_METRICS_ADDR: &str = "127.0.0.1:9187";
/// Route: Prometheus text exposition.
pub const ROUTE_METRICS: &str = "/metrics";
/// Route: liveness (process up, no pipeline in a definite-error state).
pub const ROUTE_HEALTHZ: &str = "/healthz";
/// Route: readiness (both databases reachable now, pipelines streaming or standing by).
pub const ROUTE_READYZ: &str = "/readyz";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_prefixed_and_follow_conventions() {
        let mut seen = std::collections::HashSet::new();
        for (name, kind, help) in ALL {
            assert!(seen.insert(*name), "{name} listed twice");
            assert!(name.starts_with("supra_sync_"), "{name}");
            assert!(!help.is_empty());
            assert_eq!(*kind == Kind::Counter, name.ends_with("_total"), "{name}");
        }
        assert!(is_known_series("supra_sync_apply_lag_seconds_bucket"));
        assert!(!is_known_series("supra_sync_changes_applied_total_bucket"));
        assert!(!is_known_series("supra_sync_nope"));
    }
}
