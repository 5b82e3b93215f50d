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

/// Seeds a fresh legacy database with `accounts` contracts and a handful of
/// table-per-process tables, and returns it with the command's stdout.
async fn seeded_legacy(
    prefix: &str,
    accounts: &str,
) -> Result<(TestDatabase, String), Box<dyn std::error::Error>> {
    let db = legacy().fresh_database(prefix).await?;
    let out = supra_sync(
        &[
            "--legacy",
            &db.connection_string,
            "dev",
            "seed",
            "--accounts",
            accounts,
            "--seed",
            "7",
            "--tmp-deuda",
            "5",
            "--aux-varscreditored",
            "3",
            "--tmpbb",
            "2",
            "--nonempty-transient",
            "2",
        ],
        &[],
    )
    .await;
    assert_exit(&out, 0);
    Ok((db, stdout(&out)))
}

#[tokio::test]
async fn dev_seed_creates_and_fills_cf_quere_pro_and_reports_counts() -> TestResult {
    let (db, report) = seeded_legacy("cli_seed", "50").await?;
    let client = db.connect().await?;
    let count = |sql: &'static str| {
        let client = &client;
        async move { client.query_one(sql, &[]).await.map(|r| r.get::<_, i64>(0)) }
    };
    assert_eq!(
        count("SELECT count(*) FROM cf_quere_pro.contrato").await?,
        50
    );
    let persons = count("SELECT count(*) FROM cf_quere_pro.persona").await?;
    assert!(persons > 0 && persons <= 50, "{persons} persons");
    let families = count(
        r"SELECT count(*) FROM pg_tables WHERE schemaname = 'cf_quere_pro'
             AND tablename ~ '^(tmp_deuda|aux_varscreditored|tmpbb)_[0-9]+$'",
    )
    .await?;
    assert_eq!(families, 10);
    let tables = count("SELECT count(*) FROM pg_tables WHERE schemaname = 'cf_quere_pro'").await?;
    assert_eq!(tables as u64, supra_sync_fixture::BASE_TABLE_COUNT + 10);

    // The report lists each table with the rows the database holds.
    let contrato_line = report
        .lines()
        .find(|l| l.split_whitespace().next() == Some("contrato"));
    assert_eq!(
        contrato_line.map(|l| l.split_whitespace().nth(1)),
        Some(Some("50")),
        "{report}"
    );
    let persona_line = report
        .lines()
        .find(|l| l.split_whitespace().next() == Some("persona"));
    assert_eq!(
        persona_line.and_then(|l| l.split_whitespace().nth(1)),
        Some(persons.to_string().as_str()),
        "{report}"
    );
    assert!(
        report.contains("families: 5 tmp_deuda_*, 3 aux_varscreditored_*, 2 tmpbb_* (2 non-empty)"),
        "{report}"
    );
    assert!(
        report.contains(&format!("{tables} tables in cf_quere_pro in ")),
        "{report}"
    );

    // A second seed refuses to overwrite, and says how to.
    let again = supra_sync(
        &[
            "--legacy",
            &db.connection_string,
            "dev",
            "seed",
            "--accounts",
            "5",
        ],
        &[],
    )
    .await;
    assert_exit(&again, 2);
    assert!(
        stderr(&again).contains("cf_quere_pro already exists"),
        "{}",
        stderr(&again)
    );
    assert!(
        stderr(&again).contains("hint: pass --reset"),
        "{}",
        stderr(&again)
    );
    Ok(())
}

#[tokio::test]
async fn mappings_check_passes_on_the_shipped_mappings() {
    let dir = shipped_mappings();
    let out = supra_sync(
        &[
            "--mappings",
            dir.to_str().expect("utf-8 path"),
            "mappings",
            "check",
        ],
        &[],
    )
    .await;
    assert_exit(&out, 0);
    assert!(stdout(&out).starts_with("ok: "), "{}", stdout(&out));

    let out = supra_sync(
        &["mappings", "explain", "persona"],
        &[("SUPRA_SYNC_MAPPINGS", dir.to_str().expect("utf-8 path"))],
    )
    .await;
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("entity persona"), "{}", stdout(&out));
}

