//! The service configuration file (`supra-sync.toml`) with environment overrides.
//!
//! Every key is optional; defaults are below. Each key `k` can be overridden by the
//! environment variable `SUPRA_SYNC_<K>` (upper case), which wins over the file.
//! Connection strings and passwords are not here: they come from `--legacy`/`--supra`
//! (or `SUPRA_SYNC_LEGACY_URL`/`SUPRA_SYNC_SUPRA_URL`) and the `*_PASSWORD[_FILE]` variables.

use std::path::Path;
use std::time::Duration;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use supra_sync_engine::PipelineOptions;
use supra_sync_postgres::names::ObjectNames;

/// `supra-sync.toml`.
#[derive(Debug, Clone, Deserialize, Serialize, supra_sync_ops::reference::schemars::JsonSchema)]
#[schemars(crate = "supra_sync_ops::reference::schemars")]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// Prefix of slot, publication and origin names.
    pub prefix: String,
    /// Tenant code (`tenants.slug`) the mappings write for.
    pub tenant: String,
    /// Largest number of source changes in one target transaction.
    pub max_batch_changes: usize,
    /// Longest a partial batch waits for more transactions (milliseconds from its first one).
    pub batch_linger_ms: u64,
    /// Seconds between heartbeats on an idle source (keeps slots advancing).
    pub heartbeat_secs: u64,
    /// Rows per snapshot chunk.
    pub snapshot_chunk_rows: i64,
    /// Stop at the first change that fails instead of logging it and going on.
    pub halt_on_failure: bool,
    /// Give up reconnecting to a database after this many seconds.
    pub reconnect_give_up_secs: u64,
    /// `host:port` of the HTTP server for `/metrics`, `/healthz` and `/readyz`; empty = no
    /// server. Bind to an address your Prometheus can reach (e.g. `0.0.0.0:9187` in a pod).
    pub metrics_addr: String,
    /// Seconds between the collector's queries of both databases (slot lag, retained WAL,
    /// failed rows, conflicts, snapshot progress).
    pub collect_interval_secs: u64,
    /// Milliseconds `/readyz` waits for each database to answer `SELECT 1`.
    pub readiness_timeout_ms: u64,
    /// Take a leader lease per pipeline (an advisory lock on the applying connection) so
    /// that of several running instances exactly one applies; the others stand by.
    pub leader_lease: bool,
    /// Milliseconds between a standby's attempts to take the leader lease (the takeover
    /// delay after the leader dies is at most this plus reconnecting).
    pub lease_poll_ms: u64,
    /// Entities whose changes supra-sync applies to SUPRA also append a `domain_events` row
    /// (in the same transaction), e.g. `["persona", "contrato"]`. Env: comma-separated.
    pub domain_events: Vec<String>,
    /// Kafka publishing and replay (`[kafka]`); absent = no Kafka.
    pub kafka: Option<KafkaConfig>,
}

/// `[kafka]`: where captured changes are published and replayed from. Env overrides:
/// `SUPRA_SYNC_KAFKA_<KEY>` (upper case); `SUPRA_SYNC_KAFKA_PROPERTIES` holds
/// `key=value;key=value` librdkafka properties and `SUPRA_SYNC_KAFKA_SASL_PASSWORD[_FILE]` the
/// SASL password, which never belongs in the file.
#[derive(Debug, Clone, Deserialize, Serialize, supra_sync_ops::reference::schemars::JsonSchema)]
#[schemars(crate = "supra_sync_ops::reference::schemars")]
#[serde(deny_unknown_fields, default)]
pub struct KafkaConfig {
    /// `host:port[,host:port…]` of the brokers.
    pub bootstrap_servers: String,
    /// Topics are `<topic_prefix>.<schema>.<table>`; also Debezium's `source.name`.
    pub topic_prefix: String,
    /// `source.db` of legacy changes.
    pub legacy_db: String,
    /// `source.db` of SUPRA changes.
    pub supra_db: String,
    /// Publish and acknowledge the legacy slot without applying to SUPRA.
    pub capture_only: bool,
    /// Milliseconds one publish attempt may take before it is retried.
    pub delivery_timeout_ms: u64,
    /// librdkafka properties passed through (TLS, SASL, compression, …).
    pub properties: std::collections::BTreeMap<String, String>,
}

