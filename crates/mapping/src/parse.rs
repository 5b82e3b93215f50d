//! TOML → [`FileSpec`], collecting every structural problem of a file (syntax, unknown keys,
//! wrong value types, missing required keys) with its line, instead of stopping at the first.
//!
//! Unknown keys are refused everywhere (the `deny_unknown_fields` discipline), with a
//! "did you mean" hint. `toml_edit` is used because it keeps the span of every key and value.

use std::ops::Range;
use std::path::Path;

use supra_sync_core::{Side, Value};
use toml_edit::{ImDocument, Item, TableLike};

use crate::diag::{Diagnostic, Diagnostics, LineIndex, did_you_mean};
use crate::spec::*;

const TOP_KEYS: &[&str] = &[
    "entity",
    "direction",
    "conflicts",
    "conflict_overrides",
    "depends_on",
    "on_delete",
    "on_truncate",
    "legacy",
    "supra",
    "forward",
    "also",
    "children",
    "reverse",
    "sources",
    "vars_default",
];

struct Reader<'a> {
    file: &'a Path,
    src: &'a str,
    lines: LineIndex,
    diags: &'a mut Diagnostics,
}

impl Reader<'_> {
    fn line(&self, span: Option<Range<usize>>) -> usize {
        span.map_or(0, |s| self.lines.line(s.start))
    }

    fn err(&mut self, line: usize, field: &str, message: String, hint: Option<String>) {
        self.diags.push(Diagnostic {
            file: self.file.to_path_buf(),
            line,
            field: field.to_string(),
            message,
            hint,
        });
    }

    fn loc(&self, table: &dyn TableLike, key: &str, field: &str) -> Loc {
        let line = table
            .get_key_value(key)
            .map(|(k, v)| self.line(k.span().or_else(|| v.span())))
            .unwrap_or(0);
        Loc {
            line,
            field: field.to_string(),
        }
    }

    fn table_line(&self, item: &Item) -> usize {
        match item {
            Item::Table(t) => self.line(t.span()),
            other => self.line(other.span()),
        }
    }

    fn check_keys(&mut self, table: &dyn TableLike, path: &str, allowed: &[&str]) {
        for (key, _) in table.iter() {
            if !allowed.contains(&key) {
                let field = join(path, key);
                let line = self.loc(table, key, &field).line;
                let hint = did_you_mean(key, allowed.iter().copied())
                    .or_else(|| Some(format!("allowed keys: {}", allowed.join(", "))));
                self.err(line, &field, format!("unknown key `{key}`"), hint);
            }
        }
    }

    fn string(&mut self, table: &dyn TableLike, key: &str, path: &str) -> Option<String> {
        let item = table.get(key)?;
        let field = join(path, key);
        match item.as_str() {
            Some(s) => Some(s.to_string()),
            None => {
                let line = self.loc(table, key, &field).line;
                self.err(
                    line,
                    &field,
                    format!("expected a string, found {}", item.type_name()),
                    None,
                );
                None
            }
        }
    }

    fn required_string(
        &mut self,
        table: &dyn TableLike,
        key: &str,
        path: &str,
        line: usize,
    ) -> String {
        match self.string(table, key, path) {
            Some(s) => s,
            None => {
                if table.get(key).is_none() {
                    self.err(
                        line,
                        &join(path, key),
                        format!("missing required key `{key}`"),
                        None,
                    );
                }
                String::new()
            }
        }
    }

    fn string_list(&mut self, table: &dyn TableLike, key: &str, path: &str) -> Option<Vec<String>> {
        let item = table.get(key)?;
        let field = join(path, key);
        let line = self.loc(table, key, &field).line;
        let Some(arr) = item.as_array() else {
            self.err(
                line,
                &field,
                format!("expected an array of strings, found {}", item.type_name()),
                None,
            );
            return None;
        };
        let mut out = Vec::new();
        for v in arr.iter() {
            match v.as_str() {
                Some(s) => out.push(s.to_string()),
                None => self.err(
                    line,
                    &field,
                    format!("expected strings, found {}", v.type_name()),
                    None,
                ),
            }
        }
        Some(out)
    }

    fn expr(&mut self, table: &dyn TableLike, key: &str, path: &str) -> Option<ExprSrc> {
        let field = join(path, key);
        let (k, item) = table.get_key_value(key)?;
        let key_line = self.line(k.span());
        let Some(text) = item.as_str() else {
            self.err(
                key_line,
                &field,
                format!("expected an expression string, found {}", item.type_name()),
                Some("quote the expression: column = \"trim(prsnif)\"".into()),
            );
            return None;
        };
        let first_line = item
            .span()
            .map(|s| {
                let raw = &self.src[s.clone()];
                let multi = (raw.starts_with("\"\"\"") || raw.starts_with("'''"))
                    && raw[3..].starts_with(['\n', '\r']);
                self.lines.line(s.start) + usize::from(multi)
            })
            .unwrap_or(key_line);
        Some(ExprSrc {
            text: text.to_string(),
            loc: Loc {
                line: key_line,
                field,
            },
            first_line,
        })
    }

    fn columns(&mut self, item: &Item, path: &str) -> Vec<ColumnSpec> {
        let Some(table) = item.as_table_like() else {
            let line = self.table_line(item);
            self.err(
                line,
                path,
                format!(
                    "expected a table of column = \"expression\", found {}",
                    item.type_name()
                ),
                None,
            );
            return Vec::new();
        };
        let keys: Vec<String> = table.iter().map(|(k, _)| k.to_string()).collect();
        keys.iter()
            .filter_map(|k| {
                self.expr(table, k, path).map(|expr| ColumnSpec {
                    column: k.clone(),
                    expr,
                })
            })
            .collect()
    }

    fn pairs(&mut self, table: &dyn TableLike, key: &str, path: &str) -> Vec<(String, String)> {
        let field = join(path, key);
        let Some(item) = table.get(key) else {
            return Vec::new();
        };
        let line = self.loc(table, key, &field).line;
        let Some(t) = item.as_table_like() else {
            self.err(
                line,
                &field,
                format!(
                    "expected an inline table like {{ child_col = \"parent_col\" }}, found {}",
                    item.type_name()
                ),
                None,
            );
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in t.iter() {
            match v.as_str() {
                Some(s) => out.push((k.to_string(), s.to_string())),
                None => self.err(
                    line,
                    &join(&field, k),
                    "expected a column name string".into(),
                    None,
                ),
            }
        }
        out
    }

    fn tables<'d>(&mut self, item: &'d Item, path: &str) -> Vec<&'d dyn TableLike> {
        match item {
            Item::ArrayOfTables(a) => a.iter().map(|t| t as &dyn TableLike).collect(),
            Item::Value(toml_edit::Value::Array(a)) => {
                let mut out = Vec::new();
                for v in a.iter() {
                    match v.as_inline_table() {
                        Some(t) => out.push(t as &dyn TableLike),
                        None => {
                            let line = self.line(v.span());
                            self.err(line, path, "expected a table".into(), None);
                        }
                    }
                }
                out
            }
            other => {
                let line = self.table_line(other);
                self.err(
                    line,
                    path,
                    format!(
                        "expected an array of tables ([[{path}]]), found {}",
                        other.type_name()
                    ),
                    None,
                );
                Vec::new()
            }
        }
    }

    fn one_of<T: Copy>(
        &mut self,
        table: &dyn TableLike,
        key: &str,
        options: &[(&str, T)],
        default: T,
    ) -> T {
        let Some(s) = self.string(table, key, "") else {
            return default;
        };
        match options.iter().find(|(n, _)| *n == s) {
            Some((_, v)) => *v,
            None => {
                let line = self.loc(table, key, key).line;
                let names: Vec<&str> = options.iter().map(|(n, _)| *n).collect();
                let hint = did_you_mean(&s, names.iter().copied())
                    .unwrap_or_else(|| format!("one of: {}", names.join(", ")));
                self.err(line, key, format!("invalid value `{s}`"), Some(hint));
                default
            }
        }
    }
}