#[tokio::test]
async fn mappings_check_names_file_line_and_field_of_each_problem() -> TestResult {
    let dir = tempfile::tempdir()?;
    let file = dir.path().join("persona.toml");
    std::fs::write(
        &file,
        "entity = \"persona\"\n\n[legacy]\ntable = \"cf_quere_pro.persona\"\nkey = [\"prsid\"]\n\n\
         [supra]\ntable = \"public.persons\"\ntenant = \"cea-queretaro\"\n\n\
         [forward]\nname = \"trim(prsnombre\"\nrfc = \"no_such_function(prsnif)\"\n",
    )?;
    let out = supra_sync(
        &[
            "--mappings",
            dir.path().to_str().expect("utf-8 path"),
            "mappings",
            "check",
        ],
        &[],
    )
    .await;
    assert_exit(&out, 1);
    let report = stdout(&out);
    let file = file.display();
    assert!(
        report.contains(&format!("{file}:12: [forward.name] ")),
        "{report}"
    );
    assert!(
        report.contains(&format!(
            "{file}:13: [forward.rfc] unknown function `no_such_function`"
        )),
        "{report}"
    );
    assert!(report.contains("2 problems found"), "{report}");

    let out = supra_sync(
        &[
            "--mappings",
            dir.path().to_str().expect("utf-8 path"),
            "mappings",
            "explain",
            "persona",
        ],
        &[],
    )
    .await;
    assert_exit(&out, 1);
    Ok(())
}

#[tokio::test]
async fn mappings_check_db_matches_a_migrated_supra_and_a_seeded_legacy() -> TestResult {
    let (seeded, _) = seeded_legacy("cli_mapdb", "10").await?;
    let supra_db = migrated_supra("cli_mapdb").await?;
    let dir = shipped_mappings();
    let dir = dir.to_str().expect("utf-8 path");
    let check = |legacy: String| {
        let supra = supra_db.connection_string.clone();
        async move {
            supra_sync(
                &[
                    "--mappings",
                    dir,
                    "--legacy",
                    &legacy,
                    "--supra",
                    &supra,
                    "mappings",
                    "check",
                    "--db",
                ],
                &[],
            )
            .await
        }
    };
    let out = check(seeded.connection_string.clone()).await;
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("ok: the mappings match both catalogs"),
        "{}",
        stdout(&out)
    );

    // Against a legacy database without cf_quere_pro every mapped table is reported missing.
    let empty = legacy().fresh_database("cli_mapdb_empty").await?;
    let out = check(empty.connection_string.clone()).await;
    assert_exit(&out, 1);
    assert!(
        stdout(&out).contains("cf_quere_pro.persona"),
        "{}",
        stdout(&out)
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

    let out = supra_sync(&["mappings", "check", "--no-such-flag"], &[]).await;
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("unexpected argument '--no-such-flag'"),
        "{}",
        stderr(&out)
    );

    let out = supra_sync(&["dev", "seed"], &[]).await;
    assert_exit(&out, 2);
    assert!(stderr(&out).contains("--accounts <N>"), "{}", stderr(&out));

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

/// A cleanup configuration for tests: fast retries, no pg_dump timing, no VACUUM FULL.
fn cleanup_config(dir: &Path) -> Result<PathBuf, Box<dyn std::error::Error>> {
    let path = dir.join("cleanup.toml");
    std::fs::write(
        &path,
        format!(
            "archive_dir = {:?}\nmeasure_schema_dump = false\nvacuum_full_catalog = false\n\
             lock_timeout_ms = 500\nlock_attempts = 3\nbackoff_initial_ms = 50\nbackoff_max_ms = 200\n\
             drops_per_second = 5000\ndrop_batch_size = 50\n",
            dir.join("archive").display().to_string()
        ),
    )?;
    Ok(path)
}

