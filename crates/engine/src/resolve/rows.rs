//! Rows for operator actions: the current row of an entity on either side (optionally locked
//! inside a transaction), and the context the mappings need to evaluate it.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::Utc;
use supra_sync_core::{Row, RowSchema, TableName, Value, quote_ident};
use supra_sync_mapping::{EntityMapping, ResolvedContext, Role};
use tokio_postgres::{Client, GenericClient};
use uuid::Uuid;

use super::ResolveError;
use crate::reader::to_row;
use crate::{EngineError, book, reader::text_expr};

/// Pins the session's text forms to what pgoutput sends (UTC, ISO dates, exact floats).
pub async fn pin_session(client: &Client) -> Result<(), ResolveError> {
    client
        .batch_execute("SET TimeZone = 'UTC'; SET DateStyle = 'ISO'; SET extra_float_digits = 3")
        .await
        .map_err(|e| ResolveError::sql("configuring the session", e))
}

/// Table shapes, loaded once per connection.
#[derive(Default)]
pub struct Schemas {
    tables: HashMap<TableName, Arc<RowSchema>>,
}

impl Schemas {
    /// Loads `tables` (missing ones are an error).
    pub async fn load(
        &mut self,
        client: &Client,
        tables: &[&TableName],
    ) -> Result<(), ResolveError> {
        for t in tables {
            if self.tables.contains_key(*t) {
                continue;
            }
            let schema = supra_sync_postgres::catalog::load_table(client, t)
                .await
                .map_err(EngineError::from)?
                .ok_or_else(|| EngineError::Definite(format!("table {t} does not exist")))?;
            self.tables.insert((*t).clone(), schema);
        }
        Ok(())
    }

    /// A loaded shape.
    pub fn get(&self, table: &TableName) -> Result<Arc<RowSchema>, ResolveError> {
        self.tables.get(table).cloned().ok_or_else(|| {
            ResolveError::Engine(EngineError::Definite(format!(
                "no shape loaded for {table}"
            )))
        })
    }
}

/// Rows of `schema.table` whose `filter` columns equal the values; `lock` adds `FOR UPDATE`.
pub async fn fetch<C: GenericClient>(
    client: &C,
    schema: &Arc<RowSchema>,
    filter: &[(String, Value)],
    lock: bool,
) -> Result<Vec<Row>, ResolveError> {
    let list = schema
        .columns
        .iter()
        .map(text_expr)
        .collect::<Vec<_>>()
        .join(", ");
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
        .collect::<Vec<_>>();
    let sql = format!(
        "SELECT {list} FROM {} WHERE {}{}",
        schema.table.quoted(),
        if cond.is_empty() {
            "true".to_string()
        } else {
            cond.join(" AND ")
        },
        if lock { " FOR UPDATE" } else { "" }
    );
    let texts: Vec<Option<String>> = filter.iter().map(|(_, v)| v.to_text()).collect();
    let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = texts
        .iter()
        .map(|t| t as &(dyn tokio_postgres::types::ToSql + Sync))
        .collect();
    let rows = client
        .query(&sql, &params)
        .await
        .map_err(|e| ResolveError::sql(format!("reading {}", schema.table), e))?;
    Ok(rows.iter().map(|r| to_row(schema, r)).collect())
}

/// Where an entity's row lives on each side.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Entity name.
    pub entity: String,
    /// Legacy key text (`sync_mappings.legacy_id`).
    pub legacy_key: String,
    /// SUPRA id.
    pub supra_id: Uuid,
}

impl Identity {
    /// Looks the SUPRA id up in `sync_mappings`. A legacy row that never synced (its insert
    /// collided on a unique key) has none yet: it gets the id the engine mints for it.
    pub async fn find<C: GenericClient>(
        book: &C,
        entity: &str,
        legacy_key: &str,
    ) -> Result<Identity, ResolveError> {
        let found = book::supra_ids(book, &[(entity.to_string(), legacy_key.to_string())]).await?;
        let supra_id = found
            .get(&(entity.to_string(), legacy_key.to_string()))
            .copied()
            .unwrap_or_else(|| supra_sync_mapping::mint_supra_id(entity, legacy_key));
        Ok(Identity {
            entity: entity.to_string(),
            legacy_key: legacy_key.to_string(),
            supra_id,
        })
    }

