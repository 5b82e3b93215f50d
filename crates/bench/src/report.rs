//! The report: one row per figure (supra-sync, baseline, ratio, goal, PASS/MISS), the
//! machine and PostgreSQL settings, the method, and each scenario's notes — printed and
//! written as Markdown.

use std::fmt::Write as _;

/// What a figure must reach.
#[derive(Debug, Clone, Copy)]
pub enum Goal {
    /// supra-sync ÷ baseline must be at least this.
    RatioAtLeast(f64),
    /// The supra-sync figure must stay below this (same unit as the figure).
    Below(f64),
    /// Reported for information.
    None,
}

/// One measured figure.
#[derive(Debug, Clone)]
pub struct Figure {
    /// Scenario letter and what is measured, e.g. `(a) insert apply throughput`.
    pub label: String,
    /// Unit of `ours` and `baseline`.
    pub unit: &'static str,
    /// The supra-sync figure.
    pub ours: f64,
    /// The baseline figure and what it is.
    pub baseline: Option<(f64, &'static str)>,
    /// The goal from the issue.
    pub goal: Goal,
    /// Set when verification after the timed section failed (e.g. rows missing): the figure
    /// is then reported as `INVALID` whatever its value.
    pub problem: Option<String>,
}

impl Figure {
    /// supra-sync ÷ baseline.
    pub fn ratio(&self) -> Option<f64> {
        self.baseline
            .map(|(b, _)| self.ours / b)
            .filter(|r| r.is_finite())
    }

    /// `PASS`, `MISS`, `INVALID` (verification failed) or `—` (no goal).
    pub fn verdict(&self) -> &'static str {
        if self.problem.is_some() {
            return "INVALID";
        }
        let pass = match self.goal {
            Goal::RatioAtLeast(min) => self.ratio().is_some_and(|r| r >= min),
            Goal::Below(max) => self.ours < max,
            Goal::None => return "—",
        };
        if pass { "PASS" } else { "MISS" }
    }

    fn goal_text(&self) -> String {
        match self.goal {
            Goal::RatioAtLeast(min) => format!("≥ {min:.1}× baseline"),
            Goal::Below(max) => format!("< {} {}", number(max), self.unit),
            Goal::None => "—".into(),
        }
    }
}

/// A verification problem when `got` differs from `want` (rows on a target after the timed
/// section), to put in [`Figure::problem`].
pub fn check_rows(what: &str, got: i64, want: i64) -> Option<String> {
    (got != want).then(|| format!("{what} has {got} rows, expected {want}"))
}

/// An informational figure: CPU milliseconds (all processes) per 1,000 rows or changes.
pub fn cpu_figure(
    label: &str,
    ours_secs: f64,
    base_secs: f64,
    baseline: &'static str,
    units: f64,
) -> Figure {
    let per = |s: f64| s * 1000.0 / (units / 1000.0).max(1e-9);
    Figure {
        label: format!("{label} (lower is better)"),
        unit: "CPU ms",
        ours: per(ours_secs),
        baseline: Some((per(base_secs), baseline)),
        goal: Goal::None,
        problem: None,
    }
}

/// What one scenario produced.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Its figures.
    pub figures: Vec<Figure>,
    /// Observations (verification counts, writer rates, cross-checks).
    pub notes: Vec<String>,
}

/// The whole run.
#[derive(Debug, Default)]
pub struct Report {
    /// Scale and options as given.
    pub mode: String,
    /// Machine description lines.
    pub machine: Vec<String>,
    /// PostgreSQL settings (name, value).
    pub settings: Vec<(String, String)>,
    /// Per scenario: title and outcome or error.
    pub scenarios: Vec<(String, Result<Outcome, String>)>,
    /// Wall-clock duration of the run.
    pub elapsed_secs: f64,
}

