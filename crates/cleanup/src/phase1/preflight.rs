//! The read-only checks that decide whether a family can be migrated as it is: protected or
//! oddly shaped instances, dependent objects, NULL or duplicate keys, values the
//! consolidated types would change, keys already present in the consolidated table.

use std::collections::BTreeMap;

use supra_sync_core::quote_ident;
use tokio_postgres::Client;

use super::families::Family;
use crate::catalog::{self, qualified};
use crate::config::CleanupConfig;
use crate::error::{Blocked, CleanupError, Result};

/// Everything that stops a family before any drop: protected or oddly shaped instances,
/// dependent objects, rows that cannot be migrated as they are (NULL or duplicate keys,
/// values the consolidated types would change, keys already present).
pub(crate) async fn check(
    client: &Client,
    config: &CleanupConfig,
    family: &Family,
    instances: &[String],
    counts: &BTreeMap<String, i64>,
    already_migrated: &[String],
    step: &str,
) -> Result<Vec<Blocked>> {
    let schema = config.schema.as_str();
    let mut blockers = Vec::new();
    if config.is_protected(family.name) {
        blockers.push(Blocked::new(
            step,
            format!(
                "consolidated table {} is published by the sync",
                family.name
            ),
        ));
    }
    let protected: Vec<&String> = instances
        .iter()
        .filter(|t| config.is_protected(t))
        .collect();
    if !protected.is_empty() {
        blockers.push(
            Blocked::new(
                step,
                format!(
                    "{} instance(s) of {} are published by the sync",
                    protected.len(),
                    family.name
                ),
            )
            .detail(format!("{protected:?}"))
            .hint("cleanup never touches a published table: remove it from the publication first"),
        );
    }
    let bad_ids: Vec<&String> = instances
        .iter()
        .filter(|t| family.proceso_id(t).is_none())
        .collect();
    if !bad_ids.is_empty() {
        blockers.push(
            Blocked::new(step, "process id in the table name does not fit a bigint")
                .detail(format!("{bad_ids:?}")),
        );
    }
    let expected = family.data_columns();
    let shapes = catalog::columns_many(client, schema, instances).await?;
    let mut odd = Vec::new();
    for t in instances {
        let names: Vec<String> = shapes
            .get(t)
            .map(|c| c.iter().map(|(n, _)| n.clone()).collect())
            .unwrap_or_default();
        let mut sorted = names.clone();
        sorted.sort();
        let mut want = expected.clone();
        want.sort();
        if sorted != want {
            let extra: Vec<&String> = names.iter().filter(|n| !expected.contains(n)).collect();
            let missing: Vec<&String> = expected.iter().filter(|n| !names.contains(n)).collect();
            odd.push(format!(
                "{t}: extra columns {extra:?}, missing columns {missing:?}"
            ));
        }
    }
    if !odd.is_empty() {
        blockers.push(
            Blocked::new(step, format!("{} instance(s) do not have the columns of {}", odd.len(), family.name))
                .detail(odd.join("\n"))
                .hint("columns that are not in the consolidated table would be lost: migrate these tables by hand or extend the consolidated table"),
        );
    }
    let deps = catalog::dependents(client, schema, instances).await?;
    if !deps.is_empty() {
        let detail = deps
            .iter()
            .map(|(t, d)| format!("{t}: {}", d.join(", ")))
            .collect::<Vec<_>>()
            .join("\n");
        blockers.push(
            Blocked::new(step, format!("{} instance(s) of {} have dependent objects", deps.len(), family.name))
                .detail(detail)
                .hint("dropping them would need CASCADE, which would drop those objects too: drop or redefine the dependent objects first, then run apply again"),
        );
    }
    for t in instances {
        let rows = counts.get(t).copied().unwrap_or(0);
        if rows == 0 || already_migrated.contains(t) || !odd.is_empty() {
            continue;
        }
        if let Some(b) = check_rows(client, schema, family, t, step).await? {
            blockers.push(b);
        }
    }
    Ok(blockers)
}

/// Row-level checks of one non-empty instance.
async fn check_rows(
    client: &Client,
    schema: &str,
    family: &Family,
    table: &str,
    step: &str,
) -> Result<Option<Blocked>> {
    let src = qualified(schema, table);
    let key = quote_ident(family.key);
    let dup_sql = format!(
        "SELECT coalesce({key}::text, 'NULL'), count(*) FROM {src} GROUP BY {key}
          HAVING {key} IS NULL OR count(*) > 1 ORDER BY 2 DESC LIMIT 10"
    );
    let dups = client
        .query(&dup_sql, &[])
        .await
        .map_err(CleanupError::db(format!("check keys of {schema}.{table}")))?;
    if !dups.is_empty() {
        let rows: Vec<String> = dups
            .iter()
            .map(|r| {
                format!(
                    "{} = {} ({} rows)",
                    family.key,
                    r.get::<_, String>(0),
                    r.get::<_, i64>(1)
                )
            })
            .collect();
        return Ok(Some(
            Blocked::new(step, format!("{schema}.{table} has NULL or duplicate {} values", family.key))
                .detail(format!("the consolidated key is (proceso_id, {}); offending values:\n{}", family.key, rows.join("\n")))
                .hint("these rows cannot be migrated as they are: fix or remove them with the billing team, then run apply again"),
        ));
    }
    let changed = family
        .columns
        .iter()
        .map(|(n, t)| {
            format!(
                "({}::{t}) IS DISTINCT FROM {}",
                quote_ident(n),
                quote_ident(n)
            )
        })
        .collect::<Vec<_>>()
        .join(" OR ");
    let filter = format!("WHERE {changed}");
    match catalog::sample_rows(client, schema, table, &filter, 10).await {
        Ok(rows) if rows.is_empty() => {}
        Ok(rows) => {
            return Ok(Some(
                Blocked::new(
                    step,
                    format!(
                        "{schema}.{table} has values the consolidated column types would change"
                    ),
                )
                .detail(format!("offending rows:\n{}", rows.join("\n")))
                .hint("migrating would round or truncate these values: migrate this table by hand"),
            ));
        }
        Err(e) => {
            return Ok(Some(
                Blocked::new(step, format!("{schema}.{table} has values that do not convert to the consolidated column types"))
                    .detail(e.to_string()),
            ));
        }
    }
    let proceso = family.proceso_id(table).unwrap_or_default();
    if catalog::relation_kind(client, schema, family.name)
        .await?
        .is_some()
    {
        let clash_sql = format!(
            "SELECT count(*) FROM {src} s JOIN {} c ON c.proceso_id = $1 AND c.{key} = s.{key}",
            qualified(schema, family.name)
        );
        let clash: i64 = client
            .query_one(&clash_sql, &[&proceso])
            .await
            .map_err(CleanupError::db(format!(
                "check {schema}.{} for existing rows",
                family.name
            )))?
            .get(0);
        if clash > 0 {
            return Ok(Some(
                Blocked::new(step, format!("{schema}.{} already holds {clash} row(s) of proceso_id {proceso} with the same keys as {table}", family.name))
                    .hint("the application may already write to the consolidated table: reconcile these rows by hand"),
            ));
        }
    }
    Ok(None)
}
