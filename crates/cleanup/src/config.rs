//! What an operator can tune. Defaults follow the seeds (batches of 100, 24 forward
//! partitions, a one-week observation period, the seed's table lists).

use std::collections::BTreeSet;
use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

/// Configuration of a cleanup run. `protected_tables` must be the tables the sync publishes:
/// cleanup refuses to touch them.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct CleanupConfig {
    /// The legacy schema (`cf_quere_pro`).
    pub schema: String,
    /// Tables the sync publishes (`persona` or `cf_quere_pro.persona`). Never touched.
    pub protected_tables: BTreeSet<String>,
    /// `lock_timeout` for every DDL, in milliseconds.
    pub lock_timeout_ms: u64,
    /// How many times a statement that hit `lock_timeout` is tried in all.
    pub lock_attempts: u32,
    /// First backoff after a lock timeout, in milliseconds (doubles each time).
    pub backoff_initial_ms: u64,
    /// Longest backoff, in milliseconds.
    pub backoff_max_ms: u64,
    /// Tables dropped between two `CHECKPOINT`s.
    pub drop_batch_size: usize,
    /// Drops per second at most (governor quota).
    pub drops_per_second: NonZeroU32,
    /// Run `CHECKPOINT` between drop batches.
    pub checkpoint_between_batches: bool,
    /// Run `VACUUM FULL` on the four catalogs at the end of phase 1 (seed P1-S3-08). It takes
    /// an exclusive lock on the catalogs: run it in the maintenance window.
    pub vacuum_full_catalog: bool,
    /// Time `pg_dump --schema-only` for the before/after metrics (seed P1-S1-04).
    pub measure_schema_dump: bool,
    /// How long a phase 2 compatibility view must serve before the original table is dropped,
    /// in seconds (seed: one week).
    pub observation_period_secs: u64,
    /// Where rollback DDL, archives, reports and the data dictionary are written.
    pub archive_dir: PathBuf,
    /// Phase 2 history settings.
    pub history: HistoryConfig,
    /// Phase 2 lookup settings.
    pub lookups: LookupConfig,
    /// Final cleanup settings.
    pub final_cleanup: FinalConfig,
}

impl Default for CleanupConfig {
    fn default() -> Self {
        CleanupConfig {
            schema: "cf_quere_pro".into(),
            protected_tables: BTreeSet::new(),
            lock_timeout_ms: 2_000,
            lock_attempts: 5,
            backoff_initial_ms: 500,
            backoff_max_ms: 30_000,
            drop_batch_size: 100,
            drops_per_second: NonZeroU32::new(100).expect("non-zero"),
            checkpoint_between_batches: true,
            vacuum_full_catalog: true,
            measure_schema_dump: true,
            observation_period_secs: 7 * 24 * 3600,
            archive_dir: PathBuf::from("cleanup-archive"),
            history: HistoryConfig::default(),
            lookups: LookupConfig::default(),
            final_cleanup: FinalConfig::default(),
        }
    }
}

impl CleanupConfig {
    /// `lock_timeout` as a duration.
    pub fn lock_timeout(&self) -> Duration {
        Duration::from_millis(self.lock_timeout_ms)
    }

    /// The observation period as a duration.
    pub fn observation_period(&self) -> Duration {
        Duration::from_secs(self.observation_period_secs)
    }

    /// Whether `table` (a name in [`CleanupConfig::schema`]) is published by the sync.
    pub fn is_protected(&self, table: &str) -> bool {
        self.protected_tables.iter().any(|p| {
            let name = match p.split_once('.') {
                Some((schema, name)) if schema == self.schema => name,
                Some(_) => return false,
                None => p.as_str(),
            };
            name == table
        })
    }
}

/// Phase 2: which `his*` tables move to `audit_log`.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HistoryConfig {
    /// A `his*` table with more rows than this is Tier 2 (kept as a dedicated table).
    pub tier1_max_rows: i64,
    /// A `his*` table changing more often than this (rows per month over the last year) is
    /// Tier 2.
    pub tier1_max_rows_per_month: f64,
    /// The 18 high-value tables always kept (regulatory/compliance; seed 001 P2-S3-07, seed
    /// 002 §3 names hiscontrato, hisfactura, hismovccontrato); they get `hst_id`,
    /// `hst_operation` and a `(key, hsthora DESC)` index instead.
    pub keep: Vec<String>,
    /// When set, only these Tier 1 tables are migrated (for example the five pilots of
    /// P2-S1-07); otherwise every Tier 1 table is.
    pub only: Option<Vec<String>>,
    /// Base table of a history table when it is not the name without `his` (`hisdirec` →
    /// `direccion`), as `[history, base]` pairs.
    pub base_overrides: Vec<(String, String)>,
}

