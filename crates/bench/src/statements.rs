//! Optional statement profile of a SUPRA database (`--statements`): with
//! `pg_stat_statements` preloaded on both clusters, the statements a timed section ran on
//! the target are listed by server time, with calls per source change — which shows how many round trips
//! supra-sync spends per change and where the server time goes.

use supra_sync_testkit::TestDatabase;

/// The `postgresql.conf` settings that enable the profile.
pub const SETTINGS: &[(&str, &str)] = &[
    ("shared_preload_libraries", "'pg_stat_statements'"),
    ("pg_stat_statements.track", "all"),
];

/// Installs the extension in `db` and forgets everything counted so far.
pub async fn reset(db: &TestDatabase) -> anyhow::Result<()> {
    let client = db.connect().await?;
    client
        .batch_execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        .await?;
    client
        .execute("SELECT pg_stat_statements_reset()", &[])
        .await?;
    Ok(())
}

/// The `top` statements of `db` by server time, with calls per change.
pub async fn top(db: &TestDatabase, changes: f64, top: i64) -> anyhow::Result<Vec<String>> {
    let client = db.connect().await?;
    let rows = client
        .query(
            "SELECT calls, total_exec_time, mean_exec_time,
                    regexp_replace(left(query, 90), '\\s+', ' ', 'g')
               FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid
              WHERE d.datname = current_database() AND query NOT ILIKE '%pg_stat_statements%'
              ORDER BY total_exec_time DESC LIMIT $1",
            &[&top],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|r| {
            format!(
                "{:.2} calls/change, {:.0} ms total, {:.3} ms mean: `{}`",
                r.get::<_, i64>(0) as f64 / changes.max(1.0),
                r.get::<_, f64>(1),
                r.get::<_, f64>(2),
                r.get::<_, String>(3)
            )
        })
        .collect())
}
