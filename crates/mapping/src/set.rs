//! [`MappingSet`]: every entity of a `mappings/` directory, validated and in dependency order.

use std::path::{Path, PathBuf};

use supra_sync_core::{Side, TableName};

use crate::context::{Role, Route};
use crate::diag::{Diagnostic, Diagnostics};
use crate::entity::{EntityMapping, build};
use crate::parse::parse_file;
use crate::spec::Direction;
use crate::validate;

/// All mapped entities, in dependency order (an entity comes after those it references).
#[derive(Debug)]
pub struct MappingSet {
    entities: Vec<EntityMapping>,
}

impl MappingSet {
    /// Reads every `*.toml` file of `dir` (sorted by name), parses and validates them.
    /// Returns every problem found, not just the first.
    pub fn load_dir(dir: &Path) -> Result<MappingSet, Diagnostics> {
        let read_err = |e: std::io::Error, file: &Path| {
            Diagnostics(vec![Diagnostic {
                file: file.to_path_buf(),
                line: 0,
                field: "file".into(),
                message: format!("cannot read: {e}"),
                hint: None,
            }])
        };
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)
            .map_err(|e| read_err(e, dir))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        let mut files = Vec::with_capacity(paths.len());
        for p in paths {
            let text = std::fs::read_to_string(&p).map_err(|e| read_err(e, &p))?;
            files.push((p, text));
        }
        MappingSet::from_sources(&files)
    }

    /// Same as [`MappingSet::load_dir`], from (path, content) pairs.
    pub fn from_sources(files: &[(PathBuf, String)]) -> Result<MappingSet, Diagnostics> {
        let mut diags = Diagnostics::default();
        let specs: Vec<_> = files
            .iter()
            .filter_map(|(p, s)| parse_file(p, s, &mut diags))
            .collect();
        let specs = validate::expand(specs, &mut diags);
        validate::check(&specs, &mut diags);
        let names: Vec<String> = specs.iter().map(|s| s.name.clone()).collect();
        let mut built: Vec<EntityMapping> = specs
            .iter()
            .filter_map(|s| build(s, &names, None, &mut diags))
            .collect();
        let deps: Vec<(String, Vec<String>)> = built
            .iter()
            .map(|e| (e.name.clone(), e.depends_on.clone()))
            .collect();
        match validate::order(&deps) {
            Ok(order) => {
                let mut slots: Vec<Option<EntityMapping>> = built.drain(..).map(Some).collect();
                built = order.into_iter().filter_map(|i| slots[i].take()).collect();
            }
            Err(cycles) => {
                for cycle in cycles {
                    for name in &cycle {
                        if let Some(e) = built.iter().find(|e| e.name == *name) {
                            let f = &e.spec.file;
                            let loc = f
                                .depends_on
                                .first()
                                .map(|(_, l)| l.clone())
                                .unwrap_or_else(|| e.spec.loc.clone());
                            diags.push(Diagnostic {
                                file: f.path.clone(),
                                line: loc.line,
                                field: if f.depends_on.is_empty() { "forward".into() } else { "depends_on".into() },
                                message: format!("dependency cycle among entities: {}", cycle.join(" → ")),
                                hint: Some("an entity cannot (indirectly) reference itself through ref()/depends_on".into()),
                            });
                        }
                    }
                }
            }
        }
        if diags.is_empty() {
            Ok(MappingSet { entities: built })
        } else {
            diags.sort();
            Err(diags)
        }
    }

    /// All entities, in dependency order (persona before contrato, …).
    pub fn entities(&self) -> &[EntityMapping] {
        &self.entities
    }

    /// One entity by name.
    pub fn entity(&self, name: &str) -> Option<&EntityMapping> {
        self.entities.iter().find(|e| e.name == name)
    }

    /// Which entities a change to `table` on `side` feeds, and in which role. On the legacy
    /// side a table may be Primary for one entity and Secondary/Child for others; on the SUPRA
    /// side only the primary SUPRA table of a bidirectional entity routes (role Primary).
    /// For a Secondary/Child change (deletes included), call `forward_needs` on the changed
    /// row: its `parent` names the primary row to recompute.
    pub fn routes_for(&self, side: Side, table: &TableName) -> Vec<Route> {
        let mut out = Vec::new();
        for e in &self.entities {
            let route = |role| Route {
                entity: e.name.clone(),
                role,
            };
            match side {
                Side::Legacy => {
                    if e.legacy_table == *table {
                        out.push(route(Role::Primary));
                    }
                    if e.joins
                        .iter()
                        .any(|j| j.table == *table && j.covers(&e.legacy_key))
                    {
                        out.push(route(Role::Secondary));
                    }
                    if e.children.iter().any(|c| c.table == *table) {
                        out.push(route(Role::Child));
                    }
                }
                Side::Supra => {
                    if e.direction == Direction::Bidirectional && e.supra_tables[0] == *table {
                        out.push(route(Role::Primary));
                    }
                }
            }
        }
        out
    }

    /// Every legacy table read by some entity (primary, joined or child), without duplicates:
    /// what the legacy publication must contain.
    pub fn legacy_tables(&self) -> Vec<TableName> {
        let mut out: Vec<TableName> = Vec::new();
        for e in &self.entities {
            let all = std::iter::once(&e.legacy_table)
                .chain(e.joins.iter().map(|j| &j.table))
                .chain(e.children.iter().map(|c| &c.table));
            for t in all {
                if !out.contains(t) {
                    out.push(t.clone());
                }
            }
        }
        out
    }

    /// The primary SUPRA tables of bidirectional entities: what the SUPRA publication must contain.
    pub fn supra_tables(&self) -> Vec<TableName> {
        self.entities
            .iter()
            .filter(|e| e.direction == Direction::Bidirectional)
            .map(|e| e.supra_tables[0].clone())
            .collect()
    }
}
