//! Lookup consolidation (seed 001 Sprint 4): `domain_value` + `domain_value_link`,
//! `migrate_tipo_to_domain()`, a compatibility view per migrated table, the swap after the
//! observation period, and the 12 complex tables left alone.

use serde_json::{Value, json};
use supra_sync_core::{quote_ident, quote_literal};

use super::views;
use crate::catalog::{self, qualified};
use crate::error::{Blocked, CleanupError, Result};
use crate::job::state::{self, RollbackRecord};
use crate::job::{Ctx, ddl};

const DOMAIN_SQL: &str = include_str!("../../../../sql/cleanup/0004_domain_value.sql");

/// The DDL of `domain_value`, `domain_value_link` and `migrate_tipo_to_domain`.
pub(crate) fn domain_sql(schema: &str) -> String {
    DOMAIN_SQL
        .replace("@schema_literal@", &quote_literal(schema))
        .replace("@schema@", &quote_ident(schema))
}

/// `tipocatcalle` → `TIPO_CATCALLE` (P2-S4-03).
pub(crate) fn domain_name(table: &str) -> String {
    for p in ["estados", "estado", "tipo", "tip", "est"] {
        if let Some(rest) = table.strip_prefix(p).filter(|r| !r.is_empty()) {
            return format!("{}_{}", p.to_uppercase(), rest.to_uppercase());
        }
    }
    table.to_uppercase()
}

/// Which kind of migration a lookup table gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// Into `domain_value` (code, txtid, extras in `dv_extra_json`).
    Value,
    /// Into `domain_value_link`.
    Link,
}

/// Step `p2.domain_value`.
pub(crate) async fn create(ctx: &Ctx<'_>) -> Result<Value> {
    let schema = ctx.schema();
    ctx.guard("domain_value")?;
    ctx.guard("domain_value_link")?;
    let mut records = Vec::new();
    for t in ["domain_value", "domain_value_link"] {
        if catalog::relation_kind(ctx.client, schema, t)
            .await?
            .is_none()
        {
            records.push(RollbackRecord {
                step: "p2.domain_value".into(),
                object_name: t.into(),
                kind: "created_table".into(),
                ddl: format!("DROP TABLE {}", qualified(schema, t)),
                restore_sql: None,
                archive: None,
                file: None,
            });
        }
    }
    let sql = domain_sql(schema);
    let (sql_ref, rec_ref) = (&sql, &records);
    ddl::in_tx(ctx, "create domain_value", || async move {
        state::record_rollback(ctx.client, ctx.phase, rec_ref).await?;
        ctx.client
            .batch_execute(sql_ref)
            .await
            .map_err(CleanupError::db("create domain_value"))
    })
    .await?;
    Ok(json!({ "created": records.len() }))
}

/// Code and txtid columns of a value table, or a blocker.
async fn value_columns(ctx: &Ctx<'_>, table: &str, step: &str) -> Result<(String, Option<String>)> {
    let pk = catalog::primary_key(ctx.client, ctx.schema(), table).await?;
    if pk.len() != 1 {
        return Err(Blocked::new(
            step,
            format!("{table} has no single-column primary key ({pk:?})"),
        )
        .hint("domain_value holds one code per row: migrate this table by hand")
        .into());
    }
    let txt = catalog::columns(ctx.client, ctx.schema(), table)
        .await?
        .into_iter()
        .map(|c| c.0)
        .find(|c| c.ends_with("txtid"));
    Ok((pk[0].clone(), txt))
}

/// Step `p2.lookup.<t>.migrate`.
pub(crate) async fn migrate(ctx: &Ctx<'_>, table: &str, kind: Kind) -> Result<Value> {
    let schema = ctx.schema();
    let step = format!("p2.lookup.{table}.migrate");
    ctx.guard(table)?;
    if let Some(n) = ctx
        .client
        .query_opt("SELECT migrated_rows FROM supra_sync_cleanup.migrated WHERE phase = '2' AND source_table = $1", &[&table])
        .await
        .map_err(CleanupError::db("read the ledger"))?
    {
        return Ok(json!({ "rows": n.get::<_, i64>(0), "resumed": true }));
    }
    let domain = domain_name(table);
    let sql = match kind {
        Kind::Value => {
            let (code, txt) = value_columns(ctx, table, &step).await?;
            format!(
                "SELECT {}.migrate_tipo_to_domain({}, {}, {}, {})",
                quote_ident(schema),
                quote_literal(table),
                quote_literal(&domain),
                quote_literal(&code),
                txt.map(|t| quote_literal(&t))
                    .unwrap_or_else(|| "NULL".into())
            )
        }
        Kind::Link => {
            let cols = catalog::columns(ctx.client, schema, table).await?;
            if cols.len() != 2 {
                return Err(Blocked::new(
                    &step,
                    format!("{table} has {} columns; a link table has two", cols.len()),
                )
                .detail(format!("{cols:?}"))
                .hint("domain_value_link has no room for extra columns: these would be lost")
                .into());
            }
            format!(
                "WITH ins AS (INSERT INTO {}.domain_value_link (dvl_link_type, dvl_source_domain, dvl_source_code, dvl_target_domain, dvl_target_code)
                   SELECT {}, {}, t.{}::text, {}, t.{}::text FROM {} t ON CONFLICT DO NOTHING RETURNING 1)
                 SELECT count(*) FROM ins",
                quote_ident(schema),
                quote_literal(&domain),
                quote_literal(&cols[0].0.to_uppercase()),
                quote_ident(&cols[0].0),
                quote_literal(&cols[1].0.to_uppercase()),
                quote_ident(&cols[1].0),
                qualified(schema, table)
            )
        }
    };
    let src = qualified(schema, table);
    let (sql_ref, src_ref, step_ref) = (&sql, &src, &step);
    let n = ddl::in_tx(ctx, &format!("migrate {table}"), || async move {
        ctx.client.batch_execute(&format!("LOCK TABLE {src_ref} IN SHARE MODE")).await.map_err(CleanupError::db(format!("lock {table}")))?;
        let rows = catalog::count_rows(ctx.client, schema, table).await?;
        let inserted: i64 = ctx.client.query_one(sql_ref, &[]).await.map_err(CleanupError::db(format!("migrate {table}")))?.get(0);
        if inserted != rows {
            return Err(Blocked::new(step_ref, format!("{table}: {rows} rows counted, {inserted} inserted"))
                .hint("the target already holds codes of this domain: reconcile them by hand")
                .into());
        }
        ctx.client
            .execute(
                "INSERT INTO supra_sync_cleanup.migrated (phase, family, source_table, target_table, source_rows, migrated_rows)
                 VALUES ('2', 'lookup', $1, $2, $3, $4)",
                &[&table, &if kind == Kind::Link { "domain_value_link" } else { "domain_value" }, &rows, &inserted],
            )
            .await
            .map_err(CleanupError::db("record the migration"))?;
        Ok(inserted)
    })
    .await?;
    Ok(json!({ "domain": domain, "rows": n }))
}

