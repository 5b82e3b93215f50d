//! Exactly-once bookkeeping of SUPRA → legacy batches.
//!
//! A SUPRA → legacy batch commits on legacy; its bookkeeping (sync_log rows, agreed versions,
//! re-keyed identities, parked changes, retried parked changes to remove) lives on SUPRA. The
//! batch therefore carries its bookkeeping as a transactional logical message in the legacy
//! transaction ([`BOOKING_PREFIX`]), and writes it to SUPRA right after the legacy commit. If
//! supra-sync dies in between, the legacy → SUPRA pipeline meets the message in that (echo,
//! otherwise skipped) legacy transaction and writes it then. [`Booking::write`] records the
//! batch id first (`ON CONFLICT DO NOTHING`), so whichever path comes first writes it, once.
//! See `sql/sync/1007_reverse_bookings.sql`.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;
use supra_sync_core::{Lsn, Side};
pub use supra_sync_postgres::source::BOOKING_PREFIX;
use tokio_postgres::GenericClient;
use uuid::Uuid;

use crate::EngineError;
use crate::book::{self, LogRow, LogStatus, ParkedRow};

/// A SUPRA row's agreed versions after a write (see [`crate::conflict`]).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Version {
    /// Entity.
    pub entity: String,
    /// Legacy key text.
    pub key: String,
    /// Hash of the SUPRA image.
    pub supra_hash: String,
    /// Hash of the legacy image.
    pub legacy_hash: String,
    /// The side supra-sync wrote (`legacy` or `supra`).
    pub written_to: String,
    /// When it wrote it (server clock, under the row lock).
    pub written_at: Option<DateTime<Utc>>,
}

/// The bookkeeping of one SUPRA → legacy batch.
#[derive(Debug, Clone, Default)]
pub struct Booking {
    /// Batch id.
    pub id: Uuid,
    /// Its sync_log rows.
    pub logs: Vec<LogRow>,
    /// New agreed versions.
    pub versions: Vec<Version>,
    /// Re-keyed identities: (entity, old legacy key, new legacy key).
    pub rekeys: Vec<(String, String, String)>,
    /// Changes it parked.
    pub parked: Vec<ParkedRow>,
    /// Retried parked changes to remove.
    pub unpark: Vec<i64>,
}

#[derive(Serialize, Deserialize)]
struct Wire {
    id: Uuid,
    logs: Vec<WireLog>,
    versions: Vec<Version>,
    rekeys: Vec<(String, String, String)>,
    parked: Vec<WireParked>,
    unpark: Vec<i64>,
}

#[derive(Serialize, Deserialize)]
struct WireLog {
    entity: String,
    entity_id: String,
    supra_id: Option<Uuid>,
    source: String,
    operation: String,
    diff: Option<Json>,
    raw: Json,
    status: String,
    error: Option<String>,
    lsn: String,
    xid: u32,
    ts: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
struct WireParked {
    entity: String,
    entity_id: String,
    source: String,
    operation: String,
    waiting_for_entity: String,
    waiting_for_id: String,
    raw: Json,
    lsn: String,
    ts: DateTime<Utc>,
}

impl Booking {
    /// A new, empty booking with a fresh id.
    pub fn new() -> Booking {
        Booking {
            id: Uuid::new_v4(),
            ..Booking::default()
        }
    }

    /// The message content.
    pub fn to_json(&self) -> String {
        let wire = Wire {
            id: self.id,
            logs: self
                .logs
                .iter()
                .map(|l| WireLog {
                    entity: l.entity.clone(),
                    entity_id: l.entity_id.clone(),
                    supra_id: l.supra_id,
                    source: l.source.to_string(),
                    operation: l.operation.to_string(),
                    diff: l.diff.clone(),
                    raw: serde_json::from_str(&l.raw).unwrap_or(Json::Null),
                    status: l.status.as_str().to_string(),
                    error: l.error.clone(),
                    lsn: l.source_lsn.to_string(),
                    xid: l.source_xid,
                    ts: l.commit_ts,
                })
                .collect(),
            versions: self.versions.clone(),
            rekeys: self.rekeys.clone(),
            parked: self
                .parked
                .iter()
                .map(|p| WireParked {
                    entity: p.entity.clone(),
                    entity_id: p.entity_id.clone(),
                    source: p.source.to_string(),
                    operation: p.operation.to_string(),
                    waiting_for_entity: p.waiting_for_entity.clone(),
                    waiting_for_id: p.waiting_for_id.clone(),
                    raw: serde_json::from_str(&p.raw).unwrap_or(Json::Null),
                    lsn: p.source_lsn.to_string(),
                    ts: p.commit_ts,
                })
                .collect(),
            unpark: self.unpark.clone(),
        };
        serde_json::to_string(&wire).unwrap_or_default()
    }

