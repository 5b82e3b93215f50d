//! The row-level checks of `verify 1`: the consolidated tables work, row totals are
//! preserved, `tarea` is patched.

use supra_sync_core::quote_ident;
use tokio_postgres::Client;

use super::{scalar, snapshot_exists};
use crate::catalog::{self, qualified};
use crate::check::CheckResult;
use crate::error::{CleanupError, Result};
use crate::job::state;
use crate::phase1::families::FAMILIES;
use crate::phase1::tarea;

pub(super) async fn functional_test(
    client: &Client,
    schema: &str,
    table: &str,
    key: &str,
) -> Result<bool> {
    let t = qualified(schema, table);
    let k = quote_ident(key);
    client
        .batch_execute("BEGIN")
        .await
        .map_err(CleanupError::db("begin"))?;
    let result = async {
        let id: i64 = client
            .query_one(
                &format!("SELECT coalesce(min(proceso_id), 0) - 1 FROM {t}"),
                &[],
            )
            .await
            .map_err(CleanupError::db("pick a test id"))?
            .get(0);
        let ins = client
            .execute(
                &format!("INSERT INTO {t} (proceso_id, {k}) VALUES ($1, 1)"),
                &[&id],
            )
            .await
            .map_err(CleanupError::db("insert"))?;
        let sel = scalar(
            client,
            &format!("SELECT count(*) FROM {t} WHERE proceso_id = $1"),
            &[&id],
        )
        .await?;
        let del = client
            .execute(&format!("DELETE FROM {t} WHERE proceso_id = $1"), &[&id])
            .await
            .map_err(CleanupError::db("delete"))?;
        Ok::<bool, CleanupError>(ins == 1 && sel == 1 && del == 1)
    }
    .await;
    let _ = client.batch_execute("ROLLBACK").await;
    result
}

pub(super) async fn no_data_loss(client: &Client, schema: &str) -> Result<CheckResult> {
    if !state::exists(client).await? || !snapshot_exists(client).await? {
        return Ok(CheckResult::new(
            "p1.dod.no_data_loss",
            "rows of every transient table are in the consolidated tables",
            false,
            "no inventory or ledger",
        ));
    }
    let mut problems = Vec::new();
    let mut details = Vec::new();
    for f in &FAMILIES {
        let category = format!("transient_{}", f.name);
        let before = scalar(client, "SELECT coalesce(sum(exact_row_count), 0)::bigint FROM audit_inventory.table_snapshot WHERE schema_name = $1 AND category = $2", &[&schema, &category]).await?;
        let ledger = scalar(client, "SELECT coalesce(sum(source_rows), 0)::bigint FROM supra_sync_cleanup.migrated WHERE phase = '1' AND family = $1 AND dropped_at IS NOT NULL", &[&f.name]).await?;
        let still_there: i64 = {
            let tables = catalog::tables_matching(client, schema, f.regex).await?;
            catalog::count_many(client, schema, &tables)
                .await?
                .values()
                .sum()
        };
        let cons = if catalog::relation_kind(client, schema, f.name)
            .await?
            .is_some()
        {
            scalar(
                client,
                &format!(
                    "SELECT count(*) FROM {} c WHERE c.proceso_id IN (SELECT proceso_id FROM supra_sync_cleanup.migrated WHERE phase = '1' AND family = $1 AND migrated_rows > 0)",
                    qualified(schema, f.name)
                ),
                &[&f.name],
            )
            .await?
        } else {
            0
        };
        let short = scalar(
            client,
            &format!(
                "SELECT count(*) FROM supra_sync_cleanup.migrated m WHERE m.phase = '1' AND m.family = $1 AND m.migrated_rows > 0
                   AND (SELECT count(*) FROM {} c WHERE c.proceso_id = m.proceso_id) < m.migrated_rows",
                if catalog::relation_kind(client, schema, f.name).await?.is_some() { qualified(schema, f.name) } else { "(SELECT NULL::bigint AS proceso_id) ".into() }
            ),
            &[&f.name],
        )
        .await?;
        if before != ledger + still_there || cons < ledger || short > 0 {
            problems.push(f.name);
        }
        details.push(format!("{}: {before} rows before = {ledger} migrated+dropped + {still_there} still in instances; {cons} in {}", f.name, f.name));
    }
    Ok(CheckResult::new(
        "p1.dod.no_data_loss",
        "row totals preserved exactly (inventory = migrated + remaining)",
        problems.is_empty(),
        details.join("; "),
    ))
}

pub(super) async fn tarea_check(client: &Client, schema: &str) -> Result<CheckResult> {
    let id = "p1.dod.tarea_default";
    let desc = "tarea.tredroptablastemporales defaults to 1, no row has 0 (P1-S4-04)";
    let default: Option<Option<String>> = client
        .query_opt(
            "SELECT pg_get_expr(d.adbin, d.adrelid) FROM pg_attribute a
               JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace
               LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
              WHERE n.nspname = $1 AND c.relname = $2 AND a.attname = $3",
            &[&schema, &tarea::TABLE, &tarea::COLUMN],
        )
        .await
        .map_err(CleanupError::db("read the tarea default"))?
        .map(|r| r.get(0));
    let Some(default) = default else {
        return Ok(CheckResult::new(
            id,
            desc,
            true,
            "tarea.tredroptablastemporales does not exist in this database",
        ));
    };
    let zeros = scalar(
        client,
        &format!(
            "SELECT count(*) FROM {} WHERE {} = 0",
            qualified(schema, tarea::TABLE),
            quote_ident(tarea::COLUMN)
        ),
        &[],
    )
    .await?;
    let ok = default
        .as_deref()
        .map(|d| d.trim_matches(|c| c == '(' || c == ')').starts_with('1'))
        .unwrap_or(false)
        && zeros == 0;
    Ok(CheckResult::new(
        id,
        desc,
        ok,
        format!("default {default:?}, {zeros} rows with 0"),
    ))
}
