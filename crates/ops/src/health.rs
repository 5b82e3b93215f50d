//! Liveness and readiness, as answered by `/healthz` and `/readyz`.
//!
//! * **live**: the process answers and no pipeline is in a definite-error state (`failed`).
//!   A failing liveness probe means "restart me".
//! * **ready**: both databases answer a `SELECT 1` *now* (a fresh connection, short timeout)
//!   and every pipeline is `streaming` — or `standby`: an instance waiting for the leader
//!   lease is healthy and ready to take over; counting it unready would keep one of two
//!   replicas unready forever and stall rolling updates.

use std::sync::Arc;
use std::time::{Duration, Instant};

use supra_sync_postgres::DbConfig;
use tokio::sync::Mutex;

use crate::names;
use crate::state::{PipelineState, StateCell};

/// Probe results are reused for this long, so a burst of probes costs one connection each.
const PROBE_CACHE: Duration = Duration::from_millis(500);

/// The answer of a probe: status and a small JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Whether the probe passes (HTTP 200, else 503).
    pub ok: bool,
    /// JSON object describing each pipeline and database.
    pub body: String,
}

/// What the health endpoints look at.
#[derive(Debug)]
pub struct Health {
    pipelines: Vec<Arc<StateCell>>,
    databases: Vec<DbConfig>,
    probe_timeout: Duration,
    last_probe: Mutex<Option<(Instant, Vec<Probe>)>>,
}

/// A database label and whether it answered (else why not).
pub type Probe = (String, Result<(), String>);

impl Health {
    /// Health over `pipelines` (their state cells) and `databases` (probed for readiness,
    /// each within `probe_timeout`).
    pub fn new(
        pipelines: Vec<Arc<StateCell>>,
        databases: Vec<DbConfig>,
        probe_timeout: Duration,
    ) -> Health {
        Health {
            pipelines,
            databases,
            probe_timeout,
            last_probe: Mutex::new(None),
        }
    }

    fn pipeline_states(&self) -> serde_json::Map<String, serde_json::Value> {
        self.pipelines
            .iter()
            .enumerate()
            .map(|(i, cell)| {
                let name = cell
                    .pipeline()
                    .map_or_else(|| format!("pipeline_{i}"), str::to_string);
                (name, cell.get().as_str().into())
            })
            .collect()
    }

    /// Liveness: no pipeline has failed.
    pub fn liveness(&self) -> Report {
        let ok = self
            .pipelines
            .iter()
            .all(|c| c.get() != PipelineState::Failed);
        let body = serde_json::json!({
            "status": if ok { "ok" } else { "failed" },
            "pipelines": self.pipeline_states(),
        });
        Report {
            ok,
            body: body.to_string(),
        }
    }

    /// Readiness: both databases reachable now and every pipeline streaming or standing by.
    pub async fn readiness(&self) -> Report {
        let probes = self.probe().await;
        let dbs_ok = probes.iter().all(|(_, r)| r.is_ok());
        let pipelines_ok = self
            .pipelines
            .iter()
            .all(|c| matches!(c.get(), PipelineState::Streaming | PipelineState::Standby));
        let ok = dbs_ok && pipelines_ok;
        let databases: serde_json::Map<String, serde_json::Value> = probes
            .into_iter()
            .map(|(label, r)| {
                (
                    label,
                    r.map_or_else(|e| format!("down: {e}"), |()| "up".into())
                        .into(),
                )
            })
            .collect();
        let body = serde_json::json!({
            "status": if ok { "ready" } else { "not ready" },
            "pipelines": self.pipeline_states(),
            "databases": databases,
        });
        Report {
            ok,
            body: body.to_string(),
        }
    }

    /// Probes every database (or reuses a probe younger than [`PROBE_CACHE`]) and updates the
    /// [`names::DATABASE_UP`] gauge.
    pub async fn probe(&self) -> Vec<Probe> {
        let mut last = self.last_probe.lock().await;
        if let Some((at, results)) = last.as_ref()
            && at.elapsed() < PROBE_CACHE
        {
            return results.clone();
        }
        let mut results = Vec::new();
        for db in &self.databases {
            let result = probe_one(db, self.probe_timeout).await;
            metrics::gauge!(names::DATABASE_UP, names::LABEL_DATABASE => db.label.clone())
                .set(if result.is_ok() { 1.0 } else { 0.0 });
            results.push((db.label.clone(), result));
        }
        *last = Some((Instant::now(), results.clone()));
        results
    }
}

/// A fresh connection and `SELECT 1`, all within `timeout`. The error text names the host,
/// never credentials ([`DbConfig::describe`]).
async fn probe_one(db: &DbConfig, timeout: Duration) -> Result<(), String> {
    let attempt = async {
        let client = db.connect().await.map_err(|e| e.to_string())?;
        client
            .simple_query("SELECT 1")
            .await
            .map(|_| ())
            .map_err(|e| supra_sync_postgres::error::describe(&e))
    };
    match tokio::time::timeout(timeout, attempt).await {
        Ok(result) => result.map_err(|e| e.lines().next().unwrap_or_default().to_string()),
        Err(_) => Err(format!(
            "{} did not answer within {timeout:?}",
            db.describe()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_failed_pipeline_fails_liveness_and_readiness_needs_streaming_or_standby() {
        let a = Arc::new(StateCell::default());
        a.set_pipeline("legacy_to_supra");
        let b = Arc::new(StateCell::default());
        b.set_pipeline("supra_to_legacy");
        let health = Health::new(
            vec![a.clone(), b.clone()],
            Vec::new(),
            Duration::from_secs(1),
        );
        assert!(health.liveness().ok);
        assert!(!health.readiness().await.ok, "starting is not ready");
        a.set(PipelineState::Streaming);
        b.set(PipelineState::Standby);
        let ready = health.readiness().await;
        assert!(ready.ok, "{}", ready.body);
        assert!(
            ready.body.contains("\"supra_to_legacy\":\"standby\""),
            "{}",
            ready.body
        );
        b.set(PipelineState::Failed);
        let live = health.liveness();
        assert!(!live.ok);
        assert!(live.body.contains("failed"), "{}", live.body);
    }

    #[tokio::test]
    async fn an_unreachable_database_is_not_ready_and_says_which() {
        // Port 1 on loopback: refused at once.
        let db = DbConfig::parse(
            "legacy",
            "host=127.0.0.1 port=1 user=x password=hunter2 dbname=x",
        )
        .unwrap();
        let cell = Arc::new(StateCell::default());
        cell.set(PipelineState::Streaming);
        let health = Health::new(vec![cell], vec![db], Duration::from_secs(2));
        let report = health.readiness().await;
        assert!(!report.ok);
        assert!(report.body.contains("\"legacy\":\"down"), "{}", report.body);
        assert!(!report.body.contains("hunter2"), "{}", report.body);
    }
}