fn join(path: &str, key: &str) -> String {
    if path.is_empty() {
        key.to_string()
    } else {
        format!("{path}.{key}")
    }
}

fn toml_value(v: &toml_edit::Value) -> Option<Value> {
    Some(match v {
        toml_edit::Value::String(s) => Value::Text(s.value().clone()),
        toml_edit::Value::Integer(i) => Value::Int(*i.value()),
        toml_edit::Value::Boolean(b) => Value::Bool(*b.value()),
        toml_edit::Value::Float(f) => Value::Float(*f.value()),
        _ => return None,
    })
}

/// Parses one file. Returns `None` when the file is not even valid TOML or lacks the
/// essentials; every problem is added to `diags` either way.
pub(crate) fn parse_file(file: &Path, src: &str, diags: &mut Diagnostics) -> Option<FileSpec> {
    let doc = match ImDocument::parse(src) {
        Ok(d) => d,
        Err(e) => {
            let lines = LineIndex::new(src);
            let line = e.span().map_or(0, |s| lines.line(s.start));
            let msg = e.message().trim().to_string();
            let (field, message, hint) = match msg.strip_prefix("duplicate key `") {
                Some(rest) => {
                    let key = rest.split('`').next().unwrap_or("").to_string();
                    let table = rest
                        .split("in table `")
                        .nth(1)
                        .and_then(|t| t.split('`').next())
                        .unwrap_or("");
                    (
                        join(table, &key),
                        format!("duplicate target column `{key}`"),
                        Some("each column may be assigned once per table".to_string()),
                    )
                }
                None => (
                    "toml".to_string(),
                    format!("TOML syntax error: {msg}"),
                    None,
                ),
            };
            diags.push(Diagnostic {
                file: file.to_path_buf(),
                line,
                field,
                message,
                hint,
            });
            return None;
        }
    };
    let before = diags.len();
    let mut r = Reader {
        file,
        src,
        lines: LineIndex::new(src),
        diags,
    };
    let root: &dyn TableLike = doc.as_table();
    r.check_keys(root, "", TOP_KEYS);

    let entity_loc = r.loc(root, "entity", "entity");
    let entity = r.required_string(root, "entity", "", 1);
    let direction_loc = r.loc(root, "direction", "direction");
    let direction = r.one_of(
        root,
        "direction",
        &[
            ("legacy_to_supra", Direction::LegacyToSupra),
            ("bidirectional", Direction::Bidirectional),
        ],
        Direction::LegacyToSupra,
    );
    let conflicts = r.one_of(
        root,
        "conflicts",
        &[
            ("legacy_wins", ConflictPolicy::LegacyWins),
            ("supra_wins", ConflictPolicy::SupraWins),
            ("newest_wins", ConflictPolicy::NewestWins),
            ("manual", ConflictPolicy::Manual),
        ],
        ConflictPolicy::LegacyWins,
    );
    let on_truncate = r.one_of(
        root,
        "on_truncate",
        &[
            ("refuse", TruncatePolicy::Refuse),
            ("propagate", TruncatePolicy::Propagate),
        ],
        TruncatePolicy::Refuse,
    );

    let mut conflict_overrides = Vec::new();
    if let Some(item) = root.get("conflict_overrides") {
        if let Some(t) = item.as_table_like() {
            for (k, v) in t.iter() {
                let field = join("conflict_overrides", k);
                let loc = r.loc(t, k, &field);
                match v.as_str() {
                    Some("legacy") => conflict_overrides.push((k.to_string(), Side::Legacy, loc)),
                    Some("supra") => conflict_overrides.push((k.to_string(), Side::Supra, loc)),
                    _ => r.err(
                        loc.line,
                        &field,
                        "expected \"legacy\" or \"supra\"".into(),
                        None,
                    ),
                }
            }
        } else {
            let line = r.table_line(item);
            r.err(
                line,
                "conflict_overrides",
                "expected a table of column = \"legacy\"|\"supra\"".into(),
                None,
            );
        }
    }

    let depends_on = r
        .string_list(root, "depends_on", "")
        .unwrap_or_default()
        .into_iter()
        .map(|d| (d, r.loc(root, "depends_on", "depends_on")))
        .collect();

    let on_delete_loc = r.loc(root, "on_delete", "on_delete");
    let on_delete = parse_delete(&mut r, root, &on_delete_loc);

    // [legacy]
    let mut legacy_table = None;
    let mut legacy_key = Vec::new();
    let mut legacy_loc = Loc {
        line: 0,
        field: "legacy".into(),
    };
    let mut id_strategy = None;
    let mut joins = Vec::new();
    if let Some(item) = root.get("legacy") {
        legacy_loc.line = r.table_line(item);
        if let Some(t) = item.as_table_like() {
            r.check_keys(t, "legacy", &["table", "key", "id", "join"]);
            let family = root.get("sources").is_some();
            legacy_table = if family {
                r.string(t, "table", "legacy")
            } else {
                Some(r.required_string(t, "table", "legacy", legacy_loc.line))
            };
            legacy_key = r.string_list(t, "key", "legacy").unwrap_or_default();
            if t.get("key").is_none() && !family {
                r.err(
                    legacy_loc.line,
                    "legacy.key",
                    "missing required key `key`".into(),
                    Some("the legacy primary key columns, e.g. key = [\"prsid\"]".into()),
                );
            }
            id_strategy = parse_id(&mut r, t);
            if let Some(j) = t.get("join") {
                for jt in r.tables(j, "legacy.join") {
                    let line = r.line(
                        jt.iter()
                            .next()
                            .and_then(|(k, _)| jt.get_key_value(k))
                            .and_then(|(k, _)| k.span()),
                    );
                    r.check_keys(jt, "legacy.join", &["table", "alias", "on"]);
                    let table = r.required_string(jt, "table", "legacy.join", line);
                    let alias = r
                        .string(jt, "alias", "legacy.join")
                        .unwrap_or_else(|| short_name(&table));
                    let on = r.pairs(jt, "on", "legacy.join");
                    if on.is_empty() {
                        r.err(
                            line,
                            "legacy.join.on",
                            "a join needs `on = { joined_col = \"entity_col\" }`".into(),
                            None,
                        );
                    }
                    joins.push(JoinSpec { table, alias, on });
                }
            }
        } else {
            r.err(legacy_loc.line, "legacy", "expected a table".into(), None);
        }
    }

    // [supra]
    let mut supra_table = String::new();
    let mut tenant = String::new();
    let mut tenant_column = Some("tenant_id".to_string());
    let mut supra_id_column = "id".to_string();
    let mut supra_conflict = Vec::new();
    let mut supra_loc = Loc {
        line: 0,
        field: "supra".into(),
    };
    match root.get("supra") {
        Some(item) => {
            supra_loc.line = r.table_line(item);
            if let Some(t) = item.as_table_like() {
                r.check_keys(
                    t,
                    "supra",
                    &["table", "tenant", "tenant_column", "id_column", "conflict"],
                );
                supra_conflict = r.string_list(t, "conflict", "supra").unwrap_or_default();
                supra_table = r.required_string(t, "table", "supra", supra_loc.line);
                tenant = r.required_string(t, "tenant", "supra", supra_loc.line);
                if let Some(c) = r.string(t, "tenant_column", "supra") {
                    tenant_column = (!c.is_empty()).then_some(c);
                }
                if let Some(c) = r.string(t, "id_column", "supra") {
                    supra_id_column = c;
                }
            }
        }
        None => r.err(
            1,
            "supra",
            "missing required table [supra]".into(),
            Some("[supra] table = \"public.persons\", tenant = \"cea-queretaro\"".into()),
        ),
    }

    let forward_loc = Loc {
        line: root.get("forward").map_or(0, |i| r.table_line(i)),
        field: "forward".into(),
    };
    let forward = root
        .get("forward")
        .map(|i| r.columns(i, "forward"))
        .unwrap_or_default();
    if root.get("forward").is_none() {
        r.err(
            1,
            "forward",
            "missing required table [forward]".into(),
            None,
        );
    }

    let mut also = Vec::new();
    if let Some(item) = root.get("also") {
        for t in r.tables(item, "also") {
            let line = first_key_line(&r, t);
            r.check_keys(t, "also", &["table", "id_column", "conflict", "forward"]);
            let table = r.required_string(t, "table", "also", line);
            let id_column = match r.string(t, "id_column", "also") {
                Some(c) if c.is_empty() => None,
                Some(c) => Some(c),
                None => Some("id".to_string()),
            };
            let conflict = r
                .string_list(t, "conflict", "also")
                .unwrap_or_else(|| id_column.iter().cloned().collect());
            let forward = t
                .get("forward")
                .map(|i| r.columns(i, "also.forward"))
                .unwrap_or_default();
            also.push(AlsoSpec {
                table,
                id_column,
                conflict,
                forward,
                loc: Loc {
                    line,
                    field: "also".into(),
                },
            });
        }
    }

    let mut children = Vec::new();
    if let Some(item) = root.get("children") {
        for t in r.tables(item, "children") {
            let line = first_key_line(&r, t);
            r.check_keys(
                t,
                "children",
                &["table", "on", "order_by", "into", "element"],
            );
            let table = r.required_string(t, "table", "children", line);
            let on = r.pairs(t, "on", "children");
            if on.is_empty() {
                r.err(
                    line,
                    "children.on",
                    "children need `on = { child_col = \"parent_col\" }`".into(),
                    None,
                );
            }
            let order_by = r.string_list(t, "order_by", "children").unwrap_or_default();
            let into_loc = r.loc(t, "into", "children.into");
            let into = r.required_string(t, "into", "children", line);
            let element = t
                .get("element")
                .map(|i| r.columns(i, "children.element"))
                .unwrap_or_default();
            children.push(ChildSpec {
                table,
                on,
                order_by,
                into,
                into_loc,
                element,
                loc: Loc {
                    line,
                    field: "children".into(),
                },
            });
        }
    }

    let reverse_loc = Loc {
        line: root.get("reverse").map_or(0, |i| r.table_line(i)),
        field: "reverse".into(),
    };
    let reverse = root.get("reverse").map(|i| r.columns(i, "reverse"));

    let mut sources = Vec::new();
    if let Some(item) = root.get("sources") {
        for t in r.tables(item, "sources") {
            let line = first_key_line(&r, t);
            r.check_keys(t, "sources", &["entity", "table", "key", "vars"]);
            let entity = r.string(t, "entity", "sources");
            let table = r.required_string(t, "table", "sources", line);
            let key = r.string_list(t, "key", "sources").unwrap_or_default();
            if key.is_empty() {
                r.err(
                    line,
                    "sources.key",
                    "missing required key `key`".into(),
                    None,
                );
            }
            let vars = match t.get("vars").and_then(Item::as_table_like) {
                Some(vt) => {
                    let names: Vec<String> = vt.iter().map(|(k, _)| k.to_string()).collect();
                    names
                        .iter()
                        .filter_map(|k| r.expr(vt, k, "sources.vars").map(|e| (k.clone(), e)))
                        .collect()
                }
                None => Vec::new(),
            };
            sources.push(SourceSpec {
                entity,
                table,
                key,
                vars,
                loc: Loc {
                    line,
                    field: "sources".into(),
                },
            });
        }
    }
    let vars_default = match root.get("vars_default").and_then(Item::as_table_like) {
        Some(vt) => {
            let names: Vec<String> = vt.iter().map(|(k, _)| k.to_string()).collect();
            names
                .iter()
                .filter_map(|k| r.expr(vt, k, "vars_default").map(|e| (k.clone(), e)))
                .collect()
        }
        None => Vec::new(),
    };

    if legacy_table.is_none() && sources.is_empty() {
        r.err(
            1,
            "legacy",
            "missing required table [legacy] (or [[sources]] for a family of tables)".into(),
            None,
        );
    }
    if legacy_table.is_some() && !sources.is_empty() {
        r.err(
            legacy_loc.line,
            "legacy",
            "a file has either [legacy] or [[sources]], not both".into(),
            None,
        );
    }

    let spec = FileSpec {
        path: file.to_path_buf(),
        entity,
        entity_loc,
        direction,
        direction_loc,
        conflicts,
        conflict_overrides,
        depends_on,
        on_delete,
        on_truncate,
        legacy_table,
        legacy_key,
        legacy_loc,
        id_strategy,
        joins,
        supra_table,
        supra_loc,
        supra_conflict: if supra_conflict.is_empty() {
            vec![supra_id_column.clone()]
        } else {
            supra_conflict
        },
        supra_id_column,
        tenant,
        tenant_column,
        forward,
        forward_loc,
        also,
        children,
        reverse,
        reverse_loc,
        sources,
        vars_default,
    };
    (r.diags.len() == before).then_some(spec)
}

