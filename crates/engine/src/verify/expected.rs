//! Expected SUPRA rows in a temporary table shaped like the real one, and the typed
//! comparison of the two with `EXCEPT` both ways.
//!
//! ```text
//!  pg_temp.__verify_<n>_<t> (LIKE <table> INCLUDING DEFAULTS INCLUDING GENERATED, no NOT NULL)
//!    + __verify_legacy_key text, __verify_volatile text[]   (columns masked for that row)
//!  exp = expected rows, act = SUPRA rows in scope; both projected on the mapped columns
//!  exp EXCEPT act → missing (key absent) or differing;  act EXCEPT exp → unexpected / retained
//! ```

use std::collections::HashMap;

use supra_sync_core::{TableName, Value, numbered, quote_ident, quote_literal, unnest_text_arrays};
use supra_sync_mapping::DeletePolicy;
use tokio_postgres::Client;
use tokio_postgres::types::ToSql;
use uuid::Uuid;

use super::{EntityComparison, Example};
use crate::EngineError;

const LEGACY_KEY: &str = "__verify_legacy_key";
const VOLATILE: &str = "__verify_volatile";

/// One expected SUPRA row.
pub(super) struct ExpectedRow {
    /// Legacy key it comes from.
    pub(super) legacy_key: String,
    /// Values, one per column of its table.
    pub(super) values: Vec<Value>,
    /// Columns left out of the comparison (their value depends on the apply time).
    pub(super) volatile: Vec<String>,
}

/// How a column is compared: typed when its type has a default btree equality, else in a
/// canonical form.
#[derive(Clone, Copy)]
enum Compare {
    Typed,
    Jsonb,
    Text,
}

/// Which SUPRA rows a comparison covers.
pub(super) struct Scope<'a> {
    /// Ids mapped to the entity in `sync_mappings` (derived ids for `[[also]]` tables).
    pub(super) mapped: &'a [Uuid],
    /// Ids of legacy rows that could not be mapped: never reported.
    pub(super) excluded: &'a [Uuid],
    /// Tenant column and id.
    pub(super) tenant: Option<(&'a str, Uuid)>,
    /// Also rows mapped to no entity at all.
    pub(super) orphans: bool,
    /// The entity's delete policy.
    pub(super) delete_policy: &'a DeletePolicy,
    /// Whether this is the entity's primary SUPRA table.
    pub(super) primary: bool,
    /// Only the expected rows and `mapped` are in scope (a slice: no scan of the table).
    pub(super) chunk: bool,
    /// The entity (its `sync_mappings.entity_type`).
    pub(super) entity: &'a str,
}

/// A SUPRA table, its temporary twin and the columns the mapping writes.
pub(super) struct ExpectedTable {
    pub(super) table: TableName,
    temp: String,
    key: String,
    columns: Vec<String>,
    types: HashMap<String, (String, Compare)>,
}

