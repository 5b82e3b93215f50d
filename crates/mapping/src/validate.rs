//! Pure validation: everything that can be known without a database. Collects every problem.
//!
//! * family files (`[[sources]]`) expand into one entity per source table;
//! * entity names are unique; `depends_on` names mapped entities; dependencies have no cycle;
//! * every expression parses and compiles (functions exist, arity, `ref()` targets mapped);
//! * a target column is assigned once per table (the id and tenant columns are set
//!   automatically and may not be assigned);
//! * a bidirectional entity has `[reverse]`, an id strategy, and its reverse covers the legacy
//!   key; `[reverse]` appears only on bidirectional entities;
//! * conflict overrides name forward columns.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use crate::diag::{Diagnostic, Diagnostics, did_you_mean};
use crate::entity::EntitySpec;
use crate::spec::{ColumnSpec, Direction, FileSpec, Loc};

fn diag(file: &FileSpec, loc: &Loc, message: String, hint: Option<String>) -> Diagnostic {
    Diagnostic {
        file: file.path.clone(),
        line: loc.line,
        field: loc.field.clone(),
        message,
        hint,
    }
}

/// Expands files into entity specs (one per `[[sources]]` entry for family files).
pub(crate) fn expand(files: Vec<FileSpec>, diags: &mut Diagnostics) -> Vec<EntitySpec> {
    let mut out = Vec::new();
    for f in files {
        let f = Arc::new(f);
        if f.sources.is_empty() {
            out.push(EntitySpec {
                name: f.entity.clone(),
                legacy_table: f.legacy_table.clone().unwrap_or_default(),
                legacy_key: f.legacy_key.clone(),
                vars: Vec::new(),
                loc: f.entity_loc.clone(),
                file: f,
            });
            continue;
        }
        for s in &f.sources {
            let mut vars = s.vars.clone();
            for (n, v) in &f.vars_default {
                if !vars.iter().any(|(m, _)| m == n) {
                    vars.push((n.clone(), v.clone()));
                }
            }
            let short = s.table.rsplit('.').next().unwrap_or(&s.table).to_string();
            if s.table.is_empty() {
                diags.push(diag(&f, &s.loc, "source without a table".into(), None));
                continue;
            }
            out.push(EntitySpec {
                name: s.entity.clone().unwrap_or(short),
                legacy_table: s.table.clone(),
                legacy_key: s.key.clone(),
                vars,
                loc: s.loc.clone(),
                file: f.clone(),
            });
        }
    }
    out
}

/// Structural checks over all entity specs.
pub(crate) fn check(specs: &[EntitySpec], diags: &mut Diagnostics) {
    let names: Vec<&str> = specs.iter().map(|s| s.name.as_str()).collect();
    let mut seen: BTreeMap<&str, &EntitySpec> = BTreeMap::new();
    for s in specs {
        if let Some(first) = seen.insert(&s.name, s) {
            diags.push(diag(
                &s.file,
                &s.loc,
                format!("duplicate entity `{}`", s.name),
                Some(format!("already defined in {}", first.file.path.display())),
            ));
        }
    }
    let mut checked_files = BTreeSet::new();
    for s in specs {
        if checked_files.insert(s.file.path.clone()) {
            check_file(&s.file, &names, diags);
        }
        if s.legacy_key.is_empty() {
            diags.push(diag(
                &s.file,
                &s.loc,
                format!("entity `{}` has no legacy key", s.name),
                None,
            ));
        }
        if let Some(rev) = &s.file.reverse {
            for k in &s.legacy_key {
                if !rev.iter().any(|c| c.column == *k) {
                    diags.push(diag(
                        &s.file,
                        &s.file.reverse_loc,
                        format!("[reverse] does not produce legacy key column `{k}`"),
                        Some(format!(
                            "add `{k} = \"to_numeric(legacy_key())\"` (or the key's own cast)"
                        )),
                    ));
                }
            }
        }
    }
}

fn duplicate_columns(
    f: &FileSpec,
    cols: &[ColumnSpec],
    reserved: &[(&str, &str)],
    diags: &mut Diagnostics,
) {
    let mut seen = BTreeSet::new();
    for c in cols {
        if !seen.insert(c.column.as_str()) {
            diags.push(diag(
                f,
                &c.expr.loc,
                format!("duplicate target column `{}`", c.column),
                None,
            ));
        }
        if let Some((_, why)) = reserved.iter().find(|(r, _)| *r == c.column) {
            diags.push(diag(
                f,
                &c.expr.loc,
                format!("duplicate target column `{}`: {why}", c.column),
                Some("remove this line".into()),
            ));
        }
    }
}

