//! The service configuration file (`supra-sync.toml`) with environment overrides.
//!
//! Every key is optional; defaults are below. Each key `k` can be overridden by the
//! environment variable `SUPRA_SYNC_<K>` (upper case), which wins over the file.
//! Connection strings and passwords are not here: they come from `--legacy`/`--supra`
//! (or `SUPRA_SYNC_LEGACY_URL`/`SUPRA_SYNC_SUPRA_URL`) and the `*_PASSWORD[_FILE]` variables.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde::Deserialize;
use supra_sync_engine::PipelineOptions;
use supra_sync_postgres::names::ObjectNames;

/// `supra-sync.toml`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// Prefix of slot, publication and origin names.
    pub prefix: String,
    /// Tenant code (`tenants.slug`) the mappings write for.
    pub tenant: String,
    /// Largest number of source changes in one target transaction.
    pub max_batch_changes: usize,
    /// Milliseconds to wait for more transactions before applying a partial batch.
    pub batch_linger_ms: u64,
    /// Seconds between heartbeats on an idle source (keeps slots advancing).
    pub heartbeat_secs: u64,
    /// Rows per snapshot chunk.
    pub snapshot_chunk_rows: i64,
    /// Stop at the first change that fails instead of logging it and going on.
    pub halt_on_failure: bool,
    /// Give up reconnecting to a database after this many seconds.
    pub reconnect_give_up_secs: u64,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            prefix: "supra_sync".into(),
            tenant: "cea-queretaro".into(),
            max_batch_changes: 5_000,
            batch_linger_ms: 5,
            heartbeat_secs: 10,
            snapshot_chunk_rows: 5_000,
            halt_on_failure: false,
            reconnect_give_up_secs: 3_600,
        }
    }
}

impl RunConfig {
    /// Reads the file (when given), then applies environment overrides.
    pub fn load(path: Option<&Path>) -> anyhow::Result<RunConfig> {
        let mut config = match path {
            Some(p) => {
                let text = std::fs::read_to_string(p)
                    .with_context(|| format!("reading {}", p.display()))?;
                toml::from_str(&text).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))?
            }
            None => RunConfig::default(),
        };
        config.apply_env(|k| std::env::var(k).ok())?;
        Ok(config)
    }

    fn apply_env(&mut self, get: impl Fn(&str) -> Option<String>) -> anyhow::Result<()> {
        fn parse<T: std::str::FromStr>(key: &str, v: String) -> anyhow::Result<T> {
            v.parse()
                .map_err(|_| anyhow::anyhow!("{key}={v:?} is not a valid value"))
        }
        if let Some(v) = get("SUPRA_SYNC_PREFIX") {
            self.prefix = v;
        }
        if let Some(v) = get("SUPRA_SYNC_TENANT") {
            self.tenant = v;
        }
        if let Some(v) = get("SUPRA_SYNC_MAX_BATCH_CHANGES") {
            self.max_batch_changes = parse("SUPRA_SYNC_MAX_BATCH_CHANGES", v)?;
        }
        if let Some(v) = get("SUPRA_SYNC_BATCH_LINGER_MS") {
            self.batch_linger_ms = parse("SUPRA_SYNC_BATCH_LINGER_MS", v)?;
        }
        if let Some(v) = get("SUPRA_SYNC_HEARTBEAT_SECS") {
            self.heartbeat_secs = parse("SUPRA_SYNC_HEARTBEAT_SECS", v)?;
        }
        if let Some(v) = get("SUPRA_SYNC_SNAPSHOT_CHUNK_ROWS") {
            self.snapshot_chunk_rows = parse("SUPRA_SYNC_SNAPSHOT_CHUNK_ROWS", v)?;
        }
        if let Some(v) = get("SUPRA_SYNC_HALT_ON_FAILURE") {
            self.halt_on_failure = parse("SUPRA_SYNC_HALT_ON_FAILURE", v)?;
        }
        if let Some(v) = get("SUPRA_SYNC_RECONNECT_GIVE_UP_SECS") {
            self.reconnect_give_up_secs = parse("SUPRA_SYNC_RECONNECT_GIVE_UP_SECS", v)?;
        }
        Ok(())
    }

    /// Pipeline options from this configuration.
    pub fn pipeline_options(&self) -> PipelineOptions {
        let mut o = PipelineOptions::new(supra_sync_core::Side::Legacy);
        o.names = ObjectNames::with_prefix(&self.prefix);
        o.tenant = self.tenant.clone();
        o.max_batch_changes = self.max_batch_changes;
        o.batch_linger = Duration::from_millis(self.batch_linger_ms);
        o.heartbeat_interval = Duration::from_secs(self.heartbeat_secs.max(1));
        o.snapshot_chunk_rows = self.snapshot_chunk_rows;
        o.halt_on_failure = self.halt_on_failure;
        o.reconnect_give_up = Duration::from_secs(self.reconnect_give_up_secs);
        o
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_the_file_and_bad_values_are_named() {
        let mut c: RunConfig = toml::from_str("tenant = 'otro'\nmax_batch_changes = 10").unwrap();
        c.apply_env(|k| (k == "SUPRA_SYNC_MAX_BATCH_CHANGES").then(|| "99".to_string()))
            .unwrap();
        assert_eq!((c.tenant.as_str(), c.max_batch_changes), ("otro", 99));
        let err = c
            .apply_env(|k| (k == "SUPRA_SYNC_HEARTBEAT_SECS").then(|| "x".to_string()))
            .unwrap_err();
        assert!(err.to_string().contains("SUPRA_SYNC_HEARTBEAT_SECS"));
        assert!(
            toml::from_str::<RunConfig>("tenat = 'typo'").is_err(),
            "unknown keys are refused"
        );
    }
}
