//! The live check: the mappings against the catalogs of both databases.
//!
//! ```text
//!  MappingSet ──tables it reads/writes──► Catalog::load(legacy) ─┐
//!                                         Catalog::load(supra)  ─┴─► recompile with column
//!                                         types ─► Diagnostics (same file:line:[field] form)
//! ```
//!
//! Reported: unknown tables and columns on both sides (with "did you mean"), expressions whose
//! type does not fit the target column (e.g. text into an integer column without a cast),
//! tables without a primary key, upsert conflict columns without a unique index, NOT NULL
//! target columns that the mapping does not produce and that have no default, generated
//! target columns, a missing id sequence.

use std::collections::HashMap;

use supra_sync_core::{PgType, TableName};

use crate::compile::Ty;
use crate::diag::{Diagnostic, Diagnostics, did_you_mean};
use crate::entity::{ColumnProg, ColumnTypes, EntityMapping, build};
use crate::set::MappingSet;
use crate::spec::{IdStrategy, Loc};

/// One column as the catalog describes it.
#[derive(Debug, Clone)]
pub struct CatalogColumn {
    /// Column name.
    pub name: String,
    /// `format_type()` spelling.
    pub type_name: String,
    /// Parsed type.
    pub pg_type: PgType,
    /// `NOT NULL`.
    pub not_null: bool,
    /// Has a default (or is an identity column).
    pub has_default: bool,
    /// `GENERATED ALWAYS AS (...) STORED`.
    pub generated: bool,
}

/// A table as the catalog describes it.
#[derive(Debug, Clone, Default)]
pub struct CatalogTable {
    /// Columns in order.
    pub columns: Vec<CatalogColumn>,
    /// Primary key columns (empty when none).
    pub primary_key: Vec<String>,
    /// Column lists of unique indexes (the primary key included).
    pub unique: Vec<Vec<String>>,
}

impl CatalogTable {
    fn column(&self, name: &str) -> Option<&CatalogColumn> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// The catalog of the tables a mapping set touches, on one database.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    /// Tables found (absent = the table does not exist).
    pub tables: HashMap<TableName, CatalogTable>,
    /// Sequences found.
    pub sequences: Vec<TableName>,
    /// Every table of the schemas looked at (for "did you mean" hints).
    pub all_tables: Vec<TableName>,
}

const COLUMNS_SQL: &str = "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), a.attnotnull, \
     (a.atthasdef OR a.attidentity <> ''), a.attgenerated <> '' \
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p', 'v', 'f') \
     AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum";

const INDEX_SQL: &str = "SELECT i.indisprimary, array_agg(a.attname::text ORDER BY k.ord) \
     FROM pg_index i JOIN pg_class c ON c.oid = i.indrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
     CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
     JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum \
     WHERE n.nspname = $1 AND c.relname = $2 AND i.indisunique AND i.indpred IS NULL \
     GROUP BY i.indexrelid, i.indisprimary";

const SEQUENCE_SQL: &str = "SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind = 'S'";

fn parse_type(name: &str) -> PgType {
    if name.ends_with("[]") {
        PgType::TextArray
    } else {
        PgType::from_name(name)
    }
}

impl Catalog {
    /// Reads the given tables and sequences from a live database.
    pub async fn load(
        client: &tokio_postgres::Client,
        tables: &[TableName],
        sequences: &[TableName],
    ) -> Result<Catalog, tokio_postgres::Error> {
        let mut out = Catalog::default();
        for t in tables {
            let rows = client.query(COLUMNS_SQL, &[&t.schema, &t.name]).await?;
            if rows.is_empty() {
                continue;
            }
            let columns = rows
                .iter()
                .map(|r| {
                    let type_name: String = r.get(1);
                    CatalogColumn {
                        name: r.get(0),
                        pg_type: parse_type(&type_name),
                        type_name,
                        not_null: r.get(2),
                        has_default: r.get(3),
                        generated: r.get(4),
                    }
                })
                .collect();
            let mut table = CatalogTable {
                columns,
                ..CatalogTable::default()
            };
            for r in client.query(INDEX_SQL, &[&t.schema, &t.name]).await? {
                let cols: Vec<String> = r.get(1);
                if r.get::<_, bool>(0) {
                    table.primary_key = cols.clone();
                }
                table.unique.push(cols);
            }
            out.tables.insert(t.clone(), table);
        }
        let mut schemas: Vec<String> = tables.iter().map(|t| t.schema.clone()).collect();
        schemas.sort();
        schemas.dedup();
        let names = client
            .query(
                "SELECT n.nspname::text, c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
                 WHERE n.nspname = ANY($1) AND c.relkind IN ('r', 'p', 'v', 'f')",
                &[&schemas],
            )
            .await?;
        out.all_tables = names
            .iter()
            .map(|r| TableName::new(r.get::<_, String>(0), r.get::<_, String>(1)))
            .collect();
        for s in sequences {
            if !client
                .query(SEQUENCE_SQL, &[&s.schema, &s.name])
                .await?
                .is_empty()
            {
                out.sequences.push(s.clone());
            }
        }
        Ok(out)
    }
}