#[tokio::test]
async fn cleanup_phase_1_plan_confirm_apply_verify_rollback() -> TestResult {
    let (db, _) = seeded_legacy("cli_cleanup", "20").await?;
    let dir = tempfile::tempdir()?;
    let config = cleanup_config(dir.path())?;
    let mappings = shipped_mappings();
    let base = [
        "--legacy",
        db.connection_string.as_str(),
        "--mappings",
        mappings.to_str().expect("utf-8 path"),
        "cleanup",
        "--cleanup-config",
        config.to_str().expect("utf-8 path"),
    ];
    let cleanup = |args: &'static [&'static str]| {
        let mut all: Vec<&str> = base.to_vec();
        all.extend_from_slice(args);
        async move { supra_sync(&all, &[]).await }
    };
    let client = db.connect().await?;
    let families = || async {
        client
            .query_one(
                r"SELECT count(*) FROM pg_tables WHERE schemaname = 'cf_quere_pro'
                     AND tablename ~ '^(tmp_deuda|aux_varscreditored|tmpbb)_[0-9]+$'",
                &[],
            )
            .await
            .map(|r| r.get::<_, i64>(0))
    };

    let out = cleanup(&["inventory"]).await;
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("total (cf_quere_pro)"),
        "{}",
        stdout(&out)
    );

    let out = cleanup(&["plan", "1"]).await;
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("cleanup plan for phase 1"),
        "{}",
        stdout(&out)
    );

    // No terminal, no --yes: nothing happens.
    let out = cleanup(&["apply", "1"]).await;
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("refusing to apply phase 1 without confirmation"),
        "{}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("hint: "), "{}", stderr(&out));
    assert_eq!(families().await?, 10);

    let out = cleanup(&["apply", "1", "--yes"]).await;
    assert_exit(&out, 0);
    assert!(
        stdout(&out).contains("phase 1 applied in"),
        "{}",
        stdout(&out)
    );
    assert_eq!(families().await?, 0, "{}\n{}", stdout(&out), stderr(&out));
    // The tables the sync reads are untouched.
    let persons: i64 = client
        .query_one("SELECT count(*) FROM cf_quere_pro.persona", &[])
        .await?
        .get(0);
    assert!(persons > 0);

    let out = cleanup(&["status"]).await;
    assert_exit(&out, 0);
    assert!(stdout(&out).contains("phase 1"), "{}", stdout(&out));

    // One line per check; the exit code says whether any failed.
    let out = cleanup(&["verify", "1"]).await;
    let report = stdout(&out);
    assert!(report.contains("[PASS] "), "{report}");
    assert_exit(&out, if report.contains("[FAIL] ") { 1 } else { 0 });

    let out = cleanup(&["rollback", "1"]).await;
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("refusing to roll back phase 1"),
        "{}",
        stderr(&out)
    );
    let out = cleanup(&["rollback", "1", "--yes"]).await;
    assert_exit(&out, 0);
    assert_eq!(families().await?, 10, "{}", stdout(&out));

    let out = cleanup(&["plan", "7"]).await;
    assert_exit(&out, 2);
    assert!(
        stderr(&out).contains("phases are 1, 2 and final"),
        "{}",
        stderr(&out)
    );
    Ok(())
}

#[tokio::test]
async fn passwords_come_from_the_environment_or_a_file_and_are_never_printed() -> TestResult {
    let dir = tempfile::tempdir()?;
    let missing = dir.path().join("missing");
    let unreachable = "host=127.0.0.1 port=1 user=sync dbname=supra";
    let migrate = [
        "--supra",
        unreachable,
        "--connect-timeout",
        "200ms",
        "dev",
        "migrate",
    ];

    let out = supra_sync(
        &migrate,
        &[
            ("SUPRA_SYNC_SUPRA_PASSWORD", "s3cr3t"),
            ("SUPRA_SYNC_SUPRA_PASSWORD_FILE", "/x"),
        ],
    )
    .await;
    assert_exit(&out, 2);
    assert!(
        stderr(&out)
            .contains("both SUPRA_SYNC_SUPRA_PASSWORD and SUPRA_SYNC_SUPRA_PASSWORD_FILE are set"),
        "{}",
        stderr(&out)
    );

    let out = supra_sync(
        &migrate,
        &[(
            "SUPRA_SYNC_SUPRA_PASSWORD_FILE",
            missing.to_str().expect("utf-8"),
        )],
    )
    .await;
    assert_exit(&out, 2);
    assert!(
        stderr(&out).starts_with("error: cannot read the supra password file"),
        "{}",
        stderr(&out)
    );

    let file = dir.path().join("password");
    std::fs::write(&file, "s3cr3t\n")?;
    let out = supra_sync(
        &[
            "--log-format",
            "json",
            "-v",
            "--supra",
            unreachable,
            "--connect-timeout",
            "200ms",
            "dev",
            "migrate",
        ],
        &[(
            "SUPRA_SYNC_SUPRA_PASSWORD_FILE",
            file.to_str().expect("utf-8"),
        )],
    )
    .await;
    assert_exit(&out, 2);
    let err = stderr(&out);
    assert!(
        err.contains("error: cannot reach supra database at 127.0.0.1:1/supra"),
        "{err}"
    );
    // Retries are logged as JSON lines; nothing anywhere shows the password.
    let json_line = err
        .lines()
        .find(|l| l.starts_with('{'))
        .expect("a JSON log line");
    assert!(
        json_line.contains("\"level\":\"WARN\"") && json_line.contains("database unreachable"),
        "{err}"
    );
    assert!(
        !err.contains("s3cr3t") && !stdout(&out).contains("s3cr3t"),
        "{err}"
    );
    Ok(())
}
