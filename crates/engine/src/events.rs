//! SUPRA domain events for the changes supra-sync applies to SUPRA, so that SUPRA's audit
//! trail (`domain_events`) also covers what came from legacy.
//!
//! ```text
//!  forward target transaction (per batch)
//!    conflict checks
//!    DomainEvents::before   ── images of the rows about to change (FOR UPDATE), per table
//!    data writes
//!    DomainEvents::append   ── images after; one domain_events row per changed row:
//!                              PersonCreated / PersonUpdated / PersonDeleted
//!  COMMIT                   ── events commit atomically with the data (or not at all)
//! ```
//!
//! Only entities named in the configuration (`domain_events = ["persona", ...]`) produce
//! events. An event describes a row of the entity's primary SUPRA table:
//! * `aggregate_type` the singular of that table (`persons` → `person`), `aggregate_id` its id;
//! * `event_type` the aggregate in PascalCase plus `Created`, `Updated` or `Deleted`;
//! * `payload` the mapped columns that changed, `{"column": {"old": …, "new": …}}` (values as
//!   PostgreSQL's `to_jsonb` renders them; `old` is null for a creation, `new` for a deletion);
//!   an update that changed no mapped column produces no event;
//! * `metadata` where the change came from: `{"source": "legacy", "entity", "legacy_id",
//!   "operations", "lsn", "commit_ts", "xid", "origin"}`.
//!
//! The group commit can put several changes of one row in one target transaction; they give
//! one event with the net change, whose metadata lists every operation (and the first and last
//! source positions). SUPRA → legacy changes write legacy and produce no event: SUPRA's own
//! application records its events.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value as Json, json};
use supra_sync_core::{Lsn, quote_ident};
use supra_sync_mapping::{EntityMapping, MappingSet};
use tokio_postgres::GenericClient;
use uuid::Uuid;

use crate::EngineError;

/// Which entities produce domain events.
#[derive(Debug, Clone, Default)]
pub struct DomainEvents {
    entities: HashSet<String>,
}

/// One applied change to SUPRA that may produce an event.
#[derive(Debug, Clone)]
pub struct Subject {
    /// Entity.
    pub entity: String,
    /// SUPRA id of the entity's primary row.
    pub supra_id: Uuid,
    /// Legacy key text.
    pub legacy_key: String,
    /// Source operation (insert, update, delete).
    pub operation: &'static str,
    /// Commit LSN of the source transaction.
    pub lsn: Lsn,
    /// Its commit time.
    pub commit_ts: DateTime<Utc>,
    /// Its transaction id.
    pub xid: u32,
}

/// Row images read before the writes, by (table, id).
#[derive(Debug, Default)]
pub struct Before {
    images: HashMap<Uuid, Json>,
}

impl DomainEvents {
    /// Events for `entities`, which must all be mapped.
    pub fn new(mappings: &MappingSet, entities: &[String]) -> Result<DomainEvents, EngineError> {
        let unknown: Vec<&str> = entities
            .iter()
            .filter(|e| mappings.entity(e).is_none())
            .map(String::as_str)
            .collect();
        if !unknown.is_empty() {
            return Err(EngineError::Definite(format!(
                "domain_events names unknown entities: {}",
                unknown.join(", ")
            )));
        }
        Ok(DomainEvents {
            entities: entities.iter().cloned().collect(),
        })
    }

    /// True when no entity produces events.
    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }

    /// Whether changes of `entity` produce events.
    pub fn wants(&self, entity: &str) -> bool {
        self.entities.contains(entity)
    }

    /// Reads (and locks) the current images of the subjects' rows, before they are written.
    pub async fn before<C: GenericClient>(
        &self,
        tx: &C,
        mappings: &MappingSet,
        subjects: &[Subject],
    ) -> Result<Before, EngineError> {
        Ok(Before {
            images: read_images(tx, mappings, subjects, true).await?,
        })
    }

    /// Appends one `domain_events` row per changed row of `subjects`, comparing with `before`.
    /// Returns how many events were written.
    pub async fn append<C: GenericClient>(
        &self,
        tx: &C,
        mappings: &MappingSet,
        tenant_id: Uuid,
        origin: &str,
        subjects: &[Subject],
        before: Before,
    ) -> Result<usize, EngineError> {
        if subjects.is_empty() {
            return Ok(0);
        }
        let after = read_images(tx, mappings, subjects, false).await?;
        let mut by_row: Vec<(Uuid, Vec<&Subject>)> = Vec::new();
        for s in subjects {
            match by_row.iter_mut().find(|(id, _)| *id == s.supra_id) {
                Some((_, list)) => list.push(s),
                None => by_row.push((s.supra_id, vec![s])),
            }
        }
        let (mut types, mut aggregates, mut ids, mut payloads, mut metas) =
            (vec![], vec![], vec![], vec![], vec![]);
        for (id, changes) in by_row {
            let Some(entity) = mappings.entity(&changes[0].entity) else {
                continue;
            };
            let old = before.images.get(&id);
            let new = after.get(&id);
            let (verb, payload) = match (old, new) {
                (None, Some(n)) => ("Created", diff(entity, None, Some(n))),
                (Some(o), Some(n)) => ("Updated", diff(entity, Some(o), Some(n))),
                (Some(o), None) => ("Deleted", diff(entity, Some(o), None)),
                (None, None) => continue,
            };
            if verb == "Updated" && payload.is_empty() {
                continue;
            }
            let (aggregate, pascal) = aggregate_names(&entity.supra_tables()[0].name);
            types.push(format!("{pascal}{verb}"));
            aggregates.push(aggregate);
            ids.push(id);
            payloads.push(Json::Object(payload).to_string());
            metas.push(metadata(&changes, origin).to_string());
        }
        if ids.is_empty() {
            return Ok(0);
        }
        tx.execute(
            "INSERT INTO public.domain_events (tenant_id, event_type, aggregate_type, aggregate_id, payload, metadata)
             SELECT $1, u.t, u.a, u.i, u.p::jsonb, u.m::jsonb
               FROM unnest($2::text[], $3::text[], $4::uuid[], $5::text[], $6::text[]) AS u(t, a, i, p, m)",
            &[&tenant_id, &types, &aggregates, &ids, &payloads, &metas],
        )
        .await
        .map_err(|e| EngineError::sql("appending domain events", e))?;
        Ok(ids.len())
    }
}

