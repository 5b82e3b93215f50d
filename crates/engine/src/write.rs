//! Executing [`TargetOp`]s on a target database, in order, with few round trips.
//!
//! Consecutive upserts into the same table with the same columns become one
//! `INSERT … SELECT … FROM unnest($1::text[], …) ON CONFLICT … DO UPDATE` statement (values
//! bound as text arrays, cast to each column's type by the server); a group is cut whenever
//! the next operation targets another table, another column set, or a key already in the
//! group — so the order of operations on one row is never changed.

use std::collections::{HashMap, HashSet};

use supra_sync_core::{TableName, Value, numbered, quote_ident, unnest_text_arrays};
use supra_sync_mapping::TargetOp;
use tokio_postgres::{Client, Statement, Transaction};

use crate::EngineError;

/// Caches column types and prepared statements for one target connection.
#[derive(Default)]
pub struct TargetWriter {
    column_types: HashMap<TableName, HashMap<String, String>>,
    statements: HashMap<String, Statement>,
}

enum Group<'a> {
    Upsert {
        table: &'a TableName,
        conflict: &'a [String],
        columns: &'a [String],
        rows: Vec<&'a [Value]>,
    },
    Delete {
        table: &'a TableName,
        key_columns: &'a [String],
        rows: Vec<&'a [Value]>,
    },
    Update(&'a TargetOp),
}

impl TargetWriter {
    /// SQL type (as `format_type` prints it) of every column of `table`.
    pub async fn column_types(
        &mut self,
        client: &Client,
        table: &TableName,
    ) -> Result<&HashMap<String, String>, EngineError> {
        if !self.column_types.contains_key(table) {
            let rows = client
                .query(
                    "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod)
                       FROM pg_attribute a
                       JOIN pg_class c ON c.oid = a.attrelid
                       JOIN pg_namespace n ON n.oid = c.relnamespace
                      WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
                    &[&table.schema, &table.name],
                )
                .await
                .map_err(|e| EngineError::sql(format!("reading the columns of {table}"), e))?;
            if rows.is_empty() {
                return Err(EngineError::Definite(format!(
                    "target table {table} does not exist"
                )));
            }
            self.column_types.insert(
                table.clone(),
                rows.iter().map(|r| (r.get(0), r.get(1))).collect(),
            );
        }
        Ok(&self.column_types[table])
    }

    async fn prepare(
        &mut self,
        tx: &Transaction<'_>,
        sql: String,
    ) -> Result<Statement, EngineError> {
        if let Some(s) = self.statements.get(&sql) {
            return Ok(s.clone());
        }
        let statement = tx
            .prepare(&sql)
            .await
            .map_err(|e| EngineError::sql(format!("preparing {sql}"), e))?;
        self.statements.insert(sql, statement.clone());
        Ok(statement)
    }

    /// Executes `ops` in order inside `tx`.
    pub async fn execute(
        &mut self,
        tx: &Transaction<'_>,
        ops: &[TargetOp],
    ) -> Result<(), EngineError> {
        for group in group_ops(ops) {
            self.execute_group(tx, group).await?;
        }
        Ok(())
    }

