//! `conflicts resolve`: apply the chosen version to both sides in one step.
//!
//! ```text
//!  SUPRA tx: lock the conflict (FOR UPDATE) — open?           else refuse (already resolved)
//!  legacy tx + SUPRA tx: lock both rows (FOR UPDATE)
//!  compare with the recorded images                            moved? refuse (stale)
//!  plan through the mappings                                   --dry-run: roll back, report
//!  legacy tx: write under the SUPRA pipeline's origin; read back its hash + clock
//!  SUPRA tx:  write under the legacy pipeline's origin; read back its hash + clock;
//!             sync_mappings versions; conflict resolved (who, when, how)
//!  COMMIT legacy, COMMIT SUPRA; release the held changes
//! ```
//!
//! Both clocks are recorded as the last write to each side (`last_write_to_*_at`): every
//! change committed before the resolution is superseded by it — the resolution read the
//! current rows, which already contain those changes — and is skipped wherever it shows up
//! later (held, or still in flight in a stream). Without two-phase commit there is a window
//! between the two commits; if it is hit, the legacy row holds the chosen version while the
//! conflict stays open, and running the same resolution again completes it (a legacy row
//! that already holds the version being written does not count as a change).

use chrono::{DateTime, Utc};
use serde::Serialize;
use supra_sync_core::{Side, TableName, Value};
use supra_sync_mapping::{ConflictPolicy, EntityMapping};
use tokio_postgres::Transaction;
use uuid::Uuid;

use super::compare;
use super::conflicts;
use super::current::{EntityRows, EntitySchemas};
use super::image::changed_since;
use super::merge::Choice;
use super::origin;
use super::plan::{self, Current, Plan};
use super::release::{self, ReleaseSummary};
use super::rows::Identity;
use super::{Operator, ResolveError};
use crate::apply::parse_key_text;
use crate::conflict::{self, Check};
use crate::write::TargetWriter;

/// How to resolve.
#[derive(Debug, Clone)]
pub struct ResolveOptions {
    /// The version chosen.
    pub choice: Choice,
    /// Who resolves (stored in `resolved_by`).
    pub by: String,
    /// Free text stored in `resolution_note`.
    pub note: Option<String>,
    /// Report the effect and change nothing.
    pub dry_run: bool,
}

/// What a resolution did (or, with `dry_run`, would do).
#[derive(Debug, Clone, Serialize)]
pub struct ResolveOutcome {
    /// The conflict.
    pub conflict: Uuid,
    /// Entity and legacy key.
    pub entity: String,
    /// Legacy key text.
    pub entity_id: String,
    /// `legacy_wins`, `supra_wins` or `merged`.
    pub resolution: &'static str,
    /// The data writes, with the rows after them.
    pub plan: Plan,
    /// The bookkeeping statements (SUPRA).
    pub bookkeeping: Vec<String>,
    /// Origins the writes carried.
    pub origins: Vec<String>,
    /// Held changes waiting behind the conflict.
    pub held: i32,
    /// Their release (`None` on a dry run).
    pub released: Option<ReleaseSummary>,
    /// Nothing was changed.
    pub dry_run: bool,
}

/// A side's agreed version after the resolution.
struct Version {
    hash: Option<String>,
    at: Option<DateTime<Utc>>,
}

