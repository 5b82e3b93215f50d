//! Online reconciliation: planted differences on either side (a changed row, a missing row,
//! an invoice off by one centavo) are found with their keys, `--fix` repairs them, results
//! are stored; and (ignored, manual) its throughput on a seeded fixture.

use std::time::Duration;

use supra_sync_core::Side;
use supra_sync_engine::reconcile::{self, DiffKind, ReconcileOptions, Report};
use tokio_postgres::Client;

use crate::support::{SyncEnv, wait_count};

/// Legacy rows for persona, ptoserv, contrato, factura and opecargest (and what they
/// reference), all synced by streaming.
pub const BASE_ROWS: &str = "
    INSERT INTO cf_quere_pro.explotacion (expid, expnombre, expmunicipio, expfecalta)
    VALUES (9, 'Querétaro Centro', 'Querétaro', '2001-01-01 00:00:00');
    INSERT INTO cf_quere_pro.direccion (dirid, dirtexto, dirnum, dirpob, dirhsthora)
    VALUES (5, 'Av. Constituyentes', '12-B', 'Querétaro', '2021-06-07 08:09:10');
    INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnomape, prsnombre, prsape1, prstelef, prsfecreg, prshsthora)
    VALUES (1, 'F', 'Gómez', 'Lucía', 'Gómez', '4420000001', '2019-03-04 10:11:12', '2024-01-01 00:00:00'),
           (2, 'F', 'Pérez', 'Pedro', 'Pérez', '4420000002', '2019-03-04 10:11:12', '2024-01-01 00:00:00'),
           (3, 'J', NULL, NULL, NULL, '4420000003', '2020-01-01 00:00:00', '2024-01-01 00:00:00');
    INSERT INTO cf_quere_pro.ptoserv (ptosid, ptosexpid, ptosdirid, ptoscodigo, ptostipo, ptosestado, ptosfecalta, ptoshsthora)
    VALUES (20, 9, 5, 'T-20', 'DO', 'A', '2020-01-01 00:00:00', '2024-01-01 00:00:00'),
           (21, 9, 5, 'T-21', 'CO', 'A', '2020-01-01 00:00:00', '2024-01-01 00:00:00');
    INSERT INTO cf_quere_pro.contrato (cnttnum, cnttprsid, cnttptosid, cnttexpid, cnttestado, cnttfecalta, cnttcategtarif, cntthsthora)
    VALUES (30, 1, 20, 9, 'A', '2020-02-01 00:00:00', 1, '2024-01-01 00:00:00'),
           (31, 2, 21, 9, 'A', '2020-03-01 00:00:00', 2, '2024-01-01 00:00:00');
    INSERT INTO cf_quere_pro.factura (facid, facexpid, faccnttnum, facperiodo, facfecfact, facfecvto, facestado, facimporte, faciva, factotal, fachsthora)
    VALUES (40, 9, 30, '202501', '2025-01-05 02:00:00', '2025-01-25 00:00:00', 'E', 86.29, 13.81, 100.10, '2025-01-05 02:00:00'),
           (41, 9, 31, '202501', '2025-01-05 02:00:00', '2025-01-25 00:00:00', 'E', 215.74, 34.52, 250.255, '2025-01-05 02:00:00'),
           (42, 9, 30, '202502', '2025-02-05 02:00:00', '2025-02-25 00:00:00', 'E', 80.00, 12.80, 92.80, '2025-02-05 02:00:00');
    INSERT INTO cf_quere_pro.opecargest (ocgid, ocgcnttnum, ocgfacid, ocgfecha, ocgimporte, ocgcanal, ocgestado)
    VALUES (50, 30, 40, '2025-01-20 10:00:00', 100.10, 'VE', 'A');";

/// Entities [`BASE_ROWS`] feeds.
pub const ENTITIES: [&str; 7] = [
    "explotacion",
    "direccion",
    "persona",
    "ptoserv",
    "contrato",
    "factura",
    "opecargest",
];

/// A SUPRA connection in admin context.
pub async fn admin(env: &SyncEnv) -> Client {
    let c = env.supra.connect().await.unwrap();
    c.batch_execute("SET app.is_admin = 'true'").await.unwrap();
    c
}

/// Inserts [`BASE_ROWS`] and waits until SUPRA has them (the forward pipeline must run).
pub async fn load_base(env: &SyncEnv, legacy: &Client, supra: &Client) {
    legacy.batch_execute(BASE_ROWS).await.unwrap();
    wait_count(supra, "SELECT count(*) FROM payments", 1).await;
    wait_count(supra, "SELECT count(*) FROM invoices", 3).await;
    let _ = env;
}

/// Reconciles `entities` (settling at most 20 s for running pipelines).
pub async fn reconcile(env: &SyncEnv, entities: &[&str], fix: bool) -> Report {
    reconcile_with(env, entities, |opts| {
        opts.fix = fix;
        opts.settle = Duration::from_secs(20);
    })
    .await
}