/// `to_jsonb` images of the subjects' primary rows, by id (one query per table).
async fn read_images<C: GenericClient>(
    tx: &C,
    mappings: &MappingSet,
    subjects: &[Subject],
    lock: bool,
) -> Result<HashMap<Uuid, Json>, EngineError> {
    let mut by_entity: HashMap<&str, Vec<Uuid>> = HashMap::new();
    for s in subjects {
        by_entity.entry(&s.entity).or_default().push(s.supra_id);
    }
    let mut out = HashMap::new();
    for (name, ids) in by_entity {
        let Some(entity) = mappings.entity(name) else {
            continue;
        };
        let id_col = quote_ident(entity.supra_id_column());
        let sql = format!(
            "SELECT t.{id_col}, to_jsonb(t)::text FROM {} t WHERE t.{id_col} = ANY($1::uuid[]){}",
            entity.supra_tables()[0].quoted(),
            if lock { " FOR UPDATE" } else { "" }
        );
        let rows = tx
            .query(&sql, &[&ids])
            .await
            .map_err(|e| EngineError::sql("reading rows for domain events", e))?;
        for r in rows {
            let text: String = r.get(1);
            let image = serde_json::from_str(&text).map_err(|e| {
                EngineError::Definite(format!("to_jsonb gave invalid JSON for {name}: {e}"))
            })?;
            out.insert(r.get(0), image);
        }
    }
    Ok(out)
}

/// The mapped columns (no id, no tenant) whose values differ, as `{"col": {"old", "new"}}`.
fn diff(entity: &EntityMapping, old: Option<&Json>, new: Option<&Json>) -> Map<String, Json> {
    let mut out = Map::new();
    for col in entity.supra_columns() {
        if col == entity.supra_id_column() || Some(col.as_str()) == entity.tenant_column() {
            continue;
        }
        let o = old.and_then(|j| j.get(col)).cloned().unwrap_or(Json::Null);
        let n = new.and_then(|j| j.get(col)).cloned().unwrap_or(Json::Null);
        if o != n || (old.is_none() && new.is_some()) {
            out.insert(col.clone(), json!({"old": o, "new": n}));
        }
    }
    out
}

fn metadata(changes: &[&Subject], origin: &str) -> Json {
    let first = changes[0];
    let last = changes[changes.len() - 1];
    json!({
        "source": "legacy",
        "via": "supra-sync",
        "origin": origin,
        "entity": first.entity,
        "legacy_id": last.legacy_key,
        "operations": changes.iter().map(|c| c.operation).collect::<Vec<_>>(),
        "lsn": last.lsn.to_string(),
        "first_lsn": first.lsn.to_string(),
        "commit_ts": last.commit_ts.to_rfc3339(),
        "xid": last.xid,
    })
}

/// (`aggregate_type`, PascalCase name) of a SUPRA table: `meter_readings` →
/// (`meter_reading`, `MeterReading`), `explotaciones` → (`explotacion`, `Explotacion`).
pub fn aggregate_names(table: &str) -> (String, String) {
    let mut words: Vec<String> = table.split('_').map(str::to_string).collect();
    if let Some(last) = words.last_mut() {
        *last = singular(last);
    }
    let pascal = words
        .iter()
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
                .unwrap_or_default()
        })
        .collect();
    (words.join("_"), pascal)
}

fn singular(word: &str) -> String {
    for (plural, single) in [("ies", "y"), ("sses", "ss"), ("ones", "on"), ("s", "")] {
        if let Some(stem) = word.strip_suffix(plural) {
            if !stem.is_empty() {
                return format!("{stem}{single}");
            }
        }
    }
    word.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aggregate_names_of_the_supra_tables() {
        let names: Vec<(String, String)> = [
            "persons",
            "contracts",
            "addresses",
            "explotaciones",
            "meter_readings",
            "tariff_schedules",
            "tomas",
            "domain_values",
            "work_orders",
            "invoice_lines",
            "policies",
        ]
        .iter()
        .map(|t| aggregate_names(t))
        .collect();
        let pascal: Vec<&str> = names.iter().map(|(_, p)| p.as_str()).collect();
        assert_eq!(
            pascal,
            [
                "Person",
                "Contract",
                "Address",
                "Explotacion",
                "MeterReading",
                "TariffSchedule",
                "Toma",
                "DomainValue",
                "WorkOrder",
                "InvoiceLine",
                "Policy"
            ]
        );
        assert_eq!(names[4].0, "meter_reading");
    }
}