/// Resolves one open conflict.
pub async fn resolve(
    op: &mut Operator,
    id: &str,
    opts: &ResolveOptions,
) -> Result<ResolveOutcome, ResolveError> {
    let record = conflicts::get(&op.supra, id, false).await?;
    ensure_open(&record)?;
    let entity = op.entity(&record.entity)?;
    if opts.choice != Choice::LegacyWins && entity.reverse_columns().is_empty() {
        return Err(ResolveError::Refused(format!(
            "entity {} only flows legacy → SUPRA; only --legacy-wins can resolve its conflicts",
            entity.name()
        )));
    }
    let identity = Identity::find(&op.supra, &record.entity, &record.entity_id).await?;
    let schemas = EntitySchemas::load(op, entity).await?;
    let image_columns = entity.compared_supra_columns();
    let mappings = op.mappings.clone();
    let entity = mappings
        .entity(&record.entity)
        .ok_or_else(|| ResolveError::Refused("entity vanished".into()))?;
    let (names, tenant_id) = (op.names.clone(), op.tenant_id);
    if !opts.dry_run {
        origin::prepare(&op.legacy, &names, Side::Legacy).await?;
        origin::prepare(&op.supra, &names, Side::Supra).await?;
    }
    let Operator { legacy, supra, .. } = op;
    let ltx = legacy
        .transaction()
        .await
        .map_err(|e| ResolveError::sql("starting the legacy transaction", e))?;
    let stx = supra
        .transaction()
        .await
        .map_err(|e| ResolveError::sql("starting the SUPRA transaction", e))?;
    let record = conflicts::get(&stx, &record.id.to_string(), true).await?;
    ensure_open(&record)?;
    let now = EntityRows::read(&ltx, &stx, &schemas, entity, &identity, tenant_id, true).await?;
    let comparison = compare::compare(
        entity,
        &image_columns,
        now.legacy_side(),
        now.supra_side(),
        None,
    );
    let plan = plan::build(
        entity,
        &opts.choice,
        &identity,
        &Current {
            legacy: now.legacy_side(),
            supra: now.supra_side(),
            deletes_allowed: !partial(&record),
        },
        &comparison,
    )?;
    refuse_if_stale(&record, &now, &image_columns, &opts.choice, &plan)?;
    let mut outcome = ResolveOutcome {
        conflict: record.id,
        entity: record.entity.clone(),
        entity_id: record.entity_id.clone(),
        resolution: opts.choice.resolution(),
        bookkeeping: bookkeeping_sql(&record, opts),
        plan,
        origins: Vec::new(),
        held: record.held_changes,
        released: None,
        dry_run: opts.dry_run,
    };
    if opts.dry_run {
        // Dropping the transactions rolls them back.
        return Ok(outcome);
    }
    let mut writer = TargetWriter::default();
    if !outcome.plan.legacy_ops.is_empty() {
        outcome
            .origins
            .push(origin::attach(ltx.client(), &names, Side::Legacy).await?);
        writer.execute(&ltx, &outcome.plan.legacy_ops).await?;
    }
    if !outcome.plan.supra_ops.is_empty() {
        outcome
            .origins
            .push(origin::attach(stx.client(), &names, Side::Supra).await?);
        writer.execute(&stx, &outcome.plan.supra_ops).await?;
    }
    let legacy_version = version(&ltx, &schemas, entity, &identity, Side::Legacy).await?;
    let supra_version = version(&stx, &schemas, entity, &identity, Side::Supra).await?;
    record_resolution(
        &stx,
        &record,
        opts,
        &entity.legacy_table().to_string(),
        identity.supra_id,
        &legacy_version,
        &supra_version,
    )
    .await?;
    ltx.commit()
        .await
        .map_err(|e| ResolveError::sql("committing the legacy side of the resolution", e))?;
    stx.commit()
        .await
        .map_err(|e| ResolveError::sql("committing the SUPRA side of the resolution", e))?;
    if !outcome.plan.legacy_ops.is_empty() {
        origin::detach(&op.legacy).await?;
    }
    if !outcome.plan.supra_ops.is_empty() {
        origin::detach(&op.supra).await?;
    }
    outcome.released = Some(release::release(op, &record.id.to_string()).await?);
    Ok(outcome)
}

/// True for conflicts that record only the incoming side's image (a missing image means
/// "not recorded", not "no row").
pub fn partial(record: &conflicts::ConflictRecord) -> bool {
    record.conflict_type == "unique_violation"
}

fn ensure_open(record: &conflicts::ConflictRecord) -> Result<(), ResolveError> {
    if record.status == "open" {
        return Ok(());
    }
    Err(ResolveError::NotOpen {
        id: record.id,
        status: record.status.clone(),
        resolution: record.resolution.clone(),
        by: record.resolved_by.clone(),
    })
}

/// Refuses when a row changed since the conflict was recorded. A legacy row that already
/// holds exactly the version this resolution writes (an interrupted earlier run) is not a
/// change; SUPRA is written in the same transaction as the conflict, so it never is.
fn refuse_if_stale(
    record: &conflicts::ConflictRecord,
    now: &EntityRows,
    image_columns: &[String],
    choice: &Choice,
    plan: &Plan,
) -> Result<(), ResolveError> {
    let recorded = |image: Option<&serde_json::Value>, row| match (image, partial(record)) {
        // Not recorded (a unique violation records the incoming side only).
        (None, true) => Vec::new(),
        (image, _) => changed_since(image, row, None),
    };
    let legacy = recorded(record.legacy_data.as_ref(), now.legacy.as_ref());
    let writes_legacy = matches!(choice, Choice::SupraWins | Choice::Merge(_));
    let already_written = writes_legacy && plan.legacy_ops.is_empty();
    if !legacy.is_empty() && !already_written {
        return Err(ResolveError::Stale {
            id: record.id,
            side: "legacy".into(),
            columns: legacy,
        });
    }
    let supra = match (record.supra_data.as_ref(), partial(record)) {
        (None, true) => Vec::new(),
        (image, _) => changed_since(image, now.supra.as_ref(), Some(image_columns)),
    };
    if !supra.is_empty() {
        return Err(ResolveError::Stale {
            id: record.id,
            side: "SUPRA".into(),
            columns: supra,
        });
    }
    Ok(())
}