impl ExpectedTable {
    /// Creates the temporary table (dropped when the verifier's transaction ends).
    pub(super) async fn create(
        supra: &Client,
        table: TableName,
        temp: String,
        conflict: Vec<String>,
        columns: Vec<String>,
    ) -> Result<ExpectedTable, EngineError> {
        let rows = supra
            .query(
                "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod), t.typname::text,
                        t.typcategory = 'A' OR EXISTS (
                            SELECT 1 FROM pg_opclass o JOIN pg_am m ON m.oid = o.opcmethod
                             WHERE m.amname = 'btree' AND o.opcdefault
                               AND o.opcintype = COALESCE(NULLIF(t.typbasetype, 0), a.atttypid))
                   FROM pg_attribute a
                   JOIN pg_class c ON c.oid = a.attrelid
                   JOIN pg_namespace n ON n.oid = c.relnamespace
                   JOIN pg_type t ON t.oid = a.atttypid
                  WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped",
                &[&table.schema, &table.name],
            )
            .await
            .map_err(|e| EngineError::sql(format!("verify: reading the columns of {table}"), e))?;
        let types: HashMap<String, (String, Compare)> = rows
            .iter()
            .map(|r| {
                let typname: String = r.get(2);
                let compare = match typname.as_str() {
                    "json" => Compare::Jsonb,
                    "geography" | "geometry" => Compare::Text,
                    _ if r.get::<_, bool>(3) => Compare::Typed,
                    _ => Compare::Text,
                };
                (r.get(0), (r.get(1), compare))
            })
            .collect();
        if types.is_empty() {
            return Err(EngineError::Definite(format!(
                "verify: SUPRA table {table} does not exist"
            )));
        }
        for c in &columns {
            if !types.contains_key(c) {
                return Err(EngineError::Definite(format!(
                    "verify: SUPRA table {table} has no column {c}"
                )));
            }
        }
        let key = conflict
            .first()
            .cloned()
            .ok_or_else(|| EngineError::Definite(format!("verify: no key for {table}")))?;
        let t = format!("pg_temp.{}", quote_ident(&temp));
        supra
            .batch_execute(&format!(
                "CREATE TEMP TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING GENERATED) ON COMMIT DROP;
                 ALTER TABLE {t} ADD COLUMN {LEGACY_KEY} text, ADD COLUMN {VOLATILE} text[];",
                quote_ident(&temp),
                table.quoted()
            ))
            .await
            .map_err(|e| EngineError::sql(format!("verify: creating the twin of {table}"), e))?;
        // Expected rows may hold NULLs the real table refuses: that is a difference to report,
        // not a reason to stop.
        let not_null: Vec<String> = supra
            .query(
                "SELECT attname::text FROM pg_attribute
                  WHERE attrelid = $1::text::regclass AND attnum > 0 AND attnotnull AND NOT attisdropped",
                &[&t],
            )
            .await
            .map_err(|e| EngineError::sql("verify: reading NOT NULL columns", e))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        if !not_null.is_empty() {
            let clauses = not_null
                .iter()
                .map(|c| format!("ALTER COLUMN {} DROP NOT NULL", quote_ident(c)))
                .collect::<Vec<_>>()
                .join(", ");
            supra
                .batch_execute(&format!("ALTER TABLE {t} {clauses}"))
                .await
                .map_err(|e| EngineError::sql("verify: relaxing NOT NULL", e))?;
        }
        Ok(ExpectedTable {
            table,
            temp: t,
            key,
            columns,
            types,
        })
    }