/// Both catalogs, answering column questions for the recompilation.
struct Both<'a> {
    legacy: &'a Catalog,
    supra: &'a Catalog,
}

impl Both<'_> {
    fn table(&self, t: &TableName) -> Option<&CatalogTable> {
        self.legacy
            .tables
            .get(t)
            .or_else(|| self.supra.tables.get(t))
    }
}

impl ColumnTypes for Both<'_> {
    fn column(&self, table: &TableName, column: &str) -> Option<Option<PgType>> {
        match self.table(table) {
            None => Some(None),
            Some(t) => t.column(column).map(|c| Some(c.pg_type)),
        }
    }
    fn columns(&self, table: &TableName) -> Vec<String> {
        self.table(table)
            .map(|t| t.columns.iter().map(|c| c.name.clone()).collect())
            .unwrap_or_default()
    }
}

struct Checker<'a> {
    out: Diagnostics,
    both: Both<'a>,
}

impl<'a> Checker<'a> {
    fn push(
        &mut self,
        e: &EntityMapping,
        loc: &Loc,
        field: &str,
        message: String,
        hint: Option<String>,
    ) {
        self.out.push(Diagnostic {
            file: e.file().to_path_buf(),
            line: loc.line,
            field: if field.is_empty() {
                loc.field.clone()
            } else {
                field.to_string()
            },
            message,
            hint,
        });
    }

    /// The table, or a diagnostic saying it does not exist.
    fn table<'c>(
        &mut self,
        e: &EntityMapping,
        t: &TableName,
        side: &str,
        loc: &Loc,
        field: &str,
    ) -> Option<&'c CatalogTable>
    where
        'a: 'c,
    {
        let cat: &'a Catalog = if side == "legacy" {
            self.both.legacy
        } else {
            self.both.supra
        };
        match cat.tables.get(t) {
            Some(found) => Some(found),
            None => {
                let names: Vec<String> = cat
                    .all_tables
                    .iter()
                    .filter(|k| k.schema == t.schema)
                    .map(|k| k.name.clone())
                    .collect();
                self.push(
                    e,
                    loc,
                    field,
                    format!("unknown {side} table {t}"),
                    did_you_mean(&t.name, names.iter().map(String::as_str)),
                );
                None
            }
        }
    }

    fn key_columns(
        &mut self,
        e: &EntityMapping,
        table: &CatalogTable,
        t: &TableName,
        cols: &[String],
        loc: &Loc,
        field: &str,
    ) {
        for c in cols {
            if table.column(c).is_none() {
                let known: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
                self.push(
                    e,
                    loc,
                    field,
                    format!("unknown column `{c}` in {t}"),
                    did_you_mean(c, known.iter().copied()),
                );
            }
        }
    }

    fn targets(
        &mut self,
        e: &EntityMapping,
        table: &CatalogTable,
        t: &TableName,
        cols: &[ColumnProg],
        auto: &[String],
        loc: &Loc,
    ) {
        for c in cols {
            match table.column(&c.column) {
                None => {
                    let known: Vec<&str> = table.columns.iter().map(|c| c.name.as_str()).collect();
                    self.push(
                        e,
                        &c.src.loc,
                        "",
                        format!("unknown column `{}` in {t}", c.column),
                        did_you_mean(&c.column, known.iter().copied()),
                    );
                }
                Some(col) if col.generated => {
                    self.push(
                        e,
                        &c.src.loc,
                        "",
                        format!(
                            "column `{}` of {t} is generated and cannot be written",
                            c.column
                        ),
                        Some("remove this line".into()),
                    );
                }
                Some(col) => {
                    if let Err(hint) = c.ty.assignable_to(col.pg_type) {
                        self.push(
                            e,
                            &c.src.loc,
                            "",
                            format!(
                                "type mismatch: the expression is {} but {t}.{} is {}",
                                c.ty.name(),
                                c.column,
                                col.type_name
                            ),
                            Some(hint),
                        );
                    }
                }
            }
        }
        for col in &table.columns {
            let written = cols.iter().any(|c| c.column == col.name) || auto.contains(&col.name);
            if col.not_null && !col.has_default && !col.generated && !written {
                self.push(e, loc, "", format!("NOT NULL column `{}` of {t} has no default and the mapping does not produce it", col.name),
                    Some(format!("add `{} = \"coalesce(..., <default>)\"`", col.name)));
            }
        }
    }

    fn conflict(
        &mut self,
        e: &EntityMapping,
        table: &CatalogTable,
        t: &TableName,
        cols: &[String],
        loc: &Loc,
    ) {
        let mut want = cols.to_vec();
        want.sort();
        let ok = table.unique.iter().any(|u| {
            let mut u = u.clone();
            u.sort();
            u == want
        });
        if !ok {
            self.push(
                e,
                loc,
                "",
                format!(
                    "upsert conflict columns ({}) of {t} are not a primary key or unique index",
                    cols.join(", ")
                ),
                None,
            );
        }
    }
}

