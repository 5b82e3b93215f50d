//! Two SUPRA databases compared row for row: every table of the SUPRA schema (by primary
//! key, every column as JSON) and the identity mappings.
//!
//! A mapping may fall back to the time of the apply (`coalesce(legacy_date, now())`), which
//! differs between two builds by construction; a differing date/time value is therefore
//! accepted only when *both* sides hold an instant at or after `since` (the start of the
//! test, later than every date in the fixture). Any other difference is reported.

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde_json::Value;
use tokio_postgres::Client;

/// Up to this many examples per table in a report.
const EXAMPLES: usize = 5;

/// Every SUPRA table's rows (by primary key) and the identity mappings, read at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct Capture {
    tables: BTreeMap<String, BTreeMap<String, Value>>,
    mappings: BTreeMap<String, String>,
}

impl Capture {
    /// Reads every table of `c`.
    pub async fn read(c: &Client) -> Capture {
        let mut tables = BTreeMap::new();
        for (table, key) in tables_of(c).await {
            tables.insert(table.clone(), rows(c, &table, &key).await);
        }
        let sql =
            "SELECT entity_type || ' ' || legacy_id, supra_id::text FROM supra_sync.sync_mappings";
        let mappings = c
            .query(sql, &[])
            .await
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        Capture { tables, mappings }
    }

    /// Rows in all tables (to check that a comparison compared something).
    pub fn rows(&self) -> usize {
        self.tables.values().map(BTreeMap::len).sum()
    }

    /// Differences between `self` and `other` (empty when they hold the same rows).
    pub fn differences(&self, other: &Capture, since: DateTime<Utc>) -> Vec<String> {
        let mut out = Vec::new();
        let empty = BTreeMap::new();
        for (table, left) in &self.tables {
            let right = other.tables.get(table).unwrap_or(&empty);
            let mut examples = Vec::new();
            let mut n = 0;
            for (k, l) in left {
                let why = match right.get(k) {
                    None => Some("only in the first".to_string()),
                    Some(r) => differing_columns(l, r, since)
                        .map(|cols| format!("columns {cols:?} differ: {l} vs {r}")),
                };
                if let Some(why) = why {
                    n += 1;
                    if examples.len() < EXAMPLES {
                        examples.push(format!("  {k}: {why}"));
                    }
                }
            }
            for k in right.keys().filter(|k| !left.contains_key(*k)) {
                n += 1;
                if examples.len() < EXAMPLES {
                    examples.push(format!("  {k}: only in the second"));
                }
            }
            if n > 0 {
                out.push(format!("{table}: {n} rows differ\n{}", examples.join("\n")));
            }
        }
        // Mappings of deleted rows are kept by design (and a snapshot never sees those rows):
        // compare the identity of every key both sides know.
        let differing: Vec<String> = self
            .mappings
            .iter()
            .filter_map(|(k, id)| {
                let o = other.mappings.get(k).filter(|o| *o != id)?;
                Some(format!("{k}: {id} vs {o}"))
            })
            .collect();
        if !differing.is_empty() {
            let shown = &differing[..differing.len().min(EXAMPLES)];
            out.push(format!(
                "sync_mappings differ for {} keys: {shown:?}",
                differing.len()
            ));
        }
        out
    }
}

/// `public` tables (partitioned parents, not their partitions; not PostGIS's catalog) with
/// their primary key columns.
async fn tables_of(c: &Client) -> Vec<(String, Vec<String>)> {
    let rows = c
        .query(
            "SELECT c.relname::text,
                    coalesce((SELECT array_agg(a.attname::text ORDER BY a.attnum)
                                FROM pg_index i JOIN pg_attribute a
                                  ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)
                               WHERE i.indrelid = c.oid AND i.indisprimary), '{}')
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p') AND NOT c.relispartition
                AND c.relname <> 'spatial_ref_sys'
              ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    rows.iter().map(|r| (r.get(0), r.get(1))).collect()
}

/// Rows of `table` keyed by their primary key (the whole row when it has none).
async fn rows(c: &Client, table: &str, key: &[String]) -> BTreeMap<String, Value> {
    let sql = format!("SELECT to_jsonb(t)::text FROM public.\"{table}\" t");
    let mut out = BTreeMap::new();
    for r in c
        .query(&sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
    {
        let v: Value = serde_json::from_str(&r.get::<_, String>(0)).unwrap();
        let k = if key.is_empty() {
            v.to_string()
        } else {
            key.iter()
                .map(|c| v[c].to_string())
                .collect::<Vec<_>>()
                .join(",")
        };
        *out.entry(k.clone()).or_insert(Value::Null) = v;
    }
    out
}

fn differing_columns(l: &Value, r: &Value, since: DateTime<Utc>) -> Option<Vec<String>> {
    let (Some(l), Some(r)) = (l.as_object(), r.as_object()) else {
        return (l != r).then(Vec::new);
    };
    let cols: Vec<String> = l
        .iter()
        .filter(|(k, v)| {
            let other = r.get(*k).unwrap_or(&Value::Null);
            *v != other && !(applied_at(v, since) && applied_at(other, since))
        })
        .map(|(k, _)| k.clone())
        .collect();
    (!cols.is_empty()).then_some(cols)
}

/// True for a date or time at or after `since` (a `now()` fallback of the mappings).
fn applied_at(v: &Value, since: DateTime<Utc>) -> bool {
    let Some(s) = v.as_str() else { return false };
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return t.with_timezone(&Utc) >= since;
    }
    if let Ok(t) = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S%.f") {
        return t >= since.naive_utc() - chrono::Duration::hours(14);
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d >= since.date_naive() - chrono::Duration::days(1);
    }
    false
}
