//! Reading current rows from a database as typed [`Row`]s (same text forms as pgoutput), by
//! key filter or by keyset page.

use std::collections::HashMap;
use std::sync::Arc;

use supra_sync_core::{
    Row, RowSchema, TableName, Value, numbered, quote_ident, unnest_text_arrays,
};
use supra_sync_postgres::catalog::load_table;
use tokio_postgres::Client;

use crate::EngineError;

/// The SQL expression giving a column's text exactly as pgoutput sends it. A plain `::text`
/// cast would strip the padding of `char(n)` values, so those go through their output
/// function.
pub fn text_expr(col: &supra_sync_core::ColumnDef) -> String {
    let name = quote_ident(&col.name);
    match col.pg_type {
        supra_sync_core::PgType::Bpchar => {
            format!("CASE WHEN {name} IS NULL THEN NULL ELSE format('%s', {name}) END")
        }
        _ => format!("{name}::text"),
    }
}

/// The select list reading every column of `schema` as text ([`text_expr`]).
pub(crate) fn select_list(schema: &RowSchema) -> String {
    schema
        .columns
        .iter()
        .map(text_expr)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Rows read with [`select_list`], parsed by their column types (text that does not parse
/// stays text).
pub(crate) fn to_rows(schema: &Arc<RowSchema>, rows: &[tokio_postgres::Row]) -> Vec<Row> {
    rows.iter().map(|r| to_row(schema, r)).collect()
}

/// One row read with [`select_list`], parsed by its column types.
pub(crate) fn to_row(schema: &Arc<RowSchema>, r: &tokio_postgres::Row) -> Row {
    let values = schema
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| match r.get::<_, Option<String>>(i) {
            None => Value::Null,
            Some(text) => Value::parse_text(c.pg_type, &text).unwrap_or(Value::Text(text)),
        })
        .collect();
    Row::new(schema.clone(), values)
}

/// One keyset page of `table`: the query and its text parameters (the key values of
/// `after`), or `None` when the table has no primary key to page by.
pub(crate) fn page_sql(
    schema: &RowSchema,
    table: &TableName,
    after: Option<&[Value]>,
    limit: i64,
) -> Option<(String, Vec<Option<String>>)> {
    let keys: Vec<&supra_sync_core::ColumnDef> = schema.key_columns().collect();
    if keys.is_empty() {
        return None;
    }
    let key_list = keys
        .iter()
        .map(|c| quote_ident(&c.name))
        .collect::<Vec<_>>()
        .join(", ");
    let mut texts: Vec<Option<String>> = Vec::new();
    let condition = match after {
        None => "true".to_string(),
        Some(values) => {
            let placeholders = keys
                .iter()
                .enumerate()
                .map(|(i, c)| format!("${}::text::{}", i + 1, c.pg_type.sql_name()))
                .collect::<Vec<_>>()
                .join(", ");
            texts.extend(values.iter().map(Value::to_text));
            format!("({key_list}) > ({placeholders})")
        }
    };
    // Ordered by the table's own key columns (`t.`): unqualified, ORDER BY would pick the
    // select list's text casts of the same name and page in text order, skipping rows.
    let order = keys
        .iter()
        .map(|c| format!("t.{}", quote_ident(&c.name)))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {} FROM {} AS t WHERE {condition} ORDER BY {order} LIMIT {limit}",
        select_list(schema),
        table.quoted()
    );
    Some((sql, texts))
}

/// The rows of `table` whose `columns` equal any tuple of the `$1..$n` text arrays (one
/// array per column, tuples by position).
pub(crate) fn rows_in_sql(schema: &RowSchema, table: &TableName, columns: &[String]) -> String {
    let list = columns
        .iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ");
    let casts = columns
        .iter()
        .enumerate()
        .map(|(i, c)| format!("u.k{}::{}", i + 1, schema.sql_type_of(c)))
        .collect::<Vec<_>>()
        .join(", ");
    let unnest = unnest_text_arrays(numbered("k", columns.len()));
    format!(
        "SELECT {} FROM {} WHERE ({list}) IN (SELECT {casts} FROM {unnest})",
        select_list(schema),
        table.quoted()
    )
}

/// Reads rows; caches table shapes. The connection must use `TimeZone = UTC`.
pub struct RowReader {
    client: Client,
    schemas: HashMap<TableName, Arc<RowSchema>>,
}

