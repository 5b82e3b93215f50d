//! Constraints approved in the final cleanup (seed 004 task_126): added `NOT VALID` (a brief
//! lock, no scan), then `VALIDATE`d (a scan under SHARE UPDATE EXCLUSIVE, writes go on). Rows
//! that fail validation are reported, never fixed: the constraint stays `NOT VALID` and still
//! guards new rows.

use serde_json::{Value, json};
use supra_sync_core::quote_ident;

use crate::catalog::{self, qualified};
use crate::config::{ConstraintKind, ConstraintSpec};
use crate::error::{Blocked, CleanupError, Result};
use crate::job::state::{self, RollbackRecord};
use crate::job::{Ctx, ddl};

/// `ALTER TABLE … ADD CONSTRAINT … NOT VALID`.
pub(crate) fn add_sql(schema: &str, c: &ConstraintSpec) -> String {
    let body = match &c.kind {
        ConstraintKind::ForeignKey {
            columns,
            references,
            referenced_columns,
        } => format!(
            "FOREIGN KEY ({}) REFERENCES {} ({})",
            catalog::ddl::column_list(columns),
            qualified(schema, references),
            catalog::ddl::column_list(referenced_columns)
        ),
        ConstraintKind::NotNull { column } => {
            format!("CHECK ({} IS NOT NULL)", quote_ident(column))
        }
    };
    format!(
        "ALTER TABLE {} ADD CONSTRAINT {} {body} NOT VALID",
        qualified(schema, &c.table),
        quote_ident(&c.name)
    )
}

/// `ALTER TABLE … VALIDATE CONSTRAINT …`.
pub(crate) fn validate_sql(schema: &str, c: &ConstraintSpec) -> String {
    format!(
        "ALTER TABLE {} VALIDATE CONSTRAINT {}",
        qualified(schema, &c.table),
        quote_ident(&c.name)
    )
}

fn violations_filter(schema: &str, c: &ConstraintSpec) -> String {
    match &c.kind {
        ConstraintKind::ForeignKey {
            columns,
            references,
            referenced_columns,
        } => {
            let not_null = columns
                .iter()
                .map(|col| format!("t.{} IS NOT NULL", quote_ident(col)))
                .collect::<Vec<_>>()
                .join(" AND ");
            let join = columns
                .iter()
                .zip(referenced_columns)
                .map(|(a, b)| format!("r.{} = t.{}", quote_ident(b), quote_ident(a)))
                .collect::<Vec<_>>()
                .join(" AND ");
            format!(
                "WHERE {not_null} AND NOT EXISTS (SELECT 1 FROM {} r WHERE {join})",
                qualified(schema, references)
            )
        }
        ConstraintKind::NotNull { column } => format!("WHERE t.{} IS NULL", quote_ident(column)),
    }
}

/// Step `pf.constraint.<name>`.
pub(crate) async fn apply(ctx: &Ctx<'_>, c: &ConstraintSpec) -> Result<Value> {
    let schema = ctx.schema();
    let step = format!("pf.constraint.{}", c.name);
    ctx.guard(&c.table)?;
    if let ConstraintKind::ForeignKey { references, .. } = &c.kind {
        // A foreign key adds triggers to the referenced table too.
        ctx.guard(references)?;
    }
    let state_of =
        |validated: Option<bool>| json!({ "constraint": c.name, "validated": validated });
    let existing: Option<bool> = ctx
        .client
        .query_opt(
            "SELECT convalidated FROM pg_constraint WHERE conname = $1 AND conrelid = $2::text::regclass",
            &[&c.name, &qualified(schema, &c.table)],
        )
        .await
        .map_err(CleanupError::db("look for the constraint"))?
        .map(|r| r.get(0));
    if existing == Some(true) {
        return Ok(state_of(Some(true)));
    }
    if existing.is_none() {
        let record = RollbackRecord {
            step: step.clone(),
            object_name: format!("constraint:{}.{}", c.table, c.name),
            kind: "sql".into(),
            ddl: format!(
                "ALTER TABLE {} DROP CONSTRAINT IF EXISTS {}",
                qualified(schema, &c.table),
                quote_ident(&c.name)
            ),
            restore_sql: None,
            archive: None,
            file: None,
        };
        let add = add_sql(schema, c);
        let (add_ref, rec_ref) = (&add, &record);
        ddl::in_tx(ctx, &format!("add constraint {}", c.name), || async move {
            state::record_rollback(ctx.client, ctx.phase, std::slice::from_ref(rec_ref)).await?;
            ctx.client
                .batch_execute(add_ref)
                .await
                .map_err(CleanupError::db(format!(
                    "add constraint {} NOT VALID",
                    c.name
                )))
        })
        .await?;
    }
    let validate = validate_sql(schema, c);
    let validate_ref = &validate;
    let outcome = ddl::in_tx(
        ctx,
        &format!("validate constraint {}", c.name),
        || async move {
            ctx.client
                .batch_execute(validate_ref)
                .await
                .map_err(CleanupError::db(format!("validate constraint {}", c.name)))
        },
    )
    .await;
    match outcome {
        Ok(()) => Ok(state_of(Some(true))),
        Err(e) if matches!(e.sqlstate(), Some("23503" | "23514" | "23502")) => {
            let sample = catalog::sample_rows(
                ctx.client,
                schema,
                &c.table,
                &violations_filter(schema, c),
                10,
            )
            .await?;
            Err(Blocked::new(&step, format!("constraint {} on {} added NOT VALID; existing rows violate it", c.name, c.table))
                .detail(format!("offending rows (first 10):\n{}", sample.join("\n")))
                .hint("new rows are already checked; fix these rows with the data owners (they are reported, not fixed), then run apply again to VALIDATE")
                .into())
        }
        Err(e) => Err(e),
    }
}
