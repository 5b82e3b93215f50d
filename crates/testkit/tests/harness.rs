//! The harness starts real clusters, isolates tests and cleans up after itself.

use std::time::Duration;

use supra_sync_testkit::{Cluster, ClusterOptions, legacy, supra, wait_until};

#[tokio::test]
async fn shared_clusters_are_logical_replication_ready() {
    for cluster in [legacy(), supra()] {
        let db = cluster.fresh_database("harness").await.unwrap();
        let client = db.connect().await.unwrap();
        for (setting, expected) in [
            ("wal_level", "logical"),
            ("track_commit_timestamp", "on"),
            ("server_version_num", "15"),
        ] {
            let row = client
                .query_one("SELECT current_setting($1)", &[&setting])
                .await
                .unwrap();
            let value: String = row.get(0);
            assert!(value.starts_with(expected), "{setting} = {value}");
        }
    }
    assert_ne!(legacy().port(), supra().port());
}

#[tokio::test]
async fn each_test_gets_an_isolated_database() {
    let a = legacy().fresh_database("iso").await.unwrap();
    let b = legacy().fresh_database("iso").await.unwrap();
    assert_ne!(a.name, b.name);
    let ca = a.connect().await.unwrap();
    let cb = b.connect().await.unwrap();
    ca.batch_execute("CREATE TABLE t (id int primary key); INSERT INTO t VALUES (1)")
        .await
        .unwrap();
    let seen = cb
        .query_one("SELECT count(*) FROM pg_tables WHERE tablename = 't'", &[])
        .await
        .unwrap()
        .get::<_, i64>(0);
    assert_eq!(
        seen, 0,
        "a table created in one test database leaked into another"
    );
}

#[tokio::test]
async fn templates_are_built_once_and_cloned() {
    let cluster = supra();
    let init = |db: supra_sync_testkit::TestDatabase| async move {
        let c = db.connect().await.map_err(|e| e.to_string())?;
        c.batch_execute("CREATE TABLE seeded (n int); INSERT INTO seeded VALUES (7)")
            .await
            .map_err(|e| e.to_string())
    };
    let one = cluster
        .fresh_database_from("harness_tpl", init)
        .await
        .unwrap();
    let two = cluster
        .fresh_database_from("harness_tpl", |_| async {
            Err("init must not run twice".to_string())
        })
        .await
        .unwrap();
    for db in [one, two] {
        let c = db.connect().await.unwrap();
        let n: i32 = c
            .query_one("SELECT n FROM seeded", &[])
            .await
            .unwrap()
            .get(0);
        assert_eq!(n, 7);
    }
}

#[tokio::test]
async fn private_cluster_crashes_restarts_and_is_removed() {
    let cluster = Cluster::start(ClusterOptions::named("private")).unwrap();
    let db = cluster.fresh_database("crash").await.unwrap();
    let c = db.connect().await.unwrap();
    c.batch_execute("CREATE TABLE t (id int primary key); INSERT INTO t VALUES (1)")
        .await
        .unwrap();
    cluster.stop(false).unwrap();
    assert!(
        db.connect().await.is_err(),
        "server still answers after an immediate stop"
    );
    cluster.restart().unwrap();
    let c = db.connect().await.unwrap();
    let n: i64 = c
        .query_one("SELECT count(*) FROM t", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);

    let port = cluster.port();
    cluster.shutdown();
    wait_until(
        "the private cluster to stop accepting connections",
        Duration::from_secs(30),
        || async move { Ok(std::net::TcpStream::connect(("127.0.0.1", port)).is_err()) },
    )
    .await
    .unwrap();
}

#[test]
fn reaper_cleans_up_when_the_process_is_killed() {
    // Re-run this test binary as a child that starts a cluster and then gets SIGKILLed;
    // the reaper must stop that cluster and remove its directory.
    if std::env::var("SUPRA_SYNC_TESTKIT_CHILD").is_ok() {
        let cluster = Cluster::start(ClusterOptions::named("orphan")).unwrap();
        println!("PORT={}", cluster.port());
        std::mem::forget(cluster);
        std::thread::sleep(Duration::from_secs(600));
        return;
    }
    let exe = std::env::current_exe().unwrap();
    let mut child = std::process::Command::new(exe)
        .args([
            "--exact",
            "reaper_cleans_up_when_the_process_is_killed",
            "--nocapture",
        ])
        .env("SUPRA_SYNC_TESTKIT_CHILD", "1")
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut port = None;
    let mut line = String::new();
    while std::io::BufRead::read_line(&mut stdout, &mut line).unwrap() > 0 {
        if let Some(p) = line.trim().strip_prefix("PORT=") {
            port = Some(p.parse::<u16>().unwrap());
            break;
        }
        line.clear();
    }
    let port = port.expect("child printed its port");
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_ok());
    child.kill().unwrap();
    child.wait().unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
        assert!(
            std::time::Instant::now() < deadline,
            "orphaned cluster still running"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
