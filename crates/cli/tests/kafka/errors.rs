//! Replay's errors are definite and name what is wrong: an unknown topic, an unreachable
//! broker (after retrying), no broker configured.

use std::time::Instant;

use crate::support::*;

/// `supra-sync replay …` with databases that are never reached: these errors come first.
fn replay(args: &[&str], env: &[(&'static str, String)]) -> tokio::process::Command {
    let mut c = tokio::process::Command::new(binary());
    for (key, _) in std::env::vars() {
        if key.starts_with("SUPRA_SYNC_") {
            c.env_remove(key);
        }
    }
    c.args([
        "--legacy",
        "host=127.0.0.1 port=9 dbname=none",
        "--supra",
        "host=127.0.0.1 port=9 dbname=none",
    ])
    .arg("--mappings")
    .arg(repo().join("mappings"))
    .arg("replay")
    .args(args);
    with_env(c, env)
}

async fn failure(c: tokio::process::Command) -> String {
    let mut c = c;
    let out = c.output().await.expect("run supra-sync");
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[tokio::test]
async fn an_unknown_topic_is_named() {
    let cluster = kafka();
    let args = [
        "--topics",
        "aquacis.cf_quere_pro.persona,aquacis.cf_quere_pro.nope",
        "--until-high-watermark",
    ];
    let stderr = failure(replay(&args, &kafka_env(&cluster))).await;
    assert!(
        stderr.contains("error: topic aquacis.cf_quere_pro.nope does not exist"),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: existing topics with prefix"),
        "{stderr}"
    );
}

#[tokio::test]
async fn an_unreachable_broker_is_retried_then_reported() {
    // A port nothing listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let env = vec![(
        "SUPRA_SYNC_KAFKA_BOOTSTRAP_SERVERS",
        format!("127.0.0.1:{port}"),
    )];
    let started = Instant::now();
    let stderr = failure(replay(&["--all", "--retry-secs", "3"], &env)).await;
    assert!(
        started.elapsed().as_secs() >= 3,
        "it retried for --retry-secs"
    );
    assert!(
        stderr.contains(&format!("cannot reach Kafka at 127.0.0.1:{port}")),
        "{stderr}"
    );
    assert!(
        stderr.contains("hint: check kafka.bootstrap_servers"),
        "{stderr}"
    );
}

#[tokio::test]
async fn no_broker_configured_is_a_clear_error() {
    let stderr = failure(replay(&["--all"], &[])).await;
    assert!(stderr.contains("no Kafka brokers configured"), "{stderr}");
    assert!(
        stderr.contains("SUPRA_SYNC_KAFKA_BOOTSTRAP_SERVERS"),
        "{stderr}"
    );
}
