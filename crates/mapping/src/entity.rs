//! [`EntityMapping`]: one compiled entity — its tables, policies and expression programs.
//!
//! Building one ([`build`]) parses and compiles every expression of its spec; the same code
//! runs again with catalog column types during the live check (see [`crate::catalog`]).

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use supra_sync_core::{PgType, Side, TableName};

use crate::compile::{Binder, CompileError, Node, Scope, Slots, Ty, compile, visit};
use crate::diag::{Diagnostic, Diagnostics};
use crate::expr::{self, Expr, ExprKind};
use crate::spec::*;

/// One entity after family expansion: what [`build`] compiles.
#[derive(Debug, Clone)]
pub(crate) struct EntitySpec {
    pub(crate) name: String,
    pub(crate) file: Arc<FileSpec>,
    pub(crate) legacy_table: String,
    pub(crate) legacy_key: Vec<String>,
    /// Template variables (`$name`) for family files.
    pub(crate) vars: Vec<(String, ExprSrc)>,
    pub(crate) loc: Loc,
}

/// A compiled target column.
#[derive(Debug, Clone)]
pub(crate) struct ColumnProg {
    pub(crate) column: String,
    pub(crate) node: Node,
    pub(crate) ty: Ty,
    pub(crate) src: ExprSrc,
}

/// A joined legacy table.
#[derive(Debug)]
pub(crate) struct JoinProg {
    pub(crate) table: TableName,
    pub(crate) alias: String,
    /// (joined column, slot of the entity column in source 0).
    pub(crate) on: Vec<(String, usize)>,
    /// (joined column, entity column).
    pub(crate) on_names: Vec<(String, String)>,
    pub(crate) binder: Binder,
}

/// An `[[also]]` SUPRA table.
#[derive(Debug)]
pub(crate) struct AlsoProg {
    pub(crate) table: TableName,
    pub(crate) id_column: Option<String>,
    pub(crate) conflict: Vec<String>,
    pub(crate) columns: Vec<ColumnProg>,
    pub(crate) column_names: Vec<String>,
    pub(crate) loc: Loc,
}

/// A `[[children]]` aggregation.
#[derive(Debug)]
pub(crate) struct ChildProg {
    pub(crate) table: TableName,
    pub(crate) on: Vec<(String, usize)>,
    pub(crate) on_names: Vec<(String, String)>,
    pub(crate) order_by: Vec<String>,
    pub(crate) into: String,
    pub(crate) element: Vec<ColumnProg>,
    pub(crate) slots: Slots,
    pub(crate) binder: Binder,
    pub(crate) loc: Loc,
}

/// The `[reverse]` program.
#[derive(Debug)]
pub(crate) struct ReverseProg {
    pub(crate) columns: Vec<ColumnProg>,
    pub(crate) column_names: Vec<String>,
    pub(crate) slots: Slots,
    pub(crate) id_slot: usize,
    pub(crate) tenant_slot: Option<usize>,
    pub(crate) legacy_refs: Vec<(String, Node)>,
    pub(crate) binder: Binder,
}

/// One synced entity: how rows of a legacy table become SUPRA rows (and back).
#[derive(Debug)]
pub struct EntityMapping {
    pub(crate) name: String,
    pub(crate) spec: EntitySpec,
    pub(crate) direction: Direction,
    pub(crate) conflicts: ConflictPolicy,
    pub(crate) overrides: BTreeMap<String, Side>,
    pub(crate) legacy_table: TableName,
    pub(crate) legacy_key: Vec<String>,
    pub(crate) supra_tables: Vec<TableName>,
    pub(crate) supra_id_column: String,
    pub(crate) supra_conflict: Vec<String>,
    pub(crate) tenant_column: Option<String>,
    pub(crate) truncate: TruncatePolicy,
    pub(crate) delete: DeletePolicy,
    pub(crate) depends_on: Vec<String>,
    pub(crate) id_strategy: Option<IdStrategy>,
    pub(crate) tenant: String,
    pub(crate) slots: Slots,
    pub(crate) key_slots: Vec<usize>,
    pub(crate) forward: Vec<ColumnProg>,
    pub(crate) primary_columns: Vec<String>,
    pub(crate) refs: Vec<(String, Vec<Node>)>,
    pub(crate) joins: Vec<JoinProg>,
    pub(crate) also: Vec<AlsoProg>,
    pub(crate) children: Vec<ChildProg>,
    pub(crate) reverse: Option<ReverseProg>,
    pub(crate) binder: Binder,
}

