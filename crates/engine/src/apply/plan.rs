//! Planning a batch: the identities and rows it needs, read once, then each change turned
//! into target operations (or failed / parked / skipped) with its conflict check.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use supra_sync_core::{Change, ChangeOp, Row, Side, Transaction, Value};
use supra_sync_mapping::{EntityMapping, EvalError, Role, TargetOp};
use uuid::Uuid;

use super::{Applier, Planned, parse_key_text};
use crate::book::{self, LogRow, LogStatus, ParkedRow};
use crate::conflict::Check;
use crate::{EngineError, raw};

/// A fetch of rows: table plus `column = value` filter (values as text).
pub(super) type FetchKey = (supra_sync_core::TableName, Vec<(String, Option<String>)>);

pub(super) fn fetch_key(f: &supra_sync_mapping::FetchNeed) -> FetchKey {
    (
        f.table.clone(),
        f.key
            .iter()
            .map(|(c, v)| (c.clone(), v.to_text()))
            .collect(),
    )
}

/// The target key columns and compared columns of an entity's conflict checks, built once.
pub(super) struct CheckColumns {
    pub(super) key: Arc<[String]>,
    pub(super) compared: Arc<[String]>,
}

impl CheckColumns {
    /// For changes from `source` (compared on the other side).
    pub(super) fn of(entity: &EntityMapping, source: Side) -> CheckColumns {
        match source {
            Side::Legacy => CheckColumns {
                key: Arc::from(vec![entity.supra_id_column().to_string()]),
                compared: entity.compared_supra_columns().into(),
            },
            Side::Supra => CheckColumns {
                key: entity.legacy_key().to_vec().into(),
                compared: Arc::from(Vec::new()),
            },
        }
    }
}

impl Applier {
    /// Plans every change of `batch`, in order, into `plans`.
    pub(super) async fn plan_batch(
        &mut self,
        batch: &[Transaction],
        plans: &mut Vec<Planned>,
    ) -> Result<(), EngineError> {
        let mut known: HashMap<(String, String), Uuid> = self.prefetch_identities(batch).await?;
        self.prefetch_rows(batch).await?;
        self.refresh_open_conflicts().await?;
        self.stages = crate::stage::StageBook::load(self.bookkeeping()).await?;
        for tx in batch {
            for change in &tx.changes {
                let routes = self.mappings.routes_for(tx.side, &change.table);
                for route in routes {
                    let plan = self
                        .plan_change(tx, change, &route.entity, route.role, &mut known)
                        .await?;
                    plans.push(plan);
                }
            }
        }
        Ok(())
    }

    /// Reloads the open conflicts (changes to their rows are held behind them).
    async fn refresh_open_conflicts(&mut self) -> Result<(), EngineError> {
        let rows = self
            .bookkeeping()
            .query(
                "SELECT entity_type::text, entity_id::text, id FROM supra_sync.sync_conflicts WHERE status = 'open'",
                &[],
            )
            .await
            .map_err(|e| EngineError::sql("reading open conflicts", e))?;
        self.open_conflicts = rows
            .iter()
            .map(|r| ((r.get(0), r.get(1)), r.get(2)))
            .collect();
        Ok(())
    }

    /// The shape of a target table, loaded once.
    pub(super) async fn target_schema(
        &mut self,
        table: &supra_sync_core::TableName,
    ) -> Result<Arc<supra_sync_core::RowSchema>, EngineError> {
        if let Some(s) = self.target_schemas.get(table) {
            return Ok(s.clone());
        }
        let schema = supra_sync_postgres::catalog::load_table(&self.target, table)
            .await?
            .ok_or_else(|| EngineError::Definite(format!("target table {table} does not exist")))?;
        self.target_schemas.insert(table.clone(), schema.clone());
        Ok(schema)
    }