impl Default for KafkaConfig {
    fn default() -> Self {
        KafkaConfig {
            bootstrap_servers: String::new(),
            topic_prefix: "aquacis".into(),
            legacy_db: "aquacis".into(),
            supra_db: "supra".into(),
            capture_only: false,
            delivery_timeout_ms: 60_000,
            properties: Default::default(),
        }
    }
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
            metrics_addr: supra_sync_ops::names::DEFAULT_METRICS_ADDR.into(),
            collect_interval_secs: 15,
            readiness_timeout_ms: 2_000,
            leader_lease: true,
            lease_poll_ms: 1_000,
            domain_events: Vec::new(),
            kafka: None,
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
        if let Some(v) = get("SUPRA_SYNC_METRICS_ADDR") {
            self.metrics_addr = v;
        }
        if let Some(v) = get("SUPRA_SYNC_COLLECT_INTERVAL_SECS") {
            self.collect_interval_secs = parse("SUPRA_SYNC_COLLECT_INTERVAL_SECS", v)?;
        }
        if let Some(v) = get("SUPRA_SYNC_READINESS_TIMEOUT_MS") {
            self.readiness_timeout_ms = parse("SUPRA_SYNC_READINESS_TIMEOUT_MS", v)?;
        }
        if let Some(v) = get("SUPRA_SYNC_LEADER_LEASE") {
            self.leader_lease = parse("SUPRA_SYNC_LEADER_LEASE", v)?;
        }
        if let Some(v) = get("SUPRA_SYNC_LEASE_POLL_MS") {
            self.lease_poll_ms = parse("SUPRA_SYNC_LEASE_POLL_MS", v)?;
        }
        if let Some(v) = get("SUPRA_SYNC_DOMAIN_EVENTS") {
            self.domain_events = v
                .split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(str::to_string)
                .collect();
        }
        self.apply_kafka_env(&get, parse)
    }

    fn apply_kafka_env(
        &mut self,
        get: impl Fn(&str) -> Option<String>,
        parse: fn(&str, String) -> anyhow::Result<bool>,
    ) -> anyhow::Result<()> {
        let set = |kafka: &mut Option<KafkaConfig>, key: &str| {
            let v = get(key);
            if v.is_some() && kafka.is_none() {
                *kafka = Some(KafkaConfig::default());
            }
            v
        };
        if let Some(v) = set(&mut self.kafka, "SUPRA_SYNC_KAFKA_BOOTSTRAP_SERVERS") {
            self.kafka_mut().bootstrap_servers = v;
        }
        if let Some(v) = set(&mut self.kafka, "SUPRA_SYNC_KAFKA_TOPIC_PREFIX") {
            self.kafka_mut().topic_prefix = v;
        }
        if let Some(v) = set(&mut self.kafka, "SUPRA_SYNC_KAFKA_LEGACY_DB") {
            self.kafka_mut().legacy_db = v;
        }
        if let Some(v) = set(&mut self.kafka, "SUPRA_SYNC_KAFKA_SUPRA_DB") {
            self.kafka_mut().supra_db = v;
        }
        if let Some(v) = set(&mut self.kafka, "SUPRA_SYNC_KAFKA_CAPTURE_ONLY") {
            self.kafka_mut().capture_only = parse("SUPRA_SYNC_KAFKA_CAPTURE_ONLY", v)?;
        }
        if let Some(v) = set(&mut self.kafka, "SUPRA_SYNC_KAFKA_DELIVERY_TIMEOUT_MS") {
            self.kafka_mut().delivery_timeout_ms = v.parse().map_err(|_| {
                anyhow::anyhow!("SUPRA_SYNC_KAFKA_DELIVERY_TIMEOUT_MS={v:?} is not a valid value")
            })?;
        }
        if let Some(v) = set(&mut self.kafka, "SUPRA_SYNC_KAFKA_PROPERTIES") {
            for pair in v.split(';').map(str::trim).filter(|p| !p.is_empty()) {
                let (key, value) = pair.split_once('=').ok_or_else(|| {
                    anyhow::anyhow!(
                        "SUPRA_SYNC_KAFKA_PROPERTIES: {pair:?} is not key=value\nhint: separate properties with ';'"
                    )
                })?;
                let props = &mut self.kafka_mut().properties;
                props.insert(key.trim().to_string(), value.trim().to_string());
            }
        }
        let direct = get("SUPRA_SYNC_KAFKA_SASL_PASSWORD").filter(|v| !v.is_empty());
        let file = get("SUPRA_SYNC_KAFKA_SASL_PASSWORD_FILE").filter(|v| !v.is_empty());
        let password = match (direct, file) {
            (Some(_), Some(_)) => anyhow::bail!(
                "both SUPRA_SYNC_KAFKA_SASL_PASSWORD and SUPRA_SYNC_KAFKA_SASL_PASSWORD_FILE are set\nhint: set only one of them"
            ),
            (Some(p), None) => Some(p),
            (None, Some(path)) => Some(
                std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read the Kafka SASL password file {path}"))?
                    .trim_end_matches(['\r', '\n'])
                    .to_string(),
            ),
            (None, None) => None,
        };
        if let (Some(p), Some(kafka)) = (password, self.kafka.as_mut()) {
            kafka.properties.insert("sasl.password".into(), p);
        }
        Ok(())
    }

    fn kafka_mut(&mut self) -> &mut KafkaConfig {
        self.kafka.get_or_insert_with(KafkaConfig::default)
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
        o.lease_poll = self
            .leader_lease
            .then(|| Duration::from_millis(self.lease_poll_ms.max(10)));
        o.domain_events = self.domain_events.clone();
        o
    }

    /// Settings of the metrics/health server and collector; `None` when `metrics_addr` is
    /// empty.
    pub fn ops_config(
        &self,
        legacy: supra_sync_postgres::DbConfig,
        supra: supra_sync_postgres::DbConfig,
        bidirectional: bool,
    ) -> Option<supra_sync_ops::runtime::OpsConfig> {
        (!self.metrics_addr.trim().is_empty()).then(|| supra_sync_ops::runtime::OpsConfig {
            metrics_addr: self.metrics_addr.trim().to_string(),
            collect_interval: Duration::from_secs(self.collect_interval_secs.max(1)),
            probe_timeout: Duration::from_millis(self.readiness_timeout_ms.max(100)),
            legacy,
            supra,
            names: ObjectNames::with_prefix(&self.prefix),
            bidirectional,
        })
    }
}