impl EntityMapping {
    /// Entity name (the `sync_mappings.entity_type`).
    pub fn name(&self) -> &str {
        &self.name
    }
    /// The mapping file it comes from.
    pub fn file(&self) -> &Path {
        &self.spec.file.path
    }
    /// Sync direction.
    pub fn direction(&self) -> Direction {
        self.direction
    }
    /// Default conflict policy.
    pub fn conflicts(&self) -> ConflictPolicy {
        self.conflicts
    }
    /// Per-SUPRA-column overrides of the conflict policy: which side wins for that column.
    pub fn conflict_overrides(&self) -> &BTreeMap<String, Side> {
        &self.overrides
    }
    /// The legacy table whose rows are the entity.
    pub fn legacy_table(&self) -> &TableName {
        &self.legacy_table
    }
    /// Its key columns.
    pub fn legacy_key(&self) -> &[String] {
        &self.legacy_key
    }
    /// SUPRA tables written, the primary one first.
    pub fn supra_tables(&self) -> &[TableName] {
        &self.supra_tables
    }
    /// The SUPRA id column of the primary SUPRA table (`id`).
    pub fn supra_id_column(&self) -> &str {
        &self.supra_id_column
    }
    /// The SUPRA tenant column (`tenant_id`), if the tables have one.
    pub fn tenant_column(&self) -> Option<&str> {
        self.tenant_column.as_deref()
    }
    /// What a legacy TRUNCATE does.
    pub fn truncate_policy(&self) -> TruncatePolicy {
        self.truncate
    }
    /// What a legacy DELETE does.
    pub fn delete_policy(&self) -> &DeletePolicy {
        &self.delete
    }
    /// Entities that must be synced first (explicit `depends_on` plus every `ref()` target).
    pub fn depends_on(&self) -> &[String] {
        &self.depends_on
    }
    /// How rows born in SUPRA get a legacy id (bidirectional entities).
    pub fn id_strategy(&self) -> Option<&IdStrategy> {
        self.id_strategy.as_ref()
    }
    /// Tenant code (`[supra] tenant`).
    pub fn tenant(&self) -> &str {
        &self.tenant
    }
    /// Legacy tables joined in (Secondary role).
    pub fn secondary_tables(&self) -> Vec<&TableName> {
        self.joins.iter().map(|j| &j.table).collect()
    }
    /// Legacy tables aggregated (Child role).
    pub fn child_tables(&self) -> Vec<&TableName> {
        self.children.iter().map(|c| &c.table).collect()
    }
    /// SUPRA columns written to the primary SUPRA table, in order (id and tenant first).
    pub fn supra_columns(&self) -> &[String] {
        &self.primary_columns
    }

    /// The SUPRA columns that make up a row's synced image (what conflict checks compare and
    /// `sync_mappings.last_synced_hash` hashes): the written columns minus the id and tenant.
    pub fn compared_supra_columns(&self) -> Vec<String> {
        self.primary_columns
            .iter()
            .filter(|c| {
                c.as_str() != self.supra_id_column && Some(c.as_str()) != self.tenant_column()
            })
            .cloned()
            .collect()
    }

    /// Legacy columns written by `[reverse]` (empty for one-way entities).
    pub fn reverse_columns(&self) -> &[String] {
        self.reverse
            .as_ref()
            .map_or(&[], |r| r.column_names.as_slice())
    }
}

