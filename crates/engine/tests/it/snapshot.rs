//! The watermark snapshot: initial load in dependency order, consistent with concurrent
//! writes, resumable.

use std::time::Duration;

use supra_sync_core::{Lsn, Side};
use supra_sync_engine::snapshot::{Snapshotter, parse_watermark};
use supra_sync_engine::{Applier, ApplierOptions};
use supra_sync_postgres::setup;
use supra_sync_postgres::source::{ReplicationSource, SourceEvent, SourceOptions};
use supra_sync_testkit::wait_until;

use crate::support::{SyncEnv, wait_count};

async fn seed_people_and_contracts(legacy: &tokio_postgres::Client, persons: i64) {
    legacy
        .batch_execute(&format!(
            "INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnif, prsnombre, prsnomape)
             SELECT g, CASE WHEN g % 7 = 0 THEN 'J' ELSE 'F' END, 'RFC' || lpad(g::text, 10, '0'),
                    'Nombre ' || g, 'Apellido Ñúñez ' || g
               FROM generate_series(1, {persons}) g;"
        ))
        .await
        .unwrap();
}

/// Waits until the persona snapshot is recorded as done.
async fn persona_snapshot_done(supra: &tokio_postgres::Client) {
    wait_until("persona snapshot done", Duration::from_secs(120), || async {
        let status: Option<String> = supra
            .query_opt("SELECT status::text FROM supra_sync.snapshot_progress WHERE entity_type = 'persona'", &[])
            .await
            .map_err(|e| e.to_string())?
            .map(|r| r.get(0));
        Ok(status.as_deref() == Some("done"))
    })
    .await
    .unwrap();
}

#[tokio::test]
async fn snapshot_loads_existing_rows_while_writes_go_on() {
    let env = SyncEnv::new().await;
    let legacy = env.legacy.connect().await.unwrap();
    let supra = env.supra.connect().await.unwrap();
    supra
        .batch_execute("SET app.is_admin = 'true'")
        .await
        .unwrap();
    seed_people_and_contracts(&legacy, 2_500).await;
    Snapshotter::request(&supra, &env.mappings, &["persona".to_string()])
        .await
        .unwrap();
    let running = env.start_with(Side::Legacy, |o| o.snapshot_chunk_rows = 300);

    // Concurrent writes while chunks are read: updates of rows not yet copied, deletes,
    // inserts past the current end of the table.
    let writer = {
        let legacy = env.legacy.connect().await.unwrap();
        tokio::spawn(async move {
            for i in 0..50i64 {
                let id = 2_500 - i * 37;
                legacy
                    .execute("UPDATE cf_quere_pro.persona SET prsnombre = 'Cambiado ' || $1::text WHERE prsid = $2::text::numeric", &[&i.to_string(), &id.to_string()])
                    .await
                    .unwrap();
                if i % 10 == 0 {
                    legacy
                        .execute(
                            "DELETE FROM cf_quere_pro.persona WHERE prsid = $1::text::numeric",
                            &[&(i + 100).to_string()],
                        )
                        .await
                        .unwrap();
                    legacy
                        .execute(
                            "INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnombre) VALUES ($1::text::numeric, 'F', 'Nuevo')",
                            &[&(10_000 + i).to_string()],
                        )
                        .await
                        .unwrap();
                }
            }
        })
    };
    writer.await.unwrap();
    persona_snapshot_done(&supra).await;
    let expected: i64 = legacy
        .query_one("SELECT count(*) FROM cf_quere_pro.persona", &[])
        .await
        .unwrap()
        .get(0);
    wait_count(&supra, "SELECT count(*) FROM persons", expected).await;
    // Every legacy row is in SUPRA with its latest name (no stale snapshot image won).
    let legacy_names: Vec<(String, Option<String>)> = legacy
        .query(
            "SELECT prsid::text, prsnombre FROM cf_quere_pro.persona ORDER BY prsid",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let supra_names: Vec<(String, Option<String>)> = supra
        .query(
            "SELECT m.legacy_id::text, p.first_name FROM persons p
               JOIN supra_sync.sync_mappings m ON m.supra_id = p.id AND m.entity_type = 'persona'
              ORDER BY m.legacy_id::numeric",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    let (mut legacy_names, mut supra_names) = (legacy_names, supra_names);
    legacy_names.sort();
    supra_names.sort();
    assert_eq!(legacy_names.len(), supra_names.len());
    let first_difference = legacy_names.iter().zip(&supra_names).find(|(l, s)| l != s);
    assert_eq!(first_difference, None, "legacy and SUPRA disagree");
    running.stop().await.unwrap();
    env.teardown().await;
}

/// Several full chunks and a partial one, nothing written meanwhile: every row arrives.
#[tokio::test]
async fn a_snapshot_of_many_chunks_copies_every_row() {
    let env = SyncEnv::new().await;
    let legacy = env.legacy.connect().await.unwrap();
    let supra = env.supra.connect().await.unwrap();
    supra
        .batch_execute("SET app.is_admin = 'true'")
        .await
        .unwrap();
    seed_people_and_contracts(&legacy, 5_000).await;
    Snapshotter::request(&supra, &env.mappings, &["persona".to_string()])
        .await
        .unwrap();
    let running = env.start_with(Side::Legacy, |o| o.snapshot_chunk_rows = 1_200);
    persona_snapshot_done(&supra).await;
    let (copied, chunks): (i64, i64) = supra
        .query_one(
            "SELECT rows_copied, chunks_done FROM supra_sync.snapshot_progress WHERE entity_type = 'persona'",
            &[],
        )
        .await
        .map(|r| (r.get(0), r.get(1)))
        .unwrap();
    let ranges: Vec<String> = supra
        .query(
            "SELECT min(k)::text || '..' || max(k)::text FROM (
                SELECT legacy_id::bigint AS k, legacy_id::bigint - row_number() OVER (ORDER BY legacy_id::bigint) AS grp
                  FROM supra_sync.sync_mappings WHERE entity_type = 'persona') s GROUP BY grp ORDER BY min(k)",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        (copied, chunks),
        (5_000, 5),
        "rows read and chunks; keys in SUPRA: {ranges:?}"
    );
    wait_count(&supra, "SELECT count(*) FROM persons", 5_000).await;
    running.stop().await.unwrap();
    env.teardown().await;
}

/// The next transaction or watermark of a stream (idle events are passed over); panics when
/// none comes within a minute.
async fn next_event(source: &mut ReplicationSource) -> SourceEvent {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let event = tokio::time::timeout_at(deadline, source.next())
            .await
            .expect("a transaction or watermark within a minute")
            .unwrap()
            .expect("the stream goes on");
        if !matches!(event, SourceEvent::Idle { .. }) {
            return event;
        }
    }
}