    /// Reads a booking message.
    pub fn from_json(text: &str) -> Result<Booking, EngineError> {
        let bad = |what: String| EngineError::Definite(format!("booking message: {what}"));
        let wire: Wire = serde_json::from_str(text).map_err(|e| bad(e.to_string()))?;
        let lsn = |t: &str| t.parse::<Lsn>().map_err(|e| bad(e.to_string()));
        let mut logs = Vec::with_capacity(wire.logs.len());
        for l in wire.logs {
            logs.push(LogRow {
                entity: l.entity,
                entity_id: l.entity_id,
                supra_id: l.supra_id,
                source: side(&l.source).ok_or_else(|| bad(format!("side {}", l.source)))?,
                operation: operation(&l.operation)
                    .ok_or_else(|| bad(format!("operation {}", l.operation)))?,
                diff: l.diff,
                raw: l.raw.to_string(),
                status: LogStatus::parse(&l.status)
                    .ok_or_else(|| bad(format!("status {}", l.status)))?,
                error: l.error,
                source_lsn: lsn(&l.lsn)?,
                source_xid: l.xid,
                commit_ts: l.ts,
            });
        }
        let mut parked = Vec::with_capacity(wire.parked.len());
        for p in wire.parked {
            parked.push(ParkedRow {
                entity: p.entity,
                entity_id: p.entity_id,
                source: side(&p.source).ok_or_else(|| bad(format!("side {}", p.source)))?,
                operation: operation(&p.operation)
                    .ok_or_else(|| bad(format!("operation {}", p.operation)))?,
                waiting_for_entity: p.waiting_for_entity,
                waiting_for_id: p.waiting_for_id,
                raw: p.raw.to_string(),
                source_lsn: lsn(&p.lsn)?,
                commit_ts: p.ts,
            });
        }
        Ok(Booking {
            id: wire.id,
            logs,
            versions: wire.versions,
            rekeys: wire.rekeys,
            parked,
            unpark: wire.unpark,
        })
    }

    /// Writes the booking unless it was written already; returns whether it wrote it. Run it
    /// inside a transaction on SUPRA.
    pub async fn write<C: GenericClient>(&self, client: &C) -> Result<bool, EngineError> {
        let fresh = client
            .execute(
                "INSERT INTO supra_sync.reverse_bookings (id) VALUES ($1) ON CONFLICT (id) DO NOTHING",
                &[&self.id],
            )
            .await
            .map_err(|e| EngineError::sql("recording a SUPRA → legacy booking", e))?;
        if fresh == 0 {
            return Ok(false);
        }
        if self.id.as_bytes()[0] == 0 {
            // Now and then (1 batch in 256): forget bookings older than a week.
            client
                .execute(
                    "DELETE FROM supra_sync.reverse_bookings WHERE booked_at < now() - interval '7 days'",
                    &[],
                )
                .await
                .map_err(|e| EngineError::sql("pruning old bookings", e))?;
        }
        book::unpark(client, &self.unpark).await?;
        crate::apply::write_versions(client, &self.versions).await?;
        for (entity, old, new) in &self.rekeys {
            book::rekey_mapping(client, entity, old, new).await?;
        }
        book::write_log(client, &self.logs).await?;
        book::write_parked(client, &self.parked).await?;
        Ok(true)
    }
}

fn side(text: &str) -> Option<Side> {
    match text {
        "legacy" => Some(Side::Legacy),
        "supra" => Some(Side::Supra),
        _ => None,
    }
}

fn operation(text: &str) -> Option<&'static str> {
    ["insert", "update", "delete", "truncate"]
        .into_iter()
        .find(|op| *op == text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_booking_survives_its_message_form() {
        let ts = Utc::now();
        let mut b = Booking::new();
        b.logs.push(LogRow {
            entity: "persona".into(),
            entity_id: "42".into(),
            supra_id: Some(Uuid::new_v4()),
            source: Side::Supra,
            operation: "update",
            diff: Some(serde_json::json!({"name": {"old": "a", "new": "Peña"}})),
            raw: serde_json::json!({"op": "update"}).to_string(),
            status: LogStatus::Held,
            error: Some("held".into()),
            source_lsn: Lsn(0x16_B374_D848),
            source_xid: 7,
            commit_ts: ts,
        });
        b.versions.push(Version {
            entity: "persona".into(),
            key: "42".into(),
            supra_hash: "s".into(),
            legacy_hash: "l".into(),
            written_to: "legacy".into(),
            written_at: Some(ts),
        });
        b.rekeys.push(("persona".into(), "1".into(), "2".into()));
        b.unpark = vec![3, 4];
        let back = Booking::from_json(&b.to_json()).unwrap();
        assert_eq!(back.id, b.id);
        assert_eq!(back.to_json(), b.to_json());
        assert_eq!(back.logs[0].status, LogStatus::Held);
        assert_eq!(back.logs[0].source_lsn, Lsn(0x16_B374_D848));
        assert!(Booking::from_json("{\"id\": 1}").is_err());
    }
}