    async fn execute_group(
        &mut self,
        tx: &Transaction<'_>,
        group: Group<'_>,
    ) -> Result<(), EngineError> {
        match group {
            Group::Upsert {
                table,
                conflict,
                columns,
                rows,
            } => {
                let types = self.column_types(tx.client(), table).await?.clone();
                let sql = upsert_sql(table, conflict, columns, &types)?;
                let statement = self.prepare(tx, sql).await?;
                let arrays = column_arrays(columns.len(), &rows);
                let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = arrays
                    .iter()
                    .map(|a| a as &(dyn tokio_postgres::types::ToSql + Sync))
                    .collect();
                tx.execute(&statement, &params).await.map_err(|e| {
                    EngineError::sql(format!("upserting {} row(s) into {table}", rows.len()), e)
                })?;
            }
            Group::Delete {
                table,
                key_columns,
                rows,
            } => {
                let types = self.column_types(tx.client(), table).await?.clone();
                let sql = delete_sql(table, key_columns, &types)?;
                let statement = self.prepare(tx, sql).await?;
                let arrays = column_arrays(key_columns.len(), &rows);
                let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = arrays
                    .iter()
                    .map(|a| a as &(dyn tokio_postgres::types::ToSql + Sync))
                    .collect();
                tx.execute(&statement, &params).await.map_err(|e| {
                    EngineError::sql(format!("deleting {} row(s) from {table}", rows.len()), e)
                })?;
            }
            Group::Update(TargetOp::Update {
                table,
                key_columns,
                key_values,
                columns,
                values,
            }) => {
                let types = self.column_types(tx.client(), table).await?.clone();
                let sql = update_sql(table, key_columns, columns, &types)?;
                let statement = self.prepare(tx, sql).await?;
                let texts: Vec<Option<String>> = values
                    .iter()
                    .chain(key_values.iter())
                    .map(Value::to_text)
                    .collect();
                let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = texts
                    .iter()
                    .map(|t| t as &(dyn tokio_postgres::types::ToSql + Sync))
                    .collect();
                tx.execute(&statement, &params)
                    .await
                    .map_err(|e| EngineError::sql(format!("updating {table}"), e))?;
            }
            Group::Update(_) => {}
        }
        Ok(())
    }
}

/// The first value of a write that its column's declared length refuses, worded as
/// PostgreSQL's "value too long for type character varying(13)" (22001): checked while
/// planning, so that one such row fails alone instead of failing its whole batch (which is
/// then redone change by change). Trailing spaces beyond the length are allowed, as in
/// PostgreSQL.
pub fn too_long(
    types: &HashMap<String, String>,
    columns: &[String],
    values: &[Value],
) -> Option<String> {
    columns.iter().zip(values).find_map(|(column, value)| {
        let Value::Text(text) = value else {
            return None;
        };
        let ty = types.get(column)?;
        let limit = char_limit(ty)?;
        (text.trim_end_matches(' ').chars().count() > limit).then(|| {
            format!(
                "value too long for type {ty} (column {column}: {} characters)",
                text.chars().count()
            )
        })
    })
}

/// The length of `character varying(n)` / `character(n)`.
fn char_limit(ty: &str) -> Option<usize> {
    ["character varying(", "character("]
        .iter()
        .find_map(|base| {
            let (n, rest) = ty.strip_prefix(base)?.split_once(')')?;
            rest.is_empty().then(|| n.parse().ok()).flatten()
        })
}

fn column_arrays(width: usize, rows: &[&[Value]]) -> Vec<Vec<Option<String>>> {
    (0..width)
        .map(|i| rows.iter().map(|r| r[i].to_text()).collect())
        .collect()
}

/// The type to cast a bound text value to. Length modifiers of character types are dropped:
/// an explicit cast to `varchar(13)` would silently truncate, while the assignment to the
/// column then raises "value too long", which is logged as a failed change instead.
fn sql_type(
    types: &HashMap<String, String>,
    table: &TableName,
    column: &str,
) -> Result<String, EngineError> {
    let ty = types.get(column).ok_or_else(|| {
        EngineError::Definite(format!("target table {table} has no column {column}"))
    })?;
    Ok(strip_length(ty))
}

fn strip_length(ty: &str) -> String {
    for base in ["character varying", "character", "bit varying", "bit"] {
        if let Some(rest) = ty.strip_prefix(base)
            && let Some(rest) = rest.strip_prefix('(')
            && let Some(close) = rest.find(')')
        {
            return format!("{base}{}", &rest[close + 1..]);
        }
    }
    ty.to_string()
}