    /// One query per joined/child table for all the rows the batch's changes need.
    async fn prefetch_rows(&mut self, batch: &[Transaction]) -> Result<(), EngineError> {
        self.prefetched.clear();
        if self.opts.source == Side::Supra {
            return Ok(());
        }
        let mut wanted: HashMap<(supra_sync_core::TableName, Vec<String>), Vec<Vec<Value>>> =
            HashMap::new();
        let mut requested: Vec<FetchKey> = Vec::new();
        for tx in batch {
            for change in &tx.changes {
                let Some(row) = change.new.as_ref() else {
                    continue;
                };
                if row.values.contains(&Value::Unchanged) {
                    continue;
                }
                for route in self.mappings.routes_for(tx.side, &change.table) {
                    if route.role != Role::Primary {
                        continue;
                    }
                    let Some(entity) = self.mappings.entity(&route.entity) else {
                        continue;
                    };
                    let needs = entity.forward_needs(Role::Primary, row);
                    for f in needs.secondary.iter().chain(&needs.children) {
                        let cols: Vec<String> = f.key.iter().map(|(c, _)| c.clone()).collect();
                        wanted
                            .entry((f.table.clone(), cols))
                            .or_default()
                            .push(f.key.iter().map(|(_, v)| v.clone()).collect());
                        requested.push(fetch_key(f));
                    }
                }
            }
        }
        for ((table, cols), keys) in wanted {
            let rows = self.source.fetch_many(&table, &cols, &keys).await?;
            for row in rows {
                let filter = cols
                    .iter()
                    .map(|c| (c.clone(), row.get(c).and_then(Value::to_text)))
                    .collect();
                self.prefetched
                    .entry((table.clone(), filter))
                    .or_default()
                    .push(row);
            }
        }
        for key in requested {
            self.prefetched.entry(key).or_default();
        }
        Ok(())
    }

    /// Rows for a fetch need: from the batch prefetch, else one query.
    pub(super) async fn rows_for(
        &mut self,
        f: &supra_sync_mapping::FetchNeed,
    ) -> Result<Vec<Row>, EngineError> {
        match self.prefetched.get(&fetch_key(f)) {
            Some(rows) => Ok(rows.clone()),
            None => self.source.fetch(&f.table, &f.key).await,
        }
    }

    /// One lookup for every primary key and reference the batch mentions.
    async fn prefetch_identities(
        &mut self,
        batch: &[Transaction],
    ) -> Result<HashMap<(String, String), Uuid>, EngineError> {
        if self.opts.source == Side::Supra {
            return Ok(HashMap::new());
        }
        let mut wanted: Vec<(String, String)> = Vec::new();
        for tx in batch {
            for change in &tx.changes {
                for route in self.mappings.routes_for(tx.side, &change.table) {
                    if route.role != Role::Primary {
                        continue;
                    }
                    let Some(entity) = self.mappings.entity(&route.entity) else {
                        continue;
                    };
                    for row in [&change.old, &change.new].into_iter().flatten() {
                        wanted.push((entity.name().to_string(), row.key_text()));
                        if change.op != ChangeOp::Delete {
                            for r in entity.forward_needs(Role::Primary, row).refs {
                                wanted.push((r.entity, r.legacy_key));
                            }
                        }
                    }
                }
            }
        }
        wanted.sort();
        wanted.dedup();
        book::supra_ids(self.bookkeeping(), &wanted).await
    }

    /// Plans one change: routes it to its entity and direction, or logs why it is not applied.
    async fn plan_change(
        &mut self,
        tx: &Transaction,
        change: &Change,
        entity_name: &str,
        role: Role,
        known: &mut HashMap<(String, String), Uuid>,
    ) -> Result<Planned, EngineError> {
        let mappings = self.mappings.clone();
        let entity = mappings.entity(entity_name).ok_or_else(|| {
            EngineError::Definite(format!("route to unknown entity {entity_name}"))
        })?;
        let key = change.identity().map(Row::key_text).unwrap_or_default();
        let mut planned = Planned {
            ops: Vec::new(),
            log: LogRow {
                entity: entity_name.to_string(),
                entity_id: key.clone(),
                supra_id: None,
                source: tx.side,
                operation: change.op.as_str(),
                diff: raw::diff(change),
                raw: raw::encode(change),
                status: LogStatus::Applied,
                error: None,
                source_lsn: tx.commit_lsn,
                source_xid: tx.xid,
                commit_ts: tx.commit_ts,
            },
            mappings: Vec::new(),
            parked: Vec::new(),
            rekey: None,
            check: None,
            held_by: None,
        };
        let result = match (self.stages.gate(entity, tx.side), tx.side) {
            (Some(reason), _) => Err(Outcome::Skip(reason)),
            (None, Side::Legacy) => {
                self.plan_forward(tx, change, entity, role, known, &mut planned)
                    .await
            }
            (None, Side::Supra) => {
                self.plan_reverse(tx, change, entity, known, &mut planned)
                    .await
            }
        };
        let result = match result {
            Ok(()) => self.check_lengths(&planned.ops).await,
            other => other,
        };
        match result {
            Ok(()) => {}
            Err(Outcome::Park {
                entity: wait_entity,
                key: wait_key,
            }) => {
                planned.ops.clear();
                planned.mappings.clear();
                planned.rekey = None;
                planned.check = None;
                planned.log.status = LogStatus::Skipped;
                planned.log.error =
                    Some(format!("parked until {wait_entity} {wait_key} is synced"));
                // Later changes of this row in the same batch must queue behind it.
                self.parked_keys
                    .insert((entity_name.to_string(), planned.log.entity_id.clone()));
                planned.parked.push(ParkedRow {
                    entity: entity_name.to_string(),
                    entity_id: planned.log.entity_id.clone(),
                    source: tx.side,
                    operation: change.op.as_str(),
                    waiting_for_entity: wait_entity,
                    waiting_for_id: wait_key,
                    raw: planned.log.raw.clone(),
                    source_lsn: tx.commit_lsn,
                    commit_ts: tx.commit_ts,
                });
            }
            Err(Outcome::Skip(reason)) => {
                planned.ops.clear();
                planned.log.status = LogStatus::Skipped;
                planned.log.error = Some(reason);
            }
            Err(Outcome::Fail(reason)) => {
                planned.ops.clear();
                planned.mappings.clear();
                planned.log.status = LogStatus::Failed;
                planned.log.error = Some(reason);
            }
            Err(Outcome::Engine(e)) => return Err(e),
        }
        Ok(planned)
    }

