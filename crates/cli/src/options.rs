//! Global options: where the two databases and the mapping files are, how to log, and how
//! long to wait for a database.
//!
//! Passwords never travel on the command line: they come from `SUPRA_SYNC_<SIDE>_PASSWORD`,
//! from the file named by `SUPRA_SYNC_<SIDE>_PASSWORD_FILE`, or from the connection string
//! itself, and they are never printed (only [`DbConfig::describe`] is).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use clap::{ArgAction, Args, ValueEnum};
use supra_sync_postgres::DbConfig;

/// Options that every command accepts.
#[derive(Args, Debug)]
pub struct GlobalOptions {
    /// Legacy AquaCIS database (libpq `host=… dbname=…` or `postgres://…`).
    #[arg(
        long,
        global = true,
        value_name = "CONNINFO",
        env = "SUPRA_SYNC_LEGACY_URL",
        hide_env_values = true
    )]
    pub legacy: Option<String>,

    /// SUPRA database (libpq `host=… dbname=…` or `postgres://…`).
    #[arg(
        long,
        global = true,
        value_name = "CONNINFO",
        env = "SUPRA_SYNC_SUPRA_URL",
        hide_env_values = true
    )]
    pub supra: Option<String>,

    /// Directory holding the mapping files (`*.toml`, one per entity).
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        default_value = "mappings",
        env = "SUPRA_SYNC_MAPPINGS"
    )]
    pub mappings: PathBuf,

    /// How long to keep retrying an unreachable database before giving up (`30s`, `500ms`,
    /// `2m`; a bare number is seconds).
    #[arg(long, global = true, value_name = "DURATION", default_value = "30s", value_parser = parse_duration, env = "SUPRA_SYNC_CONNECT_TIMEOUT")]
    pub connect_timeout: Duration,

    /// Log line format on stderr.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "SUPRA_SYNC_LOG_FORMAT")]
    pub log_format: LogFormat,

    /// More log output: -v info, -vv debug, -vvv trace (`RUST_LOG` overrides).
    #[arg(short, long, global = true, action = ArgAction::Count)]
    pub verbose: u8,
}

/// Log line format.
#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Which of the two databases.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The legacy AquaCIS database.
    Legacy,
    /// The SUPRA database.
    Supra,
}

impl Side {
    /// Label used in messages and by [`DbConfig`].
    fn label(self) -> &'static str {
        match self {
            Side::Legacy => "legacy",
            Side::Supra => "supra",
        }
    }

    /// The `SUPRA_SYNC_<SIDE>` prefix of this side's environment variables.
    fn env_prefix(self) -> &'static str {
        match self {
            Side::Legacy => "SUPRA_SYNC_LEGACY",
            Side::Supra => "SUPRA_SYNC_SUPRA",
        }
    }
}

impl GlobalOptions {
    /// The connection settings of one side, with the password from the environment applied.
    pub fn db(&self, side: Side) -> anyhow::Result<DbConfig> {
        let conninfo = self.raw_conninfo(side)?;
        let config = DbConfig::parse(side.label(), conninfo)?;
        Ok(match password(side)? {
            Some(p) => config.with_password(&p),
            None => config,
        })
    }

    /// The connection string of one side, with the password from the environment added, for
    /// libraries that take a string (keeps every other setting, socket hosts included).
    /// Holds the password: never log it.
    pub fn conninfo(&self, side: Side) -> anyhow::Result<String> {
        let conninfo = self.raw_conninfo(side)?;
        // Validates it the same way as `db`, with the same message.
        DbConfig::parse(side.label(), conninfo)?;
        Ok(match password(side)? {
            Some(p) => with_password(conninfo, &p),
            None => conninfo.to_string(),
        })
    }

    /// The connection string as given, or an error naming the flag and variable to set.
    fn raw_conninfo(&self, side: Side) -> anyhow::Result<&str> {
        let (conninfo, flag) = match side {
            Side::Legacy => (&self.legacy, "--legacy"),
            Side::Supra => (&self.supra, "--supra"),
        };
        let Some(conninfo) = conninfo else {
            bail!(
                "no {} database given\nhint: pass {flag} <CONNINFO> or set {}_URL",
                side.label(),
                side.env_prefix()
            );
        };
        Ok(conninfo)
    }

    /// Connects to one side, retrying for at most `--connect-timeout`; proves the database
    /// is reachable before a longer operation starts.
    pub async fn connect(&self, side: Side) -> anyhow::Result<(DbConfig, tokio_postgres::Client)> {
        let db = self.db(side)?;
        let client = db.connect_with_retry(self.connect_timeout).await?;
        Ok((db, client))
    }
}

/// The password of one side from `<PREFIX>_PASSWORD` or `<PREFIX>_PASSWORD_FILE`.
fn password(side: Side) -> anyhow::Result<Option<String>> {
    let var = format!("{}_PASSWORD", side.env_prefix());
    let file_var = format!("{var}_FILE");
    let direct = std::env::var(&var).ok().filter(|v| !v.is_empty());
    let file = std::env::var_os(&file_var).filter(|v| !v.is_empty());
    match (direct, file) {
        (Some(_), Some(_)) => Err(anyhow!(
            "both {var} and {file_var} are set\nhint: set only one of them"
        )),
        (Some(p), None) => Ok(Some(p)),
        (None, Some(path)) => {
            let path = PathBuf::from(path);
            let text = std::fs::read_to_string(&path).with_context(|| {
                format!(
                    "cannot read the {} password file {} ({file_var})",
                    side.label(),
                    path.display()
                )
            })?;
            Ok(Some(text.trim_end_matches(['\r', '\n']).to_string()))
        }
        (None, None) => Ok(None),
    }
}

/// Adds `password` to a libpq key/value string or a `postgres://` URL; a later setting wins
/// in both forms.
fn with_password(conninfo: &str, password: &str) -> String {
    let trimmed = conninfo.trim();
    if trimmed.starts_with("postgres://") || trimmed.starts_with("postgresql://") {
        let encoded: String = password
            .bytes()
            .map(|b| match b {
                b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                    (b as char).to_string()
                }
                _ => format!("%{b:02X}"),
            })
            .collect();
        let separator = if trimmed.contains('?') { '&' } else { '?' };
        format!("{trimmed}{separator}password={encoded}")
    } else {
        let quoted = password.replace('\\', "\\\\").replace('\'', "\\'");
        format!("{trimmed} password='{quoted}'")
    }
}

/// Parses `500ms`, `30s`, `2m` or a bare number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !c.is_ascii_digit() && c != '.') {
        Some(i) => text.split_at(i),
        None => (text, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 30s, 500ms or 2m"))?;
    let seconds = match unit.trim() {
        "ms" => value / 1000.0,
        "s" => value,
        "m" | "min" => value * 60.0,
        other => return Err(format!("unknown unit `{other}`: use ms, s or m")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Ok(Duration::from_secs(30)));
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert!(parse_duration("3h").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn passwords_are_added_to_both_connection_string_forms() {
        let tricky = "p@ss w'o\\rd/?&";
        for conninfo in [
            "host=db port=5433 user=sync dbname=cf password=old",
            "postgres://sync@db:5433/cf",
            "postgresql://sync:old@db:5433/cf?application_name=x",
        ] {
            let text = with_password(conninfo, tricky);
            let config: tokio_postgres::Config = text.parse().expect(&text);
            assert_eq!(config.get_password(), Some(tricky.as_bytes()), "{text}");
            assert_eq!(config.get_dbname(), Some("cf"), "{text}");
        }
    }
}
