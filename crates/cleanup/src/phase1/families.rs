//! The three table-per-process families of seed 000 (`tmp_deuda_<id>`,
//! `aux_varscreditored_<id>`, `tmpbb_<id>`): their consolidated tables (with the corrected
//! 14 `tmpbb` columns of P1-S1-05), and the SQL that creates, fills and restores them.

use supra_sync_core::quote_ident;
use tokio_postgres::Client;

use crate::catalog::{self, qualified};
use crate::error::{Blocked, Result};

/// One family.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Family {
    /// Consolidated table name (also the family name).
    pub name: &'static str,
    /// Anchored pattern of the instances.
    pub regex: &'static str,
    /// Column that completes the key `(proceso_id, key)`.
    pub key: &'static str,
    /// Data columns and types of the consolidated table, in order (no `proceso_id`,
    /// `created_at`).
    pub columns: &'static [(&'static str, &'static str)],
    /// Rollback file name (seed P1-S1-03).
    pub rollback_file: &'static str,
    /// Table comment.
    pub comment: &'static str,
}

/// The families, in the seed's order.
pub(crate) const FAMILIES: [Family; 3] = [
    Family {
        name: "tmp_deuda",
        regex: r"^tmp_deuda_\d+$",
        key: "faccnttnum",
        columns: &[
            ("importe", "numeric(18,2)"),
            ("numfacturas", "numeric(10,0)"),
            ("facsocemi", "numeric(10,0)"),
            ("faccnttnum", "numeric(10,0)"),
        ],
        rollback_file: "rollback_tmp_deuda.sql",
        comment: "Consolidated temp debt table. Replaces 2,144 individual tmp_deuda_NNNNNNN tables. Rows partitioned by proceso_id.",
    },
    Family {
        name: "aux_varscreditored",
        regex: r"^aux_varscreditored_\d+$",
        key: "cnttnum",
        columns: &[
            ("cnttnum", "numeric(10,0)"),
            ("impvariable", "numeric(18,2)"),
            ("impvaranterior", "numeric(18,2)"),
        ],
        rollback_file: "rollback_aux_vars.sql",
        comment: "Consolidated credit variable staging table. Replaces ~477 individual aux_varscreditored_NNNNNNN tables. Partitioned by proceso_id.",
    },
    Family {
        name: "tmpbb",
        regex: r"^tmpbb_\d+$",
        key: "bbcnttnum",
        columns: &[
            ("bbfbleid", "numeric(10,0)"),
            ("bbsbid", "numeric(10,0)"),
            ("bbcnttnum", "numeric(10,0)"),
            ("bbaplicacion", "numeric(5,0)"),
            ("bbfecini", "date"),
            ("bbfecfin", "date"),
            ("bbvardel", "numeric(10,0)"),
            ("bbexpdid", "numeric(5,0)"),
            ("bbcptodel", "numeric(10,0)"),
            ("bbtariddel", "numeric(10,0)"),
            ("bbctponew", "numeric(10,0)"),
            ("bbtaridnew", "numeric(10,0)"),
            ("bbfecfinbonif", "date"),
            ("bbfecinitar", "date"),
        ],
        rollback_file: "rollback_tmpbb.sql",
        comment: "Consolidated temp bajabonificacion table. Replaces 22 individual tmpbb_NNNNNNN tables. Uses CORRECTED column names from actual tmpbb_* tables. See A9 report for original bug details.",
    },
];

/// The columns of the buggy `tmpbb` DDL of the original script (P1-S1-05).
pub(crate) const BUGGY_TMPBB_COLUMNS: [&str; 4] = ["bbid", "bbexpid", "bbcptoid", "bbtconid"];

impl Family {
    /// All columns of the consolidated table with their types, as `format_type` prints them.
    pub fn consolidated_columns(&self) -> Vec<(String, String)> {
        let mut cols = vec![("proceso_id".to_string(), "bigint".to_string())];
        cols.extend(
            self.columns
                .iter()
                .map(|(n, t)| (n.to_string(), t.to_string())),
        );
        cols.push(("created_at".into(), "timestamp with time zone".into()));
        cols
    }

    /// Data column names.
    pub fn data_columns(&self) -> Vec<String> {
        self.columns.iter().map(|(n, _)| n.to_string()).collect()
    }

    /// `proceso_id` from an instance name (`tmp_deuda_1779865` → 1779865).
    pub fn proceso_id(&self, table: &str) -> Option<i64> {
        table
            .strip_prefix(self.name)?
            .strip_prefix('_')?
            .parse()
            .ok()
    }

    /// The seed's DDL (P1-S2-01, P1-S3-01, P1-S3-04) for the consolidated table.
    pub fn create_sql(&self, schema: &str) -> Vec<String> {
        let table = qualified(schema, self.name);
        let mut lines = vec!["    proceso_id    BIGINT       NOT NULL".to_string()];
        for (n, t) in self.columns {
            let not_null = if *n == self.key { " NOT NULL" } else { "" };
            lines.push(format!(
                "    {:<13} {}{not_null}",
                quote_ident(n),
                t.to_uppercase()
            ));
        }
        lines.push("    created_at    TIMESTAMPTZ  NOT NULL DEFAULT now()".into());
        lines.push(format!(
            "    CONSTRAINT {} PRIMARY KEY (proceso_id, {})",
            quote_ident(&format!("pk_{}", self.name)),
            quote_ident(self.key)
        ));
        vec![
            format!(
                "CREATE TABLE IF NOT EXISTS {table} (\n{}\n)",
                lines.join(",\n")
            ),
            format!(
                "CREATE INDEX IF NOT EXISTS {} ON {table} (proceso_id)",
                quote_ident(&format!("idx_{}_proceso", self.name))
            ),
            format!(
                "COMMENT ON TABLE {table} IS {}",
                supra_sync_core::quote_literal(self.comment)
            ),
        ]
    }

