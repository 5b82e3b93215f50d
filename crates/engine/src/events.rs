//! SUPRA domain events for the changes supra-sync applies to SUPRA, so that SUPRA's audit
//! trail (`domain_events`) also covers what came from legacy.
//!
//! ```text
//!  forward target transaction (per batch)
//!    conflict checks
//!    DomainEvents::begin    ── images of the rows about to change (FOR UPDATE), per table
//!    data writes            ── Recorder::step after each change (rows changed twice in the
//!                              batch are read back right away)
//!    Recorder::finish       ── images after; one domain_events row per applied change:
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
//! * `metadata` where the change came from: `{"source": "legacy", "via": "supra-sync",
//!   "entity", "legacy_id", "operation", "lsn", "commit_ts", "xid", "seq", "origin"}` — `seq`
//!   orders the events of one target transaction (they share `created_at`).
//!
//! The group commit can put several changes of one row in one target transaction: each still
//! gets its own event (the row is read back after each of them). SUPRA → legacy changes write
//! legacy and produce no event: SUPRA's own application records its events.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value as Json, json};
use supra_sync_core::{Lsn, quote_ident};
use supra_sync_mapping::{EntityMapping, MappingSet};
use tokio_postgres::GenericClient;
use uuid::Uuid;

use crate::EngineError;

mod names;
pub use names::aggregate_names;

/// Which entities produce domain events.
#[derive(Debug, Clone, Default)]
pub struct DomainEvents {
    entities: HashSet<String>,
}

/// One applied change to SUPRA that may produce an event.
#[derive(Debug, Clone)]
pub struct Subject {
    /// Position of the change in its batch (events are written in this order).
    pub seq: usize,
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

/// One event to write.
struct Event {
    seq: usize,
    event_type: String,
    aggregate: String,
    id: Uuid,
    payload: Json,
    metadata: Json,
}

/// The events of one target transaction in the making: row images before the writes, and
/// the events of rows the batch changes more than once (read back after each change).
pub struct Recorder {
    /// Subjects of rows changed more than once, by position.
    repeated_at: HashMap<usize, Subject>,
    images: HashMap<Uuid, Option<Json>>,
    repeated: HashSet<Uuid>,
    done: Vec<Event>,
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

    /// Reads (and locks) the images of the subjects' rows before they are written.
    pub async fn begin<C: GenericClient>(
        &self,
        tx: &C,
        mappings: &MappingSet,
        subjects: Vec<Subject>,
    ) -> Result<Recorder, EngineError> {
        let mut seen = HashSet::new();
        let repeated: HashSet<Uuid> = subjects
            .iter()
            .filter(|s| !seen.insert(s.supra_id))
            .map(|s| s.supra_id)
            .collect();
        let found = read_images(tx, mappings, &subjects, true).await?;
        let images = subjects
            .iter()
            .map(|s| (s.supra_id, found.get(&s.supra_id).cloned()))
            .collect();
        let repeated_at = subjects
            .into_iter()
            .filter(|s| repeated.contains(&s.supra_id))
            .map(|s| (s.seq, s))
            .collect();
        Ok(Recorder {
            repeated_at,
            images,
            repeated,
            done: Vec::new(),
        })
    }
}

impl Recorder {
    /// True when [`Recorder::step`] must run right after the write of change `seq` (its row
    /// is changed again later in the batch); writes of other changes can be grouped.
    pub fn needs_step(&self, seq: usize) -> bool {
        self.repeated_at.contains_key(&seq)
    }

    /// After the change at position `seq` was written: a row the batch changes more than once
    /// gets its event now, from the image before this change to the one after it.
    pub async fn step<C: GenericClient>(
        &mut self,
        tx: &C,
        mappings: &MappingSet,
        seq: usize,
    ) -> Result<(), EngineError> {
        let Some(subject) = self.repeated_at.get(&seq).cloned() else {
            return Ok(());
        };
        let after = read_images(tx, mappings, std::slice::from_ref(&subject), false).await?;
        let after = after.get(&subject.supra_id).cloned();
        let before = self
            .images
            .insert(subject.supra_id, after.clone())
            .flatten();
        self.done
            .extend(event(mappings, &subject, before.as_ref(), after.as_ref()));
        Ok(())
    }

    /// Appends the events: one per change of a row changed more than once (recorded by
    /// [`Recorder::step`]), one per other row of `applied` (the subjects still applied after
    /// the writes). Returns how many were written.
    pub async fn finish<C: GenericClient>(
        mut self,
        tx: &C,
        mappings: &MappingSet,
        tenant_id: Uuid,
        origin: &str,
        applied: &[Subject],
    ) -> Result<usize, EngineError> {
        let single: Vec<Subject> = applied
            .iter()
            .filter(|s| !self.repeated.contains(&s.supra_id))
            .cloned()
            .collect();
        let after = read_images(tx, mappings, &single, false).await?;
        for s in &single {
            let before = self.images.get(&s.supra_id).cloned().flatten();
            self.done
                .extend(event(mappings, s, before.as_ref(), after.get(&s.supra_id)));
        }
        if self.done.is_empty() {
            return Ok(0);
        }
        self.done.sort_by_key(|e| e.seq);
        let (mut types, mut aggregates, mut ids, mut payloads, mut metas) =
            (vec![], vec![], vec![], vec![], vec![]);
        for e in &self.done {
            let mut meta = e.metadata.clone();
            meta["origin"] = json!(origin);
            types.push(e.event_type.clone());
            aggregates.push(e.aggregate.clone());
            ids.push(e.id);
            payloads.push(e.payload.to_string());
            metas.push(meta.to_string());
        }
        tx.execute(
            "INSERT INTO public.domain_events (tenant_id, event_type, aggregate_type, aggregate_id, payload, metadata)
             SELECT $1, u.t, u.a, u.i, u.p::jsonb, u.m::jsonb
               FROM unnest($2::text[], $3::text[], $4::uuid[], $5::text[], $6::text[]) AS u(t, a, i, p, m)",
            &[&tenant_id, &types, &aggregates, &ids, &payloads, &metas],
        )
        .await
        .map_err(|e| EngineError::sql("appending domain events", e))?;
        Ok(self.done.len())
    }
}

/// The event of one change of a row (`None`: nothing happened to the aggregate).
fn event(
    mappings: &MappingSet,
    change: &Subject,
    old: Option<&Json>,
    new: Option<&Json>,
) -> Option<Event> {
    let entity = mappings.entity(&change.entity)?;
    let (verb, payload) = match (old, new) {
        (None, Some(n)) => ("Created", diff(entity, None, Some(n))),
        (Some(o), Some(n)) => ("Updated", diff(entity, Some(o), Some(n))),
        (Some(o), None) => ("Deleted", diff(entity, Some(o), None)),
        (None, None) => return None,
    };
    if verb == "Updated" && payload.is_empty() {
        return None;
    }
    let (aggregate, pascal) = aggregate_names(&entity.supra_tables()[0].name);
    Some(Event {
        seq: change.seq,
        event_type: format!("{pascal}{verb}"),
        aggregate,
        id: change.supra_id,
        payload: Json::Object(payload),
        metadata: metadata(change),
    })
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

fn metadata(change: &Subject) -> Json {
    json!({
        "source": "legacy",
        "via": "supra-sync",
        "entity": change.entity,
        "legacy_id": change.legacy_key,
        "operation": change.operation,
        "lsn": change.lsn.to_string(),
        "commit_ts": change.commit_ts.to_rfc3339(),
        "xid": change.xid,
        "seq": change.seq,
    })
}