/// Parses, substitutes template variables and compiles one expression source, reporting
/// problems as diagnostics.
pub(crate) fn compile_src(
    src: &ExprSrc,
    spec: &EntitySpec,
    scope: &Scope<'_>,
    slots: &mut Slots,
    diags: &mut Diagnostics,
) -> Option<(Node, Ty)> {
    let file = &spec.file.path;
    let push = |diags: &mut Diagnostics,
                at: &ExprSrc,
                pos: usize,
                message: String,
                hint: Option<String>| {
        diags.push(Diagnostic {
            file: file.clone(),
            line: at.line_at(pos),
            field: at.loc.field.clone(),
            message: format!("{message} (column {})", at.column_at(pos)),
            hint,
        })
    };
    let mut e = match expr::parse(&src.text) {
        Ok(e) => e,
        Err(err) => {
            push(
                diags,
                src,
                err.pos,
                format!("bad expression: {}", err.message),
                None,
            );
            return None;
        }
    };
    let short = spec
        .legacy_table
        .rsplit('.')
        .next()
        .unwrap_or(&spec.legacy_table)
        .to_string();
    let mut var_failed = false;
    let lookup = |name: &str| -> Option<Expr> {
        if name == "table" {
            return Some(Expr {
                kind: ExprKind::Str(short.clone()),
                pos: 0,
            });
        }
        let (_, v) = spec.vars.iter().find(|(n, _)| n == name)?;
        expr::parse(&v.text).ok()
    };
    for (name, v) in &spec.vars {
        if let Err(err) = expr::parse(&v.text) {
            push(
                diags,
                v,
                err.pos,
                format!("bad expression in variable `{name}`: {}", err.message),
                None,
            );
            var_failed = true;
        }
    }
    for (name, pos) in e.substitute(&lookup) {
        if !spec.vars.iter().any(|(n, _)| *n == name) {
            push(
                diags,
                src,
                pos,
                format!(
                    "template variable `${name}` is not defined for {}",
                    spec.name
                ),
                Some(format!(
                    "add `{name}` to the source's `vars` or to [vars_default]"
                )),
            );
            var_failed = true;
        }
    }
    let mut errors: Vec<CompileError> = Vec::new();
    let out = compile(&e, scope, slots, &mut errors);
    for err in &errors {
        push(diags, src, err.pos, err.message.clone(), err.hint.clone());
    }
    (errors.is_empty() && !var_failed).then_some(out)
}

/// Column types of live tables, for the catalog check.
pub(crate) trait ColumnTypes {
    /// `None`: the table has no such column; `Some(None)`: it exists, type unknown (or the
    /// table itself is missing, which is reported once, elsewhere).
    fn column(&self, table: &TableName, column: &str) -> Option<Option<PgType>>;
    /// All column names of a table.
    fn columns(&self, table: &TableName) -> Vec<String>;
}

/// Typing of one scope: the tables of its sources.
struct Typed<'a> {
    types: &'a dyn ColumnTypes,
    tables: Vec<TableName>,
}

impl Typed<'_> {
    fn column(&self, src: usize, column: &str) -> Option<Option<PgType>> {
        self.types.column(&self.tables[src], column)
    }
    fn known(&self, src: usize) -> Vec<String> {
        self.types.columns(&self.tables[src])
    }
}

