//! Read-only reports of the final cleanup (seed 004): unused tables (task_122), indexes
//! (task_124) and data integrity (task_125). Nothing is changed; each report is written as
//! Markdown next to the archives and kept in the step state.

use serde::Serialize;
use serde_json::{Value, json};
use supra_sync_core::quote_ident;
use tokio_postgres::Client;

use crate::catalog::{self, qualified};
use crate::config::CleanupConfig;
use crate::error::{CleanupError, Result};
use crate::job::{Ctx, files};

/// A table nobody uses: no scans since the statistics were reset, no rows, no references.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct UnusedTable {
    pub table: String,
    pub columns: i64,
    pub bytes: i64,
}

/// Candidates for archive-then-remove.
pub(crate) async fn unused_tables(
    client: &Client,
    config: &CleanupConfig,
) -> Result<(Vec<UnusedTable>, Option<String>)> {
    let schema = config.schema.as_str();
    let rows = client
        .query(
            "SELECT s.relname::text, (SELECT count(*) FROM pg_attribute a WHERE a.attrelid = s.relid AND a.attnum > 0 AND NOT a.attisdropped),
                    pg_total_relation_size(s.relid)
               FROM pg_stat_user_tables s
              WHERE s.schemaname = $1 AND coalesce(s.seq_scan, 0) + coalesce(s.idx_scan, 0) = 0
                AND coalesce(s.n_live_tup, 0) = 0 AND pg_relation_size(s.relid) = 0
                AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.contype = 'f' AND c.confrelid = s.relid AND c.conrelid <> s.relid)
                AND NOT EXISTS (SELECT 1 FROM pg_depend d JOIN pg_rewrite r ON r.oid = d.objid
                                 WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = s.relid AND r.ev_class <> s.relid)
              ORDER BY 1",
            &[&schema],
        )
        .await
        .map_err(CleanupError::db("look for unused tables"))?;
    // Emptiness comes from the relation size (no page, no row), not from a count: counting
    // would itself be a scan and spoil the next report.
    let out = rows
        .iter()
        .filter(|r| !config.is_protected(&r.get::<_, String>(0)))
        .map(|r| UnusedTable {
            table: r.get(0),
            columns: r.get(1),
            bytes: r.get(2),
        })
        .collect();
    let reset: Option<String> = client
        .query_one(
            "SELECT stats_reset::text FROM pg_stat_database WHERE datname = current_database()",
            &[],
        )
        .await
        .map_err(CleanupError::db("read the statistics reset time"))?
        .get(0);
    Ok((out, reset))
}

/// Step `pf.unused_report`.
pub(crate) async fn unused_report(ctx: &Ctx<'_>) -> Result<Value> {
    let (tables, reset) = unused_tables(ctx.client, ctx.config).await?;
    let mut md = format!(
        "# Unused tables in {} (seed 004 task_122)\n\nNo sequential or index scan since the statistics were reset ({}), no rows, no foreign key or view referencing them. Read-only: nothing was removed. Approve removals by listing tables in `final_cleanup.approved_for_removal`.\n\n| table | columns | bytes |\n|---|---:|---:|\n",
        ctx.schema(),
        reset.clone().unwrap_or_else(|| "never".into())
    );
    for t in &tables {
        md.push_str(&format!("| {} | {} | {} |\n", t.table, t.columns, t.bytes));
    }
    let path = ctx
        .config
        .archive_dir
        .join("final")
        .join("unused_tables.md");
    files::write_durable(&path, md.as_bytes())?;
    Ok(json!({ "file": path.display().to_string(), "stats_reset": reset, "tables": tables }))
}

