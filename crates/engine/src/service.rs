//! Everything one deployment runs: setup of both sides, and the always-on service (the
//! legacy → SUPRA pipeline, plus SUPRA → legacy when any entity is bidirectional).

use std::sync::Arc;

use supra_sync_core::Side;
use supra_sync_mapping::{Direction, MappingSet};
use supra_sync_postgres::names::ObjectNames;
use supra_sync_postgres::{DbConfig, PgError, setup};
use tokio::sync::watch;
use tokio_postgres::Client;

use crate::snapshot::Snapshotter;
use crate::{EngineError, Pipeline, PipelineOptions, PipelineStats};

/// What [`setup_all`] should do.
#[derive(Debug, Clone)]
pub struct SetupOptions {
    /// Object names.
    pub names: ObjectNames,
    /// Tenant code (`tenants.slug`) the mappings write for; created when missing with
    /// `tenant_name`.
    pub tenant: String,
    /// Name for a tenant created by setup; `None` = the tenant must already exist.
    pub tenant_name: Option<String>,
    /// Queue an initial snapshot of every entity that has none yet.
    pub snapshot: bool,
}

/// True when some entity syncs SUPRA changes back to legacy.
pub fn has_bidirectional(mappings: &MappingSet) -> bool {
    mappings
        .entities()
        .iter()
        .any(|e| e.direction() == Direction::Bidirectional)
}

/// The SUPRA tables published for the reverse direction: primary tables of bidirectional
/// entities only.
pub fn reverse_tables(mappings: &MappingSet) -> Vec<supra_sync_core::TableName> {
    let mut tables: Vec<_> = mappings
        .entities()
        .iter()
        .filter(|e| e.direction() == Direction::Bidirectional)
        .filter_map(|e| e.supra_tables().first().cloned())
        .collect();
    tables.sort();
    tables.dedup();
    tables
}

/// Checks both servers, then creates (idempotently) publications, slots and origins for both
/// directions and queues the initial snapshot. Every preflight problem is reported at once.
pub async fn setup_all(
    legacy: &Client,
    supra: &Client,
    mappings: &MappingSet,
    opts: &SetupOptions,
) -> Result<(), EngineError> {
    let legacy_tables = mappings.legacy_tables();
    let reverse = reverse_tables(mappings);
    let mut problems = setup::preflight(legacy, "legacy", &legacy_tables).await;
    if !reverse.is_empty() {
        problems.extend(setup::preflight(supra, "supra", &reverse).await);
    }
    if !problems.is_empty() {
        let text = problems
            .iter()
            .map(|p| format!("* {p}"))
            .collect::<Vec<_>>()
            .join("\n");
        return Err(EngineError::Definite(format!(
            "the servers are not ready for sync:\n{text}"
        )));
    }
    ensure_tenant(supra, &opts.tenant, opts.tenant_name.as_deref()).await?;
    setup::setup_source(legacy, Side::Legacy, &opts.names, &legacy_tables).await?;
    setup::setup_target(supra, Side::Legacy, &opts.names).await?;
    setup::setup_target(supra, Side::Supra, &opts.names)
        .await
        .ok();
    for origin in [opts.names.replay_origin()] {
        supra
            .execute(
                "SELECT pg_replication_origin_create($1)
                  WHERE NOT EXISTS (SELECT 1 FROM pg_replication_origin WHERE roname = $1)",
                &[&origin],
            )
            .await
            .map_err(|e| EngineError::sql("creating the replay origin", e))?;
    }
    if !reverse.is_empty() {
        setup::setup_source(supra, Side::Supra, &opts.names, &reverse).await?;
        setup::setup_target(legacy, Side::Supra, &opts.names).await?;
    }
    if opts.snapshot {
        let missing: Vec<String> = {
            let done = supra
                .query(
                    "SELECT entity_type::text FROM supra_sync.snapshot_progress",
                    &[],
                )
                .await
                .map_err(|e| EngineError::sql("reading snapshot progress", e))?;
            let known: Vec<String> = done.iter().map(|r| r.get(0)).collect();
            mappings
                .entities()
                .iter()
                .map(|e| e.name().to_string())
                .filter(|n| !known.contains(n))
                .collect()
        };
        if !missing.is_empty() {
            Snapshotter::request(supra, mappings, &missing).await?;
        }
    }
    Ok(())
}

