//! Errors split by consequence: transient ones are retried with backoff, definite ones stop
//! the operation with a message that says what to do.

/// An error from the PostgreSQL layer.
#[derive(Debug, thiserror::Error)]
pub enum PgError {
    /// The server could not be reached or the connection broke; retrying may succeed.
    #[error(
        "cannot reach {what}: {source}\nhint: check that the server is up and the connection settings are right; supra-sync retries with backoff"
    )]
    Unreachable {
        /// Which database (e.g. "legacy database at 10.0.0.5:5432/cf_quere_pro").
        what: String,
        /// The driver error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// A statement failed.
    #[error("{context}: {}", describe(.source))]
    Sql {
        /// What supra-sync was doing.
        context: String,
        /// The driver error.
        #[source]
        source: tokio_postgres::Error,
    },
    /// The server is not configured the way supra-sync needs.
    #[error("{problem}\nhint: {fix}")]
    Misconfigured {
        /// What is wrong.
        problem: String,
        /// The exact fix.
        fix: String,
    },
    /// Applying migrations failed.
    #[error("migration failed: {0}")]
    Migrate(String),
    /// The replication stream failed.
    #[error("replication stream: {0}")]
    Replication(String),
    /// A pgoutput message could not be decoded.
    #[error("cannot decode pgoutput message: {0}")]
    Decode(String),
}

impl PgError {
    /// True when retrying later may succeed (connection loss, server restart, serialization
    /// failure, lock timeout).
    pub fn is_transient(&self) -> bool {
        match self {
            PgError::Unreachable { .. } | PgError::Replication(_) => true,
            PgError::Sql { source, .. } => is_transient_sql(source),
            _ => false,
        }
    }

    /// Wraps a driver error with context.
    pub fn sql(context: impl Into<String>) -> impl FnOnce(tokio_postgres::Error) -> PgError {
        let context = context.into();
        move |source| PgError::Sql { context, source }
    }
}

/// Whether a driver error is worth retrying.
pub fn is_transient_sql(e: &tokio_postgres::Error) -> bool {
    if e.is_closed() {
        return true;
    }
    match e.code() {
        None => true, // I/O error: connection lost
        Some(code) => {
            let c = code.code();
            // 08: connection exception, 40001/40P01: serialization/deadlock, 55P03: lock not
            // available, 55006: object in use (an origin or slot still held by a dying session),
            // 57P0x: admin shutdown / crash shutdown / cannot connect now.
            c.starts_with("08")
                || c == "40001"
                || c == "40P01"
                || c == "55P03"
                || c == "55006"
                || c.starts_with("57P")
        }
    }
}

/// PostgreSQL-style text of a driver error: message, detail and hint.
pub fn describe(e: &tokio_postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut s = format!("{} ({})", db.message(), db.code().code());
            if let Some(detail) = db.detail() {
                s.push_str(&format!("\ndetail: {detail}"));
            }
            if let Some(hint) = db.hint() {
                s.push_str(&format!("\nhint: {hint}"));
            }
            s
        }
        None => e.to_string(),
    }
}