/// Step `pf.index_report`: unused non-unique indexes and foreign-key-like columns without
/// an index.
pub(crate) async fn index_report(ctx: &Ctx<'_>) -> Result<Value> {
    let schema = ctx.schema();
    let unused = ctx
        .client
        .query(
            "SELECT s.relname::text, s.indexrelname::text, pg_relation_size(s.indexrelid)
               FROM pg_stat_user_indexes s JOIN pg_index i ON i.indexrelid = s.indexrelid
              WHERE s.schemaname = $1 AND coalesce(s.idx_scan, 0) = 0 AND NOT i.indisunique AND NOT i.indisprimary
                AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = s.indexrelid)
              ORDER BY 3 DESC, 1, 2",
            &[&schema],
        )
        .await
        .map_err(CleanupError::db("look for unused indexes"))?;
    let unused: Vec<Value> = unused.iter().map(|r| json!({ "table": r.get::<_, String>(0), "index": r.get::<_, String>(1), "bytes": r.get::<_, i64>(2) })).collect();
    let missing = fk_like_without_index(ctx.client, schema).await?;
    let mut md = format!(
        "# Index report for {schema} (seed 004 task_124)\n\nRead-only. Unique and primary-key indexes are never listed as unused.\n\n## Unused indexes (no scan since the statistics reset)\n\n| table | index | bytes |\n|---|---|---:|\n"
    );
    for u in &unused {
        md.push_str(&format!(
            "| {} | {} | {} |\n",
            u["table"].as_str().unwrap_or_default(),
            u["index"].as_str().unwrap_or_default(),
            u["bytes"]
        ));
    }
    md.push_str("\n## Foreign-key-like columns without an index\n\n| table | column | references | declared |\n|---|---|---|---|\n");
    for m in &missing {
        md.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            m.table, m.column, m.references, m.declared
        ));
    }
    let path = ctx.config.archive_dir.join("final").join("index_report.md");
    files::write_durable(&path, md.as_bytes())?;
    Ok(
        json!({ "file": path.display().to_string(), "unused_indexes": unused, "unindexed_fk_like": missing }),
    )
}

/// A column that references (or looks like it references) another table's key.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct FkLike {
    pub table: String,
    pub column: String,
    /// `table.column` referenced.
    pub references: String,
    /// A declared foreign key (`true`) or a naming match (`cnttprsid` → `persona.prsid`).
    pub declared: bool,
    pub indexed: bool,
}

/// Declared single-column foreign keys, plus columns whose name ends with another table's
/// single-column primary key name (AquaCIS naming: `cnttprsid` → `persona.prsid`).
pub(crate) async fn fk_like(client: &Client, schema: &str) -> Result<Vec<FkLike>> {
    let rows = client
        .query(
            "WITH pk AS (
                 SELECT c.oid, c.relname::text AS tbl, a.attname::text AS col, a.atttypid
                   FROM pg_constraint k JOIN pg_class c ON c.oid = k.conrelid
                   JOIN pg_namespace n ON n.oid = c.relnamespace
                   JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.conkey[1]
                  WHERE n.nspname = $1 AND k.contype = 'p' AND array_length(k.conkey, 1) = 1 AND length(a.attname) >= 5),
             cols AS (
                 SELECT c.oid, c.relname::text AS tbl, a.attname::text AS col, a.attnum, a.atttypid
                   FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                   JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
                  WHERE n.nspname = $1 AND c.relkind = 'r'),
             declared AS (
                 SELECT f.conrelid AS oid, a.attname::text AS col, r.relname::text AS rtbl, ra.attname::text AS rcol
                   FROM pg_constraint f JOIN pg_class r ON r.oid = f.confrelid
                   JOIN pg_attribute a ON a.attrelid = f.conrelid AND a.attnum = f.conkey[1]
                   JOIN pg_attribute ra ON ra.attrelid = f.confrelid AND ra.attnum = f.confkey[1]
                  WHERE f.contype = 'f' AND array_length(f.conkey, 1) = 1)
             SELECT x.tbl, x.col, x.rtbl || '.' || x.rcol, x.declared,
                    EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = x.oid AND i.indkey[0] = x.attnum)
               FROM (
                 SELECT c.oid, c.tbl, c.col, c.attnum, d.rtbl, d.rcol, true AS declared
                   FROM cols c JOIN declared d ON d.oid = c.oid AND d.col = c.col
                 UNION
                 SELECT c.oid, c.tbl, c.col, c.attnum, p.tbl, p.col, false
                   FROM cols c JOIN pk p ON c.col LIKE '%' || p.col AND c.col <> p.col AND c.oid <> p.oid AND c.atttypid = p.atttypid
                  WHERE NOT EXISTS (SELECT 1 FROM declared d WHERE d.oid = c.oid AND d.col = c.col)
               ) AS x
              ORDER BY 1, 2, 3",
            &[&schema],
        )
        .await
        .map_err(CleanupError::db("look for foreign-key-like columns"))?;
    Ok(rows
        .iter()
        .map(|r| FkLike {
            table: r.get(0),
            column: r.get(1),
            references: r.get(2),
            declared: r.get(3),
            indexed: r.get(4),
        })
        .collect())
}