fn upsert_sql(
    table: &TableName,
    conflict: &[String],
    columns: &[String],
    types: &HashMap<String, String>,
) -> Result<String, EngineError> {
    let names = columns
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ");
    let unnest = unnest_text_arrays(numbered("c", columns.len()));
    let casts = columns
        .iter()
        .enumerate()
        .map(|(i, c)| Ok(format!("u.c{}::{}", i + 1, sql_type(types, table, c)?)))
        .collect::<Result<Vec<_>, EngineError>>()?
        .join(", ");
    let conflict_list = conflict
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ");
    let updates: Vec<String> = columns
        .iter()
        .filter(|c| !conflict.contains(c))
        .map(|c| format!("{0} = EXCLUDED.{0}", quote_ident(c)))
        .collect();
    let action = if updates.is_empty() {
        "DO NOTHING".to_string()
    } else {
        format!("DO UPDATE SET {}", updates.join(", "))
    };
    Ok(format!(
        "INSERT INTO {} ({names}) SELECT {casts} FROM {unnest} ON CONFLICT ({conflict_list}) {action}",
        table.quoted()
    ))
}

fn delete_sql(
    table: &TableName,
    keys: &[String],
    types: &HashMap<String, String>,
) -> Result<String, EngineError> {
    let unnest = unnest_text_arrays(numbered("k", keys.len()));
    let cond = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            Ok(format!(
                "t.{} = u.k{}::{}",
                quote_ident(k),
                i + 1,
                sql_type(types, table, k)?
            ))
        })
        .collect::<Result<Vec<_>, EngineError>>()?
        .join(" AND ");
    Ok(format!(
        "DELETE FROM {} AS t USING {unnest} WHERE {cond}",
        table.quoted()
    ))
}

fn update_sql(
    table: &TableName,
    keys: &[String],
    columns: &[String],
    types: &HashMap<String, String>,
) -> Result<String, EngineError> {
    let sets = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            Ok(format!(
                "{} = ${}::text::{}",
                quote_ident(c),
                i + 1,
                sql_type(types, table, c)?
            ))
        })
        .collect::<Result<Vec<_>, EngineError>>()?
        .join(", ");
    let cond = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            Ok(format!(
                "{} = ${}::text::{}",
                quote_ident(k),
                columns.len() + i + 1,
                sql_type(types, table, k)?
            ))
        })
        .collect::<Result<Vec<_>, EngineError>>()?
        .join(" AND ");
    Ok(format!("UPDATE {} SET {sets} WHERE {cond}", table.quoted()))
}

/// Groups consecutive compatible operations; a key seen twice starts a new group.
fn group_ops(ops: &[TargetOp]) -> Vec<Group<'_>> {
    let mut groups: Vec<Group<'_>> = Vec::new();
    let mut keys_in_group: HashSet<Vec<Option<String>>> = HashSet::new();
    for op in ops {
        match op {
            TargetOp::Upsert {
                table,
                conflict_columns,
                columns,
                values,
            } => {
                let key: Vec<Option<String>> = conflict_columns
                    .iter()
                    .map(|c| {
                        columns
                            .iter()
                            .position(|x| x == c)
                            .and_then(|i| values[i].to_text())
                    })
                    .collect();
                let fits = matches!(groups.last(), Some(Group::Upsert { table: t, conflict: k, columns: c, .. })
                    if *t == table && *k == conflict_columns.as_slice() && *c == columns.as_slice())
                    && !keys_in_group.contains(&key);
                if !fits {
                    keys_in_group.clear();
                    groups.push(Group::Upsert {
                        table,
                        conflict: conflict_columns,
                        columns,
                        rows: Vec::new(),
                    });
                }
                keys_in_group.insert(key);
                if let Some(Group::Upsert { rows, .. }) = groups.last_mut() {
                    rows.push(values);
                }
            }
            TargetOp::Delete {
                table,
                key_columns,
                key_values,
            } => {
                let fits = matches!(groups.last(), Some(Group::Delete { table: t, key_columns: k, .. })
                    if *t == table && *k == key_columns.as_slice());
                if !fits {
                    keys_in_group.clear();
                    groups.push(Group::Delete {
                        table,
                        key_columns,
                        rows: Vec::new(),
                    });
                }
                if let Some(Group::Delete { rows, .. }) = groups.last_mut() {
                    rows.push(key_values);
                }
            }
            TargetOp::Update { .. } => {
                keys_in_group.clear();
                groups.push(Group::Update(op));
            }
        }
    }
    groups
}

