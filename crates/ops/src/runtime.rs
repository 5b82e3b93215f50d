//! Starting everything operational for `supra-sync run` in one call: the recorder, the HTTP
//! server, the collector and the recorder's upkeep, all stopped by the service's shutdown.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use supra_sync_postgres::DbConfig;
use supra_sync_postgres::names::ObjectNames;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::OpsError;
use crate::collector::{Collector, CollectorConfig};
use crate::health::Health;
use crate::recorder::Metrics;
use crate::server::{Endpoints, Server};
use crate::state::StateCell;

/// What [`OpsRuntime::start`] needs.
#[derive(Debug, Clone)]
pub struct OpsConfig {
    /// `host:port` of the metrics and health server.
    pub metrics_addr: String,
    /// Time between collector rounds.
    pub collect_interval: Duration,
    /// Time a readiness probe gives each database.
    pub probe_timeout: Duration,
    /// Legacy database.
    pub legacy: DbConfig,
    /// SUPRA database.
    pub supra: DbConfig,
    /// Object names.
    pub names: ObjectNames,
    /// Whether the SUPRA → legacy pipeline runs.
    pub bidirectional: bool,
}

/// The running operational tasks.
#[derive(Debug)]
pub struct OpsRuntime {
    addr: SocketAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl OpsRuntime {
    /// Installs the recorder, binds the server (failing early when the address is taken) and
    /// spawns the server, the collector and the upkeep task. `pipelines` are the state cells
    /// the health endpoints report on.
    pub async fn start(
        config: OpsConfig,
        pipelines: Vec<Arc<StateCell>>,
        shutdown: watch::Receiver<bool>,
    ) -> Result<OpsRuntime, OpsError> {
        let metrics = Metrics::install()?;
        let health = Arc::new(Health::new(
            pipelines,
            vec![config.legacy.clone(), config.supra.clone()],
            config.probe_timeout,
        ));
        let server = Server::bind(
            &config.metrics_addr,
            Endpoints {
                metrics: metrics.clone(),
                health,
            },
        )
        .await?;
        let addr = server.local_addr()?;
        let collector = Collector::new(CollectorConfig {
            legacy: config.legacy,
            supra: config.supra,
            names: config.names,
            bidirectional: config.bidirectional,
            interval: config.collect_interval.max(Duration::from_secs(1)),
        });
        let tasks = vec![
            tokio::spawn(server.serve(shutdown.clone())),
            tokio::spawn(collector.run(shutdown)),
            metrics.spawn_upkeep(Duration::from_secs(5)),
        ];
        Ok(OpsRuntime { addr, tasks })
    }

    /// Where the server listens.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for OpsRuntime {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}