/// Reconciles `entities` with options adjusted by `adjust`.
pub async fn reconcile_with(
    env: &SyncEnv,
    entities: &[&str],
    adjust: impl FnOnce(&mut ReconcileOptions),
) -> Report {
    let mut opts = ReconcileOptions::new("cea-queretaro", env.names.clone());
    opts.entities = entities.iter().map(|e| e.to_string()).collect();
    opts.run_by = "test".into();
    adjust(&mut opts);
    reconcile::run(
        &env.config(Side::Legacy),
        &env.config(Side::Supra),
        &env.mappings,
        &opts,
    )
    .await
    .unwrap()
}

/// Panics with the report when it is not clean.
pub fn assert_clean(report: &Report) {
    assert!(
        report.clean(),
        "reconcile found differences:\n{}",
        serde_json::to_string_pretty(report).unwrap()
    );
}

/// Runs `sql` on a side under the replay origin, which every source drops: a change made
/// behind the sync's back.
pub async fn behind_the_back(env: &SyncEnv, side: Side, sql: &str) {
    let client = match side {
        Side::Legacy => env.legacy.connect().await.unwrap(),
        Side::Supra => admin(env).await,
    };
    let origin = env.names.replay_origin();
    client
        .execute(
            "SELECT pg_replication_origin_create($1)
              WHERE NOT EXISTS (SELECT 1 FROM pg_replication_origin WHERE roname = $1)",
            &[&origin],
        )
        .await
        .unwrap();
    client
        .execute("SELECT pg_replication_origin_session_setup($1)", &[&origin])
        .await
        .unwrap();
    client.batch_execute(sql).await.unwrap();
}

fn keys<'a>(report: &'a Report, entity: &str) -> Vec<(DiffKind, Option<&'a str>)> {
    let e = report.entities.iter().find(|e| e.entity == entity).unwrap();
    let mut k: Vec<(DiffKind, Option<&str>)> = e
        .differences
        .iter()
        .map(|d| (d.kind, d.legacy_key.as_deref()))
        .collect();
    k.sort_by_key(|(_, key)| key.map(str::to_string));
    k.dedup();
    k
}

/// Keys of different lengths (9 < 10 as numbers, "10" < "9" as text) over slices smaller
/// than the table: every legacy row is read once, in key order, and each missing one is named.
#[tokio::test]
async fn slices_follow_key_order_not_text_order() {
    let env = SyncEnv::new().await;
    let legacy = env.legacy.connect().await.unwrap();
    legacy
        .batch_execute(
            "INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnombre)
             SELECT g, 'F', 'Persona ' || g FROM generate_series(1, 25) g",
        )
        .await
        .unwrap();
    // Nothing synced: SUPRA has none of them.
    let report = reconcile_with(&env, &["persona"], |opts| {
        (opts.chunk_rows, opts.finance, opts.settle) = (4, false, Duration::ZERO);
    })
    .await;
    let persona = report
        .entities
        .iter()
        .find(|e| e.entity == "persona")
        .unwrap();
    assert_eq!(persona.legacy_rows, 25);
    let mut missing: Vec<i64> = keys(&report, "persona")
        .into_iter()
        .filter(|(kind, _)| *kind == DiffKind::MissingInSupra)
        .map(|(_, key)| key.unwrap().parse().unwrap())
        .collect();
    missing.sort_unstable();
    assert_eq!(missing, (1..=25).collect::<Vec<i64>>());
    env.teardown().await;
}

