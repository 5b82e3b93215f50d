//! The checks run once both sides are quiet: caught up (markers both ways, slots past the
//! WAL), in step (the verifier finds no difference, nothing doubled), and the collection of
//! failed checks so that one run reports every problem.
//!
//! ```text
//!  caught_up: snapshot done, a marker applied each way, slots past the last WAL
//!  in_step:   verify::compare == 0 differences, nothing doubled
//! ```

use supra_sync_core::{Lsn, Side};
use supra_sync_engine::verify;
use supra_sync_testkit::wait_until;
use tokio_postgres::Client;

use crate::support::{Env, MARKER, PATIENCE, Service, TENANT, lsn};

/// Waits until `sql` (one bigint) returns 0, failing early if the service died.
async fn wait_zero(
    what: &str,
    client: &Client,
    service: &mut Service,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) {
    wait_until(what, PATIENCE, || {
        let alive = service.check_alive();
        async move {
            if let Err(e) = alive {
                panic!("{e}");
            }
            let n: i64 = client
                .query_one(sql, params)
                .await
                .map_err(|e| e.to_string())?
                .get(0);
            if n == 0 {
                Ok(true)
            } else {
                Err(format!("{n}"))
            }
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", service.log_tail()));
}

/// Waits until both pipelines are caught up: the snapshot is done; a marker change made on
/// each side after everything else is applied on the other (changes apply in commit order,
/// so everything before it is in); each slot is confirmed past the WAL written so far; and
/// the forward origin holds the marker's position.
pub async fn caught_up(env: &Env, service: &mut Service) {
    let legacy = env.legacy().await;
    let supra = env.supra().await;
    wait_zero(
        "the snapshot to finish",
        &supra,
        service,
        "SELECT count(*) FROM supra_sync.snapshot_progress WHERE status <> 'done'",
        &[],
    )
    .await;
    for side in [Side::Legacy, Side::Supra] {
        let (source, name) = match side {
            Side::Legacy => (&legacy, "legacy"),
            Side::Supra => (&supra, "SUPRA"),
        };
        let before = lsn(source, "SELECT pg_current_wal_lsn()::text", &[])
            .await
            .unwrap()
            .unwrap();
        match side {
            Side::Legacy => legacy
                .execute(
                    "UPDATE cf_quere_pro.persona SET prstelef = left(md5(random()::text), 10) WHERE prsid = $1::text::numeric",
                    &[&MARKER.to_string()],
                )
                .await
                .map(|_| ()),
            Side::Supra => supra
                .execute(
                    "UPDATE persons SET phone = left(md5(random()::text), 10), updated_at = now()
                      WHERE id = (SELECT supra_id FROM supra_sync.sync_mappings WHERE entity_type = 'persona' AND legacy_id = $1)",
                    &[&MARKER.to_string()],
                )
                .await
                .map(|_| ()),
        }
        .unwrap();
        let direction = format!("{side}_to_{}", side.other());
        wait_zero(
            &format!("the {name} marker to be applied"),
            &supra,
            service,
            "SELECT 1 - least(count(*), 1) FROM supra_sync.sync_log
              WHERE entity_type = 'persona' AND entity_id = $1 AND direction = $2 AND status = 'applied'
                AND source_lsn >= $3::text::pg_lsn",
            &[&MARKER.to_string(), &direction, &before.to_string()],
        )
        .await;
        let end = lsn(source, "SELECT pg_current_wal_lsn()::text", &[])
            .await
            .unwrap()
            .unwrap();
        let slot = env.names.slot(side);
        wait_until(
            &format!("the {name} slot to pass {end}"),
            PATIENCE,
            || async {
                let confirmed = lsn(
                source,
                "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
                &[&slot],
            )
            .await?;
                Ok(confirmed.is_some_and(|c| c >= end))
            },
        )
        .await
        .unwrap();
    }
    let origin = lsn(
        &supra,
        "SELECT pg_replication_origin_progress($1, true)::text",
        &[&env.names.origin(Side::Legacy)],
    )
    .await
    .unwrap()
    .expect("forward origin progress");
    let marker: Lsn = lsn(
        &supra,
        "SELECT max(source_lsn)::text FROM supra_sync.sync_log WHERE entity_type = 'persona' AND entity_id = $1 AND direction = 'legacy_to_supra'",
        &[&MARKER.to_string()],
    )
    .await
    .unwrap()
    .expect("marker logged");
    assert!(
        origin > marker,
        "forward origin {origin} is not past the marker commit {marker}"
    );
}

/// Checks that SUPRA holds exactly what the mappings compute from legacy, and that nothing
/// was applied twice: one applied `sync_log` row per streamed change, one mapping per legacy
/// key and per SUPRA row. Returns every problem found.
pub async fn in_step(env: &Env) -> Result<(), String> {
    let legacy = env.legacy().await;
    let supra = env.supra().await;
    let report = verify::compare(&legacy, &supra, &env.mappings, TENANT, &[])
        .await
        .map_err(|e| format!("verify failed: {e}"))?;
    let mut bad: Vec<String> = Vec::new();
    for c in report
        .iter()
        .filter(|c| !c.agrees() || c.unmappable.count > 0)
    {
        bad.push(format!("SUPRA disagrees with legacy: {c}"));
        let keys = [&c.missing, &c.unexpected, &c.differing, &c.unmappable]
            .into_iter()
            .flat_map(|d| d.examples.iter().filter_map(|e| e.legacy_key.clone()))
            .take(3);
        for key in keys {
            bad.push(format!(
                "  sync_log of {} {key} (legacy row last written by {}):\n{}",
                c.entity,
                legacy_writer(&legacy, env, &c.entity, &key).await,
                log_of(&supra, &c.entity, &key).await
            ));
        }
    }
    if report.iter().map(|c| c.expected_rows).sum::<usize>() == 0 {
        bad.push("nothing was compared".into());
    }
    for (what, sql) in DOUBLES {
        let rows = supra
            .query(*sql, &[])
            .await
            .map_err(|e| format!("{what}: {e}"))?;
        if !rows.is_empty() {
            let shown: Vec<String> = rows
                .iter()
                .take(10)
                .map(|r| r.get::<_, String>(0))
                .collect();
            bad.push(format!("{what}: {} doubled, e.g. {shown:?}", rows.len()));
        }
    }
    if bad.is_empty() {
        Ok(())
    } else {
        Err(bad.join("\n"))
    }
}

/// Problems found by the checks of one test, reported together at the end.
#[derive(Default)]
pub struct Findings(Vec<String>);

impl Findings {
    /// Records a failed check.
    pub fn check<T>(&mut self, result: Result<T, String>) -> Option<T> {
        result.map_err(|e| self.0.push(e)).ok()
    }

    /// Whether no check failed so far.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Panics with every recorded problem.
    pub fn assert_none(self, context: &str) {
        assert!(
            self.0.is_empty(),
            "{} invariant check(s) failed ({context}):\n\n{}",
            self.0.len(),
            self.0.join("\n\n")
        );
    }
}

/// The last `sync_log` rows of one entity row, for failure messages.
async fn log_of(supra: &Client, entity: &str, key: &str) -> String {
    let rows = supra
        .query(
            "SELECT concat_ws(' | ', direction, operation, status, source_lsn, source_xid, left(error_message, 300))
               FROM supra_sync.sync_log WHERE entity_type = $1 AND entity_id = $2 ORDER BY id DESC LIMIT 5",
            &[&entity, &key],
        )
        .await
        .map(|rows| rows.iter().map(|r| format!("    {}", r.get::<_, String>(0))).collect::<Vec<_>>())
        .unwrap_or_else(|e| vec![e.to_string()]);
    rows.join("\n")
}

/// The transaction that last wrote a legacy row (single-column keys), for failure messages.
async fn legacy_writer(legacy: &Client, env: &Env, entity: &str, key: &str) -> String {
    let Some(mapping) = env.mappings.entity(entity) else {
        return "an unknown entity".into();
    };
    let [column] = mapping.legacy_key() else {
        return "a composite key".into();
    };
    let table = mapping.legacy_table();
    let sql = format!(
        "SELECT concat_ws(' ', 'xid', xmin::text, 'at', pg_current_wal_lsn()::text)
           FROM {table} WHERE {column}::text = $1"
    );
    match legacy.query_opt(&sql, &[&key]).await {
        Ok(Some(row)) => row.get(0),
        Ok(None) => "nobody (no such row)".into(),
        Err(e) => e.to_string(),
    }
}

/// Queries that list what was doubled (one text column each).
const DOUBLES: &[(&str, &str)] = &[
    // A streamed change (source_xid <> 0; snapshot rows and parked retries carry xid 0) is
    // applied once: one row per source commit, entity row and operation.
    (
        "applied sync_log rows per streamed change",
        "SELECT concat_ws(' ', direction, entity_type, entity_id, operation, source_lsn, count(*))
           FROM supra_sync.sync_log
          WHERE status = 'applied' AND source_xid <> 0
          GROUP BY direction, entity_type, entity_id, operation, source_lsn, source_xid
         HAVING count(*) > 1",
    ),
    (
        "sync_mappings per legacy key",
        "SELECT concat_ws(' ', entity_type, legacy_id, count(*)) FROM supra_sync.sync_mappings
          GROUP BY entity_type, legacy_id HAVING count(*) > 1",
    ),
    (
        "sync_mappings per SUPRA row",
        "SELECT concat_ws(' ', entity_type, supra_id, count(*)) FROM supra_sync.sync_mappings
          GROUP BY entity_type, supra_id HAVING count(*) > 1",
    ),
];
