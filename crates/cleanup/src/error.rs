//! Errors, split by consequence and worded like PostgreSQL's own messages: a primary line, then
//! `DETAIL:` and `HINT:` lines.
//!
//! * [`CleanupError::Blocked`] — a step met a condition it must not work around (a Spain table
//!   with rows, a dependent view, pending documents…). Nothing was dropped by that step; the
//!   rest of its group is skipped; other groups go on. Definite: fix the cause, then re-run.
//! * [`CleanupError::Locked`], [`CleanupError::Database`] with a connection/serialization
//!   cause — transient: `apply` stops, and running it again resumes where it stopped.
//! * Everything else stops the run with a message for the operator.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

/// A definite stop of one step: what was found, why it stops, what to do.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Blocked {
    /// The step that stopped (`p1.spain`, `p1.tmp_deuda.check`, …).
    pub step: String,
    /// One line: what is wrong.
    pub primary: String,
    /// The evidence (offending tables, rows, dependent objects).
    pub detail: Option<String>,
    /// What the operator can do.
    pub hint: Option<String>,
}

impl Blocked {
    /// A blocked step with a primary message.
    pub fn new(step: &str, primary: impl Into<String>) -> Blocked {
        Blocked {
            step: step.to_string(),
            primary: primary.into(),
            detail: None,
            hint: None,
        }
    }

    /// Adds the evidence.
    pub fn detail(mut self, detail: impl Into<String>) -> Blocked {
        self.detail = Some(detail.into());
        self
    }

    /// Adds advice.
    pub fn hint(mut self, hint: impl Into<String>) -> Blocked {
        self.hint = Some(hint.into());
        self
    }
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "step {} stopped: {}", self.step, self.primary)?;
        if let Some(d) = &self.detail {
            write!(f, "\nDETAIL:  {}", d.replace('\n', "\n         "))?;
        }
        if let Some(h) = &self.hint {
            write!(f, "\nHINT:  {h}")?;
        }
        Ok(())
    }
}

/// Everything that can go wrong in the cleanup sidecar.
#[derive(Debug, thiserror::Error)]
pub enum CleanupError {
    /// A SQL statement failed.
    #[error("{}", db_message(context, source))]
    Database {
        /// What was being done ("count rows of cf_quere_pro.tmp_deuda_1").
        context: String,
        /// The driver error (carries the server's SQLSTATE, detail and hint).
        source: tokio_postgres::Error,
    },
    /// A lock could not be obtained within `lock_timeout`, after every retry.
    #[error(
        "could not obtain lock for {what}\nDETAIL:  gave up after {attempts} attempts with lock_timeout {lock_timeout:?} ({waited:?} in total)\nHINT:  another session holds a conflicting lock: look for it in pg_locks and pg_stat_activity, then run apply again; it resumes where it stopped"
    )]
    Locked {
        /// The statement's object.
        what: String,
        /// Attempts made.
        attempts: u32,
        /// The per-attempt `lock_timeout`.
        lock_timeout: Duration,
        /// Time spent including backoff.
        waited: Duration,
    },
    /// Another cleanup run holds the advisory lock.
    #[error(
        "another cleanup run is in progress\nDETAIL:  the advisory lock {key} is held by {}\nHINT:  wait for it to finish, or stop it; a stopped run is resumed by the next apply",
        holder.as_deref().unwrap_or("an unknown session")
    )]
    ConcurrentRun {
        /// Advisory lock key.
        key: i64,
        /// `pid … (application, since …)` of the holder, when visible.
        holder: Option<String>,
    },
    /// A table the sync publishes was about to be touched.
    #[error(
        "refusing to touch published table {table}\nDETAIL:  {table} is in the protected list (the tables supra-sync publishes)\nHINT:  remove it from the cleanup scope; cleanup never alters or drops a published table"
    )]
    Protected {
        /// The table.
        table: String,
    },
    /// A step stopped on a condition it must not work around.
    #[error("{0}")]
    Blocked(Box<Blocked>),
    /// `apply` finished, but some steps stopped or are waiting.
    #[error("{}", incomplete_message(blocked, waiting))]
    Incomplete {
        /// Steps that stopped.
        blocked: Vec<Blocked>,
        /// Steps waiting for a condition (observation period).
        waiting: Vec<String>,
    },
    /// A file could not be written or read.
    #[error("could not access file \"{}\": {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        source: std::io::Error,
    },
    /// The request itself is wrong (unknown phase, rollback of a phase never applied…).
    #[error("{primary}{}{}", detail.as_ref().map(|d| format!("\nDETAIL:  {d}")).unwrap_or_default(), hint.as_ref().map(|h| format!("\nHINT:  {h}")).unwrap_or_default())]
    Invalid {
        /// What is wrong.
        primary: String,
        /// Evidence.
        detail: Option<String>,
        /// Advice.
        hint: Option<String>,
    },
}