/// The hash of a side's row (computed exactly as the engine's conflict check does) and that
/// server's clock, under the row lock.
async fn version(
    tx: &Transaction<'_>,
    schemas: &EntitySchemas,
    entity: &EntityMapping,
    id: &Identity,
    side: Side,
) -> Result<Version, ResolveError> {
    let (table, key_columns, key_values, columns, schema): (
        TableName,
        Vec<String>,
        Vec<Value>,
        Vec<String>,
        _,
    ) = match side {
        Side::Legacy => (
            entity.legacy_table().clone(),
            entity.legacy_key().to_vec(),
            parse_key_text(&id.legacy_key),
            Vec::new(),
            schemas.legacy.get(entity.legacy_table())?,
        ),
        Side::Supra => (
            entity.supra_tables()[0].clone(),
            vec![entity.supra_id_column().to_string()],
            vec![Value::Uuid(id.supra_id)],
            entity.compared_supra_columns(),
            schemas.supra.get(&entity.supra_tables()[0])?,
        ),
    };
    let check = Check {
        entity: id.entity.clone(),
        legacy_key: id.legacy_key.clone(),
        supra_id: id.supra_id,
        policy: ConflictPolicy::Manual,
        source: side.other(),
        table,
        key_columns: key_columns.into(),
        key_values,
        columns: columns.into(),
        incoming_row: None,
        incoming_hash: String::new(),
        incoming_ts: Utc::now(),
        deleting: false,
    };
    let current = conflict::read_current(tx, &schema, &check).await?;
    let at = match current.read_at {
        Some(at) => Some(at),
        None => tx
            .query_one("SELECT clock_timestamp()", &[])
            .await
            .map_err(|e| ResolveError::sql("reading the server clock", e))?
            .get(0),
    };
    Ok(Version {
        hash: current.hash,
        at,
    })
}

#[allow(clippy::too_many_arguments)]
async fn record_resolution(
    stx: &Transaction<'_>,
    record: &conflicts::ConflictRecord,
    opts: &ResolveOptions,
    legacy_table: &str,
    supra_id: uuid::Uuid,
    legacy: &Version,
    supra: &Version,
) -> Result<(), ResolveError> {
    // Inserted when the row never synced (its insert collided on a unique key).
    stx.execute(
        "INSERT INTO supra_sync.sync_mappings AS m
                (entity_type, legacy_table, legacy_id, supra_id, last_synced_hash, last_legacy_hash,
                 last_write_to_supra_at, last_write_to_legacy_at, synced_at)
         VALUES ($1, $7, $2, $8, $3, $4, $5, $6, now())
         ON CONFLICT (entity_type, legacy_id) DO UPDATE
            SET last_synced_hash = $3, last_legacy_hash = $4,
                last_write_to_supra_at = $5, last_write_to_legacy_at = $6, synced_at = now()",
        &[
            &record.entity,
            &record.entity_id,
            &supra.hash,
            &legacy.hash,
            &supra.at,
            &legacy.at,
            &legacy_table,
            &supra_id,
        ],
    )
    .await
    .map_err(|e| ResolveError::sql("recording the resolved versions", e))?;
    let n = stx
        .execute(
            "UPDATE supra_sync.sync_conflicts
                SET status = 'resolved', resolution = $2, resolved_by = $3, resolved_at = now(),
                    resolution_note = $4
              WHERE id = $1 AND status = 'open'",
            &[&record.id, &opts.choice.resolution(), &opts.by, &opts.note],
        )
        .await
        .map_err(|e| ResolveError::sql("marking the conflict resolved", e))?;
    if n != 1 {
        return Err(ResolveError::Refused(format!(
            "conflict {} was resolved by someone else meanwhile; nothing was changed",
            record.id
        )));
    }
    Ok(())
}

fn bookkeeping_sql(record: &conflicts::ConflictRecord, opts: &ResolveOptions) -> Vec<String> {
    let lit = |s: &str| supra_sync_core::quote_literal(s);
    vec![
        format!(
            "-- SUPRA\nUPDATE supra_sync.sync_mappings SET last_synced_hash = <hash of the SUPRA row after>,\n  last_legacy_hash = <hash of the legacy row after>, last_write_to_supra_at = <SUPRA clock>,\n  last_write_to_legacy_at = <legacy clock>, synced_at = now()\n  WHERE entity_type = {} AND legacy_id = {};",
            lit(&record.entity),
            lit(&record.entity_id)
        ),
        format!(
            "-- SUPRA\nUPDATE supra_sync.sync_conflicts SET status = 'resolved', resolution = {}, resolved_by = {},\n  resolved_at = now(), resolution_note = {} WHERE id = {};",
            lit(opts.choice.resolution()),
            lit(&opts.by),
            opts.note.as_deref().map_or("NULL".into(), lit),
            lit(&record.id.to_string())
        ),
    ]
}
