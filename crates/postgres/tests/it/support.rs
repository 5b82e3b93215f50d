//! Shared helpers: migrated SUPRA databases cloned from a template built once.

use supra_sync_postgres::{DbConfig, migrate};
use supra_sync_testkit::{TestDatabase, supra};

/// A fresh SUPRA database with every migration applied.
pub async fn migrated_supra() -> TestDatabase {
    supra()
        .fresh_database_from("supra_migrated", |db| async move {
            let cfg = DbConfig::parse("supra", &db.connection_string).map_err(|e| e.to_string())?;
            migrate::migrate_supra(&cfg)
                .await
                .map_err(|e| e.to_string())
        })
        .await
        .expect("migrated SUPRA database")
}

/// The connection settings of a test database.
pub fn config(label: &str, db: &TestDatabase) -> DbConfig {
    DbConfig::parse(label, &db.connection_string).unwrap()
}
