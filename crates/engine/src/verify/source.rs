//! Reading legacy rows for the verifier over a borrowed connection (inside the caller's
//! snapshot transaction): keyset pages of an entity's table, and the joined / child rows a
//! whole page needs in one query per table.
//!
//! Rows are read with the same statements as [`crate::reader::RowReader`] (every column as
//! text, parsed by its type; pages in key order), so the mapping sees the same values the
//! applier saw.

use std::collections::HashMap;
use std::sync::Arc;

/// One key's values as text, in the order of its columns.
type KeyTexts = Vec<Option<String>>;

use supra_sync_core::{Row, RowSchema, TableName, Value};
use supra_sync_mapping::FetchNeed;
use supra_sync_postgres::catalog::load_table;
use tokio_postgres::Client;
use tokio_postgres::types::ToSql;

use crate::EngineError;
use crate::reader::{page_sql, rows_in_sql, to_rows};

/// Reads legacy rows; caches table shapes.
pub(super) struct LegacyReader<'a> {
    client: &'a Client,
    schemas: HashMap<TableName, Arc<RowSchema>>,
}

impl<'a> LegacyReader<'a> {
    pub(super) fn new(client: &'a Client) -> LegacyReader<'a> {
        LegacyReader {
            client,
            schemas: HashMap::new(),
        }
    }

    async fn schema(&mut self, table: &TableName) -> Result<Arc<RowSchema>, EngineError> {
        if let Some(s) = self.schemas.get(table) {
            return Ok(s.clone());
        }
        let schema = load_table(self.client, table).await?.ok_or_else(|| {
            EngineError::Definite(format!("verify: table {table} does not exist"))
        })?;
        self.schemas.insert(table.clone(), schema.clone());
        Ok(schema)
    }

    async fn query(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<tokio_postgres::Row>, EngineError> {
        self.client
            .query(sql, params)
            .await
            .map_err(|e| EngineError::sql(format!("verify: {sql}"), e))
    }

    /// Up to `limit` rows of `table` with key greater than `after`, in key order.
    pub(super) async fn page(
        &mut self,
        table: &TableName,
        after: Option<&[Value]>,
        limit: i64,
    ) -> Result<Vec<Row>, EngineError> {
        let schema = self.schema(table).await?;
        let (sql, texts) = page_sql(&schema, table, after, limit).ok_or_else(|| {
            EngineError::Definite(format!("verify: table {table} has no primary key"))
        })?;
        let params: Vec<&(dyn ToSql + Sync)> =
            texts.iter().map(|t| t as &(dyn ToSql + Sync)).collect();
        let rows = self.query(&sql, &params).await?;
        Ok(to_rows(&schema, &rows))
    }

    /// Every row any of `needs` asks for, by table (one query per table and column set).
    pub(super) async fn fetch_many(
        &mut self,
        needs: impl Iterator<Item = &FetchNeed>,
    ) -> Result<HashMap<TableName, Vec<Row>>, EngineError> {
        let mut groups: HashMap<(TableName, Vec<String>), Vec<KeyTexts>> = HashMap::new();
        for need in needs {
            let columns: Vec<String> = need.key.iter().map(|(c, _)| c.clone()).collect();
            let values: Vec<Option<String>> = need.key.iter().map(|(_, v)| v.to_text()).collect();
            let group = groups.entry((need.table.clone(), columns)).or_default();
            if !group.contains(&values) {
                group.push(values);
            }
        }
        let mut out: HashMap<TableName, Vec<Row>> = HashMap::new();
        for ((table, columns), tuples) in groups {
            let schema = self.schema(&table).await?;
            let sql = rows_in_sql(&schema, &table, &columns);
            let texts: Vec<Vec<Option<String>>> = (0..columns.len())
                .map(|i| tuples.iter().map(|t| t[i].clone()).collect())
                .collect();
            let params: Vec<&(dyn ToSql + Sync)> =
                texts.iter().map(|t| t as &(dyn ToSql + Sync)).collect();
            let rows = self.query(&sql, &params).await?;
            out.entry(table)
                .or_default()
                .extend(to_rows(&schema, &rows));
        }
        Ok(out)
    }
}
