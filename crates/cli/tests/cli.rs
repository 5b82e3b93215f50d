//! End-to-end tests of the `supra-sync` binary against real PostgreSQL clusters (testkit).
//!
//! Each test runs the built binary as an operator would and checks its exit code, its output
//! and what it left in a fresh database.

use std::path::{Path, PathBuf};
use std::process::Output;

use supra_sync_testkit::{TestDatabase, legacy, supra};

type TestResult = Result<(), Box<dyn std::error::Error>>;

/// Environment variables the binary reads; cleared so the caller's shell cannot leak in.
const ENV: [&str; 10] = [
    "SUPRA_SYNC_LEGACY_URL",
    "SUPRA_SYNC_SUPRA_URL",
    "SUPRA_SYNC_MAPPINGS",
    "SUPRA_SYNC_CONNECT_TIMEOUT",
    "SUPRA_SYNC_LOG_FORMAT",
    "SUPRA_SYNC_LEGACY_PASSWORD",
    "SUPRA_SYNC_LEGACY_PASSWORD_FILE",
    "SUPRA_SYNC_SUPRA_PASSWORD",
    "SUPRA_SYNC_SUPRA_PASSWORD_FILE",
    "RUST_LOG",
];

/// The repository's `mappings/` directory.
fn shipped_mappings() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mappings")
}

/// Runs `supra-sync args…` with a clean environment plus `env`, stdin closed.
async fn supra_sync(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_supra-sync"));
    for name in ENV {
        command.env_remove(name);
    }
    command
        .args(args)
        .envs(env.iter().copied())
        .stdin(std::process::Stdio::null());
    command.output().await.expect("run supra-sync")
}

fn stdout(output: &Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// Asserts the exit code, showing the output when it differs.
fn assert_exit(output: &Output, code: i32) {
    assert_eq!(
        output.status.code(),
        Some(code),
        "exit status {:?}\n--- stdout\n{}\n--- stderr\n{}",
        output.status,
        stdout(output),
        stderr(output)
    );
}

/// A fresh SUPRA database with every migration applied by `dev migrate`.
async fn migrated_supra(prefix: &str) -> Result<TestDatabase, Box<dyn std::error::Error>> {
    let db = supra().fresh_database(prefix).await?;
    let out = supra_sync(&["--supra", &db.connection_string, "dev", "migrate"], &[]).await;
    assert_exit(&out, 0);
    Ok(db)
}

#[tokio::test]
async fn dev_migrate_creates_the_supra_and_sync_tables_and_is_idempotent() -> TestResult {
    let db = migrated_supra("cli_migrate").await?;
    let client = db.connect().await?;
    for table in [
        "public.persons",
        "public.contracts",
        "supra_sync.sync_mappings",
        "supra_sync.sync_log",
        "supra_sync.sync_conflicts",
    ] {
        let found: i64 = client
            .query_one(
                "SELECT count(*) FROM pg_class WHERE oid = to_regclass($1)",
                &[&table],
            )
            .await?
            .get(0);
        assert_eq!(found, 1, "table {table} after dev migrate");
    }
    // The connection string comes from the environment just as well, and a second run is a no-op.
    let again = supra_sync(
        &["dev", "migrate"],
        &[("SUPRA_SYNC_SUPRA_URL", &db.connection_string)],
    )
    .await;
    assert_exit(&again, 0);
    assert!(
        stdout(&again).contains("migrated the supra database"),
        "{}",
        stdout(&again)
    );
    Ok(())
}

#[tokio::test]
async fn wrong_arguments_exit_2_with_clap_usage() {
    let out = supra_sync(&["dev", "no-such-command"], &[]).await;
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("unrecognized subcommand 'no-such-command'"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("Usage:"), "{}", stderr(&out));

    let out = supra_sync(&["--log-format", "xml", "dev", "migrate"], &[]).await;
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("invalid value 'xml'"),
        "{}",
        stderr(&out)
    );

    let out = supra_sync(&["--connect-timeout", "soon", "dev", "migrate"], &[]).await;
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("--connect-timeout"),
        "{}",
        stderr(&out)
    );
}

#[tokio::test]
async fn missing_or_invalid_connection_settings_are_explained() {
    let out = supra_sync(&["dev", "migrate"], &[]).await;
    assert_exit(&out, 2);
    assert_eq!(
        stderr(&out),
        "error: no supra database given\nhint: pass --supra <CONNINFO> or set SUPRA_SYNC_SUPRA_URL\n"
    );

    let out = supra_sync(&["--supra", "host=db port=notaport", "dev", "migrate"], &[]).await;
    assert_exit(&out, 2);
    assert!(
        stderr(&out).starts_with("error: the supra connection string is not valid"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("\nhint: "), "{}", stderr(&out));
}

#[tokio::test]
async fn an_unreachable_database_gives_a_clear_error_within_the_connect_timeout() {
    // Port 1 on loopback: nothing listens there, so every attempt is refused at once.
    let started = std::time::Instant::now();
    let out = supra_sync(
        &[
            "--supra",
            "host=127.0.0.1 port=1 user=sync dbname=supra password=s3cr3t",
            "--connect-timeout",
            "500ms",
            "dev",
            "migrate",
        ],
        &[],
    )
    .await;
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("error: cannot reach supra database at 127.0.0.1:1/supra"),
        "{err}"
    );
    assert!(err.contains("hint: check that the server is up"), "{err}");
    assert!(
        !err.contains("panicked") && !err.contains("s3cr3t"),
        "{err}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "took {:?}",
        started.elapsed()
    );
}