    /// `INSERT … SELECT` of one instance; `$1` is the `proceso_id`.
    pub fn migrate_sql(&self, schema: &str, table: &str, proceso: Option<i64>) -> String {
        let cols = catalog::ddl::column_list(&self.data_columns());
        let casts = self
            .columns
            .iter()
            .map(|(n, t)| format!("{}::{t}", quote_ident(n)))
            .collect::<Vec<_>>()
            .join(", ");
        let id = proceso
            .map(|p| p.to_string())
            .unwrap_or_else(|| "$1::bigint".into());
        format!(
            "INSERT INTO {} (proceso_id, {cols}) SELECT {id}, {casts} FROM {}",
            qualified(schema, self.name),
            qualified(schema, table)
        )
    }

    /// Rollback data restore for one instance (after its `CREATE TABLE`).
    pub fn restore_sql(&self, schema: &str, table: &str, proceso: i64) -> String {
        let cols = catalog::ddl::column_list(&self.data_columns());
        format!(
            "INSERT INTO {} ({cols}) SELECT {cols} FROM {} WHERE proceso_id = {proceso};",
            qualified(schema, table),
            qualified(schema, self.name)
        )
    }
}

/// Looks at the consolidated table: `Ok(true)` if it exists with the right columns,
/// `Ok(false)` if it does not exist, a blocker if it exists with other columns.
pub(crate) async fn consolidated_state(
    client: &Client,
    schema: &str,
    family: &Family,
    step: &str,
) -> Result<Result<bool, Blocked>> {
    let actual = catalog::columns(client, schema, family.name).await?;
    if actual.is_empty() {
        return Ok(Ok(catalog::relation_kind(client, schema, family.name)
            .await?
            .is_some()));
    }
    let expected = family.consolidated_columns();
    if actual == expected {
        return Ok(Ok(true));
    }
    let show = |c: &[(String, String)]| {
        c.iter()
            .map(|(n, t)| format!("{n} {t}"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let buggy = actual
        .iter()
        .any(|(n, _)| BUGGY_TMPBB_COLUMNS.contains(&n.as_str()));
    let mut b = Blocked::new(
        step,
        format!(
            "consolidated table {schema}.{} exists with different columns",
            family.name
        ),
    )
    .detail(format!(
        "found: {}\nexpected: {}",
        show(&actual),
        show(&expected)
    ));
    b = if buggy {
        b.hint("this is the buggy tmpbb DDL of the original script (P1-S1-05); check it holds no rows, rename it out of the way, and run apply again")
    } else {
        b.hint("rename the existing table out of the way (or align it with the seed DDL), then run apply again")
    };
    Ok(Err(b))
}

#[cfg(test)]
mod tests {
    use super::FAMILIES;

    #[test]
    fn proceso_id_comes_from_the_suffix() {
        let deuda = &FAMILIES[0];
        assert_eq!(deuda.proceso_id("tmp_deuda_1779865"), Some(1_779_865));
        assert_eq!(deuda.proceso_id("tmp_deuda_x"), None);
        assert_eq!(deuda.proceso_id("tmp_deuda_99999999999999999999"), None);
        assert_eq!(FAMILIES[2].proceso_id("tmpbb_4401"), Some(4401));
    }

    #[test]
    fn consolidated_tables_have_the_seed_columns() {
        let counts: Vec<usize> = FAMILIES
            .iter()
            .map(|f| f.consolidated_columns().len())
            .collect();
        assert_eq!(counts, vec![6, 5, 16]);
        let tmpbb: Vec<String> = FAMILIES[2].data_columns();
        assert_eq!(tmpbb.len(), 14);
        assert!(
            tmpbb
                .iter()
                .all(|c| !super::BUGGY_TMPBB_COLUMNS.contains(&c.as_str()))
        );
        let ddl = FAMILIES[2].create_sql("cf_quere_pro").join(";\n");
        assert!(
            ddl.contains("CONSTRAINT \"pk_tmpbb\" PRIMARY KEY (proceso_id, \"bbcnttnum\")"),
            "{ddl}"
        );
        assert!(
            ddl.lines()
                .any(|l| l.trim_start().starts_with("\"bbcnttnum\"")
                    && l.trim_end_matches(',').ends_with("NUMERIC(10,0) NOT NULL")),
            "{ddl}"
        );
    }

    #[test]
    fn migration_binds_the_process_id() {
        let sql = FAMILIES[0].migrate_sql("cf_quere_pro", "tmp_deuda_7", None);
        assert!(
            sql.starts_with("INSERT INTO \"cf_quere_pro\".\"tmp_deuda\" (proceso_id,"),
            "{sql}"
        );
        assert!(
            sql.contains("SELECT $1::bigint, \"importe\"::numeric(18,2)"),
            "{sql}"
        );
    }
}
