//! SUPRA schema migrations (`sql/supra`) and supra-sync's own tables (`sql/sync`), embedded
//! at build time and applied with sqlx's migrator. Both sets share sqlx's bookkeeping table;
//! their version numbers do not overlap (SUPRA 0001…, sync 1001…), so each migrator ignores
//! the other's applied versions.

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgPool, PgPoolOptions};

use crate::{DbConfig, PgError};

fn supra_migrations() -> Migrator {
    let mut m = sqlx::migrate!("../../sql/supra");
    m.set_ignore_missing(true);
    m
}

fn sync_migrations() -> Migrator {
    let mut m = sqlx::migrate!("../../sql/sync");
    m.set_ignore_missing(true);
    m
}

async fn pool(db: &DbConfig) -> Result<PgPool, PgError> {
    PgPoolOptions::new()
        .max_connections(1)
        .connect(&db.url())
        .await
        .map_err(|e| PgError::Migrate(format!("cannot connect to {}: {e}", db.describe())))
}

async fn run(pool: &PgPool, name: &str, migrator: Migrator) -> Result<(), PgError> {
    migrator
        .run(pool)
        .await
        .map_err(|e| PgError::Migrate(format!("{name}: {e}")))
}

/// Applies every pending SUPRA and sync migration. Idempotent; concurrent runs serialise on
/// sqlx's advisory lock.
pub async fn migrate_supra(db: &DbConfig) -> Result<(), PgError> {
    let pool = pool(db).await?;
    run(&pool, "sql/supra", supra_migrations()).await?;
    run(&pool, "sql/sync", sync_migrations()).await?;
    pool.close().await;
    Ok(())
}

/// Applies only the sync tables (`sql/sync`), for a SUPRA database whose schema is managed
/// elsewhere.
pub async fn migrate_sync_only(db: &DbConfig) -> Result<(), PgError> {
    let pool = pool(db).await?;
    run(&pool, "sql/sync", sync_migrations()).await?;
    pool.close().await;
    Ok(())
}
