//! `conflicts show`: the conflict as two side-by-side tables — by SUPRA column (what the
//! conflict check compares) and by legacy column (what `[reverse]` writes) — with `*` on the
//! lines that differ (red on a terminal) and `~` on columns the mapping sets at write time.

use std::process::ExitCode;

use anyhow::Context;
use supra_sync_engine::resolve::Operator;
use supra_sync_engine::resolve::show::{self, ConflictView};

use crate::commands::table::{Paint, Table, cell};
use crate::output::{out, outln};

const WIDTH: usize = 36;
/// What a column the mapping fills with `now()` shows instead of a value.
const AT_WRITE: &str = "(time of the write)";

/// Prints one conflict.
pub async fn run(op: &Operator, id: &str, json: bool) -> anyhow::Result<ExitCode> {
    let view = show::show(op, id).await?;
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&view).context("encoding JSON")?
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    out!("{}", render(&view, Paint::detect()))?;
    Ok(ExitCode::SUCCESS)
}

fn marker(differs: bool, volatile: bool) -> &'static str {
    if differs {
        "*"
    } else if volatile {
        "~"
    } else {
        " "
    }
}

fn last(v: &Option<Option<String>>) -> String {
    match v {
        None => String::new(),
        Some(v) => cell(v.as_deref(), WIDTH),
    }
}

/// The text of `conflicts show`.
pub fn render(v: &ConflictView, paint: Paint) -> String {
    let c = &v.conflict;
    let mut s = String::new();
    let status = match c.status.as_str() {
        "open" => paint.red("OPEN"),
        other => paint.green(&other.to_uppercase()),
    };
    s.push_str(&format!("{} {}  {status}\n", paint.bold("conflict"), c.id));
    s.push_str(&format!(
        "  {} {}   legacy {}  ↔  SUPRA {} {}\n",
        c.entity,
        c.entity_id,
        v.legacy_table,
        v.supra_table,
        v.supra_id.map(|u| u.to_string()).unwrap_or_default()
    ));
    s.push_str(&format!(
        "  {} detected {} on a {} change; policy {}; {} change(s) held\n",
        c.conflict_type,
        c.detected_at.format("%Y-%m-%d %H:%M:%S UTC"),
        c.direction.replace('_', " "),
        c.policy,
        c.held_changes
    ));
    let ts = |t: Option<chrono::DateTime<chrono::Utc>>| {
        t.map_or("-".into(), |t| {
            t.format("%Y-%m-%d %H:%M:%S%.3f").to_string()
        })
    };
    s.push_str(&format!(
        "  committed: legacy {}   SUPRA {}\n",
        ts(c.legacy_commit_ts),
        ts(c.supra_commit_ts)
    ));
    if let Some(l) = &v.last_synced {
        s.push_str(&format!(
            "  last synced: sync_log #{} ({}, {})\n",
            l.log_id,
            l.direction.replace('_', " "),
            l.synced_at.format("%Y-%m-%d %H:%M:%S")
        ));
    }
    if let Some(r) = &c.resolution {
        s.push_str(&format!(
            "  resolved: {r} by {} at {}{}\n",
            c.resolved_by.as_deref().unwrap_or("?"),
            ts(c.resolved_at),
            c.resolution_note
                .as_deref()
                .map(|n| format!(" — {n}"))
                .unwrap_or_default()
        ));
    }
    if c.legacy_data.is_none() || c.supra_data.is_none() {
        let missing = if c.legacy_data.is_none() {
            "legacy"
        } else {
            "SUPRA"
        };
        let why = if c.conflict_type == "unique_violation" {
            "not recorded (the change collided with another row on a unique key)"
        } else {
            "no row (deleted)"
        };
        s.push_str(&format!("  {missing} side: {why}\n"));
    }
    for m in &v.moved {
        s.push_str(&paint.yellow(&format!(
            "  ! the {} row changed since the conflict was recorded: {}\n",
            m.side,
            m.columns.join(", ")
        )));
    }
    let has_last = v.last_synced.is_some();
    s.push('\n');
    s.push_str(&paint.bold("By SUPRA column (compared by the conflict check)\n"));
    let mut headers = vec![
        "",
        "SUPRA COLUMN",
        "FED BY (LEGACY)",
        "LEGACY → SUPRA",
        "SUPRA",
    ];
    if has_last {
        headers.push("LAST SYNCED");
    }
    let mut t = Table::new(&headers);
    for l in &v.comparison.supra {
        let mut cells = vec![
            marker(l.differs, l.volatile).to_string(),
            l.column.clone(),
            l.fed_by.join(", "),
            if l.volatile {
                AT_WRITE.into()
            } else {
                cell(l.legacy.as_deref(), WIDTH)
            },
            cell(l.supra.as_deref(), WIDTH),
        ];
        if has_last {
            cells.push(if l.volatile {
                String::new()
            } else {
                last(&l.last_synced)
            });
        }
        push(&mut t, cells, l.differs);
    }
    s.push_str(&t.render(paint));
    s.push('\n');
    s.push_str(&paint.bold("By legacy column (written back by [reverse])\n"));
    let mut headers = vec![
        "",
        "LEGACY COLUMN",
        "FED BY (SUPRA)",
        "LEGACY",
        "SUPRA → LEGACY",
    ];
    if has_last {
        headers.push("LAST SYNCED");
    }
    let mut t = Table::new(&headers);
    for l in &v.comparison.legacy {
        let mut cells = vec![
            marker(l.differs, l.volatile).to_string(),
            l.column.clone(),
            l.fed_by.join(", "),
            cell(l.legacy.as_deref(), WIDTH),
            if l.volatile {
                AT_WRITE.into()
            } else {
                cell(l.supra.as_deref(), WIDTH)
            },
        ];
        if has_last {
            cells.push(if l.volatile {
                String::new()
            } else {
                last(&l.last_synced)
            });
        }
        push(&mut t, cells, l.differs);
    }
    s.push_str(&t.render(paint));
    s.push_str(
        &paint.dim("* differs   ~ set by the mapping at write time (now()), not compared\n"),
    );
    if c.status == "open" {
        let differing: Vec<&str> = v
            .comparison
            .supra
            .iter()
            .filter(|l| l.differs)
            .map(|l| l.column.as_str())
            .collect();
        let example = differing
            .first()
            .map(|c| format!("{c}=supra,*=legacy"))
            .unwrap_or_else(|| "*=legacy".into());
        s.push_str(&format!(
            "\nresolve with: supra-sync conflicts resolve {} --legacy-wins | --supra-wins | --merge '{example}'  (add --dry-run to preview)\n",
            &c.id.to_string()[..8]
        ));
    }
    s
}

fn push(t: &mut Table, cells: Vec<String>, differs: bool) {
    if differs {
        t.painted(cells, Paint::red);
    } else {
        t.row(cells);
    }
}