fn same_set(a: &[String], b: &[String]) -> bool {
    let (mut a, mut b) = (a.to_vec(), b.to_vec());
    a.sort();
    b.sort();
    a == b
}

impl MappingSet {
    /// Every table and sequence the set touches: (legacy tables, legacy sequences, SUPRA tables).
    fn touched(&self) -> (Vec<TableName>, Vec<TableName>, Vec<TableName>) {
        let mut supra = Vec::new();
        let mut seqs = Vec::new();
        for e in self.entities() {
            for t in &e.supra_tables {
                if !supra.contains(t) {
                    supra.push(t.clone());
                }
            }
            if let Some(IdStrategy::Sequence(s)) = &e.id_strategy {
                seqs.push(TableName::parse(s));
            }
        }
        (self.legacy_tables(), seqs, supra)
    }

    /// Checks the mappings against the live catalogs of both databases. Returns every
    /// problem (empty = the mappings fit the databases).
    pub async fn check_catalog(
        &self,
        legacy: &tokio_postgres::Client,
        supra: &tokio_postgres::Client,
    ) -> Diagnostics {
        let (lt, seqs, st) = self.touched();
        let fail = |side: &str, e: tokio_postgres::Error| {
            Diagnostics(vec![Diagnostic {
                file: "mappings".into(),
                line: 0,
                field: "catalog".into(),
                message: format!("cannot read the {side} catalog: {e}"),
                hint: None,
            }])
        };
        let lc = match Catalog::load(legacy, &lt, &seqs).await {
            Ok(c) => c,
            Err(e) => return fail("legacy", e),
        };
        let sc = match Catalog::load(supra, &st, &[]).await {
            Ok(c) => c,
            Err(e) => return fail("SUPRA", e),
        };
        self.check_against(&lc, &sc)
    }