async fn fk_like_without_index(client: &Client, schema: &str) -> Result<Vec<FkLike>> {
    Ok(fk_like(client, schema)
        .await?
        .into_iter()
        .filter(|f| !f.indexed)
        .collect())
}

/// Step `pf.integrity_report`: orphans of foreign-key-like columns, duplicate rows in tables
/// without a key, NULLs in required columns. Reported, never fixed.
pub(crate) async fn integrity_report(ctx: &Ctx<'_>) -> Result<Value> {
    let schema = ctx.schema();
    let mut orphans = Vec::new();
    for f in fk_like(ctx.client, schema).await? {
        let Some((rt, rc)) = f.references.split_once('.') else {
            continue;
        };
        let sql = format!(
            "SELECT count(*) FROM {} t WHERE t.{c} IS NOT NULL AND NOT EXISTS (SELECT 1 FROM {} r WHERE r.{} = t.{c})",
            qualified(schema, &f.table),
            qualified(schema, rt),
            quote_ident(rc),
            c = quote_ident(&f.column)
        );
        let n: i64 = ctx
            .client
            .query_one(&sql, &[])
            .await
            .map_err(CleanupError::db(format!(
                "count orphans of {}.{}",
                f.table, f.column
            )))?
            .get(0);
        if n > 0 {
            orphans.push(json!({ "table": f.table, "column": f.column, "references": f.references, "declared": f.declared, "orphans": n }));
        }
    }
    let keyless = ctx
        .client
        .query(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND c.relkind = 'r'
                AND NOT EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisunique)
              ORDER BY 1",
            &[&schema],
        )
        .await
        .map_err(CleanupError::db("list tables without a key"))?;
    let mut duplicates = Vec::new();
    for r in &keyless {
        let t: String = r.get(0);
        let sql = format!(
            "SELECT count(*) - count(DISTINCT x::text) FROM {} x",
            qualified(schema, &t)
        );
        let n: i64 = ctx
            .client
            .query_one(&sql, &[])
            .await
            .map_err(CleanupError::db(format!("count duplicates in {t}")))?
            .get(0);
        if n > 0 {
            duplicates.push(json!({ "table": t, "duplicate_rows": n }));
        }
    }
    let mut nulls = Vec::new();
    for rc in &ctx.config.final_cleanup.required_columns {
        let Some((t, c)) = rc.split_once('.') else {
            continue;
        };
        if catalog::relation_kind(ctx.client, schema, t)
            .await?
            .is_none()
        {
            continue;
        }
        let sql = format!(
            "SELECT count(*) FROM {} WHERE {} IS NULL",
            qualified(schema, t),
            quote_ident(c)
        );
        let n: i64 = ctx
            .client
            .query_one(&sql, &[])
            .await
            .map_err(CleanupError::db(format!("count NULLs in {rc}")))?
            .get(0);
        nulls.push(json!({ "column": rc, "nulls": n }));
    }
    let mut md = format!(
        "# Data integrity report for {schema} (seed 004 task_125)\n\nRead-only: issues are reported, not fixed.\n\n## Orphans\n\n| table | column | references | declared FK | orphan rows |\n|---|---|---|---|---:|\n"
    );
    for o in &orphans {
        md.push_str(&format!(
            "| {} | {} | {} | {} | {} |\n",
            o["table"].as_str().unwrap_or_default(),
            o["column"].as_str().unwrap_or_default(),
            o["references"].as_str().unwrap_or_default(),
            o["declared"],
            o["orphans"]
        ));
    }
    md.push_str(
        "\n## Duplicate rows in tables without a key\n\n| table | duplicate rows |\n|---|---:|\n",
    );
    for d in &duplicates {
        md.push_str(&format!(
            "| {} | {} |\n",
            d["table"].as_str().unwrap_or_default(),
            d["duplicate_rows"]
        ));
    }
    md.push_str("\n## NULLs in required columns\n\n| column | NULL rows |\n|---|---:|\n");
    for n in &nulls {
        md.push_str(&format!(
            "| {} | {} |\n",
            n["column"].as_str().unwrap_or_default(),
            n["nulls"]
        ));
    }
    let path = ctx
        .config
        .archive_dir
        .join("final")
        .join("integrity_report.md");
    files::write_durable(&path, md.as_bytes())?;
    Ok(
        json!({ "file": path.display().to_string(), "orphans": orphans, "duplicates": duplicates, "nulls": nulls }),
    )
}
