//! Telling when a legacy row has become visible on the target, the same way for both sides
//! of a comparison: a cheap index lookup polled every few milliseconds.
//!
//! ```text
//!  native:     SELECT prsid FROM cf_quere_pro.persona WHERE prsid = ANY($keys)      (PK)
//!  supra-sync: SELECT legacy_id FROM supra_sync.sync_mappings
//!               WHERE entity_type = 'persona' AND legacy_id = ANY($keys)            (unique)
//! ```
//! supra-sync writes the `sync_mappings` row in the same transaction as the `persons` row,
//! and both pipelines apply in source commit order, so the visibility of the last key a
//! workload wrote proves that everything before it is visible too. Polling a count instead
//! would scan the table under test and steal CPU from the system being measured; so would a
//! cached generic plan (see [`custom_plans`]).

use std::time::{Duration, Instant};

use anyhow::bail;
use tokio_postgres::{Client, Statement};

/// How often a probe polls.
pub const POLL: Duration = Duration::from_millis(5);

/// Plans every poll for the table's current size: a generic plan cached while the table
/// was still empty would keep scanning it sequentially (milliseconds of CPU per poll on the
/// server under test) once it has grown.
async fn custom_plans(client: &Client) -> anyhow::Result<()> {
    client
        .batch_execute("SET plan_cache_mode = force_custom_plan")
        .await?;
    Ok(())
}

/// Which kind of target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A plain copy of `cf_quere_pro.persona` fed by a native subscription.
    Native,
    /// A SUPRA database fed by supra-sync.
    Supra,
}

/// Where rows arrive, with the visibility query prepared once (one round trip per poll).
pub struct Target {
    kind: Kind,
    client: Client,
    visible: Statement,
}

impl Target {
    /// A plain copy fed by a native subscription.
    pub async fn native(client: Client) -> anyhow::Result<Target> {
        custom_plans(&client).await?;
        let visible = client
            .prepare(
                "SELECT prsid::bigint FROM cf_quere_pro.persona
                  WHERE prsid = ANY($1::bigint[]::numeric[])",
            )
            .await?;
        Ok(Target {
            kind: Kind::Native,
            client,
            visible,
        })
    }

    /// A SUPRA database fed by supra-sync.
    pub async fn supra(client: Client) -> anyhow::Result<Target> {
        custom_plans(&client).await?;
        let visible = client
            .prepare(
                "SELECT legacy_id::bigint FROM supra_sync.sync_mappings
                  WHERE entity_type = 'persona' AND legacy_id = ANY($1::text[])",
            )
            .await?;
        Ok(Target {
            kind: Kind::Supra,
            client,
            visible,
        })
    }

    /// The subset of `keys` visible now.
    pub async fn visible(&self, keys: &[i64]) -> anyhow::Result<Vec<i64>> {
        let rows = match self.kind {
            Kind::Native => self.client.query(&self.visible, &[&keys]).await?,
            Kind::Supra => {
                let texts: Vec<String> = keys.iter().map(i64::to_string).collect();
                self.client.query(&self.visible, &[&texts]).await?
            }
        };
        Ok(rows.iter().map(|r| r.get(0)).collect())
    }

    /// Polls until `key` is visible; returns the start of the poll that saw it (the row was
    /// visible in that query's snapshot).
    pub async fn wait_visible(&self, key: i64, timeout: Duration) -> anyhow::Result<Instant> {
        let deadline = Instant::now() + timeout;
        loop {
            let polled_at = Instant::now();
            if !self.visible(&[key]).await?.is_empty() {
                return Ok(polled_at);
            }
            if polled_at > deadline {
                bail!("key {key} was not visible on the target after {timeout:?}");
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// An md5 digest of every `(legacy key, phone)` pair on the target, comparable with
    /// [`crate::workload::phone_digest`] on legacy (the persona mapping copies `prstelef`
    /// to `persons.phone` unchanged for the generated rows).
    pub async fn phone_digest(&self) -> anyhow::Result<Option<String>> {
        let c = &self.client;
        Ok(match self.kind {
            Kind::Native => c
                .query_one(
                    "SELECT md5(string_agg(prsid::text || ':' || COALESCE(prstelef, ''), ',' ORDER BY prsid))
                       FROM cf_quere_pro.persona",
                    &[],
                )
                .await?
                .get(0),
            Kind::Supra => {
                c.batch_execute("SET app.is_admin = 'true'").await?;
                c.query_one(
                    "SELECT md5(string_agg(m.legacy_id || ':' || COALESCE(p.phone, ''), ','
                                           ORDER BY m.legacy_id::numeric))
                       FROM supra_sync.sync_mappings m JOIN public.persons p ON p.id = m.supra_id
                      WHERE m.entity_type = 'persona'",
                    &[],
                )
                .await?
                .get(0)
            }
        })
    }

    /// A full count of the target rows (for verification after the timed section).
    pub async fn count(&self) -> anyhow::Result<i64> {
        let c = &self.client;
        Ok(match self.kind {
            Kind::Native => c
                .query_one("SELECT count(*) FROM cf_quere_pro.persona", &[])
                .await?
                .get(0),
            Kind::Supra => {
                c.batch_execute("SET app.is_admin = 'true'").await?;
                c.query_one("SELECT count(*) FROM public.persons", &[])
                    .await?
                    .get(0)
            }
        })
    }
}
