//! The retained high-value history tables (seed 001 P2-S3-07): `hst_operation CHAR(1)`, an
//! `hst_id` key and a `(entity key, hsthora DESC)` index — without a table rewrite: the
//! nullable column is added (instant), filled from a sequence in small committed batches
//! (resumable), then made NOT NULL and unique (the primary key when the table has none).

use serde_json::{Value, json};
use supra_sync_core::{quote_ident, quote_literal};

use super::tiers::Tier;
use crate::catalog::{self, qualified};
use crate::error::{CleanupError, Result};
use crate::job::state::{self, RollbackRecord};
use crate::job::{Ctx, ddl};

const BATCH: i64 = 5_000;

fn names(table: &str) -> (String, String, String) {
    let short: String = table.chars().take(40).collect();
    (
        format!("{short}_hst_id_seq"),
        format!("{short}_hst_id_key"),
        format!("idx_{short}_key_hsthora"),
    )
}

/// The index statement, when the table carries its entity key and an `hsthora` column.
pub(crate) fn index_sql(schema: &str, t: &Tier) -> Option<String> {
    let hora = t.hora.as_ref()?;
    if t.base_key.is_empty() {
        return None;
    }
    let (_, _, idx) = names(&t.table);
    let keys = t
        .base_key
        .iter()
        .map(|k| quote_ident(k))
        .collect::<Vec<_>>()
        .join(", ");
    Some(format!(
        "CREATE INDEX IF NOT EXISTS {} ON {} ({keys}, {} DESC)",
        quote_ident(&idx),
        qualified(schema, &t.table),
        quote_ident(hora)
    ))
}

/// Step `p2.retained.<t>`.
pub(crate) async fn improve(ctx: &Ctx<'_>, t: &Tier) -> Result<Value> {
    let schema = ctx.schema();
    ctx.guard(&t.table)?;
    let table = qualified(schema, &t.table);
    let (seq, key, idx) = names(&t.table);
    let seq_q = qualified(schema, &seq);
    let cols: Vec<String> = catalog::columns(ctx.client, schema, &t.table)
        .await?
        .into_iter()
        .map(|c| c.0)
        .collect();
    let has_op = cols.iter().any(|c| c == "hst_operation");
    let has_id = cols.iter().any(|c| c == "hst_id");
    if !has_id || !has_op {
        let mut undo = vec![
            format!("DROP INDEX IF EXISTS {}", qualified(schema, &idx)),
            format!(
                "ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {}",
                quote_ident(&key)
            ),
        ];
        if !has_id {
            undo.push(format!("ALTER TABLE {table} DROP COLUMN IF EXISTS hst_id"));
            undo.push(format!("DROP SEQUENCE IF EXISTS {seq_q}"));
        }
        if !has_op {
            undo.push(format!(
                "ALTER TABLE {table} DROP COLUMN IF EXISTS hst_operation"
            ));
        }
        let record = RollbackRecord {
            step: format!("p2.retained.{}", t.table),
            object_name: format!("retained:{}", t.table),
            kind: "sql".into(),
            ddl: undo.join(";\n"),
            restore_sql: None,
            archive: None,
            file: None,
        };
        let add = format!(
            "ALTER TABLE {table} ADD COLUMN IF NOT EXISTS hst_operation CHAR(1), ADD COLUMN IF NOT EXISTS hst_id BIGINT;
             CREATE SEQUENCE IF NOT EXISTS {seq_q} OWNED BY {table}.hst_id;
             ALTER TABLE {table} ALTER COLUMN hst_id SET DEFAULT nextval({})",
            quote_literal(&seq_q)
        );
        let (add_ref, rec_ref) = (&add, &record);
        ddl::in_tx(
            ctx,
            &format!("add hst_id and hst_operation to {}", t.table),
            || async move {
                state::record_rollback(ctx.client, ctx.phase, std::slice::from_ref(rec_ref))
                    .await?;
                ctx.client
                    .batch_execute(add_ref)
                    .await
                    .map_err(CleanupError::db(format!("add columns to {}", t.table)))
            },
        )
        .await?;
    }
    let fill = format!(
        "UPDATE {table} SET hst_id = nextval({}) WHERE ctid = ANY (ARRAY(SELECT ctid FROM {table} WHERE hst_id IS NULL LIMIT {BATCH}))",
        quote_literal(&seq_q)
    );
    let fill_ref = &fill;
    let mut filled = 0u64;
    loop {
        let n = ddl::in_tx(ctx, &format!("fill hst_id of {}", t.table), || async move {
            ctx.client
                .execute(fill_ref, &[])
                .await
                .map_err(CleanupError::db(format!("fill hst_id of {}", t.table)))
        })
        .await?;
        filled += n;
        ctx.progress(
            &format!("p2.retained.{}", t.table),
            format!("{filled} rows numbered"),
            filled,
            t.rows.max(0) as u64,
        );
        if n == 0 {
            break;
        }
    }
    let has_pk = !catalog::primary_key(ctx.client, schema, &t.table)
        .await?
        .is_empty();
    let constraint_exists: bool = ctx
        .client
        .query_one("SELECT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = $1 AND conrelid = $2::text::regclass)", &[&key, &table])
        .await
        .map_err(CleanupError::db("look for the hst_id constraint"))?
        .get(0);
    let mut finish = vec![format!(
        "ALTER TABLE {table} ALTER COLUMN hst_id SET NOT NULL"
    )];
    if !constraint_exists {
        finish.push(format!(
            "ALTER TABLE {table} ADD CONSTRAINT {} {} (hst_id)",
            quote_ident(&key),
            if has_pk { "UNIQUE" } else { "PRIMARY KEY" }
        ));
    }
    if let Some(i) = index_sql(schema, t) {
        finish.push(i);
    }
    let finish = finish.join(";\n");
    let finish_ref = &finish;
    ddl::in_tx(ctx, &format!("key and index {}", t.table), || async move {
        ctx.client
            .batch_execute(finish_ref)
            .await
            .map_err(CleanupError::db(format!(
                "add the hst_id key to {}",
                t.table
            )))
    })
    .await?;
    Ok(
        json!({ "numbered": filled, "hst_id": if has_pk { "unique" } else { "primary key" }, "index": index_sql(schema, t).is_some() }),
    )
}
