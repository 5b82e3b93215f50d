//! `verify final`: the reports exist, every removed table has an intact, restore-tested
//! archive, approved constraints are validated, the dictionary documents every table.

use serde_json::Value;
use tokio_postgres::Client;

use super::archive;
use crate::catalog::{self, qualified};
use crate::check::CheckResult;
use crate::config::CleanupConfig;
use crate::error::{CleanupError, Result};
use crate::job::{files, state};
use crate::phase::Phase;

async fn step_file(client: &Client, step: &str, key: &str) -> Result<Option<String>> {
    Ok(state::load(client, Phase::Final, step)
        .await?
        .filter(|r| r.status == "done")
        .and_then(|r| r.state.get(key).and_then(|v| v.as_str()).map(String::from)))
}

/// Runs every check.
pub(crate) async fn verify(client: &Client, config: &CleanupConfig) -> Result<Vec<CheckResult>> {
    let schema = config.schema.as_str();
    let mut out = Vec::new();
    for (id, step, what) in [
        (
            "pf.unused_report",
            "pf.unused_report",
            "unused-table report written (task_122)",
        ),
        (
            "pf.index_report",
            "pf.index_report",
            "index report written (task_124)",
        ),
        (
            "pf.integrity_report",
            "pf.integrity_report",
            "integrity report written (task_125)",
        ),
    ] {
        let f = step_file(client, step, "file").await?;
        let ok = f.as_ref().is_some_and(|p| std::path::Path::new(p).exists());
        out.push(CheckResult::new(
            id,
            what,
            ok,
            f.unwrap_or_else(|| "not run".into()),
        ));
    }
    let mut bad = Vec::new();
    let mut archived = 0;
    for r in state::pending_rollbacks(client, Phase::Final)
        .await?
        .iter()
        .filter(|r| r.kind == "archived_table")
    {
        archived += 1;
        let m: archive::ArchiveManifest =
            match serde_json::from_value(r.archive.clone().unwrap_or(Value::Null)) {
                Ok(m) => m,
                Err(e) => {
                    bad.push(format!("{}: manifest unreadable ({e})", r.object_name));
                    continue;
                }
            };
        let sha = files::read(std::path::Path::new(&m.data_file))
            .map(|d| files::sha256_hex(&d))
            .unwrap_or_default();
        if !m.restore_tested || sha != m.data_sha256 {
            bad.push(format!(
                "{}: restore tested {}, checksum {}",
                r.object_name,
                m.restore_tested,
                if sha == m.data_sha256 {
                    "ok"
                } else {
                    "MISMATCH"
                }
            ));
        }
        if catalog::relation_kind(client, schema, &r.object_name)
            .await?
            .is_some()
        {
            bad.push(format!("{}: still present", r.object_name));
        }
    }
    out.push(CheckResult::new(
        "pf.archives",
        "removed tables archived with SHA-256 and a passed restore test (task_123)",
        bad.is_empty(),
        if bad.is_empty() {
            format!("{archived} archive(s) intact")
        } else {
            bad.join("; ")
        },
    ));
    let mut cons = Vec::new();
    for c in &config.final_cleanup.constraints {
        let v: Option<bool> = client
            .query_opt("SELECT convalidated FROM pg_constraint WHERE conname = $1 AND conrelid = to_regclass($2)", &[&c.name, &qualified(schema, &c.table)])
            .await
            .map_err(CleanupError::db("read constraints"))?
            .map(|r| r.get(0));
        if v != Some(true) {
            cons.push(format!(
                "{}: {}",
                c.name,
                match v {
                    Some(false) => "NOT VALID (violations reported)",
                    _ => "missing",
                }
            ));
        }
    }
    out.push(CheckResult::new(
        "pf.constraints",
        "approved constraints added and validated (task_126)",
        cons.is_empty(),
        if cons.is_empty() {
            format!("{} validated", config.final_cleanup.constraints.len())
        } else {
            cons.join("; ")
        },
    ));
    let dict = step_file(client, "pf.dictionary", "dictionary").await?;
    let erd = step_file(client, "pf.dictionary", "erd").await?;
    let mut missing = Vec::new();
    if let Some(d) = &dict {
        let text =
            String::from_utf8_lossy(&files::read(std::path::Path::new(d)).unwrap_or_default())
                .into_owned();
        for t in catalog::tables_matching(client, schema, ".").await? {
            if !text.contains(&format!("\n## {t}\n")) {
                missing.push(t);
            }
        }
    }
    let ok = dict.is_some()
        && erd
            .as_ref()
            .is_some_and(|e| std::path::Path::new(e).exists())
        && missing.is_empty();
    out.push(CheckResult::new(
        "pf.dictionary",
        "data dictionary covers every table; ERD written (task_128)",
        ok,
        if missing.is_empty() {
            dict.unwrap_or_else(|| "not generated".into())
        } else {
            format!("not documented: {missing:?}")
        },
    ));
    Ok(out)
}
