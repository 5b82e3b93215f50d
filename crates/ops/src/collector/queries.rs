//! The collector's queries, one function per source of numbers. Each sets its gauges and
//! returns the error text (never row data) when a statement fails.

use tokio_postgres::Client;

use super::Families;
use crate::names;

fn err(context: &'static str) -> impl FnOnce(tokio_postgres::Error) -> String {
    move |e| format!("{context}: {}", supra_sync_postgres::error::describe(&e))
}

/// Lag, retained WAL and activity of `slots` on this (source) server. A slot that does not
/// exist is reported as absent and inactive.
pub(super) async fn slots(client: &Client, database: &str, slots: &[String]) -> Result<(), String> {
    if slots.is_empty() {
        return Ok(());
    }
    let rows = client
        .query(
            "SELECT s.slot_name::text, s.active,
                    COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), s.restart_lsn), 0)::float8,
                    COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), s.confirmed_flush_lsn), 0)::float8,
                    COALESCE(EXTRACT(epoch FROM r.flush_lag), 0)::float8
               FROM pg_replication_slots s
               LEFT JOIN pg_stat_replication r ON r.pid = s.active_pid
              WHERE s.slot_name = ANY($1)",
            &[&slots],
        )
        .await
        .map_err(err("reading replication slots"))?;
    for slot in slots {
        let row = rows.iter().find(|r| r.get::<_, String>(0) == *slot);
        let labels = || {
            [
                (names::LABEL_SLOT, slot.clone()),
                (names::LABEL_DATABASE, database.to_string()),
            ]
        };
        metrics::gauge!(names::SLOT_PRESENT, &labels()).set(if row.is_some() { 1.0 } else { 0.0 });
        let Some(row) = row else {
            metrics::gauge!(names::SLOT_ACTIVE, &labels()).set(0.0);
            continue;
        };
        let active: bool = row.get(1);
        metrics::gauge!(names::SLOT_ACTIVE, &labels()).set(if active { 1.0 } else { 0.0 });
        metrics::gauge!(names::SLOT_RETAINED_WAL_BYTES, &labels())
            .set(row.get::<_, f64>(2).max(0.0));
        metrics::gauge!(names::REPLICATION_LAG_BYTES, &labels()).set(row.get::<_, f64>(3).max(0.0));
        metrics::gauge!(names::REPLICATION_LAG_SECONDS, &labels())
            .set(row.get::<_, f64>(4).max(0.0));
    }
    Ok(())
}

/// The resume point stored in each of `origins` on this (target) server.
pub(super) async fn origins(
    client: &Client,
    database: &str,
    origins: &[String],
) -> Result<(), String> {
    if origins.is_empty() {
        return Ok(());
    }
    let rows = client
        .query(
            "SELECT roname::text,
                    COALESCE(pg_wal_lsn_diff(pg_replication_origin_progress(roname, false), '0/0'), 0)::float8
               FROM pg_replication_origin WHERE roname = ANY($1)",
            &[&origins],
        )
        .await
        .map_err(err("reading replication origins"))?;
    for row in rows {
        let origin: String = row.get(0);
        metrics::gauge!(names::ORIGIN_LSN, names::LABEL_ORIGIN => origin, names::LABEL_DATABASE => database.to_string())
            .set(row.get::<_, f64>(1));
    }
    Ok(())
}

/// Failed log rows, open conflicts, parked changes and snapshot progress from SUPRA's
/// `supra_sync` schema. Returns `(entity, source table)` of every snapshot, for the row
/// estimates read on legacy.
pub(super) async fn bookkeeping(
    client: &Client,
    families: &mut Families,
) -> Result<Vec<(String, String)>, String> {
    let by_entity_direction = |rows: Vec<tokio_postgres::Row>| {
        rows.iter()
            .map(|r| {
                (
                    vec![
                        (names::LABEL_ENTITY, r.get::<_, String>(0)),
                        (names::LABEL_DIRECTION, r.get::<_, String>(1)),
                    ],
                    r.get::<_, i64>(2) as f64,
                )
            })
            .collect::<Vec<_>>()
    };
    // idx_sync_log_status (status, synced_at) serves this count.
    let failed = client
        .query(
            "SELECT entity_type::text, direction::text, count(*) FROM supra_sync.sync_log
              WHERE status = 'failed' GROUP BY 1, 2",
            &[],
        )
        .await
        .map_err(err("counting failed sync_log rows"))?;
    families.failed.update(by_entity_direction(failed));
    let parked = client
        .query(
            "SELECT entity_type::text, direction::text, count(*) FROM supra_sync.parked_changes GROUP BY 1, 2",
            &[],
        )
        .await
        .map_err(err("counting parked changes"))?;
    families.parked.update(by_entity_direction(parked));
    let conflicts = client
        .query(
            "SELECT entity_type::text, count(*) FROM supra_sync.sync_conflicts
              WHERE status = 'open' GROUP BY 1",
            &[],
        )
        .await
        .map_err(err("counting open conflicts"))?;
    families.conflicts.update(
        conflicts
            .iter()
            .map(|r| {
                (
                    vec![(names::LABEL_ENTITY, r.get::<_, String>(0))],
                    r.get::<_, i64>(1) as f64,
                )
            })
            .collect(),
    );
    let snapshots = client
        .query(
            "SELECT entity_type::text, source_table::text, rows_copied, status = 'done'
               FROM supra_sync.snapshot_progress",
            &[],
        )
        .await
        .map_err(err("reading snapshot progress"))?;
    let labels = |r: &tokio_postgres::Row| {
        vec![
            (names::LABEL_ENTITY, r.get::<_, String>(0)),
            (names::LABEL_TABLE, r.get::<_, String>(1)),
        ]
    };
    families.snapshot_rows.update(
        snapshots
            .iter()
            .map(|r| (labels(r), r.get::<_, i64>(2) as f64))
            .collect(),
    );
    families.snapshot_done.update(
        snapshots
            .iter()
            .map(|r| (labels(r), if r.get::<_, bool>(3) { 1.0 } else { 0.0 }))
            .collect(),
    );
    Ok(snapshots.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// `pg_class.reltuples` of each snapshot's source table (legacy), when analyzed.
pub(super) async fn snapshot_estimates(
    client: &Client,
    tables: &[(String, String)],
    families: &mut Families,
) -> Result<(), String> {
    if tables.is_empty() {
        return Ok(());
    }
    let names_only: Vec<&str> = tables.iter().map(|(_, t)| t.as_str()).collect();
    let rows = client
        .query(
            "SELECT t, (SELECT c.reltuples::float8 FROM pg_class c WHERE c.oid = to_regclass(t))
               FROM unnest($1::text[]) t",
            &[&names_only],
        )
        .await
        .map_err(err("reading table row estimates"))?;
    let mut values = Vec::new();
    for row in rows {
        let table: String = row.get(0);
        let Some(estimate) = row.get::<_, Option<f64>>(1).filter(|e| *e >= 0.0) else {
            continue;
        };
        for (entity, _) in tables.iter().filter(|(_, t)| *t == table) {
            values.push((
                vec![
                    (names::LABEL_ENTITY, entity.clone()),
                    (names::LABEL_TABLE, table.clone()),
                ],
                estimate,
            ));
        }
    }
    families.snapshot_estimate.update(values);
    Ok(())
}
