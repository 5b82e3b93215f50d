//! Connection settings and connecting with retry and backoff.

use std::time::Duration;

use tokio_postgres::{Client, Config, NoTls};

use crate::PgError;
use crate::error::is_transient_sql;
use crate::tls::{TlsSettings, percent_encode, split_tls};

/// How to reach one database.
#[derive(Clone)]
pub struct DbConfig {
    /// Human label used in messages ("legacy", "supra").
    pub label: String,
    config: Config,
    tls: TlsSettings,
}

impl std::fmt::Debug for DbConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print the password.
        write!(f, "DbConfig({})", self.describe())
    }
}

impl DbConfig {
    /// Parses a libpq key/value string or a `postgres://` URL, including libpq's `sslmode`
    /// (`disable` … `verify-full`) and `sslrootcert`.
    pub fn parse(label: &str, conninfo: &str) -> Result<DbConfig, PgError> {
        let (conninfo, tls) = split_tls(label, conninfo)?;
        let conninfo = conninfo.as_str();
        let config: Config =
            conninfo
                .parse()
                .map_err(|e: tokio_postgres::Error| PgError::Misconfigured {
                    problem: format!("the {label} connection string is not valid: {e}"),
                    fix: "use host=… port=… user=… dbname=… or postgres://user@host:port/db".into(),
                })?;
        Ok(DbConfig {
            label: label.to_string(),
            config,
            tls,
        })
    }

    /// Sets the password (read from the environment or a file by the caller).
    pub fn with_password(mut self, password: &str) -> DbConfig {
        self.config.password(password);
        self
    }

    /// `label database at host:port/dbname`, without credentials.
    pub fn describe(&self) -> String {
        format!(
            "{} database at {}:{}/{}",
            self.label,
            self.host(),
            self.port(),
            self.config.get_dbname().unwrap_or("?")
        )
    }

    /// First host (TCP name/address or socket directory).
    pub fn host(&self) -> String {
        match self.config.get_hosts().first() {
            Some(tokio_postgres::config::Host::Tcp(h)) => h.clone(),
            Some(tokio_postgres::config::Host::Unix(p)) => p.display().to_string(),
            None => "localhost".into(),
        }
    }

    /// First port.
    pub fn port(&self) -> u16 {
        self.config.get_ports().first().copied().unwrap_or(5432)
    }

    /// User name.
    pub fn user(&self) -> &str {
        self.config.get_user().unwrap_or("postgres")
    }

    /// Database name.
    pub fn dbname(&self) -> &str {
        self.config.get_dbname().unwrap_or("postgres")
    }

    /// Password, if any.
    pub fn password(&self) -> Option<String> {
        self.config
            .get_password()
            .map(|p| String::from_utf8_lossy(p).into_owned())
    }

    /// A `postgres://` URL for sqlx (includes the password; never log it), with this
    /// connection's `sslmode` and `sslrootcert` as query parameters, so the migrator uses TLS
    /// as the other connections do (see [`TlsSettings::sqlx_url_params`]).
    pub fn url(&self) -> String {
        let auth = match self.password() {
            Some(p) => format!("{}:{}", percent_encode(self.user()), percent_encode(&p)),
            None => percent_encode(self.user()),
        };
        format!(
            "postgres://{auth}@{}:{}/{}?{}",
            self.host(),
            self.port(),
            percent_encode(self.dbname()),
            self.tls.sqlx_url_params()
        )
    }

    /// The TLS settings (`sslmode`, `sslrootcert`), for connections made elsewhere (the
    /// replication stream).
    pub fn tls(&self) -> &TlsSettings {
        &self.tls
    }

    /// Connects once, with TLS as `sslmode` says.
    pub async fn connect(&self) -> Result<Client, PgError> {
        let unreachable = |source| PgError::Unreachable {
            what: self.describe(),
            source,
        };
        let label = self.label.clone();
        let client = match self.tls.connector()? {
            None => {
                let (client, connection) = self.config.connect(NoTls).await.map_err(unreachable)?;
                spawn_connection(label, connection);
                client
            }
            Some(tls) => {
                let (client, connection) = self.config.connect(tls).await.map_err(unreachable)?;
                spawn_connection(label, connection);
                client
            }
        };
        Ok(client)
    }

    /// Connects, retrying transient failures with exponential backoff (100 ms doubling up
    /// to 5 s) until `give_up_after` has passed; then returns the last error.
    pub async fn connect_with_retry(&self, give_up_after: Duration) -> Result<Client, PgError> {
        let start = std::time::Instant::now();
        let mut delay = Duration::from_millis(100);
        loop {
            match self.connect().await {
                Ok(client) => return Ok(client),
                Err(PgError::Unreachable { what, source })
                    if is_transient_sql(&source) && start.elapsed() < give_up_after =>
                {
                    tracing::warn!(database = %what, error = %source, retry_in = ?delay, "database unreachable");
                    tokio::time::sleep(delay).await;
                    delay = (delay * 2).min(Duration::from_secs(5));
                }
                Err(e) => return Err(e),
            }
        }
    }
}

/// Drives a connection in the background until it closes.
fn spawn_connection<F>(label: String, connection: F)
where
    F: std::future::Future<Output = Result<(), tokio_postgres::Error>> + Send + 'static,
{
    tokio::spawn(async move {
        if let Err(e) = connection.await {
            tracing::debug!(database = %label, error = %e, "connection closed");
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_hides_the_password() {
        let c = DbConfig::parse(
            "legacy",
            "host=db port=5433 user=sync password=s3cr3t dbname=cf",
        )
        .unwrap();
        assert_eq!(c.describe(), "legacy database at db:5433/cf");
        assert!(!format!("{c:?}").contains("s3cr3t"));
        assert_eq!(c.url(), "postgres://sync:s3cr3t@db:5433/cf?sslmode=prefer");
    }

    #[test]
    fn the_sqlx_url_carries_sslmode_and_sslrootcert() {
        let c = DbConfig::parse(
            "supra",
            "host=db user=sync dbname=s sslmode=verify-full sslrootcert='/etc/ca dir/ca.pem'",
        )
        .unwrap();
        assert_eq!(
            c.url(),
            "postgres://sync@db:5432/s?sslmode=verify-full&sslrootcert=%2Fetc%2Fca%20dir%2Fca.pem"
        );
        let c = DbConfig::parse("supra", "postgres://sync@db/s?sslmode=disable").unwrap();
        assert_eq!(c.url(), "postgres://sync@db:5432/s?sslmode=disable");
    }

    #[test]
    fn bad_connection_string_says_how_to_fix_it() {
        let e = DbConfig::parse("supra", "host=db port=notaport").unwrap_err();
        assert!(e.to_string().contains("supra connection string"));
        assert!(e.to_string().contains("hint:"));
    }
}
