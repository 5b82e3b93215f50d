//! `log`, `retry` and `status` through the binary: a change fails under a faulty mapping,
//! `status` turns unhealthy (exit 3), the retry after the mapping fix applies it once.

use supra_sync_core::Side;

use crate::support::{Env, one, repo, wait_count};

/// persona with a mapping bug: the phone is read as a number.
pub const BUG: (&str, &str) = (
    "phone             = \"trim_nullif(prstelef)\"",
    "phone             = \"to_text(to_int(prstelef))\"",
);

/// A copy of the shipped mappings with one line of persona.toml replaced.
fn mappings_with(from: &str, to: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in std::fs::read_dir(repo().join("mappings")).unwrap() {
        let path = entry.unwrap().path();
        let mut text = std::fs::read_to_string(&path).unwrap();
        if path.file_name().is_some_and(|n| n == "persona.toml") {
            assert!(text.contains(from));
            text = text.replace(from, to);
        }
        std::fs::write(dir.path().join(path.file_name().unwrap()), text).unwrap();
    }
    dir
}

#[tokio::test]
async fn log_retry_and_status_through_the_binary() {
    let buggy = mappings_with(BUG.0, BUG.1);
    let env = Env::with_mappings(buggy.path()).await;
    let legacy = env.legacy.connect().await.unwrap();
    let supra = env.admin().await;

    // Idle and clean: healthy.
    let out = env.cli(&["status"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("legacy_to_supra") && out.stdout.contains("supra_to_legacy"),
        "{out:?}"
    );
    assert!(out.stdout.contains("health: OK"), "{out:?}");

    // The service runs with the buggy mapping: this phone is not a number.
    let forward = env.start(Side::Legacy);
    legacy
        .batch_execute(
            "INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnombre, prstelef)
             VALUES (1, 'F', 'Lucía', '442-111-1111')",
        )
        .await
        .unwrap();
    wait_count(
        &supra,
        "SELECT count(*) FROM supra_sync.sync_log WHERE status = 'failed'",
        1,
    )
    .await;
    let out = env.cli(&["status", "--json"]).await;
    assert_eq!(out.code, 3, "{out:?}");
    let doc: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    assert_eq!(doc["healthy"], false);
    assert_eq!(doc["report"]["pipelines"][0]["slot_active"], true);
    assert!(
        doc["report"]["problems"][0]
            .as_str()
            .unwrap()
            .contains("1 failed change"),
        "{out:?}"
    );
    forward.stop().await;
    let out = env.cli(&["status", "--max-failed", "1"]).await;
    assert_eq!(out.code, 0, "{out:?}");

    // log: the failed change with its error.
    let out = env.cli(&["log", "--failed"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(
        out.stdout.contains("persona") && out.stdout.contains("phone"),
        "{out:?}"
    );
    let out = env
        .cli(&["log", "--entity", "persona", "--since", "1h", "--json"])
        .await;
    let rows: serde_json::Value = serde_json::from_str(&out.stdout).expect("JSON");
    let failed = rows
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["status"] == "failed")
        .unwrap()["id"]
        .as_i64()
        .unwrap();
    let failed = failed.to_string();
    let out = env.cli(&["log", "--status", "exploded"]).await;
    assert_eq!(out.code, 2, "{out:?}");

    // Retrying under the faulty mapping fails again (exit 1, a new failed row).
    let out = env.cli_with(buggy.path(), &["retry", &failed]).await;
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stdout.contains("failed again"), "{out:?}");
    let out = env.cli(&["retry", &failed]).await;
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("already retried"), "{out:?}");

    // After the mapping fix (the shipped mapping), every failed change is retried and applies.
    let out = env.cli(&["retry", "--all-failed"]).await;
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stdout.contains("applied"), "{out:?}");
    assert_eq!(
        one(
            &supra,
            "SELECT phone FROM persons WHERE first_name = 'Lucía'"
        )
        .await
        .as_deref(),
        Some("442-111-1111")
    );
    let out = env.cli(&["retry", "--all-failed"]).await;
    assert!(out.stdout.contains("no failed changes"), "{out:?}");
    let out = env
        .cli(&["log", "--entity", "persona", "--status", "retried"])
        .await;
    assert_eq!(
        out.stdout.lines().filter(|l| l.contains("retried")).count(),
        2,
        "{out:?}"
    );
    let out = env.cli(&["status"]).await;
    assert_eq!(out.code, 0, "{out:?}");

    // A missing slot is unhealthy.
    env.teardown().await;
    let out = env.cli(&["status"]).await;
    assert_eq!(out.code, 3, "{out:?}");
    assert!(out.stdout.contains("is missing"), "{out:?}");
}
