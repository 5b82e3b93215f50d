//! "A slot's confirmed position never passes what was committed on the target", checked from
//! outside while the service runs, is killed and restarts.
//!
//! ```text
//!  sampler (every 25 ms):  C = slot.confirmed_flush_lsn   (source)   ← read first
//!                          A = pg_replication_origin_progress(origin) (target) ← then
//!  audit slot (test_decoding, never consumed): every local transaction on a published table,
//!                          with its xid and end LSN
//!  violation ⇔ some audited transaction T with A < T.end ≤ C
//! ```
//!
//! Why this order: both positions only move forward. Reading C at t1 and A at t2 ≥ t1, the
//! invariant gives C(t1) ≤ A(t1) ≤ A(t2) for every transaction that matters, so a sample can
//! only show a violation that really happened. (Reading A first would let C move past it
//! legitimately between the two reads.) C may exceed A legitimately — heartbeats, skipped
//! echoes and unrelated tables move the slot without a target commit — which is why a sample
//! with C > A is checked against the audited transactions rather than rejected outright.
//! The audit also proves the log side of "nothing lost": every audited transaction has
//! `sync_log` rows carrying its xid.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use supra_sync_core::{Lsn, Side, TableName};
use supra_sync_engine::service::reverse_tables;
use tokio::task::JoinHandle;
use tokio_postgres::Client;

use crate::checks::Findings;
use crate::support::{Env, lsn};

/// One observation: the slot's confirmed position, then the target's applied position.
#[derive(Debug, Clone, Copy)]
pub struct Sample {
    /// `confirmed_flush_lsn` of the pipeline's slot on its source.
    pub confirmed: Lsn,
    /// Progress of the pipeline's origin on its target.
    pub applied: Lsn,
}

/// A transaction on a published table, as the audit slot saw it.
#[derive(Debug, Clone, Copy)]
pub struct Commit {
    /// Source transaction id.
    pub xid: i64,
    /// End of its commit record (what the origin stores once it is applied).
    pub end: Lsn,
}

async fn connect(env: &Env, side: Side) -> Option<Client> {
    match side {
        Side::Legacy => env.legacy.connect().await.ok(),
        Side::Supra => env.supra.connect().await.ok(),
    }
}

/// A `test_decoding` slot that records every local transaction on one side's published
/// tables from its creation on.
pub struct Audit {
    side: Side,
    slot: String,
    tables: Vec<TableName>,
}

impl Audit {
    /// Creates the audit slot on `side` (the source of the pipeline `side → other`).
    pub async fn create(env: &Env, side: Side) -> Audit {
        let slot = format!("{}_audit_{side}", env.prefix);
        let client = connect(env, side).await.expect("audit connection");
        client
            .execute(
                "SELECT pg_create_logical_replication_slot($1, 'test_decoding')",
                &[&slot],
            )
            .await
            .expect("create the audit slot");
        let tables = match side {
            Side::Legacy => env.mappings.legacy_tables(),
            Side::Supra => reverse_tables(&env.mappings),
        };
        Audit { side, slot, tables }
    }

    /// The audited transactions (without an origin: echoes of supra-sync's own apply are
    /// not the pipeline's to deliver) that changed a published table.
    pub async fn commits(&self, env: &Env) -> Vec<Commit> {
        let client = connect(env, self.side).await.expect("audit connection");
        let rows = client
            .query(
                "SELECT lsn::text, xid::text::bigint, data FROM pg_logical_slot_peek_changes($1, NULL, NULL,
                        'include-xids', '1', 'skip-empty-xacts', '1', 'only-local', '1')",
                &[&self.slot],
            )
            .await
            .expect("peek the audit slot");
        let prefixes: Vec<String> = self.tables.iter().map(|t| format!("table {t}:")).collect();
        let mut out = Vec::new();
        let mut relevant = false;
        for r in rows {
            let data: String = r.get(2);
            if data.starts_with("BEGIN") {
                relevant = false;
            } else if data.starts_with("COMMIT") {
                if relevant {
                    out.push(Commit {
                        xid: r.get(1),
                        end: r.get::<_, String>(0).parse().expect("an LSN"),
                    });
                }
            } else if prefixes.iter().any(|p| data.starts_with(p.as_str())) {
                relevant = true;
            }
        }
        out
    }

    /// Drops the audit slot.
    pub async fn drop(self, env: &Env) {
        if let Some(client) = connect(env, self.side).await {
            let _ = client
                .execute("SELECT pg_drop_replication_slot($1)", &[&self.slot])
                .await;
        }
    }
}

/// Samples one pipeline's positions in the background.
pub struct Sampler {
    stop: Arc<AtomicBool>,
    task: JoinHandle<Vec<Sample>>,
}