/// The compatibility view's query.
pub(crate) async fn view_select(ctx: &Ctx<'_>, table: &str, kind: Kind) -> Result<String> {
    let schema = ctx.schema();
    let cols = catalog::columns(ctx.client, schema, table).await?;
    let domain = quote_literal(&domain_name(table));
    Ok(match kind {
        Kind::Value => {
            let (code, txt) = value_columns(ctx, table, "p2.lookup.view").await?;
            let mut merge = format!("jsonb_build_object({}, d.dv_code", quote_literal(&code));
            if let Some(t) = &txt {
                merge.push_str(&format!(", {}, d.dv_txtid", quote_literal(t)));
            }
            merge.push(')');
            format!(
                "SELECT x.* FROM {}.domain_value AS d CROSS JOIN LATERAL jsonb_to_record(d.dv_extra_json || {merge}) AS x({})
                  WHERE d.dv_domain = {domain}",
                quote_ident(schema),
                views::record_def(&cols)
            )
        }
        Kind::Link => format!(
            "SELECT CAST(l.dvl_source_code AS {}) AS {}, CAST(l.dvl_target_code AS {}) AS {}
               FROM {}.domain_value_link AS l WHERE l.dvl_link_type = {domain}",
            cols[0].1,
            quote_ident(&cols[0].0),
            cols[1].1,
            quote_ident(&cols[1].0),
            quote_ident(schema)
        ),
    })
}

/// Step `p2.lookup.<t>.view`.
pub(crate) async fn view(ctx: &Ctx<'_>, table: &str, kind: Kind) -> Result<Value> {
    if catalog::relation_kind(ctx.client, ctx.schema(), table)
        .await?
        .as_deref()
        == Some("v")
    {
        return Ok(json!({ "view": table, "swapped": true }));
    }
    let select = view_select(ctx, table, kind).await?;
    views::create_checked(ctx, &format!("p2.lookup.{table}.view"), table, &select).await
}

/// Step `p2.lookup.<t>.drop`.
pub(crate) async fn retire(ctx: &Ctx<'_>, table: &str) -> Result<Value> {
    let step = format!("p2.lookup.{table}.drop");
    views::observed(ctx, &format!("p2.lookup.{table}.view"), &step).await?;
    let v = views::swap(
        ctx,
        &step,
        table,
        None,
        json!({ "lookup": domain_name(table) }),
    )
    .await?;
    ctx.client
        .execute("UPDATE supra_sync_cleanup.migrated SET dropped_at = now() WHERE phase = '2' AND source_table = $1", &[&table])
        .await
        .map_err(CleanupError::db("record the drop"))?;
    Ok(v)
}

/// Column signatures of the complex tables (P2-S4-09), to prove later they were untouched.
pub(crate) async fn complex_signatures(ctx: &Ctx<'_>) -> Result<Value> {
    let names = &ctx.config.lookups.complex;
    let shapes = catalog::columns_many(ctx.client, ctx.schema(), names).await?;
    let mut out = serde_json::Map::new();
    for n in names {
        if let Some(c) = shapes.get(n) {
            let sig = c
                .iter()
                .map(|(a, b)| format!("{a} {b}"))
                .collect::<Vec<_>>()
                .join(", ");
            out.insert(n.clone(), json!({ "columns": c.len(), "signature": sig }));
        }
    }
    Ok(Value::Object(out))
}

#[cfg(test)]
mod tests {
    use super::domain_name;

    #[test]
    fn domains_are_the_uppercase_table_name_split_after_the_prefix() {
        assert_eq!(domain_name("tipocatcalle"), "TIPO_CATCALLE");
        assert_eq!(domain_name("tippersautoriz"), "TIP_PERSAUTORIZ");
        assert_eq!(domain_name("estadofraude"), "ESTADO_FRAUDE");
        assert_eq!(domain_name("estadosjuicios"), "ESTADOS_JUICIOS");
        assert_eq!(domain_name("estfirmaelectronica"), "EST_FIRMAELECTRONICA");
        assert_eq!(domain_name("otra"), "OTRA");
    }
}
