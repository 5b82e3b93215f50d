//! Passwords, connection-string secrets and row values never reach the logs (`-v`, JSON).

use supra_sync_ops::names;
use supra_sync_testkit::legacy;

use crate::support::{Env, Instance, admin, legacy_database, supra_database, wait_count};

/// Given through the environment (the testkit clusters trust local connections, so any
/// password is accepted — what matters is that it never appears in the output).
const ENV_PASSWORD: &str = "Env-Pa55word-7f3a";
/// Given inside the SUPRA connection string.
const URL_PASSWORD: &str = "Url-Pa55word-91c2";
/// Row values that must stay out of INFO/WARN logs, including the duplicate-key detail of a
/// failed change.
const ROW_VALUES: [&str; 2] = ["Nombre-Secreto-55", "SECR800101XX9"];

#[tokio::test]
async fn logs_of_a_run_hold_no_password_connection_secret_or_row_value() {
    let legacy_db = legacy_database(legacy()).await;
    let supra_db = supra_database().await;
    let mut env = Env::new(legacy_db, supra_db).await;
    // From now on the binary gets passwords: one in the environment, one in the URL.
    env.supra_url = format!(
        "postgres://postgres:{URL_PASSWORD}@127.0.0.1:{}/{}",
        supra_sync_testkit::supra().port(),
        env.supra.name
    );
    let mut command = env.command(&[]);
    command.env("SUPRA_SYNC_LEGACY_PASSWORD", ENV_PASSWORD);
    let run = Instance::start(command, "secrets").await;
    let legacy = env.legacy.connect().await.unwrap();
    let supra = admin(&env.supra).await;
    legacy
        .batch_execute(&format!(
            "INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnif, prsnombre) VALUES (1, 'F', '{rfc}', '{name}');
             INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnif, prsnombre) VALUES (2, 'F', '{rfc}', '{name}');",
            rfc = ROW_VALUES[1],
            name = ROW_VALUES[0]
        ))
        .await
        .unwrap();
    wait_count(
        &supra,
        "SELECT count(*) FROM supra_sync.sync_log WHERE status = 'failed'",
        1,
    )
    .await;
    run.wait_metric(
        "failed change counted",
        names::CHANGES_FAILED,
        &[(names::LABEL_ENTITY, "persona")],
        |v| v == 1.0,
    )
    .await;
    let (_, metrics) = run.get("/metrics").await;
    let (_, ready) = run.get("/readyz").await;
    let log = run.stop().await;
    assert!(
        log.contains("\"streaming\""),
        "the log is the JSON run log:\n{log}"
    );
    assert!(
        log.contains("batch failed"),
        "the failing batch was logged:\n{log}"
    );
    for (what, text) in [("log", &log), ("/metrics", &metrics), ("/readyz", &ready)] {
        for secret in [ENV_PASSWORD, URL_PASSWORD, ROW_VALUES[0], ROW_VALUES[1]] {
            assert!(
                !text.contains(secret),
                "{what} contains {secret:?}:\n{text}"
            );
        }
        assert!(
            !text.contains("password="),
            "{what} contains a password setting:\n{text}"
        );
        assert!(
            !text.contains("postgres://postgres:"),
            "{what} contains a URL with credentials:\n{text}"
        );
    }
    env.teardown().await;
}