/// Compiles one entity. `entities` are all entity names of the set (for `ref()` checks);
/// `types`, when given, checks column references against live catalogs.
pub(crate) fn build(
    spec: &EntitySpec,
    entities: &[String],
    types: Option<&dyn ColumnTypes>,
    diags: &mut Diagnostics,
) -> Option<EntityMapping> {
    let f = &spec.file;
    let before = diags.len();
    let legacy_table = TableName::parse(&spec.legacy_table);
    let short = legacy_table.name.clone();

    // Forward sources: 0 = own row, 1.. = joins.
    let mut qualifiers = vec![vec![short.clone(), spec.name.clone()]];
    let mut tables = vec![legacy_table.to_string()];
    for j in &f.joins {
        qualifiers.push(vec![j.alias.clone()]);
        tables.push(j.table.clone());
    }
    let mut slots = Slots::with_sources(qualifiers.len());
    let key_slots: Vec<usize> = spec.legacy_key.iter().map(|k| slots.slot(0, k)).collect();
    let fwd_typed = types.map(|t| Typed {
        types: t,
        tables: std::iter::once(legacy_table.clone())
            .chain(f.joins.iter().map(|j| TableName::parse(&j.table)))
            .collect(),
    });
    let fwd_col = |s: usize, c: &str| fwd_typed.as_ref().and_then(|t| t.column(s, c));
    let fwd_known = |s: usize| fwd_typed.as_ref().map(|t| t.known(s)).unwrap_or_default();
    let scope = Scope {
        qualifiers: qualifiers.clone(),
        tables: tables.clone(),
        entities: Some(entities),
        reverse: false,
        columns: types.map(|_| &fwd_col as &crate::compile::ColumnLookup<'_>),
        known: types.map(|_| &fwd_known as &crate::compile::KnownColumns<'_>),
    };
    let compile_columns =
        |cols: &[ColumnSpec], scope: &Scope<'_>, slots: &mut Slots, diags: &mut Diagnostics| {
            cols.iter()
                .filter_map(|c| {
                    compile_src(&c.expr, spec, scope, slots, diags).map(|(node, ty)| ColumnProg {
                        column: c.column.clone(),
                        node,
                        ty,
                        src: c.expr.clone(),
                    })
                })
                .collect::<Vec<_>>()
        };
    let forward = compile_columns(&f.forward, &scope, &mut slots, diags);
    let also: Vec<AlsoProg> = f
        .also
        .iter()
        .map(|a| {
            let columns = compile_columns(&a.forward, &scope, &mut slots, diags);
            let mut column_names: Vec<String> = a.id_column.iter().cloned().collect();
            column_names.extend(f.tenant_column.iter().cloned());
            column_names.extend(columns.iter().map(|c| c.column.clone()));
            AlsoProg {
                table: TableName::parse(&a.table),
                id_column: a.id_column.clone(),
                conflict: a.conflict.clone(),
                columns,
                column_names,
                loc: a.loc.clone(),
            }
        })
        .collect();
    let joins: Vec<JoinProg> = f
        .joins
        .iter()
        .map(|j| {
            let on_names: Vec<(String, String)> =
                j.on.iter()
                    .map(|(jc, ec)| (jc.clone(), resolve_column(spec, ec)))
                    .collect();
            JoinProg {
                table: TableName::parse(&j.table),
                alias: j.alias.clone(),
                on: on_names
                    .iter()
                    .map(|(jc, ec)| (jc.clone(), slots.slot(0, ec)))
                    .collect(),
                on_names,
                binder: Binder::default(),
            }
        })
        .collect();
    let children: Vec<ChildProg> = f
        .children
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let table = TableName::parse(&c.table);
            let _ = i;
            let typed = types.map(|t| Typed {
                types: t,
                tables: vec![table.clone()],
            });
            let col = |s: usize, c: &str| typed.as_ref().and_then(|t| t.column(s, c));
            let known = |s: usize| typed.as_ref().map(|t| t.known(s)).unwrap_or_default();
            let cscope = Scope {
                qualifiers: vec![vec![table.name.clone()]],
                tables: vec![table.to_string()],
                entities: Some(entities),
                reverse: false,
                columns: types.map(|_| &col as &crate::compile::ColumnLookup<'_>),
                known: types.map(|_| &known as &crate::compile::KnownColumns<'_>),
            };
            let mut cslots = Slots::with_sources(1);
            for (cc, _) in &c.on {
                cslots.slot(0, cc);
            }
            for o in &c.order_by {
                cslots.slot(0, o);
            }
            let element = compile_columns(&c.element, &cscope, &mut cslots, diags);
            ChildProg {
                on: c
                    .on
                    .iter()
                    .map(|(cc, pc)| (cc.clone(), slots.slot(0, pc)))
                    .collect(),
                on_names: c.on.clone(),
                table,
                order_by: c.order_by.clone(),
                into: c.into.clone(),
                element,
                slots: cslots,
                binder: Binder::default(),
                loc: c.loc.clone(),
            }
        })
        .collect();

    let mut refs = Vec::new();
    for c in forward
        .iter()
        .chain(also.iter().flat_map(|a| a.columns.iter()))
    {
        visit(&c.node, &mut |n| {
            if let Node::Ref { entity, args } = n {
                refs.push((entity.clone(), args.clone()));
            }
        });
    }

    let reverse = f.reverse.as_ref().map(|cols| {
        let supra = TableName::parse(&f.supra_table);
        let typed = types.map(|t| Typed {
            types: t,
            tables: vec![supra.clone()],
        });
        let col = |s: usize, c: &str| typed.as_ref().and_then(|t| t.column(s, c));
        let known = |s: usize| typed.as_ref().map(|t| t.known(s)).unwrap_or_default();
        let rscope = Scope {
            qualifiers: vec![vec![supra.name.clone()]],
            tables: vec![supra.to_string()],
            entities: Some(entities),
            reverse: true,
            columns: types.map(|_| &col as &crate::compile::ColumnLookup<'_>),
            known: types.map(|_| &known as &crate::compile::KnownColumns<'_>),
        };
        let mut rslots = Slots::with_sources(1);
        let id_slot = rslots.slot(0, &f.supra_id_column);
        let tenant_slot = f.tenant_column.as_ref().map(|t| rslots.slot(0, t));
        let columns = compile_columns(cols, &rscope, &mut rslots, diags);
        let mut legacy_refs = Vec::new();
        for c in &columns {
            visit(&c.node, &mut |n| {
                if let Node::LegacyRef { entity, arg } = n {
                    legacy_refs.push((entity.clone(), (**arg).clone()));
                }
            });
        }
        ReverseProg {
            column_names: columns.iter().map(|c| c.column.clone()).collect(),
            columns,
            slots: rslots,
            id_slot,
            tenant_slot,
            legacy_refs,
            binder: Binder::default(),
        }
    });

    let mut depends_on: Vec<String> = f.depends_on.iter().map(|(d, _)| d.clone()).collect();
    for (e, _) in &refs {
        if !depends_on.contains(e) && *e != spec.name {
            depends_on.push(e.clone());
        }
    }
    let mut primary_columns = vec![f.supra_id_column.clone()];
    primary_columns.extend(f.tenant_column.iter().cloned());
    primary_columns.extend(forward.iter().map(|c| c.column.clone()));
    primary_columns.extend(children.iter().map(|c| c.into.clone()));
    let mut supra_tables = vec![TableName::parse(&f.supra_table)];
    supra_tables.extend(also.iter().map(|a| a.table.clone()));

    // The live check wants the types of whatever compiled, even next to errors.
    if diags.len() != before && types.is_none() {
        return None;
    }
    Some(EntityMapping {
        name: spec.name.clone(),
        spec: spec.clone(),
        direction: f.direction,
        conflicts: f.conflicts,
        overrides: f
            .conflict_overrides
            .iter()
            .map(|(c, s, _)| (c.clone(), *s))
            .collect(),
        legacy_table,
        legacy_key: spec.legacy_key.clone(),
        supra_tables,
        supra_id_column: f.supra_id_column.clone(),
        supra_conflict: f.supra_conflict.clone(),
        tenant_column: f.tenant_column.clone(),
        truncate: f.on_truncate,
        delete: f.on_delete.clone(),
        depends_on,
        id_strategy: f.id_strategy.clone(),
        tenant: f.tenant.clone(),
        slots,
        key_slots,
        forward,
        primary_columns,
        refs,
        joins,
        also,
        children,
        reverse,
        binder: Binder::default(),
    })
}

/// A column name of a join condition; `$var` names the column a template variable holds.
fn resolve_column(spec: &EntitySpec, name: &str) -> String {
    let Some(var) = name.strip_prefix('$') else {
        return name.to_string();
    };
    spec.vars
        .iter()
        .find(|(n, _)| n == var)
        .and_then(|(_, v)| expr::parse(&v.text).ok())
        .and_then(|e| match e.kind {
            ExprKind::Column {
                qualifier: None,
                name,
            } => Some(name),
            _ => None,
        })
        .unwrap_or_else(|| name.to_string())
}

impl JoinProg {
    /// True when the join condition determines the entity's key, so a change of the joined
    /// row can name the entity row to recompute (role Secondary).
    pub(crate) fn covers(&self, key: &[String]) -> bool {
        key.iter()
            .all(|k| self.on_names.iter().any(|(_, ec)| ec == k))
    }
}
