//! The process-wide Prometheus recorder behind the `metrics` facade.
//!
//! Libraries record with `metrics::counter!(names::…)`; this module installs the recorder
//! that keeps the values, describes every metric of [`names::ALL`] (so `# HELP`/`# TYPE`
//! lines are there from the first scrape) and renders the text exposition for `/metrics`.

use std::sync::OnceLock;
use std::time::Duration;

use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::OpsError;
use crate::names::{self, Kind};

/// Bucket bounds (seconds) of the latency histograms: 1 ms … 10 min.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Renders the current values in the Prometheus text format.
#[derive(Clone, Debug)]
pub struct Metrics {
    handle: PrometheusHandle,
}

impl Metrics {
    /// Installs the global recorder (once per process; later calls return the same one) and
    /// describes every metric.
    pub fn install() -> Result<Metrics, OpsError> {
        if let Some(handle) = HANDLE.get() {
            return Ok(Metrics {
                handle: handle.clone(),
            });
        }
        let mut builder = PrometheusBuilder::new();
        for (name, kind, _) in names::ALL {
            if *kind == Kind::Histogram {
                builder = builder
                    .set_buckets_for_metric(Matcher::Full((*name).to_string()), LATENCY_BUCKETS)
                    .map_err(|e| OpsError::Metrics(e.to_string()))?;
            }
        }
        let handle = builder
            .install_recorder()
            .map_err(|e| OpsError::Metrics(e.to_string()))?;
        let handle = HANDLE.get_or_init(|| handle).clone();
        for (name, kind, help) in names::ALL {
            match kind {
                Kind::Counter => metrics::describe_counter!(*name, *help),
                Kind::Gauge => metrics::describe_gauge!(*name, *help),
                Kind::Histogram => metrics::describe_histogram!(*name, *help),
            }
        }
        metrics::gauge!(names::BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
        Ok(Metrics { handle })
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// Drains histogram buffers; call every few seconds (the server does).
    pub fn upkeep(&self) {
        self.handle.run_upkeep();
    }

    /// Runs [`Metrics::upkeep`] every `every` until the task is dropped.
    pub fn spawn_upkeep(&self, every: Duration) -> tokio::task::JoinHandle<()> {
        let this = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(every);
            loop {
                tick.tick().await;
                this.upkeep();
            }
        })
    }
}