/// The configuration reference (`docs/CONFIG.md`), generated from [`RunConfig`] and the
/// command-line options so that it cannot drift (a test compares the committed file).
pub fn reference() -> anyhow::Result<String> {
    use clap::Args as _;
    use supra_sync_ops::reference::{Section, Setting, clap_settings, render, toml_settings};
    let global = crate::options::GlobalOptions::augment_args(clap::Command::new("supra-sync"));
    let run = crate::commands::sync::RunArgs::augment_args(clap::Command::new("run"));
    let mut connections = clap_settings(&global);
    for side in ["LEGACY", "SUPRA"] {
        let db = side.to_lowercase();
        connections.push(Setting {
            key: format!("({db} password)"),
            env: format!("SUPRA_SYNC_{side}_PASSWORD"),
            default: String::new(),
            doc: format!("Password of the {db} database role (never on the command line)."),
        });
        connections.push(Setting {
            key: format!("({db} password file)"),
            env: format!("SUPRA_SYNC_{side}_PASSWORD_FILE"),
            default: String::new(),
            doc: format!(
                "File holding the {db} password (e.g. a mounted secret); trailing newline ignored."
            ),
        });
    }
    connections.extend(clap_settings(&run));
    Ok(render(
        "supra-sync configuration reference",
        "Generated from the configuration structs (`crates/cli/src/config.rs`, \
         `crates/cli/src/options.rs`) by `config::reference`; do not edit by hand. Regenerate \
         with `SUPRA_SYNC_BLESS=1 cargo test -p supra-sync config_reference`.\n\n\
         Precedence: environment variable > `supra-sync.toml` > default.",
        &[
            Section {
                title: "Connections and command-line options".into(),
                intro: "Given as flags or environment variables; connection strings and \
                        passwords never go in `supra-sync.toml`."
                    .into(),
                settings: connections,
            },
            Section {
                title: "supra-sync.toml".into(),
                intro: "Every key is optional. Pass the file with `--config` \
                        (`SUPRA_SYNC_CONFIG`); each key is overridden by its environment \
                        variable."
                    .into(),
                settings: toml_settings::<RunConfig>("SUPRA_SYNC_")?,
            },
        ],
    ))
}

#[cfg(test)]
mod reference_tests {
    use super::*;