fn check_file(f: &FileSpec, entities: &[&str], diags: &mut Diagnostics) {
    let id_why = "it is set automatically to the entity's SUPRA id";
    let tenant_why = "it is set automatically to the configured tenant";
    let mut reserved = vec![(f.supra_id_column.as_str(), id_why)];
    if let Some(t) = &f.tenant_column {
        reserved.push((t.as_str(), tenant_why));
    }
    duplicate_columns(f, &f.forward, &reserved, diags);
    for c in &f.children {
        if f.forward.iter().any(|fc| fc.column == c.into)
            || reserved.iter().any(|(r, _)| *r == c.into)
        {
            diags.push(diag(
                f,
                &c.into_loc,
                format!(
                    "duplicate target column `{}`: also assigned in [forward]",
                    c.into
                ),
                None,
            ));
        }
        if c.element.is_empty() {
            diags.push(diag(
                f,
                &c.loc,
                "children need an [children.element] table of key = expression".into(),
                None,
            ));
        }
    }
    let mut also_tables = BTreeSet::new();
    for a in &f.also {
        if a.table == f.supra_table || !also_tables.insert(a.table.as_str()) {
            diags.push(diag(
                f,
                &a.loc,
                format!("SUPRA table `{}` is written twice", a.table),
                Some("put all its columns in one section".into()),
            ));
        }
        let mut reserved_also: Vec<(&str, &str)> = a
            .id_column
            .iter()
            .map(|c| (c.as_str(), "it is derived from the entity's SUPRA id"))
            .collect();
        if let Some(t) = &f.tenant_column {
            reserved_also.push((t.as_str(), tenant_why));
        }
        duplicate_columns(f, &a.forward, &reserved_also, diags);
        if a.conflict.is_empty() {
            diags.push(diag(
                f,
                &a.loc,
                "an [[also]] table needs conflict columns or an id column".into(),
                None,
            ));
        }
    }
    if let Some(rev) = &f.reverse {
        duplicate_columns(f, rev, &[], diags);
    }
    for (d, loc) in &f.depends_on {
        if !entities.contains(&d.as_str()) {
            diags.push(diag(
                f,
                loc,
                format!("depends_on names an unmapped entity `{d}`"),
                did_you_mean(d, entities.iter().copied()),
            ));
        }
    }
    for (col, _, loc) in &f.conflict_overrides {
        if !f.forward.iter().any(|c| c.column == *col) && !f.children.iter().any(|c| c.into == *col)
        {
            diags.push(diag(
                f,
                loc,
                format!("conflict override for `{col}`, which [forward] does not write"),
                did_you_mean(col, f.forward.iter().map(|c| c.column.as_str())),
            ));
        }
    }
    match (f.direction, &f.reverse) {
        (Direction::Bidirectional, None) => diags.push(diag(
            f,
            &f.direction_loc,
            "bidirectional entity without [reverse]".into(),
            Some("add [reverse] with legacy column = expression over SUPRA columns".into()),
        )),
        (Direction::LegacyToSupra, Some(_)) => diags.push(diag(
            f,
            &f.reverse_loc,
            "[reverse] on an entity that is not bidirectional".into(),
            Some("set direction = \"bidirectional\" or remove [reverse]".into()),
        )),
        _ => {}
    }
    if f.direction == Direction::Bidirectional && f.id_strategy.is_none() {
        diags.push(diag(f, &f.legacy_loc, "bidirectional entity without an id strategy for rows born in SUPRA".into(),
            Some("[legacy] id = { sequence = \"cf_quere_pro.seq_x\" } or id = { range = [900000000, 999999999] }".into())));
    }
    if f.direction == Direction::Bidirectional && !f.sources.is_empty() {
        diags.push(diag(
            f,
            &f.direction_loc,
            "a family of [[sources]] cannot be bidirectional".into(),
            None,
        ));
    }
    if f.legacy_table.as_deref().is_some_and(|t| !t.contains('.')) {
        diags.push(diag(
            f,
            &f.legacy_loc,
            "legacy table must be schema-qualified".into(),
            Some("table = \"cf_quere_pro.persona\"".into()),
        ));
    }
    if f.supra_table.is_empty() || f.tenant.is_empty() {
        // already reported as missing keys
    }
}

/// Orders entities so that each comes after the entities it depends on; reports cycles.
/// Ties keep the input order.
pub(crate) fn order(deps: &[(String, Vec<String>)]) -> Result<Vec<usize>, Vec<Vec<String>>> {
    let n = deps.len();
    let index: BTreeMap<&str, usize> = deps
        .iter()
        .enumerate()
        .map(|(i, (name, _))| (name.as_str(), i))
        .collect();
    let mut done = vec![false; n];
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let next = (0..n).find(|&i| {
            !done[i]
                && deps[i]
                    .1
                    .iter()
                    .all(|d| index.get(d.as_str()).is_none_or(|&j| done[j] || j == i))
        });
        match next {
            Some(i) => {
                done[i] = true;
                out.push(i);
            }
            None => {
                let stuck: Vec<String> = (0..n)
                    .filter(|&i| !done[i])
                    .map(|i| deps[i].0.clone())
                    .collect();
                return Err(vec![stuck]);
            }
        }
    }
    Ok(out)
}
