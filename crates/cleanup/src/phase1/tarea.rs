//! Re-accumulation prevention (seed 000 P1-S4-04): `tarea.tredroptablastemporales` defaults
//! to 1 and every row with 0 is set to 1. The old default and the keys of the changed rows
//! are recorded first, so rollback restores exactly what was there.

use serde_json::{Value, json};
use supra_sync_core::quote_ident;

use crate::catalog::{self, qualified};
use crate::error::{Blocked, CleanupError, Result};
use crate::job::state::{self, RollbackRecord};
use crate::job::{Ctx, ddl};
use crate::plan::PlannedStep;

pub(crate) const STEP: &str = "p1.tarea";
pub(crate) const TABLE: &str = "tarea";
pub(crate) const COLUMN: &str = "tredroptablastemporales";

async fn has_column(ctx: &Ctx<'_>) -> Result<bool> {
    Ok(catalog::columns(ctx.client, ctx.schema(), TABLE)
        .await?
        .iter()
        .any(|(n, _)| n == COLUMN))
}

fn statements(schema: &str) -> Vec<String> {
    let t = qualified(schema, TABLE);
    let c = quote_ident(COLUMN);
    vec![
        format!("ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT 1"),
        format!("UPDATE {t} SET {c} = 1 WHERE {c} = 0"),
    ]
}

/// Read-only plan.
pub(crate) async fn plan(ctx: &Ctx<'_>) -> Result<PlannedStep> {
    let mut step = PlannedStep {
        id: STEP.into(),
        title: "tarea.tredroptablastemporales: default 1, rows with 0 set to 1 (P1-S4-04)".into(),
        ..Default::default()
    };
    if !has_column(ctx).await? {
        step.notes.push(format!(
            "{}.{TABLE}.{COLUMN} does not exist: nothing to do",
            ctx.schema()
        ));
        return Ok(step);
    }
    if ctx.config.is_protected(TABLE) {
        step.blockers
            .push(Blocked::new(STEP, "tarea is published by the sync"));
    }
    let n: i64 = ctx
        .client
        .query_one(
            &format!(
                "SELECT count(*) FROM {} WHERE {} = 0",
                qualified(ctx.schema(), TABLE),
                quote_ident(COLUMN)
            ),
            &[],
        )
        .await
        .map_err(CleanupError::db("count tarea rows"))?
        .get(0);
    step.affected.push(crate::plan::AffectedTable {
        table: TABLE.into(),
        rows: n,
        action: "set tredroptablastemporales = 1".into(),
    });
    step.statements = statements(ctx.schema());
    Ok(step)
}

/// Applies the change with its rollback record, in one transaction.
pub(crate) async fn apply(ctx: &Ctx<'_>) -> Result<Value> {
    let schema = ctx.schema();
    if !has_column(ctx).await? {
        return Ok(json!({ "skipped": format!("{schema}.{TABLE}.{COLUMN} does not exist") }));
    }
    ctx.guard(TABLE)?;
    let pk = catalog::primary_key(ctx.client, schema, TABLE).await?;
    if pk.is_empty() {
        return Err(
            Blocked::new(STEP, format!("{schema}.{TABLE} has no primary key"))
                .detail("the rows set to 1 could not be identified again for rollback")
                .into(),
        );
    }
    let t = qualified(schema, TABLE);
    let c = quote_ident(COLUMN);
    let keys = pk
        .iter()
        .map(|k| {
            format!(
                "{}, t.{}",
                supra_sync_core::quote_literal(k),
                quote_ident(k)
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let (t_ref, c_ref, keys_ref, pk_ref) = (&t, &c, &keys, &pk);
    ddl::in_tx(ctx, &format!("set the default of {schema}.{TABLE}.{COLUMN}"), || async move {
        let default: Option<String> = ctx
            .client
            .query_opt(
                "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attrdef d
                   JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum
                  WHERE d.adrelid = $1::text::regclass AND a.attname = $2",
                &[t_ref, &COLUMN],
            )
            .await
            .map_err(CleanupError::db("read the old default"))?
            .map(|r| r.get(0));
        ctx.client
            .batch_execute(&format!("LOCK TABLE {t_ref} IN SHARE ROW EXCLUSIVE MODE"))
            .await
            .map_err(CleanupError::db("lock tarea"))?;
        let rows: Value = ctx
            .client
            .query_one(&format!("SELECT coalesce(jsonb_agg(jsonb_build_object({keys_ref})), '[]') FROM {t_ref} t WHERE {c_ref} = 0"), &[])
            .await
            .map_err(CleanupError::db("record the rows of tarea to change"))?
            .get(0);
        let record = RollbackRecord {
            step: STEP.into(),
            object_name: format!("{TABLE}.{COLUMN}"),
            kind: "column_default".into(),
            ddl: match &default {
                Some(d) => format!("ALTER TABLE {t_ref} ALTER COLUMN {c_ref} SET DEFAULT {d}"),
                None => format!("ALTER TABLE {t_ref} ALTER COLUMN {c_ref} DROP DEFAULT"),
            },
            restore_sql: None,
            archive: Some(json!({ "table": TABLE, "column": COLUMN, "old_value": 0, "key": pk_ref, "rows": rows })),
            file: None,
        };
        state::record_rollback(ctx.client, ctx.phase, &[record]).await?;
        let mut changed = 0;
        for s in statements(schema) {
            changed = ctx.client.execute(&s, &[]).await.map_err(CleanupError::db("update tarea"))?;
        }
        Ok(json!({ "old_default": default, "rows_set_to_1": changed }))
    })
    .await
}
