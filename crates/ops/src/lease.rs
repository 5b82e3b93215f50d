//! The leader lease: with two or more instances running, exactly one applies per pipeline.
//!
//! ```text
//!  instance A                          target database                     instance B
//!  apply session ── pg_try_advisory_lock(ns, key) ─► granted  ◄── same call ── apply session
//!       │  BEGIN … origin_xact_setup … COMMIT                  └─ false: standby, poll every
//!       │  (every commit runs in the session holding the lock)    `poll` until granted
//!       ✕  A dies: its session ends, PostgreSQL releases the lock and the replication origin
//!                                                  ─► B's next poll is granted: B resumes
//!                                                     from the origin's stored position
//! ```
//!
//! # Fencing
//!
//! The lock is a *session* advisory lock taken **on the connection that commits the applied
//! changes** (the applier's target connection: SUPRA for legacy → SUPRA, legacy for the
//! reverse pipeline). PostgreSQL releases a session lock only when the session ends (or on an
//! explicit unlock, which supra-sync never issues while applying), so every commit made on
//! that session is made while holding the lease. A leader that is paused (GC, SIGSTOP, a
//! network partition) keeps the lock as long as its session lives; the standby can only take
//! over after the server ended that session — and then the old leader cannot commit on it any
//! more: its next statement fails, it reconnects, and must take the lease again before it
//! applies anything. There is no window in which two sessions can both commit as leader, which
//! a lease held on a separate connection (or a transaction-scoped
//! `pg_try_advisory_xact_lock` check) cannot guarantee.
//!
//! The replication origin adds a second fence: PostgreSQL lets only one session at a time
//! attach to an origin (`pg_replication_origin_session_setup`), and only one walsender stream
//! a slot.
//!
//! How fast a dead leader is noticed depends on how it died: a killed process closes its
//! sockets and the server ends the session at once; a frozen host is noticed by TCP
//! keepalives (`tcp_keepalives_idle`/`_interval`/`_count` on the server, see
//! `deploy/SECURITY.md`).

use std::time::{Duration, Instant};

use tokio::sync::watch;
use tokio_postgres::Client;

use crate::names;
use crate::state::{PipelineState, StateCell};

/// Namespace of supra-sync's advisory locks: the first key of the two-key form, so they never
/// collide with single-key (`bigint`) advisory locks of other software on the same database.
const NAMESPACE: &str = "supra_sync";

/// Errors of the lease.
#[derive(Debug, thiserror::Error)]
pub enum LeaseError {
    /// A statement on the lease session failed (usually: the connection is gone).
    #[error("leader lease {key}: {context}: {source}")]
    Sql {
        /// Lock key.
        key: String,
        /// What was being done.
        context: &'static str,
        /// The driver error.
        #[source]
        source: tokio_postgres::Error,
    },
}

impl LeaseError {
    /// True when reconnecting may help (the only failure mode is a broken session).
    pub fn is_transient(&self) -> bool {
        match self {
            LeaseError::Sql { source, .. } => {
                source.is_closed() || source.code().is_none() || {
                    let code = source.code().map(|c| c.code()).unwrap_or_default();
                    code.starts_with("08") || code.starts_with("57P")
                }
            }
        }
    }
}

/// The leader lease of one pipeline.
#[derive(Debug, Clone)]
pub struct Lease {
    key: String,
    pipeline: String,
    poll: Duration,
}

/// What [`Lease::acquire`] ended with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acquired {
    /// The session holds the lease.
    Held,
    /// Shutdown was requested while standing by.
    ShutDown,
}

impl Lease {
    /// The lease of the pipeline consuming `slot` (slot names are unique per deployment and
    /// direction); `pipeline` labels logs and metrics; a standby polls every `poll`.
    pub fn new(slot: &str, pipeline: &str, poll: Duration) -> Lease {
        Lease {
            key: format!("{NAMESPACE}:{slot}"),
            pipeline: pipeline.to_string(),
            poll: poll.max(Duration::from_millis(10)),
        }
    }

    /// The lock key (`supra_sync:<slot>`); the lock is
    /// `pg_advisory_lock(hashtext('supra_sync'), hashtext(key))`.
    pub fn key(&self) -> &str {
        &self.key
    }

    fn sql_err(&self, context: &'static str) -> impl FnOnce(tokio_postgres::Error) -> LeaseError {
        let key = self.key.clone();
        move |source| LeaseError::Sql {
            key,
            context,
            source,
        }
    }

