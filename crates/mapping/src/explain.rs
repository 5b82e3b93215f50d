//! `explain`: where each SUPRA (and, for bidirectional entities, legacy) value comes from,
//! column by column, for a DBA reading a mapping.

use std::fmt::Write as _;

use crate::compile::{Node, visit};
use crate::entity::{ColumnProg, EntityMapping};
use crate::set::MappingSet;
use crate::spec::{DeletePolicy, Direction, IdStrategy};

fn reads(c: &ColumnProg, names: &[Vec<String>], qualifiers: &[String]) -> String {
    let mut cols: Vec<String> = Vec::new();
    visit(&c.node, &mut |n| {
        if let Node::Col { src, slot } = n {
            let q = &qualifiers[*src];
            let s = format!("{q}.{}", names[*src][*slot]);
            if !cols.contains(&s) {
                cols.push(s);
            }
        }
    });
    if cols.is_empty() {
        "(constant)".into()
    } else {
        cols.join(", ")
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn columns(
    out: &mut String,
    cols: &[ColumnProg],
    names: &[Vec<String>],
    qualifiers: &[String],
    file: &str,
) {
    let width = cols.iter().map(|c| c.column.len()).max().unwrap_or(0);
    for c in cols {
        let _ = writeln!(
            out,
            "  {:width$} ← {}\n  {:width$}   reads {}  ({file}:{})",
            c.column,
            one_line(&c.src.text),
            "",
            reads(c, names, qualifiers),
            c.src.loc.line,
        );
    }
}

impl MappingSet {
    /// Column-by-column provenance of an entity, as text; `None` for an unknown entity.
    pub fn explain(&self, entity: &str) -> Option<String> {
        let e = self.entity(entity)?;
        Some(explain_entity(e))
    }
}

pub(crate) fn explain_entity(e: &EntityMapping) -> String {
    let mut out = String::new();
    let file = e.file().display().to_string();
    let dir = match e.direction {
        Direction::Bidirectional => "bidirectional",
        Direction::LegacyToSupra => "legacy → SUPRA",
    };
    let _ = writeln!(
        out,
        "entity {} ({file}) — {dir}, conflicts: {:?}",
        e.name, e.conflicts
    );
    for (c, side) in &e.overrides {
        let _ = writeln!(out, "  conflict override: {c} → {side} wins");
    }
    let _ = writeln!(
        out,
        "legacy {} key ({})",
        e.legacy_table,
        e.legacy_key.join(", ")
    );
    for j in &e.joins {
        let on: Vec<String> = j
            .on_names
            .iter()
            .map(|(a, b)| format!("{}.{a} = {b}", j.alias))
            .collect();
        let _ = writeln!(
            out,
            "  LEFT JOIN {} AS {} ON {} (role Secondary)",
            j.table,
            j.alias,
            on.join(" AND ")
        );
    }
    let supra: Vec<String> = e.supra_tables.iter().map(ToString::to_string).collect();
    let _ = writeln!(out, "SUPRA {} — tenant '{}'", supra.join(" + "), e.tenant);
    if let Some(s) = &e.id_strategy {
        let _ = match s {
            IdStrategy::Sequence(q) => {
                writeln!(out, "rows born in SUPRA get legacy ids from sequence {q}")
            }
            IdStrategy::Range { start, end } => writeln!(
                out,
                "rows born in SUPRA get legacy ids from the reserved range {start}..={end}"
            ),
        };
    }
    let del = match &e.delete {
        DeletePolicy::Delete => "delete the SUPRA row(s)".to_string(),
        DeletePolicy::Ignore => "ignored".to_string(),
        DeletePolicy::SoftDelete { column, value } => {
            format!("set {column} = {}", value.to_text().unwrap_or_default())
        }
    };
    let _ = writeln!(out, "legacy delete: {del}; truncate: {:?}", e.truncate);
    if !e.depends_on.is_empty() {
        let _ = writeln!(out, "depends on: {}", e.depends_on.join(", "));
    }
    let mut qualifiers = vec![e.legacy_table.name.clone()];
    qualifiers.extend(e.joins.iter().map(|j| j.alias.clone()));
    let _ = writeln!(out, "\nforward → {}", e.supra_tables[0]);
    let _ = writeln!(
        out,
        "  {} ← SUPRA id of {} via sync_mappings (new rows: UUIDv5 of the legacy key)",
        e.supra_id_column, e.name
    );
    if let Some(t) = &e.tenant_column {
        let _ = writeln!(out, "  {t} ← id of tenant '{}'", e.tenant);
    }
    columns(&mut out, &e.forward, &e.slots.names, &qualifiers, &file);
    for c in &e.children {
        let _ = writeln!(
            out,
            "  {} ← JSONB array of {} rows where {} (role Child), ordered by {}:",
            c.into,
            c.table,
            c.on_names
                .iter()
                .map(|(a, b)| format!("{a} = {b}"))
                .collect::<Vec<_>>()
                .join(" AND "),
            if c.order_by.is_empty() {
                "-".to_string()
            } else {
                c.order_by.join(", ")
            }
        );
        columns(
            &mut out,
            &c.element,
            &c.slots.names,
            std::slice::from_ref(&c.table.name),
            &file,
        );
    }
    for a in &e.also {
        let _ = writeln!(
            out,
            "\nforward → {} (one row per {}; upsert on {})",
            a.table,
            e.name,
            a.conflict.join(", ")
        );
        if let Some(id) = &a.id_column {
            let _ = writeln!(out, "  {id} ← UUIDv5 derived from the {} id", e.name);
        }
        columns(&mut out, &a.columns, &e.slots.names, &qualifiers, &file);
    }
    if let Some(r) = &e.reverse {
        let _ = writeln!(
            out,
            "\nreverse → {} (upsert on {})",
            e.legacy_table,
            e.legacy_key.join(", ")
        );
        columns(
            &mut out,
            &r.columns,
            &r.slots.names,
            std::slice::from_ref(&e.supra_tables[0].name),
            &file,
        );
    }
    out
}
