//! Waiting for the running pipelines to catch up before a recheck.
//!
//! A slot's `confirmed_flush_lsn` only moves after the changes up to it committed on the
//! target (DESIGN invariant 1), so once it passes the source's WAL position taken now, every
//! change committed on that source before now is in the other database (or logged). A slot
//! nobody streams from (pipeline not running) is not waited for: that is noted instead.

use std::time::{Duration, Instant};

use supra_sync_core::Side;
use supra_sync_postgres::names::ObjectNames;
use tokio_postgres::Client;

use crate::EngineError;

/// Waits (at most `timeout` overall) until the slot of every running pipeline has confirmed
/// its source's current WAL position. Returns notes for the report.
pub(super) async fn settle(
    legacy: &Client,
    supra: &Client,
    names: &ObjectNames,
    timeout: Duration,
) -> Result<Vec<String>, EngineError> {
    let deadline = Instant::now() + timeout;
    let mut notes = Vec::new();
    for (client, side) in [(legacy, Side::Legacy), (supra, Side::Supra)] {
        let slot = names.slot(side);
        let target: String = client
            .query_one("SELECT pg_current_wal_lsn()::text", &[])
            .await
            .map_err(|e| EngineError::sql("reconcile: reading the WAL position", e))?
            .get(0);
        loop {
            let row = client
                .query_opt(
                    "SELECT active, confirmed_flush_lsn >= $2::text::pg_lsn
                       FROM pg_replication_slots WHERE slot_name = $1",
                    &[&slot, &target],
                )
                .await
                .map_err(|e| EngineError::sql("reconcile: reading the slot position", e))?;
            match row.map(|r| (r.get::<_, bool>(0), r.get::<_, Option<bool>>(1))) {
                None => {
                    notes.push(format!(
                        "slot {slot} does not exist: {side} changes are not synced, differences were rechecked without waiting"
                    ));
                    break;
                }
                Some((false, _)) => {
                    notes.push(format!(
                        "slot {slot} is not active (the {} pipeline is not running): rechecked without waiting for it",
                        side.direction()
                    ));
                    break;
                }
                Some((true, Some(true))) => break,
                Some((true, _)) if Instant::now() >= deadline => {
                    notes.push(format!(
                        "the {} pipeline did not reach {target} within {timeout:?}: some differences may still be in flight",
                        side.direction()
                    ));
                    break;
                }
                Some((true, _)) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }
    Ok(notes)
}