async fn stream_from(env: &SyncEnv, start_lsn: Lsn) -> ReplicationSource {
    ReplicationSource::start(
        &env.config(Side::Legacy),
        SourceOptions {
            side: Side::Legacy,
            slot: env.names.slot(Side::Legacy),
            publication: env.names.publication(Side::Legacy),
            start_lsn,
            drop_origins: env.names.all_origins(),
            status_interval: Duration::from_secs(1),
        },
    )
    .await
    .unwrap()
}

/// A watermark's position is the end of its WAL record, which is where the commit record of a
/// transaction that commits right after it starts. A chunk applied at its HIGH watermark must
/// not record a resume point beyond that: found by the kill -9 loop, where such a transaction
/// — streamed after the chunk, killed before its batch committed — was skipped on restart.
#[tokio::test]
async fn a_transaction_committing_right_after_a_chunks_high_watermark_survives_a_crash() {
    let env = SyncEnv::new().await;
    let legacy = env.legacy.connect().await.unwrap();
    let supra = env.supra.connect().await.unwrap();
    supra
        .batch_execute("SET app.is_admin = 'true'")
        .await
        .unwrap();
    seed_people_and_contracts(&legacy, 20).await;
    Snapshotter::request(&supra, &env.mappings, &["persona".to_string()])
        .await
        .unwrap();
    let progress = Snapshotter::pending(&supra, &env.mappings)
        .await
        .unwrap()
        .into_iter()
        .next()
        .expect("the persona snapshot is pending");
    let applier = || async {
        Applier::new(
            ApplierOptions {
                source: Side::Legacy,
                names: env.names.clone(),
                origin: env.names.origin(Side::Legacy),
                tenant: "cea-queretaro".into(),
                halt_on_failure: false,
            },
            env.mappings.clone(),
            env.supra.connect().await.unwrap(),
            None,
            env.legacy.connect().await.unwrap(),
        )
        .await
        .unwrap()
    };

    // A legacy transaction writes its change, the chunk is read between its watermarks, and
    // only then does the transaction commit: its commit follows the HIGH watermark.
    let writer = env.legacy.connect().await.unwrap();
    writer
        .batch_execute(
            "BEGIN; UPDATE cf_quere_pro.persona SET prsnombre = 'Tardío' WHERE prsid = 5",
        )
        .await
        .unwrap();
    let xid: i64 = writer
        .query_one("SELECT txid_current() % 4294967296", &[])
        .await
        .unwrap()
        .get(0);
    let mut snapshotter = Snapshotter::new(env.legacy.connect().await.unwrap(), 100)
        .await
        .unwrap();
    let mut chunk = snapshotter.read_chunk(&progress).await.unwrap();
    writer.batch_execute("COMMIT").await.unwrap();

    // Stream up to the HIGH watermark (applying the seed's inserts on the way), apply the
    // chunk there, then "crash": the late transaction is never applied by this run.
    let mut first = applier().await;
    let mut source = stream_from(&env, Lsn::ZERO).await;
    let high = loop {
        match next_event(&mut source).await {
            SourceEvent::Transaction(tx) => {
                first.apply(std::slice::from_ref(&tx)).await.unwrap();
            }
            SourceEvent::Watermark { lsn, content } => match parse_watermark(&content) {
                Some((true, id)) if id == chunk.id => chunk.open_window(),
                Some((false, id)) if id == chunk.id => break lsn,
                _ => {}
            },
            _ => {}
        }
    };
    first
        .apply_snapshot_chunk(&chunk, &progress, high)
        .await
        .unwrap();
    drop(source);
    drop(first);

    // The resume point is the watermark itself, and from there the late transaction comes.
    let resume = setup::origin_position(&supra, Side::Legacy, &env.names)
        .await
        .unwrap()
        .expect("the chunk recorded a resume point");
    assert_eq!(
        resume, high,
        "a chunk resumes exactly at its HIGH watermark"
    );
    let mut source = stream_from(&env, resume).await;
    let late = loop {
        if let SourceEvent::Transaction(tx) = next_event(&mut source).await {
            break tx;
        }
    };
    assert_eq!(
        i64::from(late.xid),
        xid,
        "the transaction that committed after the HIGH watermark (at {}, watermark at {high}) is streamed after a restart",
        late.commit_lsn
    );
    let mut second = applier().await;
    second.apply(std::slice::from_ref(&late)).await.unwrap();
    let name: String = supra
        .query_one(
            "SELECT p.name FROM persons p JOIN supra_sync.sync_mappings m ON m.supra_id = p.id
              WHERE m.entity_type = 'persona' AND m.legacy_id = '5'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(name.contains("Tardío"), "SUPRA has the late change: {name}");
    drop(source);
    env.teardown().await;
}