#[cfg(test)]
mod tests {

    #[test]
    fn too_long_values_are_found_before_the_write() {
        let types: HashMap<String, String> = [
            ("rfc", "character varying(13)"),
            ("code", "character(3)"),
            ("name", "text"),
            ("tags", "character varying(5)[]"),
        ]
        .into_iter()
        .map(|(c, t)| (c.to_string(), t.to_string()))
        .collect();
        let columns: Vec<String> = ["rfc", "code", "name"].map(String::from).to_vec();
        let ok = [
            Value::Text("ÑÚÑEZ800101AB".into()), // 13 characters, more bytes
            Value::Text("AB   ".into()),         // trailing spaces beyond the length
            Value::Text("x".repeat(500)),
        ];
        assert_eq!(too_long(&types, &columns, &ok), None);
        let long = [
            Value::Text("ZULM-400219-MVZXNR16".into()),
            Value::Null,
            Value::Null,
        ];
        assert_eq!(
            too_long(&types, &columns, &long).as_deref(),
            Some("value too long for type character varying(13) (column rfc: 20 characters)")
        );
        let code = [Value::Null, Value::Text("ABCD".into()), Value::Null];
        assert!(too_long(&types, &columns, &code).is_some());
        assert_eq!(char_limit("character varying(5)[]"), None);
    }

    use super::*;

    fn upsert(table: &str, id: i64, name: &str) -> TargetOp {
        TargetOp::Upsert {
            table: TableName::new("public", table),
            conflict_columns: vec!["id".into()],
            columns: vec!["id".into(), "name".into()],
            values: vec![Value::Int(id), Value::Text(name.into())],
        }
    }

    #[test]
    fn character_lengths_are_left_to_the_assignment() {
        assert_eq!(strip_length("character varying(13)"), "character varying");
        assert_eq!(
            strip_length("character varying(20)[]"),
            "character varying[]"
        );
        assert_eq!(strip_length("character(1)"), "character");
        assert_eq!(strip_length("numeric(12,2)"), "numeric(12,2)");
        assert_eq!(
            strip_length("geography(Point,4326)"),
            "geography(Point,4326)"
        );
    }

    #[test]
    fn groups_never_reorder_or_merge_a_key_twice() {
        let ops = vec![
            upsert("persons", 1, "a"),
            upsert("persons", 2, "b"),
            upsert("persons", 1, "a2"), // same key again: new group
            upsert("contracts", 1, "c"),
            upsert("persons", 3, "d"),
        ];
        let sizes: Vec<usize> = group_ops(&ops)
            .iter()
            .map(|g| match g {
                Group::Upsert { rows, .. } => rows.len(),
                _ => 0,
            })
            .collect();
        assert_eq!(sizes, vec![2, 1, 1, 1]);
    }

    #[test]
    fn upsert_sql_casts_and_quotes() {
        let types: HashMap<String, String> = [
            ("id".to_string(), "uuid".to_string()),
            ("name".to_string(), "character varying(200)".to_string()),
        ]
        .into();
        let sql = upsert_sql(
            &TableName::new("public", "persons"),
            &["id".into()],
            &["id".into(), "name".into()],
            &types,
        )
        .unwrap();
        assert_eq!(
            sql,
            "INSERT INTO \"public\".\"persons\" (\"id\", \"name\") SELECT u.c1::uuid, u.c2::character varying \
             FROM unnest($1::text[], $2::text[]) AS u(c1, c2) ON CONFLICT (\"id\") DO UPDATE SET \"name\" = EXCLUDED.\"name\""
        );
        assert!(
            upsert_sql(
                &TableName::new("public", "persons"),
                &["id".into()],
                &["nope".into()],
                &types
            )
            .is_err()
        );
    }
}