fn first_key_line(r: &Reader<'_>, t: &dyn TableLike) -> usize {
    t.iter()
        .filter_map(|(k, _)| t.get_key_value(k).and_then(|(k, _)| k.span()))
        .map(|s| r.lines.line(s.start))
        .min()
        .map_or(0, |l| l.saturating_sub(0))
}

fn short_name(table: &str) -> String {
    table.rsplit('.').next().unwrap_or(table).to_string()
}

fn parse_id(r: &mut Reader<'_>, t: &dyn TableLike) -> Option<IdStrategy> {
    let item = t.get("id")?;
    let loc = r.loc(t, "id", "legacy.id");
    let hint = Some(
        "id = { sequence = \"cf_quere_pro.seq_prsid\" } or id = { range = [900000000, 999999999] }"
            .to_string(),
    );
    let Some(it) = item.as_table_like() else {
        r.err(
            loc.line,
            &loc.field,
            "expected an inline table".into(),
            hint,
        );
        return None;
    };
    r.check_keys(it, "legacy.id", &["sequence", "range"]);
    if let Some(seq) = it.get("sequence").and_then(Item::as_str) {
        return Some(IdStrategy::Sequence(seq.to_string()));
    }
    if let Some(arr) = it.get("range").and_then(Item::as_array) {
        let nums: Vec<i64> = arr
            .iter()
            .filter_map(toml_edit::Value::as_integer)
            .collect();
        if let [start, end] = nums[..]
            && start <= end
        {
            return Some(IdStrategy::Range { start, end });
        }
        r.err(
            loc.line,
            "legacy.id.range",
            "expected [first, last] with first <= last".into(),
            None,
        );
        return None;
    }
    r.err(
        loc.line,
        &loc.field,
        "expected `sequence` or `range`".into(),
        hint,
    );
    None
}

fn parse_delete(r: &mut Reader<'_>, root: &dyn TableLike, loc: &Loc) -> DeletePolicy {
    let Some(item) = root.get("on_delete") else {
        return DeletePolicy::Delete;
    };
    let hint = Some(
        "\"delete\", \"ignore\" or { soft_delete = { column = \"status\", value = \"baja\" } }"
            .to_string(),
    );
    if let Some(s) = item.as_str() {
        return match s {
            "delete" => DeletePolicy::Delete,
            "ignore" => DeletePolicy::Ignore,
            other => {
                r.err(
                    loc.line,
                    "on_delete",
                    format!("invalid value `{other}`"),
                    hint,
                );
                DeletePolicy::Delete
            }
        };
    }
    let soft = item
        .as_table_like()
        .and_then(|t| t.get("soft_delete"))
        .and_then(Item::as_table_like)
        .and_then(|s| {
            let column = s.get("column")?.as_str()?.to_string();
            let value = toml_value(s.get("value")?.as_value()?)?;
            Some(DeletePolicy::SoftDelete { column, value })
        });
    soft.unwrap_or_else(|| {
        r.err(loc.line, "on_delete", "invalid delete policy".into(), hint);
        DeletePolicy::Delete
    })
}
