//! What `supra-sync mappings check [--db]` and `supra-sync mappings explain <entity>` print,
//! and their exit status. The CLI only wires arguments and connections to these functions.

use std::path::Path;

use crate::diag::Diagnostics;
use crate::set::MappingSet;

/// A report and the process exit status that goes with it.
#[derive(Debug, Clone)]
pub struct CheckOutcome {
    /// Text to print (diagnostics one per line, then a summary line).
    pub report: String,
    /// 0 when everything is fine, 1 when any problem was found.
    pub exit_code: i32,
    /// The problems found.
    pub diagnostics: Diagnostics,
}

impl CheckOutcome {
    fn from(diagnostics: Diagnostics, ok_summary: String) -> CheckOutcome {
        let n = diagnostics.len();
        let mut report = diagnostics.to_string();
        if n == 0 {
            report.push_str(&ok_summary);
        } else {
            report.push_str(&format!(
                "{n} problem{} found\n",
                if n == 1 { "" } else { "s" }
            ));
        }
        CheckOutcome {
            report,
            exit_code: i32::from(n > 0),
            diagnostics,
        }
    }
}

fn loaded(set: &MappingSet) -> String {
    let files: std::collections::BTreeSet<_> = set
        .entities()
        .iter()
        .map(|e| e.file().to_path_buf())
        .collect();
    format!(
        "ok: {} entities in {} files\n",
        set.entities().len(),
        files.len()
    )
}

/// `mappings check`: parse and validate every file of `dir` (no database).
pub fn check_dir(dir: &Path) -> CheckOutcome {
    match MappingSet::load_dir(dir) {
        Ok(set) => CheckOutcome::from(Diagnostics::default(), loaded(&set)),
        Err(d) => CheckOutcome::from(d, String::new()),
    }
}

/// `mappings check --db`: the pure check, then the live catalog check of both databases.
pub async fn check_dir_with_db(
    dir: &Path,
    legacy: &tokio_postgres::Client,
    supra: &tokio_postgres::Client,
) -> CheckOutcome {
    match MappingSet::load_dir(dir) {
        Ok(set) => {
            let d = set.check_catalog(legacy, supra).await;
            let summary = format!("{}ok: the mappings match both catalogs\n", loaded(&set));
            CheckOutcome::from(d, summary)
        }
        Err(d) => CheckOutcome::from(d, String::new()),
    }
}

/// `mappings explain <entity>`: column-by-column provenance, or the problems / an unknown
/// entity message with exit status 1.
pub fn explain_dir(dir: &Path, entity: &str) -> CheckOutcome {
    match MappingSet::load_dir(dir) {
        Ok(set) => match set.explain(entity) {
            Some(text) => CheckOutcome {
                report: text,
                exit_code: 0,
                diagnostics: Diagnostics::default(),
            },
            None => {
                let names: Vec<&str> = set.entities().iter().map(|e| e.name()).collect();
                let hint =
                    crate::diag::did_you_mean(entity, names.iter().copied()).unwrap_or_default();
                CheckOutcome {
                    report: format!(
                        "unknown entity `{entity}` {hint}\nentities: {}\n",
                        names.join(", ")
                    ),
                    exit_code: 1,
                    diagnostics: Diagnostics::default(),
                }
            }
        },
        Err(d) => CheckOutcome::from(d, String::new()),
    }
}