fn db_message(context: &str, source: &tokio_postgres::Error) -> String {
    match source.as_db_error() {
        Some(db) => {
            let mut s = format!("could not {context}: {}", db.message());
            if let Some(d) = db.detail() {
                s.push_str(&format!("\nDETAIL:  {d}"));
            }
            if let Some(h) = db.hint() {
                s.push_str(&format!("\nHINT:  {h}"));
            }
            s
        }
        None => format!("could not {context}: {source}"),
    }
}

fn incomplete_message(blocked: &[Blocked], waiting: &[String]) -> String {
    let mut s = format!(
        "apply stopped short: {} step(s) blocked, {} waiting",
        blocked.len(),
        waiting.len()
    );
    for b in blocked {
        s.push_str(&format!("\n{b}"));
    }
    for w in waiting {
        s.push_str(&format!("\nwaiting: {w}"));
    }
    s
}

impl From<Blocked> for CleanupError {
    fn from(b: Blocked) -> Self {
        CleanupError::Blocked(Box::new(b))
    }
}

impl CleanupError {
    /// Wraps a driver error with what was being done.
    pub fn db(context: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> CleanupError {
        let context = context.into();
        move |source| CleanupError::Database { context, source }
    }

    /// An invalid request.
    pub fn invalid(primary: impl Into<String>) -> CleanupError {
        CleanupError::Invalid {
            primary: primary.into(),
            detail: None,
            hint: None,
        }
    }

    /// The SQLSTATE of a database error, if any.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            CleanupError::Database { source, .. } => source.code().map(|c| c.code()),
            _ => None,
        }
    }

    /// A lock conflict (`55P03`) or deadlock (`40P01`): worth retrying.
    pub fn is_lock_conflict(&self) -> bool {
        matches!(self.sqlstate(), Some("55P03") | Some("40P01"))
    }

    /// Whether running `apply` again may succeed without any change (locks, connections).
    pub fn is_transient(&self) -> bool {
        match self {
            CleanupError::Locked { .. } | CleanupError::ConcurrentRun { .. } => true,
            CleanupError::Database { source, .. } => {
                source.is_closed()
                    || matches!(
                        source.code().map(|c| c.code()),
                        Some("55P03" | "40P01" | "40001" | "57P01" | "08006" | "08003")
                    )
            }
            _ => false,
        }
    }
}

/// Result alias for this crate.
pub type Result<T, E = CleanupError> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_read_like_postgresql() {
        let b = Blocked::new("p1.spain", "Spain-specific tables are not empty")
            .detail("liqcobcat has 1 rows\nliqanumurcia has 2 rows")
            .hint("empty them first");
        assert_eq!(
            b.to_string(),
            "step p1.spain stopped: Spain-specific tables are not empty\nDETAIL:  liqcobcat has 1 rows\n         liqanumurcia has 2 rows\nHINT:  empty them first"
        );
        let e = CleanupError::Locked {
            what: "drop cf_quere_pro.tmp_deuda_1".into(),
            attempts: 3,
            lock_timeout: Duration::from_millis(200),
            waited: Duration::from_secs(1),
        };
        assert!(e.is_transient());
        assert!(e.to_string().starts_with("could not obtain lock for drop cf_quere_pro.tmp_deuda_1\nDETAIL:  gave up after 3 attempts"));
        let i = CleanupError::Incomplete {
            blocked: vec![b],
            waiting: vec!["p2.hist.x.drop: observation period".into()],
        };
        assert!(
            i.to_string()
                .starts_with("apply stopped short: 1 step(s) blocked, 1 waiting")
        );
    }
}
