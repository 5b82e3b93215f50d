//! `setup`, `teardown`, `snapshot` and `run`: preparing both servers and running the
//! always-on service.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use supra_sync_engine::service::{self, Service, SetupOptions};
use supra_sync_engine::snapshot::Snapshotter;
use supra_sync_mapping::MappingSet;
use supra_sync_postgres::migrate;
use supra_sync_postgres::names::ObjectNames;
use tokio::sync::watch;

use crate::config::RunConfig;
use crate::options::{GlobalOptions, Side};

/// `supra-sync setup`.
#[derive(Args, Debug)]
pub struct SetupArgs {
    /// Service configuration file (TOML); see `supra-sync config reference`.
    #[arg(long, value_name = "FILE", env = "SUPRA_SYNC_CONFIG")]
    pub config: Option<PathBuf>,
    /// Also apply the SUPRA schema migrations (sql/supra), not only supra-sync's own tables.
    #[arg(long)]
    pub migrate_supra: bool,
    /// Create the tenant row with this display name when it is missing.
    #[arg(long, value_name = "NAME")]
    pub create_tenant: Option<String>,
    /// Do not queue the initial snapshot.
    #[arg(long)]
    pub no_snapshot: bool,
}

/// `supra-sync teardown`.
#[derive(Args, Debug)]
pub struct TeardownArgs {
    /// Service configuration file (TOML).
    #[arg(long, value_name = "FILE", env = "SUPRA_SYNC_CONFIG")]
    pub config: Option<PathBuf>,
    /// Also drop the replication origins (forgets where each pipeline was).
    #[arg(long)]
    pub drop_origins: bool,
}

/// `supra-sync snapshot`.
#[derive(Args, Debug)]
pub struct SnapshotArgs {
    /// Entity to re-snapshot (repeatable); all entities when omitted.
    #[arg(long = "entity", value_name = "ENTITY")]
    pub entities: Vec<String>,
}

/// `supra-sync run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// Service configuration file (TOML).
    #[arg(long, value_name = "FILE", env = "SUPRA_SYNC_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Loads and validates the mapping files, or fails with every diagnostic.
pub fn load_mappings(global: &GlobalOptions) -> anyhow::Result<Arc<MappingSet>> {
    MappingSet::load_dir(&global.mappings)
        .map(Arc::new)
        .map_err(|d| {
            anyhow::anyhow!(
                "the mapping files in {} are not valid:\n{d}",
                global.mappings.display()
            )
        })
}

/// Runs `setup`.
pub async fn setup(global: &GlobalOptions, args: SetupArgs) -> anyhow::Result<ExitCode> {
    let config = RunConfig::load(args.config.as_deref())?;
    let mappings = load_mappings(global)?;
    let (legacy_db, legacy) = global.connect(Side::Legacy).await?;
    let (supra_db, supra) = global.connect(Side::Supra).await?;
    if args.migrate_supra {
        migrate::migrate_supra(&supra_db).await?;
    } else {
        migrate::migrate_sync_only(&supra_db).await?;
    }
    let opts = SetupOptions {
        names: ObjectNames::with_prefix(&config.prefix),
        tenant: config.tenant.clone(),
        tenant_name: args.create_tenant,
        snapshot: !args.no_snapshot,
    };
    service::setup_all(&legacy, &supra, &mappings, &opts).await?;
    println!(
        "setup done: {} entities; slots {} (legacy){}; {}",
        mappings.entities().len(),
        opts.names.slot(supra_sync_core::Side::Legacy),
        if service::has_bidirectional(&mappings) {
            format!(
                " and {} (supra)",
                opts.names.slot(supra_sync_core::Side::Supra)
            )
        } else {
            String::new()
        },
        if opts.snapshot {
            "initial snapshot queued"
        } else {
            "no snapshot queued"
        }
    );
    let _ = (legacy_db, supra_db);
    Ok(ExitCode::SUCCESS)
}

/// Runs `teardown`.
pub async fn teardown(global: &GlobalOptions, args: TeardownArgs) -> anyhow::Result<ExitCode> {
    let config = RunConfig::load(args.config.as_deref())?;
    let (_, legacy) = global.connect(Side::Legacy).await?;
    let (_, supra) = global.connect(Side::Supra).await?;
    let names = ObjectNames::with_prefix(&config.prefix);
    service::teardown_all(&legacy, &supra, &names, args.drop_origins).await?;
    println!(
        "teardown done: slots and publications removed{}",
        if args.drop_origins {
            ", origins dropped"
        } else {
            ""
        }
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs `snapshot`.
pub async fn snapshot(global: &GlobalOptions, args: SnapshotArgs) -> anyhow::Result<ExitCode> {
    let mappings = load_mappings(global)?;
    for e in &args.entities {
        if mappings.entity(e).is_none() {
            anyhow::bail!(
                "unknown entity {e:?}\nhint: entities are: {}",
                mappings
                    .entities()
                    .iter()
                    .map(|m| m.name())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
    }
    let (_, supra) = global.connect(Side::Supra).await?;
    let n = Snapshotter::request(&supra, &mappings, &args.entities).await?;
    println!(
        "snapshot queued for {n} entit{}; the running service picks it up",
        if n == 1 { "y" } else { "ies" }
    );
    Ok(ExitCode::SUCCESS)
}

/// Runs the service until SIGTERM or Ctrl-C.
pub async fn run(global: &GlobalOptions, args: RunArgs) -> anyhow::Result<ExitCode> {
    let config = RunConfig::load(args.config.as_deref())?;
    let mappings = load_mappings(global)?;
    if let Some(kafka) = config.kafka.as_ref().filter(|k| k.capture_only) {
        return super::kafka::capture_only(global, &config, kafka).await;
    }
    let (legacy_db, _) = global.connect(Side::Legacy).await?;
    let (supra_db, _) = global.connect(Side::Supra).await?;
    let ops_config = config.ops_config(
        legacy_db.clone(),
        supra_db.clone(),
        service::has_bidirectional(&mappings),
    );
    let service = Service::new(&config.pipeline_options(), legacy_db, supra_db, mappings);
    let service = super::kafka::wire(service, config.kafka.as_ref())?;
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(async move {
        wait_for_signal().await;
        tracing::info!("shutting down: finishing the batch in flight");
        let _ = stop.send(true);
    });
    let (forward, reverse) = service.stats();
    // Kept until the service stops: dropping it stops the server and the collector.
    let _ops = match ops_config {
        Some(ops_config) => {
            let cells = std::iter::once(&forward)
                .chain(reverse.as_ref())
                .map(|s| s.state.clone())
                .collect();
            let ops =
                supra_sync_ops::runtime::OpsRuntime::start(ops_config, cells, stopped.clone())
                    .await?;
            tracing::info!(addr = %ops.local_addr(), "serving /metrics, /healthz and /readyz");
            Some(ops)
        }
        None => None,
    };
    let reporter = tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(30));
        loop {
            tick.tick().await;
            tracing::info!(
                applied = forward.applied.load(std::sync::atomic::Ordering::Relaxed),
                failed = forward.failed.load(std::sync::atomic::Ordering::Relaxed),
                reverse_applied = reverse
                    .as_ref()
                    .map(|r| r.applied.load(std::sync::atomic::Ordering::Relaxed)),
                "progress"
            );
        }
    });
    let result = service
        .run(stopped)
        .await
        .context("the sync service stopped");
    reporter.abort();
    result?;
    Ok(ExitCode::SUCCESS)
}

/// Waits for SIGTERM or Ctrl-C.
pub(crate) async fn wait_for_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
            .expect("install the SIGTERM handler");
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
}
