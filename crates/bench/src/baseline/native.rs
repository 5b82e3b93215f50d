//! Native PostgreSQL logical replication between the same two clusters: a publication of
//! `cf_quere_pro.persona` on legacy and a subscription (`copy_data = false`) into a plain
//! copy of the table on the SUPRA cluster.
//!
//! The subscription keeps PostgreSQL's defaults — notably `synchronous_commit = off` for
//! the apply worker (safe there: it reports only locally flushed positions back) and
//! `streaming = off` — which is what an operator gets from a plain `CREATE SUBSCRIPTION`.

use std::time::{Duration, Instant};

use anyhow::bail;
use supra_sync_testkit::TestDatabase;
use tokio_postgres::Client;

use crate::baseline::create_plain_copy;
use crate::rig::wait_slot_active;

/// The replicated table.
pub const TABLE: &str = "cf_quere_pro.persona";

/// A publication + subscription pair.
pub struct NativeReplication {
    name: String,
    legacy: Client,
    target: Client,
}

impl NativeReplication {
    /// Creates the plain copy, the publication and the subscription (named `name`, which
    /// is also the slot name), and waits until the apply worker streams.
    pub async fn start(
        name: &str,
        legacy_db: &TestDatabase,
        target_db: &TestDatabase,
    ) -> anyhow::Result<NativeReplication> {
        let legacy = legacy_db.connect().await?;
        let target = target_db.connect().await?;
        create_plain_copy(&legacy, &target, TABLE).await?;
        legacy
            .batch_execute(&format!("CREATE PUBLICATION {name} FOR TABLE {TABLE}"))
            .await?;
        // CREATE SUBSCRIPTION may not run inside a (multi-statement) transaction block.
        target
            .batch_execute(&format!(
                "CREATE SUBSCRIPTION {name} CONNECTION '{}' PUBLICATION {name} WITH (copy_data = false)",
                legacy_db.connection_string
            ))
            .await?;
        let native = NativeReplication {
            name: name.to_string(),
            legacy,
            target,
        };
        native.wait_streaming().await?;
        Ok(native)
    }

    /// The subscription's `synchronous_commit` setting (reported).
    pub async fn synchronous_commit(&self) -> anyhow::Result<String> {
        Ok(self
            .target
            .query_one(
                "SELECT subsynccommit FROM pg_subscription WHERE subname = $1",
                &[&self.name],
            )
            .await?
            .get(0))
    }

    async fn wait_streaming(&self) -> anyhow::Result<()> {
        wait_slot_active(&self.legacy, &self.name).await
    }

    /// Stops the apply worker (the slot keeps the changes) and waits until the slot is free.
    pub async fn disable(&self) -> anyhow::Result<()> {
        self.target
            .batch_execute(&format!("ALTER SUBSCRIPTION {} DISABLE", self.name))
            .await?;
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let active: bool = self
                .legacy
                .query_one(
                    "SELECT active FROM pg_replication_slots WHERE slot_name = $1",
                    &[&self.name],
                )
                .await?
                .get(0);
            if !active {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("the subscription's slot stayed active after DISABLE");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Starts the apply worker again.
    pub async fn enable(&self) -> anyhow::Result<()> {
        self.target
            .batch_execute(&format!("ALTER SUBSCRIPTION {} ENABLE", self.name))
            .await?;
        Ok(())
    }

    /// Drops the subscription (and with it the slot on legacy) and the publication.
    pub async fn drop(self) -> anyhow::Result<()> {
        self.target
            .batch_execute(&format!("DROP SUBSCRIPTION {}", self.name))
            .await?;
        self.legacy
            .batch_execute(&format!("DROP PUBLICATION {}", self.name))
            .await?;
        Ok(())
    }
}