impl Default for HistoryConfig {
    fn default() -> Self {
        HistoryConfig {
            tier1_max_rows: 100_000,
            tier1_max_rows_per_month: 1_000.0,
            keep: strings(&[
                "hiscontrato",
                "hisfactura",
                "hismovccontrato",
                "hispersona",
                "hisptoserv",
                "hiscontado",
                "hisorden",
                "hisexpedsif",
                "hisopecargest",
                "hislectura",
                "hisaplictarif",
                "histarifa",
                "hisconcepto",
                "hiscliente",
                "hisservicio",
                "hisacometida",
                "hisremesa",
                "hisrecargo",
            ]),
            only: None,
            base_overrides: Vec::new(),
        }
    }
}

/// Phase 2: the lookup tables of seed 001 Sprint 4.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct LookupConfig {
    /// The 26 pure two-column tables (P2-S3-09).
    pub simple: Vec<String>,
    /// The 15 simple extended tables, extra columns into `dv_extra_json` (P2-S4-04).
    pub extended: Vec<String>,
    /// The 10 junction tables into `domain_value_link` (P2-S4-05).
    pub links: Vec<String>,
    /// The 12 complex tables that stay untouched (P2-S4-09).
    pub complex: Vec<String>,
}

fn strings(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

impl Default for LookupConfig {
    fn default() -> Self {
        LookupConfig {
            simple: strings(&[
                "tipocatcalle",
                "tipocorreo",
                "tipooperacion",
                "tipositcalle",
                "tipositver",
                "tipotarifasocial",
                "tipoqueja",
                "tipoindem",
                "tippersautoriz",
                "tipcontmtr",
                "tipofacturaext",
                "estadofraude",
                "estadosjuicios",
                "tipoalarmatel",
                "tipoatencion",
                "tipoesttec",
                "tipogestcobro",
                "tipoincide",
                "tiposervicio",
                "tiposubrogacion",
                "estadossicer",
                "estadomotrec",
                "tipocsc",
                "tiporecface",
                "tipvalvula",
                "tipocontador",
            ]),
            extended: strings(&[
                "tipolicver",
                "tipocptocobro",
                "tipooficina",
                "tiposoci",
                "tiposobre",
                "tipotarifa",
                "tipoelem",
                "tipfraude",
                "tipgesdeud",
                "tipimpues",
                "tiposubcon",
                "tipoobs",
                "estfirmaelectronica",
                "estopeplatfirma",
                "estpersautoriz",
            ]),
            links: strings(&[
                "tipoactsucsif",
                "tipoenvfac",
                "tipoordenperf",
                "tipptoservtao",
                "tipovarepi",
                "tipoviaaca",
                "tipliqsoc",
                "tipfacgasrec",
                "tipfichtao",
                "tipobonifdoc",
            ]),
            complex: strings(&[
                "tipocontratcn",
                "tiposolaco",
                "tipodocumento",
                "tipobonif",
                "tiporegulf",
                "tipomensaj",
                "tipovariable",
                "tiposumin",
                "tipounidad",
                "tipoconcep",
                "tipoorden",
                "tipasiento",
            ]),
        }
    }
}

/// Final cleanup (seed 004): what the stakeholders approved.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct FinalConfig {
    /// Tables approved for archive-then-remove (task_123). Empty: nothing is removed.
    pub approved_for_removal: Vec<String>,
    /// Constraints approved for addition (task_126), added `NOT VALID` then validated.
    pub constraints: Vec<ConstraintSpec>,
    /// Columns that must not be NULL, reported by the integrity check (`table.column`).
    pub required_columns: Vec<String>,
}

/// A constraint to add in the final cleanup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConstraintSpec {
    /// Table that gets the constraint.
    pub table: String,
    /// Constraint name.
    pub name: String,
    /// What it is.
    pub kind: ConstraintKind,
}

/// The constraint kinds that can be added `NOT VALID`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum ConstraintKind {
    /// `FOREIGN KEY (columns) REFERENCES references (referenced_columns)`.
    ForeignKey {
        /// Referencing columns.
        columns: Vec<String>,
        /// Referenced table (same schema).
        references: String,
        /// Referenced columns.
        referenced_columns: Vec<String>,
    },
    /// `CHECK (column IS NOT NULL)` — the NOT NULL of seed 004 task_126, added without a
    /// full-table lock.
    NotNull {
        /// The column.
        column: String,
    },
}

#[cfg(test)]
mod tests {
    use super::CleanupConfig;

    #[test]
    fn protected_names_may_be_qualified() {
        let c = CleanupConfig {
            protected_tables: [
                "persona".into(),
                "cf_quere_pro.contrato".into(),
                "otro.factura".into(),
            ]
            .into(),
            ..CleanupConfig::default()
        };
        assert!(c.is_protected("persona"));
        assert!(c.is_protected("contrato"));
        assert!(!c.is_protected("factura"));
        assert_eq!(c.lookups.simple.len(), 26);
        assert_eq!(c.lookups.extended.len(), 15);
        assert_eq!(c.lookups.links.len(), 10);
        assert_eq!(c.lookups.complex.len(), 12);
        assert_eq!(c.history.keep.len(), 18);
    }
}
