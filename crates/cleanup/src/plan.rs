//! The dry run: what `apply` would do, statement by statement.

use std::fmt;
use std::ops::AddAssign;

use crate::error::Blocked;
use crate::phase::Phase;

/// Catalog rows that dropping some relations frees (estimated from the live catalogs).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct Footprint {
    /// Tables dropped.
    pub tables: i64,
    /// `pg_class` rows (tables, their indexes, TOAST tables and TOAST indexes).
    pub pg_class: i64,
    /// `pg_attribute` rows of those relations.
    pub pg_attribute: i64,
    /// `pg_depend` rows that reference them.
    pub pg_depend: i64,
    /// `pg_type` rows (row types).
    pub pg_type: i64,
    /// `pg_constraint` rows.
    pub pg_constraint: i64,
}

impl AddAssign for Footprint {
    fn add_assign(&mut self, o: Footprint) {
        self.tables += o.tables;
        self.pg_class += o.pg_class;
        self.pg_attribute += o.pg_attribute;
        self.pg_depend += o.pg_depend;
        self.pg_type += o.pg_type;
        self.pg_constraint += o.pg_constraint;
    }
}

impl fmt::Display for Footprint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} tables; catalog rows freed ≈ pg_class {}, pg_attribute {}, pg_depend {}, pg_type {}, pg_constraint {}",
            self.tables,
            self.pg_class,
            self.pg_attribute,
            self.pg_depend,
            self.pg_type,
            self.pg_constraint
        )
    }
}

/// A table a step touches.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct AffectedTable {
    /// Table name (in the legacy schema unless qualified).
    pub table: String,
    /// Exact rows now.
    pub rows: i64,
    /// What happens to it (`migrate 12 rows, drop`, `drop (empty)`, `archive, drop`, …).
    pub action: String,
}

/// One step of a plan.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct PlannedStep {
    /// Step id, as in the state table.
    pub id: String,
    /// What it does, citing the seed task.
    pub title: String,
    /// Already done according to the state table.
    pub done: bool,
    /// Every statement it would run, in order.
    pub statements: Vec<String>,
    /// Tables and rows affected.
    pub affected: Vec<AffectedTable>,
    /// Objects that depend on the affected tables (views, foreign keys, triggers).
    pub dependents: Vec<String>,
    /// Conditions that will stop this step (and the rest of its group).
    pub blockers: Vec<Blocked>,
    /// Catalog rows freed by this step.
    pub freed: Footprint,
    /// Anything else the operator should know.
    pub notes: Vec<String>,
}

/// What `apply` would do for a phase.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Plan {
    /// The phase.
    #[serde(serialize_with = "phase_str")]
    pub phase: Phase,
    /// Steps in execution order.
    pub steps: Vec<PlannedStep>,
}

fn phase_str<S: serde::Serializer>(p: &Phase, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(p.as_str())
}

impl Plan {
    /// Total catalog rows freed.
    pub fn freed(&self) -> Footprint {
        let mut f = Footprint::default();
        for s in &self.steps {
            f += s.freed;
        }
        f
    }

    /// All blockers of all steps.
    pub fn blockers(&self) -> Vec<&Blocked> {
        self.steps.iter().flat_map(|s| s.blockers.iter()).collect()
    }

    /// Number of statements.
    pub fn statement_count(&self) -> usize {
        self.steps.iter().map(|s| s.statements.len()).sum()
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "-- cleanup plan for phase {} (dry run: nothing was changed)",
            self.phase
        )?;
        writeln!(
            f,
            "-- {} steps, {} statements",
            self.steps.len(),
            self.statement_count()
        )?;
        writeln!(f, "-- total: {}", self.freed())?;
        let blockers = self.blockers();
        if !blockers.is_empty() {
            writeln!(
                f,
                "-- {} blocker(s): those steps will stop before any drop",
                blockers.len()
            )?;
        }
        for step in &self.steps {
            writeln!(f)?;
            writeln!(
                f,
                "-- step {}{}: {}",
                step.id,
                if step.done { " (done)" } else { "" },
                step.title
            )?;
            if step.freed.tables > 0 {
                writeln!(f, "--   frees: {}", step.freed)?;
            }
            if !step.affected.is_empty() {
                let rows: i64 = step.affected.iter().map(|a| a.rows).sum();
                writeln!(
                    f,
                    "--   affects {} table(s), {} row(s):",
                    step.affected.len(),
                    rows
                )?;
                for a in &step.affected {
                    writeln!(
                        f,
                        "--     {:<40} {:>10} rows  {}",
                        a.table, a.rows, a.action
                    )?;
                }
            }
            for d in &step.dependents {
                writeln!(f, "--   dependent object: {d}")?;
            }
            for n in &step.notes {
                writeln!(f, "--   note: {n}")?;
            }
            for b in &step.blockers {
                for line in b.to_string().lines() {
                    writeln!(f, "--   BLOCKER: {line}")?;
                }
            }
            for s in &step.statements {
                let s = s.trim_end();
                if s.ends_with(';') {
                    writeln!(f, "{s}")?
                } else {
                    writeln!(f, "{s};")?
                }
            }
        }
        Ok(())
    }
}