    /// Loads expected rows (values bound as text, cast by the server to each column's type,
    /// as the applier writes them).
    pub(super) async fn insert(
        &self,
        supra: &Client,
        rows: &[ExpectedRow],
    ) -> Result<(), EngineError> {
        let n = self.columns.len();
        let names = self
            .columns
            .iter()
            .map(|c| quote_ident(c))
            .collect::<Vec<_>>()
            .join(", ");
        let casts = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| format!("u.c{}::{}", i + 1, self.types[c].0))
            .collect::<Vec<_>>()
            .join(", ");
        let unnest = unnest_text_arrays(numbered("c", n).chain(["lk".into(), "vol".into()]));
        let sql = format!(
            "INSERT INTO {} ({names}, {LEGACY_KEY}, {VOLATILE})
             SELECT {casts}, u.lk, string_to_array(u.vol, ',') FROM {unnest}",
            self.temp
        );
        let mut arrays: Vec<Vec<Option<String>>> = (0..n)
            .map(|i| rows.iter().map(|r| r.values[i].to_text()).collect())
            .collect();
        arrays.push(rows.iter().map(|r| Some(r.legacy_key.clone())).collect());
        arrays.push(rows.iter().map(|r| Some(r.volatile.join(","))).collect());
        let params: Vec<&(dyn ToSql + Sync)> =
            arrays.iter().map(|a| a as &(dyn ToSql + Sync)).collect();
        supra.execute(&sql, &params).await.map_err(|e| {
            EngineError::sql(
                format!("verify: loading expected rows of {}", self.table),
                e,
            )
        })?;
        Ok(())
    }

    fn compared(&self, alias: &str, column: &str) -> String {
        let c = format!("{alias}.{}", quote_ident(column));
        match self.types[column].1 {
            Compare::Typed => c,
            Compare::Jsonb => format!("{c}::jsonb"),
            Compare::Text => format!("{c}::text"),
        }
    }

    fn masked(&self, alias: &str, mask: &str, column: &str) -> String {
        format!(
            "CASE WHEN {mask}.{VOLATILE} @> ARRAY[{}]::text[] THEN NULL ELSE {} END",
            quote_literal(column),
            self.compared(alias, column)
        )
    }

    /// Compares the loaded rows with SUPRA and adds what differs to `report`.
    pub(super) async fn diff(
        &self,
        supra: &Client,
        scope: &Scope<'_>,
        report: &mut EntityComparison,
    ) -> Result<(), EngineError> {
        let k = quote_ident(&self.key);
        let exp_cols = self
            .columns
            .iter()
            .map(|c| self.masked("e", "e", c))
            .collect::<Vec<_>>()
            .join(", ");
        let act_cols = self
            .columns
            .iter()
            .map(|c| self.masked("t", "v", c))
            .collect::<Vec<_>>()
            .join(", ");
        let tenant = match scope.tenant {
            Some((col, id)) if self.types.contains_key(col) => {
                format!(
                    "t.{} = {}::uuid",
                    quote_ident(col),
                    quote_literal(&id.to_string())
                )
            }
            _ => "true".into(),
        };
        // Hashed subplans (NOT IN / IN over a subquery): linear whatever the statistics say.
        let key_type = &self.types[&self.key].0;
        let orphans = match (scope.orphans, key_type.as_str()) {
            (false, _) => String::new(),
            (true, "uuid") => {
                format!("OR t.{k} NOT IN (SELECT m.supra_id FROM supra_sync.sync_mappings m)")
            }
            (true, _) => format!(
                "OR t.{k}::text NOT IN (SELECT m.supra_id::text FROM supra_sync.sync_mappings m)"
            ),
        };
        let in_scope = if scope.chunk {
            // Index lookups of the expected and the given keys instead of a scan.
            format!(
                "t.{k} IN (SELECT e.{k} FROM {temp} e UNION ALL SELECT unnest($1::text[])::{ty})",
                temp = self.temp,
                ty = self.types[&self.key].0
            )
        } else {
            format!(
                "(v.{k} IS NOT NULL OR t.{k} IN (SELECT unnest($1::text[])::{key_type}) {orphans})"
            )
        };
        // Temporary tables are never analyzed by autovacuum: give the planner their size.
        supra
            .batch_execute(&format!("ANALYZE {}", self.temp))
            .await
            .map_err(|e| EngineError::sql("verify: analyzing the expected rows", e))?;
        let sql = format!(
            "WITH exp AS (SELECT e.{k} AS __k, {exp_cols} FROM {temp} e),
                  act AS (SELECT t.{k} AS __k, {act_cols} FROM {table} t LEFT JOIN {temp} v ON v.{k} = t.{k}
                           WHERE {tenant} AND {in_scope}),
                  only_exp AS (SELECT * FROM exp EXCEPT SELECT * FROM act),
                  only_act AS (SELECT * FROM act EXCEPT SELECT * FROM exp)
             SELECT 'exp', o.__k::text, EXISTS (SELECT 1 FROM act a WHERE a.__k = o.__k), false, false, false,
                    NULL::text
               FROM only_exp o
             UNION ALL
             SELECT 'act', o.__k::text, EXISTS (SELECT 1 FROM only_exp x WHERE x.__k = o.__k),
                    EXISTS (SELECT 1 FROM exp x WHERE x.__k = o.__k),
                    o.__k::text = ANY($1::text[]), o.__k::text = ANY($2::text[]),
                    (SELECT m.legacy_id::text FROM supra_sync.sync_mappings m
                      WHERE m.supra_id::text = o.__k::text AND m.entity_type = $3 LIMIT 1)
               FROM only_act o
             ORDER BY 1, 2",
            temp = self.temp,
            table = self.table.quoted(),
        );
        let mapped: Vec<String> = scope.mapped.iter().map(Uuid::to_string).collect();
        let excluded: Vec<String> = scope.excluded.iter().map(Uuid::to_string).collect();
        let rows = supra
            .query(&sql, &[&mapped, &excluded, &scope.entity])
            .await
            .map_err(|e| EngineError::sql(format!("verify: comparing {}", self.table), e))?;
        let mut retained: Vec<String> = Vec::new();
        for r in &rows {
            let (side, key): (String, String) = (r.get(0), r.get(1));
            let (other, in_exp, is_mapped, is_excluded): (bool, bool, bool, bool) =
                (r.get(2), r.get(3), r.get(4), r.get(5));
            // The legacy key an unexpected row is still mapped to.
            let mapped_to: Option<String> = r.get(6);
            if side == "exp" {
                if other {
                    let detail = if report.differing.keeps_more() {
                        self.explain(supra, &key).await?
                    } else {
                        (None, String::new())
                    };
                    report
                        .differing
                        .push(self.example(&key, detail.0, detail.1));
                } else {
                    let lk = self.legacy_key(supra, &key).await?;
                    report.missing.push(self.example(
                        &key,
                        lk,
                        "expected row absent from SUPRA".into(),
                    ));
                }
            } else if other || is_excluded {
                // Differing (counted from the expected side), or not comparable.
            } else if in_exp {
                report.unexpected.push(self.example(
                    &key,
                    mapped_to,
                    "second row with an expected key".into(),
                ));
            } else if is_mapped && !matches!(scope.delete_policy, DeletePolicy::Delete) {
                retained.push(key);
            } else {
                let detail = if is_mapped {
                    "its legacy row is gone and the delete policy removes it"
                } else {
                    "mapped to no legacy row"
                };
                report
                    .unexpected
                    .push(self.example(&key, mapped_to, detail.into()));
            }
        }
        report.retained += retained.len();
        if let (true, DeletePolicy::SoftDelete { column, value }) =
            (scope.primary, scope.delete_policy)
        {
            self.check_soft_deleted(supra, &retained, column, value, report)
                .await?;
        }
        Ok(())
    }

    /// Retained rows under a soft-delete policy must carry the marker.
    async fn check_soft_deleted(
        &self,
        supra: &Client,
        keys: &[String],
        column: &str,
        value: &Value,
        report: &mut EntityComparison,
    ) -> Result<(), EngineError> {
        let Some((ty, _)) = self.types.get(column) else {
            return Ok(());
        };
        let sql = format!(
            "SELECT {k}::text, {c}::text FROM {table} WHERE {k}::text = ANY($1::text[]) AND {c} IS DISTINCT FROM $2::text::{ty}",
            k = quote_ident(&self.key),
            c = quote_ident(column),
            table = self.table.quoted()
        );
        let rows = supra
            .query(&sql, &[&keys, &value.to_text()])
            .await
            .map_err(|e| EngineError::sql("verify: checking soft-deleted rows", e))?;
        for r in rows {
            let found: Option<String> = r.get(1);
            report.retained -= 1;
            report.differing.push(self.example(
                &r.get::<_, String>(0),
                None,
                format!(
                    "legacy row deleted: {column} should be {:?}, found {:?}",
                    value.to_text(),
                    found
                ),
            ));
        }
        Ok(())
    }

    fn example(&self, key: &str, legacy_key: Option<String>, detail: String) -> Example {
        Example {
            table: self.table.to_string(),
            supra_id: Some(key.to_string()),
            legacy_key,
            detail,
        }
    }

    async fn legacy_key(&self, supra: &Client, key: &str) -> Result<Option<String>, EngineError> {
        let sql = format!(
            "SELECT {LEGACY_KEY} FROM {} WHERE {}::text = $1 LIMIT 1",
            self.temp,
            quote_ident(&self.key)
        );
        Ok(supra
            .query_opt(&sql, &[&key])
            .await
            .map_err(|e| EngineError::sql("verify: reading an expected row", e))?
            .map(|r| r.get(0)))
    }

    /// The legacy key and the columns that differ (expected vs found) for one key.
    async fn explain(
        &self,
        supra: &Client,
        key: &str,
    ) -> Result<(Option<String>, String), EngineError> {
        let k = quote_ident(&self.key);
        let parts = self
            .columns
            .iter()
            .map(|c| {
                let q = quote_ident(c);
                format!(
                    "CASE WHEN NOT COALESCE(e.{VOLATILE} @> ARRAY[{lit}]::text[], false) AND {ce} IS DISTINCT FROM {ct}
                          THEN format('%s: expected %s, found %s', {lit}, COALESCE(left(e.{q}::text, 80), 'NULL'),
                                      COALESCE(left(t.{q}::text, 80), 'NULL')) END",
                    lit = quote_literal(c),
                    ce = self.compared("e", c),
                    ct = self.compared("t", c),
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT e.{LEGACY_KEY}, concat_ws('; ', {parts}) FROM {} e JOIN {} t ON t.{k} = e.{k} WHERE e.{k}::text = $1",
            self.temp,
            self.table.quoted()
        );
        let rows = supra
            .query(&sql, &[&key])
            .await
            .map_err(|e| EngineError::sql("verify: explaining a difference", e))?;
        let legacy_key = rows.first().map(|r| r.get::<_, String>(0));
        let detail = rows
            .iter()
            .map(|r| r.get::<_, String>(1))
            .find(|d| !d.is_empty())
            .unwrap_or_default();
        Ok((legacy_key, detail))
    }
}
