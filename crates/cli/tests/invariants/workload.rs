//! The workload runner (legacy writers and a SUPRA writer on their own connections, paced,
//! reconnecting after a database restart), and the test that after a snapshot and a random
//! concurrent workload on both sides SUPRA agrees row for row with what the mappings compute
//! from the final legacy state.

use std::collections::BTreeMap;
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use supra_sync_testkit::{TestDatabase, legacy, supra};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_postgres::Client;

use crate::changes::{LegacyWriter, large_text};
use crate::checks::{caught_up, in_step};
use crate::support::Env;
use crate::supra_changes::SupraWriter;

/// Either writer.
pub enum Writer {
    /// A legacy writer.
    Legacy(LegacyWriter),
    /// The SUPRA writer.
    Supra(SupraWriter),
}

impl Writer {
    /// One change.
    pub async fn step(
        &mut self,
        c: &mut Client,
        rng: &mut StdRng,
    ) -> Result<&'static str, tokio_postgres::Error> {
        match self {
            Writer::Legacy(w) => w.step(c, rng).await,
            Writer::Supra(w) => w.step(c, rng).await,
        }
    }
}

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Concurrent legacy writers.
    pub legacy_writers: i64,
    /// Whether a SUPRA writer runs too.
    pub supra_writer: bool,
    /// Pause between two changes of one writer.
    pub pace: Duration,
    /// Seed of the writers' random choices.
    pub seed: u64,
}

/// What the writers did.
#[derive(Debug, Default)]
pub struct Tally {
    /// Committed changes (transactions), by kind.
    pub kinds: BTreeMap<&'static str, usize>,
    /// Statements that failed (a database restarting, …).
    pub errors: Vec<String>,
}

impl Tally {
    /// Committed transactions.
    pub fn changes(&self) -> usize {
        self.kinds.values().sum()
    }

    fn merge(&mut self, other: Tally) {
        for (k, v) in other.kinds {
            *self.kinds.entry(k).or_default() += v;
        }
        self.errors.extend(other.errors);
    }
}

/// Running writers.
pub struct Workload {
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<Tally>>,
}

impl Workload {
    /// Starts the writers of `plan`.
    pub fn start(env: &Env, plan: &Plan) -> Workload {
        let (stop, stopped) = watch::channel(false);
        let mut writers: Vec<(Writer, TestDatabase, Duration, u64)> = (0..plan.legacy_writers)
            .map(|w| {
                let writer = Writer::Legacy(LegacyWriter::new(w, plan.legacy_writers));
                (writer, env.legacy.clone(), plan.pace, plan.seed + w as u64)
            })
            .collect();
        if plan.supra_writer {
            let writer = Writer::Supra(SupraWriter::default());
            writers.push((writer, env.supra.clone(), plan.pace * 2, plan.seed + 1_000));
        }
        let tasks = writers
            .into_iter()
            .map(|(writer, db, pace, seed)| {
                tokio::spawn(writes(db, writer, pace, seed, stopped.clone()))
            })
            .collect();
        Workload { stop, tasks }
    }

    /// Stops the writers after their change in flight.
    pub async fn stop(self) -> Tally {
        let _ = self.stop.send(true);
        let mut tally = Tally::default();
        for t in self.tasks {
            tally.merge(t.await.expect("writer task"));
        }
        tally
    }
}

/// One writer's loop: (re)connect, change, pause, until stopped.
async fn writes(
    db: TestDatabase,
    mut writer: Writer,
    pace: Duration,
    seed: u64,
    mut stopped: watch::Receiver<bool>,
) -> Tally {
    let mut tally = Tally::default();
    let mut rng = StdRng::seed_from_u64(seed);
    let mut client: Option<Client> = None;
    while !*stopped.borrow() {
        if client.as_ref().is_none_or(Client::is_closed) {
            client = match db.connect().await {
                Ok(c) => {
                    if let Err(e) = c.batch_execute("SET app.is_admin = 'true'").await {
                        tally.errors.push(e.to_string());
                    }
                    Some(c)
                }
                Err(e) => {
                    tally.errors.push(e.to_string());
                    None
                }
            };
        }
        if let Some(c) = client.as_mut() {
            match writer.step(c, &mut rng).await {
                Ok(kind) => *tally.kinds.entry(kind).or_default() += 1,
                Err(e) => tally.errors.push(e.to_string()),
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(pace) => {}
            _ = stopped.changed() => {}
        }
    }
    tally
}

/// Runs `plan` for `duration`.
pub async fn run_for(env: &Env, plan: &Plan, duration: Duration) -> Tally {
    let workload = Workload::start(env, plan);
    tokio::time::sleep(duration).await; // paces the workload; nothing is awaited here
    workload.stop().await
}

/// Seconds of workload: 20 by default, `SUPRA_SYNC_TEST_WORKLOAD_SECS` for longer runs.
fn workload_secs() -> u64 {
    std::env::var("SUPRA_SYNC_TEST_WORKLOAD_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_snapshot_and_a_random_workload_on_both_sides_supra_agrees_with_legacy() {
    let started = std::time::Instant::now();
    let env = Env::new(legacy(), supra(), 300).await;
    eprintln!("workload: databases ready after {:?}", started.elapsed());
    let mut service = env.start(&[]);
    caught_up(&env, &mut service).await;
    let snapshot = started.elapsed();
    // One certain case of an unchanged TOASTed column: a large observation, then an update
    // of another column (pgoutput sends the observation as "unchanged").
    let legacy = env.legacy().await;
    let note = large_text(&mut StdRng::seed_from_u64(1), 12_000);
    legacy
        .execute(
            "UPDATE cf_quere_pro.contrato SET cnttobserv = $1 WHERE cnttnum = (SELECT min(cnttnum) FROM cf_quere_pro.contrato)",
            &[&note],
        )
        .await
        .unwrap();
    legacy
        .batch_execute(
            "UPDATE cf_quere_pro.contrato SET cnttestado = 'S' WHERE cnttnum = (SELECT min(cnttnum) FROM cf_quere_pro.contrato)",
        )
        .await
        .unwrap();
    let plan = Plan {
        legacy_writers: 2,
        supra_writer: true,
        pace: Duration::from_millis(15),
        seed: 20_240_601,
    };
    let tally = run_for(&env, &plan, Duration::from_secs(workload_secs())).await;
    assert!(
        tally.errors.is_empty(),
        "the workload itself failed: {:?}",
        tally.errors
    );
    assert!(tally.changes() > 200, "too little happened: {tally:?}");
    caught_up(&env, &mut service).await;
    let result = in_step(&env).await;
    let toasted: i64 = env
        .supra()
        .await
        .query_one(
            "SELECT count(*) FROM contracts WHERE length(notes) > 8000",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    eprintln!(
        "workload: setup+snapshot {snapshot:?}, total {:?}, {} transactions {:?}",
        started.elapsed(),
        tally.changes(),
        tally.kinds
    );
    service.stop().await;
    env.teardown().await;
    result.unwrap_or_else(|e| panic!("{e}"));
    assert!(toasted > 0, "no TOASTed observation reached SUPRA");
}