/// Creates the tenant row when missing (with `name`), or checks that it exists.
pub async fn ensure_tenant(
    supra: &Client,
    code: &str,
    name: Option<&str>,
) -> Result<(), EngineError> {
    if let Some(name) = name {
        supra
            .execute(
                "INSERT INTO public.tenants (name, slug) VALUES ($1, $2) ON CONFLICT (slug) DO NOTHING",
                &[&name, &code],
            )
            .await
            .map_err(|e| EngineError::sql("creating the tenant", e))?;
    }
    crate::book::tenant_id(supra, code).await.map(|_| ())
}

/// Removes slots and publications on both sides (and, with `origins`, the replication
/// origins, which forgets where each pipeline was).
pub async fn teardown_all(
    legacy: &Client,
    supra: &Client,
    names: &ObjectNames,
    origins: bool,
) -> Result<(), PgError> {
    setup::teardown_source(legacy, Side::Legacy, names).await?;
    setup::teardown_source(supra, Side::Supra, names).await?;
    if origins {
        setup::teardown_target(supra, Side::Legacy, names).await?;
        setup::teardown_target(legacy, Side::Supra, names).await?;
    }
    Ok(())
}

/// The running service: one pipeline per direction.
pub struct Service {
    forward: Pipeline,
    reverse: Option<Pipeline>,
}

impl Service {
    /// Builds the pipelines; `base` holds the shared options (its `source` is ignored).
    pub fn new(
        base: &PipelineOptions,
        legacy: DbConfig,
        supra: DbConfig,
        mappings: Arc<MappingSet>,
    ) -> Service {
        let mut forward_opts = base.clone();
        forward_opts.source = Side::Legacy;
        let reverse = has_bidirectional(&mappings).then(|| {
            let mut o = base.clone();
            o.source = Side::Supra;
            Pipeline::new(o, legacy.clone(), supra.clone(), mappings.clone())
        });
        Service {
            forward: Pipeline::new(forward_opts, legacy, supra, mappings),
            reverse,
        }
    }

    /// Replaces the forward pipeline's publisher (Kafka).
    pub fn with_publisher(
        mut self,
        publisher: Arc<dyn crate::publish::ChangePublisher>,
    ) -> Service {
        self.forward = self.forward.with_publisher(publisher);
        self
    }

    /// Live counters: (legacy → SUPRA, SUPRA → legacy).
    pub fn stats(&self) -> (Arc<PipelineStats>, Option<Arc<PipelineStats>>) {
        (
            self.forward.stats(),
            self.reverse.as_ref().map(Pipeline::stats),
        )
    }

    /// Runs both directions until `shutdown` is set; the first definite error stops both.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) -> Result<(), EngineError> {
        let Some(reverse) = &self.reverse else {
            return self.forward.run(shutdown).await;
        };
        let (stop, stopped) = watch::channel(false);
        let relay = async {
            let mut stopped = stopped.clone();
            tokio::select! {
                _ = shutdown.wait_for(|v| *v) => {}
                _ = stopped.wait_for(|v| *v) => {}
            }
            let _ = stop.send(true);
        };
        let forward = async {
            let r = self.forward.run(stopped.clone()).await;
            let _ = stop.send(true);
            r
        };
        let backward = async {
            let r = reverse.run(stopped.clone()).await;
            let _ = stop.send(true);
            r
        };
        let ((), a, b) = tokio::join!(relay, forward, backward);
        a.and(b)
    }
}