    /// Fails a planned change whose values do not fit their target columns (see
    /// [`crate::write::too_long`]).
    async fn check_lengths(&mut self, ops: &[TargetOp]) -> Result<(), Outcome> {
        for op in ops {
            let Some((columns, values)) = op.written() else {
                continue;
            };
            let table = op.table();
            let types = self
                .writer
                .column_types(&self.target, table)
                .await
                .map_err(Outcome::Engine)?;
            if let Some(problem) = crate::write::too_long(types, columns, values) {
                return Err(Outcome::Fail(format!("{problem} in {table}")));
            }
        }
        Ok(())
    }

    /// The conflict check of a change from `source` to the row of `entity` known as
    /// `legacy_key` / `supra_id`: the row is locked and compared on the other side.
    pub(super) fn check_for(
        &self,
        entity: &EntityMapping,
        source: Side,
        legacy_key: &str,
        supra_id: Uuid,
        incoming: Incoming,
    ) -> Check {
        let (table, key_values) = match source {
            Side::Legacy => (
                entity.supra_tables()[0].clone(),
                vec![Value::Uuid(supra_id)],
            ),
            Side::Supra => (entity.legacy_table().clone(), parse_key_text(legacy_key)),
        };
        let shape = self
            .check_columns
            .get(entity.name())
            .filter(|_| source == self.opts.source);
        let (key_columns, columns) = match shape {
            Some(c) => (c.key.clone(), c.compared.clone()),
            None => {
                let c = CheckColumns::of(entity, source);
                (c.key, c.compared)
            }
        };
        Check {
            entity: entity.name().to_string(),
            legacy_key: legacy_key.to_string(),
            supra_id,
            policy: self
                .policy_override
                .unwrap_or_else(|| self.stages.policy(entity)),
            source,
            table,
            key_columns,
            key_values,
            columns,
            incoming_row: incoming.row,
            incoming_hash: incoming.hash,
            incoming_ts: incoming.ts,
            deleting: incoming.deleting,
        }
    }
}

/// What an incoming change brings to its conflict check.
pub(super) struct Incoming {
    row: Option<Row>,
    hash: String,
    ts: chrono::DateTime<Utc>,
    deleting: bool,
}

impl Incoming {
    /// An insert or update bringing `row`, whose compared image hashes to `hash`.
    pub(super) fn row(row: &Row, hash: String, ts: chrono::DateTime<Utc>) -> Incoming {
        Incoming {
            row: Some(row.clone()),
            hash,
            ts,
            deleting: false,
        }
    }

    /// A delete (its image: the old key or row).
    pub(super) fn delete(change: &Change, ts: chrono::DateTime<Utc>) -> Incoming {
        Incoming {
            row: change.old.clone(),
            hash: String::new(),
            ts,
            deleting: true,
        }
    }
}

/// Why a change was not turned into operations.
pub(super) enum Outcome {
    Park { entity: String, key: String },
    Skip(String),
    Fail(String),
    Engine(EngineError),
}

impl Outcome {
    pub(super) fn eval(e: EvalError) -> Outcome {
        match e {
            EvalError::MissingReference { entity, legacy_key } => Outcome::Park {
                entity,
                key: legacy_key,
            },
            EvalError::MissingLegacyId { entity, supra_id } => Outcome::Park {
                entity,
                key: supra_id.to_string(),
            },
            other => Outcome::Fail(other.to_string()),
        }
    }
}