#[tokio::test]
async fn finds_planted_differences_and_fix_repairs_them() {
    let env = SyncEnv::new().await;
    let legacy = env.legacy.connect().await.unwrap();
    let supra = admin(&env).await;
    let forward = env.start(Side::Legacy);
    load_base(&env, &legacy, &supra).await;
    let clean = reconcile(&env, &ENTITIES, false).await;
    assert_clean(&clean);
    let persona = clean
        .entities
        .iter()
        .find(|e| e.entity == "persona")
        .unwrap();
    assert_eq!((persona.legacy_rows, persona.supra_rows), (3, 3));
    let invoices = clean
        .finance
        .iter()
        .find(|f| f.check == "invoices")
        .unwrap();
    assert_eq!(invoices.periods.len(), 2, "{invoices:?}");
    assert_eq!(invoices.periods[0].legacy_total.to_string(), "350.36");

    // Rate limited: 2 rows/s over 1-row slices (3 legacy rows, 3 mappings, 3 SUPRA rows).
    let started = std::time::Instant::now();
    let slow = reconcile_with(&env, &["persona"], |opts| {
        (opts.chunk_rows, opts.max_rate) = (1, std::num::NonZeroU32::new(2));
    })
    .await;
    assert_clean(&slow);
    assert!(
        started.elapsed() >= Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    // Behind the sync's back: SUPRA edits person 1, legacy edits person 2, SUPRA loses
    // person 3, and invoice 41 gains a centavo.
    behind_the_back(
        &env,
        Side::Supra,
        "UPDATE persons SET phone = '4429999999' WHERE first_name = 'Lucía'",
    )
    .await;
    behind_the_back(
        &env,
        Side::Legacy,
        "UPDATE cf_quere_pro.persona SET prstelef = '4428888888' WHERE prsid = 2",
    )
    .await;
    behind_the_back(
        &env,
        Side::Supra,
        "DELETE FROM persons WHERE name = '(sin nombre)';
         UPDATE invoices SET total = total + 0.01 WHERE invoice_number = '41';",
    )
    .await;
    let found = reconcile(&env, &["persona", "factura"], false).await;
    assert!(!found.clean());
    assert_eq!(
        keys(&found, "persona"),
        vec![
            (DiffKind::Differs, Some("1")),
            (DiffKind::Differs, Some("2")),
            (DiffKind::MissingInSupra, Some("3"))
        ]
    );
    assert_eq!(
        keys(&found, "factura"),
        vec![(DiffKind::Differs, Some("41"))]
    );
    let detail = &found.entities[1].differences[0].detail;
    assert!(
        detail.contains("total: expected 250.26, found 250.27"),
        "{detail}"
    );
    let invoices = found
        .finance
        .iter()
        .find(|f| f.check == "invoices")
        .unwrap();
    let jan = &invoices.periods[0];
    assert_eq!(
        (
            jan.period.as_str(),
            jan.legacy_total.to_string(),
            jan.supra_total.to_string()
        ),
        ("2025-01", "350.36".into(), "350.37".into())
    );
    assert!(invoices.periods[1].matches());
    assert_eq!(invoices.differences.len(), 1, "{invoices:?}");
    assert_eq!(invoices.differences[0].number, "41");
    assert_eq!(
        invoices.differences[0].detail,
        "amount: legacy 250.26, SUPRA 250.27 (off by 0.01)"
    );
    assert!(
        found.notes.iter().any(|n| n.contains("not active")),
        "the reverse pipeline is not running: {:?}",
        found.notes
    );

    // --fix: SUPRA's edit of person 1 goes to legacy, legacy's edit of person 2 to SUPRA,
    // person 3 is restored in SUPRA, invoice 41 re-applied from legacy.
    let fixed = reconcile(&env, &["persona", "factura"], true).await;
    assert_clean(&fixed);
    let persona = &fixed.entities[0];
    let notes: Vec<(Option<&str>, &str)> = persona
        .fixed
        .iter()
        .map(|d| (d.legacy_key.as_deref(), d.fix.as_deref().unwrap()))
        .collect();
    assert!(
        notes.contains(&(Some("1"), "fixed: re-synced supra → legacy")),
        "{notes:?}"
    );
    assert!(
        notes.contains(&(Some("2"), "fixed: re-synced legacy → supra")),
        "{notes:?}"
    );
    assert!(
        notes.contains(&(Some("3"), "fixed: re-synced legacy → supra")),
        "{notes:?}"
    );
    let phone: String = legacy
        .query_one(
            "SELECT prstelef FROM cf_quere_pro.persona WHERE prsid = 1",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(phone, "4429999999");
    let total: String = supra
        .query_one(
            "SELECT total::text FROM invoices WHERE invoice_number = '41'",
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(total, "250.26");
    assert!(
        fixed.finance.iter().all(|f| f.clean()),
        "{:?}",
        fixed.finance
    );

    // The stored results say so (what `stage set` and `status` read).
    let latest = reconcile::store::latest(&supra).await.unwrap();
    let persona = latest.iter().find(|l| l.subject == "persona").unwrap();
    assert!(persona.clean && persona.fixed == 3, "{persona:?}");
    assert!(
        latest
            .iter()
            .any(|l| l.subject == "finance:invoices" && l.clean)
    );
    assert_clean(&reconcile(&env, &ENTITIES, false).await);
    forward.stop().await.unwrap();
    env.teardown().await;
}

/// Throughput on a seeded fixture (the fixture crate's generator, snapshotted through the
/// forward pipeline, then reconciled in full):
/// `RECONCILE_ACCOUNTS=20000 cargo test -p supra-sync-engine --test it reconcile::throughput
/// -- --ignored --nocapture`.
#[tokio::test]
#[ignore = "manual: seeds a fixture and snapshots it (minutes)"]
async fn throughput() {
    if let (Ok(l), Ok(s)) = (
        std::env::var("RECONCILE_LEGACY_URL"),
        std::env::var("RECONCILE_SUPRA_URL"),
    ) {
        return throughput_of_existing(&l, &s).await;
    }
    let accounts: u64 = std::env::var("RECONCILE_ACCOUNTS")
        .ok()
        .and_then(|a| a.parse().ok())
        .unwrap_or(20_000);
    let env = SyncEnv::new().await;
    let legacy = env.legacy.connect().await.unwrap();
    let supra = admin(&env).await;
    let mut config = supra_sync_fixture::FixtureConfig::with_accounts(accounts);
    config.tmp_deuda = 0;
    config.aux_varscreditored = 0;
    config.tmpbb = 0;
    config.nonempty_transient = 0;
    let t = std::time::Instant::now();
    supra_sync_fixture::seed(&legacy, &config, |_, _| {})
        .await
        .unwrap();
    eprintln!("seeded {accounts} accounts in {:.1?}", t.elapsed());
    // Load it by snapshot, not by streaming the seed's huge transactions: the slot starts
    // after the seed. No SUPRA → legacy here (its idle slot would only retain WAL).
    supra_sync_postgres::setup::teardown_source(&supra, Side::Supra, &env.names)
        .await
        .unwrap();
    supra_sync_postgres::setup::teardown_source(&legacy, Side::Legacy, &env.names)
        .await
        .unwrap();
    supra_sync_postgres::setup::setup_source(
        &legacy,
        Side::Legacy,
        &env.names,
        &env.mappings.legacy_tables(),
    )
    .await
    .unwrap();
    let t = std::time::Instant::now();
    supra_sync_engine::snapshot::Snapshotter::request(&supra, &env.mappings, &[])
        .await
        .unwrap();
    let forward = env.start_with(Side::Legacy, |o| o.snapshot_chunk_rows = 20_000);
    supra_sync_testkit::wait_until("the snapshot", Duration::from_secs(4 * 3600), || async {
        let pending: i64 = supra
            .query_one(
                "SELECT count(*) FROM supra_sync.snapshot_progress WHERE status <> 'done'",
                &[],
            )
            .await
            .map_err(|e| e.to_string())?
            .get(0);
        Ok(pending == 0)
    })
    .await
    .unwrap();
    eprintln!("snapshot in {:.1?}", t.elapsed());
    let mut opts = ReconcileOptions::new("cea-queretaro", env.names.clone());
    opts.settle = Duration::from_secs(60);
    let report = reconcile::run(
        &env.config(Side::Legacy),
        &env.config(Side::Supra),
        &env.mappings,
        &opts,
    )
    .await
    .unwrap();
    for e in &report.entities {
        eprintln!(
            "{:<14} legacy {:>8} supra {:>8} differences {:>5} {:>6.1}s ({:.0} legacy rows/s)",
            e.entity,
            e.legacy_rows,
            e.supra_rows,
            e.differences.len(),
            e.seconds,
            e.legacy_rows as f64 / e.seconds.max(1e-6)
        );
    }
    for f in &report.finance {
        eprintln!(
            "finance:{} clean {} ({} periods)",
            f.check,
            f.clean(),
            f.periods.len()
        );
    }
    eprintln!(
        "reconcile of {accounts} accounts: {} rows read in {:.1}s = {:.0} rows/s; clean = {}",
        report.rows_compared,
        report.seconds,
        report.rows_per_sec,
        report.clean()
    );
    forward.stop().await.unwrap();
    env.teardown().await;
}

/// Reconciles two existing databases (`RECONCILE_LEGACY_URL`, `RECONCILE_SUPRA_URL`, the
/// entities in `RECONCILE_ENTITIES`, comma-separated, all when unset) and prints the rate.
async fn throughput_of_existing(legacy: &str, supra: &str) {
    let mappings = crate::support::mappings();
    let mut opts = ReconcileOptions::new(
        "cea-queretaro",
        supra_sync_postgres::names::ObjectNames::default(),
    );
    opts.settle = Duration::ZERO;
    opts.entities = std::env::var("RECONCILE_ENTITIES")
        .map(|e| e.split(',').map(str::to_string).collect())
        .unwrap_or_default();
    let report = reconcile::run(
        &supra_sync_postgres::DbConfig::parse("legacy", legacy).unwrap(),
        &supra_sync_postgres::DbConfig::parse("supra", supra).unwrap(),
        &mappings,
        &opts,
    )
    .await
    .unwrap();
    for e in &report.entities {
        eprintln!(
            "{:<14} legacy {:>8} supra {:>8} differences {:>5} {:>6.1}s ({:.0} legacy rows/s)",
            e.entity,
            e.legacy_rows,
            e.supra_rows,
            e.differences.len(),
            e.seconds,
            e.legacy_rows as f64 / e.seconds.max(1e-6)
        );
    }
    eprintln!(
        "{} rows read in {:.1}s = {:.0} rows/s; clean = {}",
        report.rows_compared,
        report.seconds,
        report.rows_per_sec,
        report.clean()
    );
}
