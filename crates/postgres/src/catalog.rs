//! Reading table shapes from the live catalog.

use std::sync::Arc;

use supra_sync_core::{ColumnDef, PgType, RowSchema, TableName};
use tokio_postgres::Client;

use crate::PgError;

/// Loads the columns (in attribute order), their types and primary-key membership of a table.
/// Returns `Ok(None)` when the table does not exist.
pub async fn load_table(
    client: &Client,
    table: &TableName,
) -> Result<Option<Arc<RowSchema>>, PgError> {
    let rows = client
        .query(
            "SELECT a.attname::text, t.typname::text, format_type(a.atttypid, a.atttypmod),
                    COALESCE(a.attnum = ANY(i.indkey), false) AS is_key
               FROM pg_class c
               JOIN pg_namespace n ON n.oid = c.relnamespace
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
               JOIN pg_type t ON t.oid = a.atttypid
               LEFT JOIN pg_index i ON i.indrelid = c.oid AND i.indisprimary
              WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')
              ORDER BY a.attnum",
            &[&table.schema, &table.name],
        )
        .await
        .map_err(PgError::sql(format!("reading the columns of {table}")))?;
    if rows.is_empty() {
        return Ok(None);
    }
    let columns = rows
        .iter()
        .map(|r| {
            let typname: String = r.get(1);
            let formatted: String = r.get(2);
            let pg_type = match PgType::from_name(&formatted) {
                PgType::Other(_) => PgType::from_name(&typname),
                known => known,
            };
            ColumnDef {
                name: r.get(0),
                pg_type,
                key: r.get(3),
            }
        })
        .collect();
    Ok(Some(Arc::new(RowSchema {
        table: table.clone(),
        columns,
    })))
}

/// True when the table has a primary key or `REPLICA IDENTITY FULL`/`USING INDEX`, i.e. its
/// updates and deletes can be replicated.
pub async fn has_replica_identity(client: &Client, table: &TableName) -> Result<bool, PgError> {
    let row = client
        .query_opt(
            "SELECT c.relreplident::text,
                    EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary)
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND c.relname = $2",
            &[&table.schema, &table.name],
        )
        .await
        .map_err(PgError::sql(format!(
            "reading the replica identity of {table}"
        )))?;
    Ok(match row {
        None => false,
        Some(r) => {
            let ident: String = r.get(0);
            let has_pk: bool = r.get(1);
            ident == "f" || ident == "i" || (ident == "d" && has_pk)
        }
    })
}