    /// The catalog check against already loaded catalogs (pure; used by `check_catalog`).
    pub fn check_against(&self, legacy: &Catalog, supra: &Catalog) -> Diagnostics {
        let mut ck = Checker {
            out: Diagnostics::default(),
            both: Both { legacy, supra },
        };
        let names: Vec<String> = self.entities().iter().map(|e| e.name.clone()).collect();
        for e in self.entities() {
            let f = &e.spec.file;
            let legacy_loc = if f.sources.is_empty() {
                f.legacy_loc.clone()
            } else {
                e.spec.loc.clone()
            };
            let ltable_field = if f.sources.is_empty() {
                "legacy.table"
            } else {
                "sources.table"
            };
            // Recompile with column types: unknown columns and expression types.
            let mut diags = Diagnostics::default();
            let typed = build(&e.spec, &names, Some(&ck.both), &mut diags);
            ck.out.0.extend(diags.0);
            if let Some(lt) = ck.table(e, &e.legacy_table, "legacy", &legacy_loc, ltable_field) {
                ck.key_columns(
                    e,
                    lt,
                    &e.legacy_table,
                    &e.legacy_key,
                    &legacy_loc,
                    "legacy.key",
                );
                if lt.primary_key.is_empty() {
                    ck.push(
                        e,
                        &legacy_loc,
                        ltable_field,
                        format!(
                            "{} has no primary key (logical replication needs a replica identity)",
                            e.legacy_table
                        ),
                        None,
                    );
                } else if !same_set(&lt.primary_key, &e.legacy_key) {
                    ck.push(
                        e,
                        &legacy_loc,
                        "legacy.key",
                        format!(
                            "key ({}) is not the primary key ({}) of {}",
                            e.legacy_key.join(", "),
                            lt.primary_key.join(", "),
                            e.legacy_table
                        ),
                        None,
                    );
                }
                if let Some(rev) = typed.as_ref().and_then(|t| t.reverse.as_ref()) {
                    let auto: Vec<String> = Vec::new();
                    ck.targets(e, lt, &e.legacy_table, &rev.columns, &auto, &f.reverse_loc);
                }
            }
            for j in &e.joins {
                if let Some(jt) = ck.table(e, &j.table, "legacy", &legacy_loc, "legacy.join.table")
                {
                    let cols: Vec<String> = j.on_names.iter().map(|(c, _)| c.clone()).collect();
                    ck.key_columns(e, jt, &j.table, &cols, &legacy_loc, "legacy.join.on");
                }
            }
            for c in &e.children {
                if let Some(ct) = ck.table(e, &c.table, "legacy", &c.loc, "children.table") {
                    let mut cols: Vec<String> = c.on_names.iter().map(|(c, _)| c.clone()).collect();
                    cols.extend(c.order_by.iter().cloned());
                    ck.key_columns(e, ct, &c.table, &cols, &c.loc, "children.on");
                }
            }
            if let Some(IdStrategy::Sequence(s)) = &e.id_strategy
                && !legacy.sequences.contains(&TableName::parse(s))
            {
                ck.push(
                    e,
                    &legacy_loc,
                    "legacy.id",
                    format!("unknown legacy sequence {s}"),
                    None,
                );
            }
            let Some(typed) = typed else { continue };
            let supra_loc = f.supra_loc.clone();
            if let Some(st) = ck.table(e, &e.supra_tables[0], "SUPRA", &supra_loc, "supra.table") {
                let mut auto = vec![e.supra_id_column.clone()];
                auto.extend(e.tenant_column.iter().cloned());
                auto.extend(e.children.iter().map(|c| c.into.clone()));
                ck.key_columns(e, st, &e.supra_tables[0], &auto, &supra_loc, "supra");
                for c in &e.children {
                    if let Some(col) = st.column(&c.into)
                        && let Err(hint) = Ty::Json.assignable_to(col.pg_type)
                    {
                        ck.push(
                            e,
                            &c.loc,
                            "children.into",
                            format!("`{}` is {}, not jsonb", c.into, col.type_name),
                            Some(hint),
                        );
                    }
                }
                ck.targets(
                    e,
                    st,
                    &e.supra_tables[0],
                    &typed.forward,
                    &auto,
                    &f.forward_loc,
                );
                if st.primary_key.is_empty() {
                    ck.push(
                        e,
                        &supra_loc,
                        "supra.table",
                        format!("{} has no primary key", e.supra_tables[0]),
                        None,
                    );
                }
                ck.conflict(e, st, &e.supra_tables[0], &e.supra_conflict, &supra_loc);
                if let (Some(tc), Some(col)) = (
                    &e.tenant_column,
                    e.tenant_column.as_ref().and_then(|t| st.column(t)),
                ) && col.pg_type != PgType::Uuid
                {
                    {
                        ck.push(
                            e,
                            &supra_loc,
                            "supra.tenant_column",
                            format!("tenant column `{tc}` is {}, not uuid", col.type_name),
                            None,
                        );
                    }
                }
            }
            for a in &typed.also {
                if let Some(at) = ck.table(e, &a.table, "SUPRA", &a.loc, "also.table") {
                    let mut auto: Vec<String> = a.id_column.iter().cloned().collect();
                    auto.extend(e.tenant_column.iter().cloned());
                    ck.key_columns(e, at, &a.table, &auto, &a.loc, "also");
                    ck.targets(e, at, &a.table, &a.columns, &auto, &a.loc);
                    ck.conflict(e, at, &a.table, &a.conflict, &a.loc);
                }
            }
        }
        ck.out.sort();
        ck.out
    }
}