    /// The legacy row's key filter.
    pub fn legacy_filter(&self, entity: &EntityMapping) -> Vec<(String, Value)> {
        entity
            .legacy_key()
            .iter()
            .cloned()
            .zip(crate::apply::parse_key_text(&self.legacy_key))
            .collect()
    }

    /// The SUPRA row's key filter.
    pub fn supra_filter(&self, entity: &EntityMapping) -> Vec<(String, Value)> {
        vec![(
            entity.supra_id_column().to_string(),
            Value::Uuid(self.supra_id),
        )]
    }
}

/// What `forward` needs for a legacy row: references (from `sync_mappings`), joined and child
/// rows (read with `legacy`, which may be inside a transaction).
pub async fn forward_context<L: GenericClient, B: GenericClient>(
    legacy: &L,
    legacy_schemas: &Schemas,
    book: &B,
    entity: &EntityMapping,
    row: &Row,
    id: &Identity,
    tenant_id: Uuid,
) -> Result<ResolvedContext, ResolveError> {
    let needs = entity.forward_needs(Role::Primary, row);
    let mut ctx = ResolvedContext::new(tenant_id, Utc::now());
    let refs: Vec<(String, String)> = needs
        .refs
        .iter()
        .map(|r| (r.entity.clone(), r.legacy_key.clone()))
        .collect();
    for ((e, k), s) in book::supra_ids(book, &refs).await? {
        ctx.add_mapping(&e, &k, s);
    }
    for f in &needs.secondary {
        let rows = fetch(legacy, &legacy_schemas.get(&f.table)?, &f.key, false).await?;
        ctx.secondary
            .entry(f.table.clone())
            .or_default()
            .extend(rows);
    }
    let joined: Vec<(String, String)> = entity
        .joined_refs(row, &ctx)
        .into_iter()
        .map(|r| (r.entity, r.legacy_key))
        .collect();
    for ((e, k), s) in book::supra_ids(book, &joined).await? {
        ctx.add_mapping(&e, &k, s);
    }
    for f in &needs.children {
        let rows = fetch(legacy, &legacy_schemas.get(&f.table)?, &f.key, false).await?;
        ctx.children
            .entry(f.table.clone())
            .or_default()
            .extend(rows);
    }
    ctx.supra_id = Some(id.supra_id);
    ctx.add_mapping(&id.entity, &id.legacy_key, id.supra_id);
    Ok(ctx)
}

/// What `reverse` needs for a SUPRA row: the legacy ids of what it references.
pub async fn reverse_context<B: GenericClient>(
    book: &B,
    entity: &EntityMapping,
    row: &Row,
    id: &Identity,
    tenant_id: Uuid,
) -> Result<ResolvedContext, ResolveError> {
    let needs = entity.reverse_needs(row);
    let refs: Vec<(String, Uuid)> = needs
        .reverse_refs
        .iter()
        .map(|r| (r.entity.clone(), r.supra_id))
        .collect();
    let mut ctx = ResolvedContext::new(tenant_id, Utc::now());
    for ((e, s), k) in book::legacy_ids(book, &refs).await? {
        ctx.add_mapping(&e, &k, s);
    }
    ctx.supra_id = Some(id.supra_id);
    ctx.add_mapping(&id.entity, &id.legacy_key, id.supra_id);
    Ok(ctx)
}

/// The legacy tables an entity's forward mapping reads.
pub fn legacy_tables(entity: &EntityMapping) -> Vec<&TableName> {
    let mut tables = vec![entity.legacy_table()];
    tables.extend(entity.secondary_tables());
    tables.extend(entity.child_tables());
    tables
}
