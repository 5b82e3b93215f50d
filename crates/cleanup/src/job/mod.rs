//! The job model: steps with persisted state, run under an advisory lock, each DDL under
//! `lock_timeout` with retry.
//!
//! ```text
//!  apply(phase) ──► RunLock (pg_try_advisory_lock) ──► for each step:
//!                      state.step_state: done? ──yes──► skip (resume after kill -9)
//!                                        │no
//!                                        ▼
//!                      mark running ──► step body ──► Ok ─► mark done (state JSON)
//!                                              ├──► Blocked ─► mark blocked, skip rest of group
//!                                              ├──► Waiting ─► mark waiting (observation period)
//!                                              └──► other error ─► mark failed, stop the run
//! ```
//!
//! Every step is idempotent on its own: work inside a step commits per object together with
//! its ledger row (`migrated`, `rollback_ddl`), so re-running a half-done step continues it.

pub(crate) mod ddl;
pub(crate) mod files;
pub(crate) mod lock;
pub(crate) mod state;

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::Mutex;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde_json::Value;
use tokio_postgres::Client;

use crate::config::CleanupConfig;
use crate::error::{Blocked, CleanupError, Result};
use crate::phase::Phase;
use crate::progress::Progress;

/// A step is waiting for a condition (the observation period), not failed.
pub(crate) const WAITING_PREFIX: &str = "waiting: ";

/// Everything a step body needs.
pub(crate) struct Ctx<'a> {
    pub client: &'a Client,
    pub config: &'a CleanupConfig,
    pub phase: Phase,
    progress: &'a (dyn Fn(Progress) + Send + Sync),
    pub limiter: DefaultDirectRateLimiter,
    blocked_groups: Mutex<BTreeSet<String>>,
    blocked: Mutex<Vec<Blocked>>,
    waiting: Mutex<Vec<String>>,
}

impl<'a> Ctx<'a> {
    pub fn new(
        client: &'a Client,
        config: &'a CleanupConfig,
        phase: Phase,
        progress: &'a (dyn Fn(Progress) + Send + Sync),
    ) -> Ctx<'a> {
        Ctx {
            client,
            config,
            phase,
            progress,
            limiter: RateLimiter::direct(Quota::per_second(config.drops_per_second)),
            blocked_groups: Mutex::new(BTreeSet::new()),
            blocked: Mutex::new(Vec::new()),
            waiting: Mutex::new(Vec::new()),
        }
    }

    /// The legacy schema.
    pub fn schema(&self) -> &str {
        &self.config.schema
    }

    /// Reports progress.
    pub fn progress(&self, step: &str, message: impl Into<String>, done: u64, total: u64) {
        (self.progress)(Progress {
            step: step.to_string(),
            message: message.into(),
            done,
            total,
        });
    }

    /// Fails with [`CleanupError::Protected`] when `table` is published by the sync.
    pub fn guard(&self, table: &str) -> Result<()> {
        if self.config.is_protected(table) {
            return Err(CleanupError::Protected {
                table: format!("{}.{}", self.schema(), table),
            });
        }
        Ok(())
    }

    /// Whether an earlier step of `group` stopped in this run.
    pub fn group_blocked(&self, group: &str) -> bool {
        self.blocked_groups
            .lock()
            .expect("ctx lock")
            .contains(group)
    }

    /// Runs one step unless the state table says it is done. Returns the step's state JSON
    /// (stored or fresh), or `None` when the step stopped (blocked/waiting) or was skipped.
    pub async fn step<F, Fut>(&self, id: &str, group: &str, body: F) -> Result<Option<Value>>
    where
        F: Fn() -> Fut,
        Fut: Future<Output = Result<Value>>,
    {
        if self.group_blocked(group) {
            return Ok(None);
        }
        if let Some(rec) = state::load(self.client, self.phase, id)
            .await?
            .filter(|r| r.status == "done")
        {
            return Ok(Some(rec.state));
        }
        state::mark_running(self.client, self.phase, id, group).await?;
        self.progress(id, "started", 0, 0);
        let mut backoff = std::time::Duration::from_millis(self.config.backoff_initial_ms);
        let started = std::time::Instant::now();
        let mut attempt = 0;
        let result = loop {
            attempt += 1;
            match body().await {
                // Steps are idempotent: a lock conflict outside a retried transaction (a
                // count, a catalog read) retries the whole step.
                Err(e) if e.is_lock_conflict() => {
                    if attempt >= self.config.lock_attempts.max(1) {
                        break Err(CleanupError::Locked {
                            what: format!("step {id}"),
                            attempts: attempt,
                            lock_timeout: self.config.lock_timeout(),
                            waited: started.elapsed(),
                        });
                    }
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2)
                        .min(std::time::Duration::from_millis(self.config.backoff_max_ms));
                }
                other => break other,
            }
        };
        let result = match result {
            Err(CleanupError::Protected { table }) => Err(Blocked::new(
                id,
                format!("refusing to touch published table {table}"),
            )
            .detail(format!(
                "{table} is in the protected list (the tables supra-sync publishes)"
            ))
            .hint(
                "cleanup never alters or drops a published table: remove it from the cleanup scope",
            )
            .into()),
            other => other,
        };
        match result {
            Ok(v) => {
                state::mark(self.client, self.phase, id, "done", &v, None).await?;
                self.progress(id, "done", 1, 1);
                Ok(Some(v))
            }
            Err(CleanupError::Blocked(b)) => {
                let b = *b;
                if let Some(reason) = b.primary.strip_prefix(WAITING_PREFIX) {
                    let err = serde_json::json!({ "waiting": reason });
                    state::mark(
                        self.client,
                        self.phase,
                        id,
                        "waiting",
                        &Value::Null,
                        Some(&err),
                    )
                    .await?;
                    self.waiting
                        .lock()
                        .expect("ctx lock")
                        .push(format!("{id}: {reason}"));
                } else {
                    tracing::warn!(step = id, "{b}");
                    let err = serde_json::to_value(&b).unwrap_or(Value::Null);
                    state::mark(
                        self.client,
                        self.phase,
                        id,
                        "blocked",
                        &Value::Null,
                        Some(&err),
                    )
                    .await?;
                    self.blocked.lock().expect("ctx lock").push(b);
                }
                self.blocked_groups
                    .lock()
                    .expect("ctx lock")
                    .insert(group.to_string());
                Ok(None)
            }
            Err(e) => {
                let err = serde_json::json!({ "error": e.to_string() });
                // Best effort: the connection may be gone.
                let _ = state::mark(
                    self.client,
                    self.phase,
                    id,
                    "failed",
                    &Value::Null,
                    Some(&err),
                )
                .await;
                Err(e)
            }
        }
    }

    /// The outcome of the run: `Ok` when no step stopped.
    pub fn finish(&self) -> Result<()> {
        let blocked = self.blocked.lock().expect("ctx lock").clone();
        let waiting = self.waiting.lock().expect("ctx lock").clone();
        if blocked.is_empty() && waiting.is_empty() {
            Ok(())
        } else {
            Err(CleanupError::Incomplete { blocked, waiting })
        }
    }
}

/// A step waiting for its observation period.
pub(crate) fn waiting(step: &str, reason: impl Into<String>) -> CleanupError {
    Blocked::new(step, format!("{WAITING_PREFIX}{}", reason.into())).into()
}