    /// One attempt on `session`: true when the session holds the lease afterwards
    /// (re-entrant: a session that already holds it gets true again).
    pub async fn try_acquire(&self, session: &Client) -> Result<bool, LeaseError> {
        if self.holds(session).await? {
            return Ok(true);
        }
        let row = session
            .query_one(
                "SELECT pg_try_advisory_lock(hashtext($1), hashtext($2))",
                &[&NAMESPACE, &self.key],
            )
            .await
            .map_err(self.sql_err("trying the advisory lock"))?;
        Ok(row.get(0))
    }

    /// Waits until `session` holds the lease, polling every `poll`; returns
    /// [`Acquired::ShutDown`] if `shutdown` becomes true first. `session` must be the
    /// connection that will commit the applied changes (see the module docs on fencing).
    ///
    /// `state` moves to [`PipelineState::Standby`] while another session holds the lease.
    pub async fn acquire(
        &self,
        session: &Client,
        shutdown: &mut watch::Receiver<bool>,
        state: &StateCell,
    ) -> Result<Acquired, LeaseError> {
        let held =
            metrics::gauge!(names::LEASE_HELD, names::LABEL_PIPELINE => self.pipeline.clone());
        let started = Instant::now();
        let mut last_report: Option<Instant> = None;
        loop {
            if *shutdown.borrow() {
                return Ok(Acquired::ShutDown);
            }
            if self.try_acquire(session).await? {
                held.set(1.0);
                metrics::counter!(names::LEASE_ACQUIRED, names::LABEL_PIPELINE => self.pipeline.clone())
                    .increment(1);
                if last_report.is_some() {
                    tracing::info!(pipeline = %self.pipeline, waited = ?started.elapsed(), "took over the leader lease");
                }
                return Ok(Acquired::Held);
            }
            held.set(0.0);
            if state.get() != PipelineState::Standby {
                state.set(PipelineState::Standby);
            }
            if last_report.is_none_or(|t| t.elapsed() >= Duration::from_secs(60)) {
                let holder = self.holder(session).await?;
                tracing::info!(pipeline = %self.pipeline, lease = %self.key, holder_pid = ?holder,
                    "standing by: another instance holds the leader lease");
                last_report = Some(Instant::now());
            }
            tokio::select! {
                _ = tokio::time::sleep(self.poll) => {}
                _ = shutdown.changed() => {}
            }
        }
    }

    /// True when `session` holds the lease now.
    pub async fn holds(&self, session: &Client) -> Result<bool, LeaseError> {
        let row = session
            .query_one(
                &format!("SELECT EXISTS ({HOLDER_SQL} AND l.pid = pg_backend_pid())"),
                &[&NAMESPACE, &self.key],
            )
            .await
            .map_err(self.sql_err("checking the advisory lock"))?;
        Ok(row.get(0))
    }

    /// Backend pid of the session holding the lease, if any (any connection to the same
    /// database can ask).
    pub async fn holder(&self, client: &Client) -> Result<Option<i32>, LeaseError> {
        let row = client
            .query_opt(
                &format!("SELECT l.pid FROM ({HOLDER_SQL}) l LIMIT 1"),
                &[&NAMESPACE, &self.key],
            )
            .await
            .map_err(self.sql_err("looking up the lease holder"))?;
        Ok(row.map(|r| r.get(0)))
    }

    /// Gives the lease up (only when the session holds it); returns whether it did.
    pub async fn release(&self, session: &Client) -> Result<bool, LeaseError> {
        let row = session
            .query_one(
                "SELECT pg_advisory_unlock(hashtext($1), hashtext($2))",
                &[&NAMESPACE, &self.key],
            )
            .await
            .map_err(self.sql_err("releasing the advisory lock"))?;
        metrics::gauge!(names::LEASE_HELD, names::LABEL_PIPELINE => self.pipeline.clone()).set(0.0);
        Ok(row.get(0))
    }
}

/// The granted advisory lock of a key in the current database (`$1` namespace, `$2` key).
/// Two-key advisory locks appear in `pg_locks` with `objsubid = 2`, the keys as `oid`s.
const HOLDER_SQL: &str = "SELECT l.pid FROM pg_locks l
     WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 2
       AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
       AND l.classid::bigint = (hashtext($1)::bigint & 4294967295)
       AND l.objid::bigint = (hashtext($2)::bigint & 4294967295)";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_names_the_slot() {
        let lease = Lease::new("supra_sync_legacy", "legacy_to_supra", Duration::ZERO);
        assert_eq!(lease.key(), "supra_sync:supra_sync_legacy");
        assert_eq!(lease.poll, Duration::from_millis(10));
    }
}