impl Sampler {
    /// Starts sampling the pipeline whose source is `side`. Reads that fail (a database
    /// restarting) are skipped.
    pub fn start(env: &Env, side: Side) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let (source_db, target_db) = match side {
            Side::Legacy => (env.legacy.clone(), env.supra.clone()),
            Side::Supra => (env.supra.clone(), env.legacy.clone()),
        };
        let (slot, origin) = (env.names.slot(side), env.names.origin(side));
        let flag = stop.clone();
        let task = tokio::spawn(async move {
            let mut samples = Vec::new();
            let (mut source, mut target): (Option<Client>, Option<Client>) = (None, None);
            while !flag.load(Ordering::Relaxed) {
                if source.as_ref().is_none_or(Client::is_closed) {
                    source = source_db.connect().await.ok();
                }
                if target.as_ref().is_none_or(Client::is_closed) {
                    target = target_db.connect().await.ok();
                }
                if let (Some(s), Some(t)) = (&source, &target) {
                    let confirmed = lsn(
                        s,
                        "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
                        &[&slot],
                    )
                    .await;
                    let applied = lsn(
                        t,
                        "SELECT pg_replication_origin_progress($1, true)::text",
                        &[&origin],
                    )
                    .await;
                    if let (Ok(Some(confirmed)), Ok(Some(applied))) = (confirmed, applied) {
                        samples.push(Sample { confirmed, applied });
                    }
                }
                tokio::time::sleep(Duration::from_millis(25)).await;
            }
            samples
        });
        Sampler { stop, task }
    }

    /// Stops and returns the samples.
    pub async fn finish(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("sampler task")
    }
}

/// Checks that no sample shows a slot confirmed past an audited transaction that the target
/// had not applied yet; returns how many samples had the slot ahead of the origin.
pub fn never_ahead(what: &str, samples: &[Sample], commits: &[Commit]) -> Result<usize, String> {
    if samples.is_empty() {
        return Err(format!("{what}: no samples"));
    }
    let mut ahead = 0;
    for s in samples.iter().filter(|s| s.confirmed > s.applied) {
        ahead += 1;
        let lost: Vec<&Commit> = commits
            .iter()
            .filter(|c| c.end > s.applied && c.end <= s.confirmed)
            .collect();
        if !lost.is_empty() {
            return Err(format!(
                "{what}: the slot was confirmed at {} while the target had applied only {}; not applied: {lost:?}",
                s.confirmed, s.applied
            ));
        }
    }
    Ok(ahead)
}

/// Checks that every audited transaction left `sync_log` rows in `direction`.
pub async fn logged(env: &Env, direction: &str, commits: &[Commit]) -> Result<(), String> {
    let supra = env.supra().await;
    let xids: Vec<i64> = commits.iter().map(|c| c.xid).collect();
    let missing: Vec<i64> = supra
        .query(
            "SELECT x FROM unnest($1::bigint[]) AS x
              WHERE NOT EXISTS (SELECT 1 FROM supra_sync.sync_log l WHERE l.direction = $2 AND l.source_xid = x)",
            &[&xids, &direction],
        )
        .await
        .map_err(|e| e.to_string())?
        .iter()
        .map(|r| r.get(0))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(format!(
        "{direction}: {} of {} source transactions left no sync_log row (applied without a trace?), e.g. xids {:?}",
        missing.len(),
        commits.len(),
        &missing[..missing.len().min(10)]
    ))
}

/// Audit slots and samplers of both pipelines, for the length of a test.
pub struct Watch {
    audits: [Audit; 2],
    samplers: [Sampler; 2],
}

impl Watch {
    /// Creates the audit slots and starts sampling (before anything is written).
    pub async fn start(env: &Env) -> Watch {
        Watch {
            audits: [
                Audit::create(env, Side::Legacy).await,
                Audit::create(env, Side::Supra).await,
            ],
            samplers: [
                Sampler::start(env, Side::Legacy),
                Sampler::start(env, Side::Supra),
            ],
        }
    }

    /// Stops sampling, records what the samples and audits show into `findings`, drops the
    /// audit slots, and returns a summary.
    pub async fn finish(self, env: &Env, findings: &mut Findings) -> String {
        let mut summary = Vec::new();
        for ((audit, sampler), (what, direction)) in
            self.audits.into_iter().zip(self.samplers).zip([
                ("legacy → SUPRA", "legacy_to_supra"),
                ("SUPRA → legacy", "supra_to_legacy"),
            ])
        {
            let samples = sampler.finish().await;
            let commits = audit.commits(env).await;
            if let Some(ahead) = findings.check(never_ahead(what, &samples, &commits)) {
                summary.push(format!(
                    "{what}: {} audited transactions, {} samples ({ahead} with the slot ahead of the origin)",
                    commits.len(),
                    samples.len()
                ));
            }
            findings.check(logged(env, direction, &commits).await);
            audit.drop(env).await;
        }
        summary.join("; ")
    }
}
