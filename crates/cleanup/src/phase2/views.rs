//! Backward-compatible views (seed 001 P2-S2-07, P2-S4-06) and the swap that retires a
//! table behind its view:
//!
//! ```text
//!  <t>_compat view ── types (pg_typeof + typmod) and rows (multiset of row text) == <t> ?
//!        │  observation period
//!        ▼
//!  LOCK <t> ─► catch-up ─► parity again ─► rollback record ─► DROP TABLE <t>
//!            ─► ALTER VIEW <t>_compat RENAME TO <t>         (one transaction)
//! ```

use serde_json::{Value, json};
use supra_sync_core::quote_ident;
use tokio_postgres::Client;

use crate::catalog::{self, qualified};
use crate::error::{Blocked, CleanupError, Result};
use crate::job::state::{self, RollbackRecord};
use crate::job::{Ctx, ddl, files};

/// The name of the compatibility view of `table` while `table` still exists.
pub(crate) fn compat_name(table: &str) -> String {
    let base: String = table.chars().take(56).collect();
    format!("{base}_compat")
}

/// `"col" type, …` — a column definition list for `jsonb_to_record`.
pub(crate) fn record_def(columns: &[(String, String)]) -> String {
    columns
        .iter()
        .map(|(n, t)| format!("{} {t}", quote_ident(n)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Column names and types of a relation compared by `format_type` (typmod included) and by
/// `pg_typeof` on one row: the mismatches.
pub(crate) async fn type_mismatches(
    client: &Client,
    schema: &str,
    table: &str,
    view: &str,
) -> Result<Vec<String>> {
    let t = catalog::columns(client, schema, table).await?;
    let v = catalog::columns(client, schema, view).await?;
    let mut out = Vec::new();
    if t.len() != v.len() {
        out.push(format!(
            "{table} has {} columns, {view} has {}",
            t.len(),
            v.len()
        ));
    }
    for ((tn, tt), (vn, vt)) in t.iter().zip(v.iter()) {
        if tn != vn || tt != vt {
            out.push(format!("{tn} {tt} vs {vn} {vt}"));
        }
    }
    if out.is_empty() && !t.is_empty() {
        let exprs = t
            .iter()
            .map(|(n, _)| format!("pg_typeof(x.{})::text", quote_ident(n)))
            .collect::<Vec<_>>()
            .join(" || ',' || ");
        let q = |rel: &str| format!("SELECT {exprs} FROM {} x LIMIT 1", qualified(schema, rel));
        let a = client
            .query_opt(&q(table), &[])
            .await
            .map_err(CleanupError::db("pg_typeof of the table"))?;
        let b = client
            .query_opt(&q(view), &[])
            .await
            .map_err(CleanupError::db("pg_typeof of the view"))?;
        if let (Some(a), Some(b)) = (a, b) {
            let (a, b): (String, String) = (a.get(0), b.get(0));
            if a != b {
                out.push(format!("pg_typeof: {a} vs {b}"));
            }
        }
    }
    Ok(out)
}

/// Rows of `table` the view does not return, and rows the view returns in excess
/// (multisets of the rows' text).
pub(crate) async fn parity(
    client: &Client,
    schema: &str,
    table: &str,
    view: &str,
) -> Result<(i64, i64)> {
    let sql = format!(
        "WITH a AS (SELECT x::text AS t, count(*) AS n FROM {} x GROUP BY 1),
              b AS (SELECT v::text AS t, count(*) AS n FROM {} v GROUP BY 1)
         SELECT coalesce(sum(greatest(coalesce(a.n, 0) - coalesce(b.n, 0), 0)), 0)::bigint,
                coalesce(sum(greatest(coalesce(b.n, 0) - coalesce(a.n, 0), 0)), 0)::bigint
           FROM a FULL JOIN b USING (t)",
        qualified(schema, table),
        qualified(schema, view)
    );
    let row = client
        .query_one(&sql, &[])
        .await
        .map_err(CleanupError::db(format!("compare {table} with {view}")))?;
    Ok((row.get(0), row.get(1)))
}

/// Creates the compatibility view and checks it returns exactly the table, in one
/// transaction (a failed check leaves no view behind).
pub(crate) async fn create_checked(
    ctx: &Ctx<'_>,
    step: &str,
    table: &str,
    select: &str,
) -> Result<Value> {
    let schema = ctx.schema();
    let view = compat_name(table);
    let sql = format!(
        "CREATE OR REPLACE VIEW {} AS {select}",
        qualified(schema, &view)
    );
    let (sql_ref, view_ref) = (&sql, &view);
    ddl::in_tx(ctx, &format!("create view {schema}.{view}"), || async move {
        ctx.client.batch_execute(sql_ref).await.map_err(CleanupError::db(format!("create view {view_ref}")))?;
        let types = type_mismatches(ctx.client, schema, table, view_ref).await?;
        if !types.is_empty() {
            return Err(Blocked::new(step, format!("view {view_ref} does not reproduce the column types of {table}"))
                .detail(types.join("\n"))
                .into());
        }
        let (missing, extra) = parity(ctx.client, schema, table, view_ref).await?;
        if missing + extra > 0 {
            return Err(Blocked::new(step, format!("view {view_ref} does not return exactly the rows of {table}"))
                .detail(format!("{missing} row(s) of the table missing from the view, {extra} extra row(s) in the view"))
                .into());
        }
        let rows = catalog::count_rows(ctx.client, schema, table).await?;
        Ok(json!({ "view": view_ref, "rows": rows, "created_at": chrono::Utc::now().to_rfc3339() }))
    })
    .await
}

/// Whether the observation period since `step`'s completion has passed; otherwise a
/// "waiting" stop.
pub(crate) async fn observed(ctx: &Ctx<'_>, since_step: &str, step: &str) -> Result<()> {
    let rec = state::load(ctx.client, ctx.phase, since_step).await?;
    let Some(done) = rec.and_then(|r| r.finished_at) else {
        return Err(crate::job::waiting(
            step,
            format!("{since_step} has not run"),
        ));
    };
    let period = chrono::Duration::from_std(ctx.config.observation_period()).unwrap_or_default();
    let until = done + period;
    if chrono::Utc::now() < until {
        return Err(crate::job::waiting(
            step,
            format!("observation period until {}", until.to_rfc3339()),
        ));
    }
    Ok(())
}

/// Retires `table` behind its compatibility view: lock, optional catch-up statement, exact
/// parity, rollback record, drop, rename — one transaction.
pub(crate) async fn swap(
    ctx: &Ctx<'_>,
    step: &str,
    table: &str,
    catch_up: Option<&str>,
    extra_rollback: Value,
) -> Result<Value> {
    let schema = ctx.schema();
    ctx.guard(table)?;
    let view = compat_name(table);
    if catalog::relation_kind(ctx.client, schema, table)
        .await?
        .as_deref()
        == Some("v")
    {
        return Ok(json!({ "swapped": "already" }));
    }
    let deps: Vec<String> = catalog::dependents(ctx.client, schema, &[table.to_string()])
        .await?
        .into_values()
        .flatten()
        .filter(|d| !d.ends_with(&format!(".{view}")))
        .collect();
    if !deps.is_empty() {
        return Err(Blocked::new(step, format!("{schema}.{table} has dependent objects"))
            .detail(deps.join("\n"))
            .hint("the view keeps serving reads; repoint or drop the dependent objects (seed 001 risk: FKs to tipo* tables), then run apply again")
            .into());
    }
    let ddl_sql = catalog::ddl::table_ddl(ctx.client, schema, table, schema, false)
        .await?
        .sql;
    // The rollback script goes to a file before anything is dropped (and to the state table
    // in the dropping transaction).
    let file = ctx
        .config
        .archive_dir
        .join("phase2")
        .join(format!("rollback_{table}.sql"));
    files::write_durable(
        &file,
        format!(
            "-- Rollback of the retirement of {schema}.{table} (phase 2): recreate the table and\n\
             -- refill it from its compatibility view, then drop the view.\n\
             ALTER VIEW {t} RENAME TO {v_name};\n{ddl_sql}INSERT INTO {t} SELECT * FROM {v_q};\nDROP VIEW {v_q};\n",
            t = qualified(schema, table),
            v_name = quote_ident(&view),
            v_q = qualified(schema, &view),
        )
        .as_bytes(),
    )?;
    let file = file.display().to_string();
    let t = qualified(schema, table);
    let v = qualified(schema, &view);
    let (ddl_ref, t_ref, v_ref, view_ref) = (&ddl_sql, &t, &v, &view);
    let extra_ref = &extra_rollback;
    let file_ref = &file;
    ddl::in_tx(ctx, &format!("retire {schema}.{table}"), || async move {
        ctx.client.batch_execute(&format!("LOCK TABLE {t_ref} IN ACCESS EXCLUSIVE MODE")).await.map_err(CleanupError::db(format!("lock {table}")))?;
        let mut caught_up = 0;
        if let Some(sql) = catch_up {
            caught_up = ctx.client.execute(sql, &[]).await.map_err(CleanupError::db(format!("catch up {table}")))?;
        }
        let (missing, extra) = parity(ctx.client, schema, table, view_ref).await?;
        if missing > 0 {
            return Err(Blocked::new(step, format!("{table} holds {missing} row(s) its view does not return"))
                .hint("nothing was dropped; the table changed in a way the migration cannot represent: check it, then run apply again")
                .into());
        }
        let rows = catalog::count_rows(ctx.client, schema, table).await?;
        let mut archive = json!({ "view": view_ref, "rows": rows });
        if let (Some(a), Some(e)) = (archive.as_object_mut(), extra_ref.as_object()) {
            a.extend(e.clone());
        }
        let record = RollbackRecord {
            step: step.to_string(),
            object_name: table.to_string(),
            kind: "swapped_table".into(),
            ddl: ddl_ref.clone(),
            restore_sql: Some(format!("INSERT INTO {t_ref} SELECT * FROM {v_ref}")),
            archive: Some(archive),
            file: Some(file_ref.clone()),
        };
        state::record_rollback(ctx.client, ctx.phase, &[record]).await?;
        ctx.client
            .batch_execute(&format!("DROP TABLE {t_ref}; ALTER VIEW {v_ref} RENAME TO {}", quote_ident(table)))
            .await
            .map_err(CleanupError::db(format!("replace {table} by its view")))?;
        Ok(json!({ "swapped": true, "rows": rows, "caught_up": caught_up, "extra_in_view": extra }))
    })
    .await
}

/// Undoes a swap: the view goes back to its compat name, the table is recreated from its
/// DDL and refilled from the view, then the view is dropped.
pub(crate) async fn unswap(ctx: &Ctx<'_>, r: &RollbackRecord) -> Result<String> {
    let schema = ctx.schema();
    let table = &r.object_name;
    let view = compat_name(table);
    let kind = catalog::relation_kind(ctx.client, schema, table).await?;
    let (t, v) = (qualified(schema, table), qualified(schema, &view));
    let (t_ref, v_ref, kind, view) = (&t, &v, &kind, &view);
    ddl::in_tx(ctx, &format!("restore {schema}.{table}"), || async move {
        if kind.as_deref() == Some("v") {
            ctx.client.batch_execute(&format!("ALTER VIEW {t_ref} RENAME TO {}", quote_ident(view))).await.map_err(CleanupError::db("rename the view back"))?;
        }
        let mut rows = 0;
        if kind.as_deref() != Some("r") {
            ctx.client.batch_execute(&r.ddl).await.map_err(CleanupError::db(format!("recreate {table}")))?;
            rows = ctx.client.execute(&format!("INSERT INTO {t_ref} SELECT * FROM {v_ref}"), &[]).await.map_err(CleanupError::db(format!("refill {table}")))?;
        }
        ctx.client.batch_execute(&format!("DROP VIEW IF EXISTS {v_ref}")).await.map_err(CleanupError::db("drop the compat view"))?;
        ctx.client
            .execute("UPDATE supra_sync_cleanup.rollback_ddl SET applied_at = now() WHERE phase = $1 AND object_name = $2", &[&ctx.phase.as_str(), &r.object_name])
            .await
            .map_err(CleanupError::db("mark the rollback applied"))?;
        Ok(format!("restored with {rows} rows"))
    })
    .await
}