impl RowReader {
    /// Wraps a connection and pins its session settings.
    pub async fn new(client: Client) -> Result<RowReader, EngineError> {
        client
            .batch_execute(
                "SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET extra_float_digits = 3",
            )
            .await
            .map_err(|e| EngineError::sql("configuring the reader session", e))?;
        Ok(RowReader {
            client,
            schemas: HashMap::new(),
        })
    }

    /// The connection.
    pub fn client(&self) -> &Client {
        &self.client
    }

    /// The shape of `table`.
    pub async fn schema(&mut self, table: &TableName) -> Result<Arc<RowSchema>, EngineError> {
        if let Some(s) = self.schemas.get(table) {
            return Ok(s.clone());
        }
        let schema = load_table(&self.client, table)
            .await?
            .ok_or_else(|| EngineError::Definite(format!("table {table} does not exist")))?;
        self.schemas.insert(table.clone(), schema.clone());
        Ok(schema)
    }

    /// Rows of `table` whose `filter` columns equal the given values.
    pub async fn fetch(
        &mut self,
        table: &TableName,
        filter: &[(String, Value)],
    ) -> Result<Vec<Row>, EngineError> {
        let schema = self.schema(table).await?;
        // Compare in the column's own type so that indexes are used.
        let cond = filter
            .iter()
            .enumerate()
            .map(|(i, (col, _))| {
                format!(
                    "{} = ${}::text::{}",
                    quote_ident(col),
                    i + 1,
                    schema.sql_type_of(col)
                )
            })
            .collect::<Vec<_>>()
            .join(" AND ");
        let sql = format!(
            "SELECT {} FROM {} WHERE {}",
            select_list(&schema),
            table.quoted(),
            if cond.is_empty() {
                "true".to_string()
            } else {
                cond
            }
        );
        let texts: Vec<Option<String>> = filter.iter().map(|(_, v)| v.to_text()).collect();
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = texts
            .iter()
            .map(|t| t as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        let rows = self
            .client
            .query(&sql, &params)
            .await
            .map_err(|e| EngineError::sql(format!("reading {table}"), e))?;
        Ok(to_rows(&schema, &rows))
    }

    /// Rows of `table` whose `columns` equal any of `keys` (one query for many keys).
    pub async fn fetch_many(
        &mut self,
        table: &TableName,
        columns: &[String],
        keys: &[Vec<Value>],
    ) -> Result<Vec<Row>, EngineError> {
        if keys.is_empty() || columns.is_empty() {
            return Ok(Vec::new());
        }
        let schema = self.schema(table).await?;
        let sql = rows_in_sql(&schema, table, columns);
        let arrays: Vec<Vec<Option<String>>> = (0..columns.len())
            .map(|i| keys.iter().map(|k| k[i].to_text()).collect())
            .collect();
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = arrays
            .iter()
            .map(|a| a as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        let rows = self
            .client
            .query(&sql, &params)
            .await
            .map_err(|e| EngineError::sql(format!("reading rows of {table}"), e))?;
        Ok(to_rows(&schema, &rows))
    }

    /// The row of `table` with primary key `key` (values in key-column order).
    pub async fn fetch_by_key(
        &mut self,
        table: &TableName,
        key: &[Value],
    ) -> Result<Option<Row>, EngineError> {
        let schema = self.schema(table).await?;
        let filter: Vec<(String, Value)> = schema
            .key_columns()
            .map(|c| c.name.clone())
            .zip(key.iter().cloned())
            .collect();
        Ok(self.fetch(table, &filter).await?.into_iter().next())
    }

    /// One keyset page: up to `limit` rows with key greater than `after` (all rows when
    /// `None`), in key order.
    pub async fn page(
        &mut self,
        table: &TableName,
        after: Option<&[Value]>,
        limit: i64,
    ) -> Result<Vec<Row>, EngineError> {
        let schema = self.schema(table).await?;
        let (sql, texts) = page_sql(&schema, table, after, limit).ok_or_else(|| {
            EngineError::Definite(format!("table {table} has no primary key to page by"))
        })?;
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = texts
            .iter()
            .map(|t| t as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        let rows = self
            .client
            .query(&sql, &params)
            .await
            .map_err(|e| EngineError::sql(format!("reading a page of {table}"), e))?;
        Ok(to_rows(&schema, &rows))
    }
}