    #[test]
    fn config_reference_matches_docs_config_md() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/CONFIG.md");
        let generated = reference().unwrap();
        if std::env::var_os("SUPRA_SYNC_BLESS").is_some() {
            std::fs::write(&path, &generated).unwrap();
        }
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == generated,
            "docs/CONFIG.md is stale: run SUPRA_SYNC_BLESS=1 cargo test -p supra-sync config_reference"
        );
    }

    #[test]
    fn every_scalar_key_of_the_reference_has_a_working_environment_override() {
        let settings =
            supra_sync_ops::reference::toml_settings::<RunConfig>("SUPRA_SYNC_").unwrap();
        let mut checked = 0;
        for s in settings.iter().filter(|s| !s.env.is_empty()) {
            let default: toml::Value =
                match toml::from_str::<toml::Table>(&format!("v = {}", s.default)) {
                    Ok(t) => t["v"].clone(),
                    Err(_) => continue,
                };
            let (text, expected) = match default {
                toml::Value::String(v) => (format!("{v}x"), toml::Value::String(format!("{v}x"))),
                toml::Value::Integer(i) => ((i + 1).to_string(), toml::Value::Integer(i + 1)),
                toml::Value::Boolean(b) => ((!b).to_string(), toml::Value::Boolean(!b)),
                _ => continue, // tables and maps have their own syntax
            };
            let mut config = RunConfig::default();
            config
                .apply_env(|k| (k == s.env).then(|| text.clone()))
                .unwrap_or_else(|e| panic!("{}: {e}", s.env));
            let value = toml::Value::try_from(&config).unwrap();
            let mut at = &value;
            for part in s.key.split('.') {
                at = at
                    .get(part)
                    .unwrap_or_else(|| panic!("{} not set by {}", s.key, s.env));
            }
            assert_eq!(at, &expected, "{} does not set {}", s.env, s.key);
            checked += 1;
        }
        assert!(checked >= 13, "only {checked} keys checked");
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

    #[test]
    fn kafka_section_from_file_and_environment() {
        let mut c: RunConfig = toml::from_str(
            "[kafka]\nbootstrap_servers = 'k:9092'\n[kafka.properties]\n'security.protocol' = 'SASL_SSL'",
        )
        .unwrap();
        let k = c.kafka.clone().unwrap();
        assert_eq!(
            (k.topic_prefix.as_str(), k.capture_only),
            ("aquacis", false)
        );
        c.apply_env(|k| match k {
            "SUPRA_SYNC_KAFKA_CAPTURE_ONLY" => Some("true".into()),
            "SUPRA_SYNC_KAFKA_PROPERTIES" => {
                Some("sasl.mechanism=SCRAM-SHA-512; linger.ms=10".into())
            }
            "SUPRA_SYNC_KAFKA_SASL_PASSWORD" => Some("s3cret".into()),
            _ => None,
        })
        .unwrap();
        let k = c.kafka.unwrap();
        assert!(k.capture_only);
        assert_eq!(k.properties["security.protocol"], "SASL_SSL");
        assert_eq!(k.properties["sasl.mechanism"], "SCRAM-SHA-512");
        assert_eq!(k.properties["linger.ms"], "10");
        assert_eq!(k.properties["sasl.password"], "s3cret");

        let mut c = RunConfig::default();
        c.apply_env(|_| None).unwrap();
        assert!(c.kafka.is_none(), "no [kafka] and no variables: no Kafka");
        c.apply_env(|k| (k == "SUPRA_SYNC_KAFKA_BOOTSTRAP_SERVERS").then(|| "b:1".into()))
            .unwrap();
        assert_eq!(c.kafka.unwrap().bootstrap_servers, "b:1");
        assert!(toml::from_str::<RunConfig>("[kafka]\nbootstrap = 'x'").is_err());
    }
}

#[cfg(test)]
mod domain_events_tests {
    use super::*;

    #[test]
    fn domain_events_from_file_and_comma_separated_environment() {
        let mut c: RunConfig = toml::from_str("domain_events = ['persona']").unwrap();
        assert_eq!(c.pipeline_options().domain_events, ["persona"]);
        c.apply_env(|k| (k == "SUPRA_SYNC_DOMAIN_EVENTS").then(|| "persona, contrato,".into()))
            .unwrap();
        assert_eq!(c.domain_events, ["persona", "contrato"]);
        assert!(RunConfig::default().domain_events.is_empty());
    }
}