fn number(v: f64) -> String {
    if v >= 100.0 {
        let whole = v.round() as i64;
        let text = whole.to_string();
        let mut out = String::new();
        for (i, c) in text.chars().enumerate() {
            if i > 0 && (text.len() - i).is_multiple_of(3) && c != '-' {
                out.push(',');
            }
            out.push(c);
        }
        out
    } else if v >= 10.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

impl Report {
    /// The results table alone (Markdown).
    pub fn table(&self) -> String {
        let mut out = String::from(
            "| figure | supra-sync | baseline | ratio | goal | result |\n|---|---:|---:|---:|---|---|\n",
        );
        for (title, outcome) in &self.scenarios {
            match outcome {
                Ok(o) => {
                    for f in &o.figures {
                        let baseline = f
                            .baseline
                            .map(|(b, what)| format!("{} {} ({what})", number(b), f.unit))
                            .unwrap_or_else(|| "n/a".into());
                        let ratio = f
                            .ratio()
                            .map(|r| format!("{r:.2}×"))
                            .unwrap_or_else(|| "—".into());
                        let label = match &f.problem {
                            Some(p) => format!("{} — {p}", f.label),
                            None => f.label.clone(),
                        };
                        let _ = writeln!(
                            out,
                            "| {label} | {} {} | {baseline} | {ratio} | {} | {} |",
                            number(f.ours),
                            f.unit,
                            f.goal_text(),
                            f.verdict()
                        );
                    }
                }
                Err(e) => {
                    let _ = writeln!(
                        out,
                        "| {title} | error: {} | | | | ERROR |",
                        e.lines().next().unwrap_or_default()
                    );
                }
            }
        }
        out
    }

    /// The full report (Markdown).
    pub fn markdown(&self) -> String {
        let mut out = String::from("# supra-sync benchmark report\n\n");
        let _ = writeln!(out, "{} · run took {:.0} s\n", self.mode, self.elapsed_secs);
        out.push_str(&self.table());
        out.push_str("\n## Machine\n\n");
        for line in &self.machine {
            let _ = writeln!(out, "* {line}");
        }
        out.push_str("\n## PostgreSQL (both clusters, both sides of every comparison)\n\n");
        for (k, v) in &self.settings {
            let _ = writeln!(out, "* `{k}` = {v}");
        }
        out.push_str("\n## Notes per scenario\n\n");
        for (title, outcome) in &self.scenarios {
            let _ = writeln!(out, "### {title}\n");
            match outcome {
                Ok(o) => {
                    for n in &o.notes {
                        let _ = writeln!(out, "* {n}");
                    }
                }
                Err(e) => {
                    let _ = writeln!(out, "```text\n{e}\n```");
                }
            }
            out.push('\n');
        }
        out.push_str(METHOD);
        out
    }
}

/// How every figure is obtained (appended to the report).
pub const METHOD: &str = "## Method

* Every scenario starts a fresh pair of durable clusters (testkit, `fsync = on`,
  `synchronous_commit = on`, `full_page_writes = on`) unless `--shared-clusters` (implied by
  `--quick`) reuses one pair; every measurement uses freshly cloned databases, and a
  `CHECKPOINT` on both clusters precedes every timed section. Baseline and supra-sync run one
  after the other, never at the same time.
* supra-sync runs in this process with the service defaults (`max_batch_changes` 5,000,
  `batch_linger` 5 ms, `snapshot_chunk_rows` 5,000), the shipped `mappings/`, forward
  direction only for (a)–(d) (the baselines are one-directional); (e) runs the real
  `supra-sync run` binary (both directions) as a child process.
* Native baseline: `CREATE PUBLICATION … FOR TABLE cf_quere_pro.persona` on legacy and
  `CREATE SUBSCRIPTION … WITH (copy_data = false)` into a plain copy of the table (columns +
  primary key) on the SUPRA cluster, PostgreSQL defaults otherwise (apply worker
  `synchronous_commit = off`).
* Visibility is detected by polling (every 5 ms) an index lookup of the last key written:
  the plain copy's primary key, or supra-sync's `sync_mappings` row, which commits with the
  `persons` row. Both pipelines apply in commit order, so the last key proves all earlier
  ones. Counts are taken after the timed section to verify.
* (a) one writer inserts persons in 1,000-row transactions (server-generated rows); rate =
  rows ÷ (visibility of the last row − return of the first COMMIT).
* (b) N clients each run single-row autocommit UPDATEs (prepared statement, disjoint keys) on
  preloaded, already-synced persons; a final marker insert is awaited; rate = updates ÷
  (marker visible − first COMMIT).
* (c) supra-sync: `Snapshotter::request(persona)` and the pipeline until
  `snapshot_progress.status = 'done'`; baseline: tokio-postgres `copy_out` piped into
  `copy_in` of a plain copy, one transaction, until its COMMIT.
* (d) a paced writer commits one transaction every 10 ms (half inserts of new persons, half
  updates of preloaded ones); the first inserted key of each transaction is its probe. Lag =
  start of the poll that sees the probe − return of the legacy COMMIT (client clock, same
  process). supra-sync's `sync_log.synced_at − source_commit_ts` (server clocks, same machine)
  is given as a cross-check; `synced_at` is the apply transaction's start, so it omits the
  apply itself.
* (e) the backlog (half 1,000-row insert transactions, half 1,000-row update transactions,
  then a marker) is written while nothing consumes the slot; then `supra-sync run` starts as a
  child process; catch-up = spawn → marker visible; peak RSS = `VmHWM` from
  `/proc/<pid>/status` at that moment (also sampled every 100 ms). The native baseline
  catches up the same backlog after `ALTER SUBSCRIPTION … ENABLE`.
";
