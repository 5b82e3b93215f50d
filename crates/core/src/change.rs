//! Changes and transactions as a source delivers them.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::{Lsn, Row};

/// Which database a change comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    /// The AquaCIS database (`cf_quere_pro`).
    Legacy,
    /// The SUPRA database.
    Supra,
}

impl Side {
    /// The `sync_log.direction` value for changes flowing *from* this side.
    pub fn direction(self) -> &'static str {
        match self {
            Side::Legacy => "legacy_to_supra",
            Side::Supra => "supra_to_legacy",
        }
    }

    /// The other side.
    pub fn other(self) -> Side {
        match self {
            Side::Legacy => Side::Supra,
            Side::Supra => Side::Legacy,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Legacy => "legacy",
            Side::Supra => "supra",
        })
    }
}

/// A schema-qualified table name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TableName {
    /// Schema (namespace).
    pub schema: String,
    /// Table name.
    pub name: String,
}

impl TableName {
    /// Builds a qualified name.
    pub fn new(schema: impl Into<String>, name: impl Into<String>) -> TableName {
        TableName {
            schema: schema.into(),
            name: name.into(),
        }
    }

    /// Parses `schema.table` (or `table`, defaulting to `public`).
    pub fn parse(qualified: &str) -> TableName {
        match qualified.split_once('.') {
            Some((schema, name)) => TableName::new(schema, name),
            None => TableName::new("public", qualified),
        }
    }

    /// The name quoted for SQL: `"schema"."table"`.
    pub fn quoted(&self) -> String {
        format!("{}.{}", quote_ident(&self.schema), quote_ident(&self.name))
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.schema, self.name)
    }
}

/// Quotes an SQL identifier.
pub fn quote_ident(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

/// `unnest($1::text[], …, $n::text[]) AS u(a1, …, an)`: one text-array parameter per alias,
/// read as the rows of `u` (the way supra-sync sends many rows in one statement).
pub fn unnest_text_arrays<S: AsRef<str>>(aliases: impl IntoIterator<Item = S>) -> String {
    let aliases: Vec<S> = aliases.into_iter().collect();
    let arrays = (1..=aliases.len())
        .map(|i| format!("${i}::text[]"))
        .collect::<Vec<_>>()
        .join(", ");
    let names = aliases
        .iter()
        .map(AsRef::as_ref)
        .collect::<Vec<_>>()
        .join(", ");
    format!("unnest({arrays}) AS u({names})")
}

/// `prefix1, …, prefixN`: numbered aliases for [`unnest_text_arrays`].
pub fn numbered(prefix: &str, n: usize) -> impl Iterator<Item = String> + '_ {
    (1..=n).map(move |i| format!("{prefix}{i}"))
}

/// What happened to a row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChangeOp {
    /// A new row (or a snapshot read of an existing row).
    Insert,
    /// A changed row.
    Update,
    /// A removed row.
    Delete,
    /// The whole table was emptied.
    Truncate,
}

impl ChangeOp {
    /// The `sync_log.operation` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeOp::Insert => "insert",
            ChangeOp::Update => "update",
            ChangeOp::Delete => "delete",
            ChangeOp::Truncate => "truncate",
        }
    }
}

/// One row-level change inside a source transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// Operation.
    pub op: ChangeOp,
    /// The table the change belongs to.
    pub table: crate::TableName,
    /// Old image: the key (or full row with REPLICA IDENTITY FULL) for updates and deletes.
    /// For updates that did not change the key, the source sends no old image.
    pub old: Option<Row>,
    /// New image for inserts and updates.
    pub new: Option<Row>,
}

impl Change {
    /// The image that identifies the row: old image when present, else the new one.
    pub fn identity(&self) -> Option<&Row> {
        self.old.as_ref().or(self.new.as_ref())
    }

    /// True when an update changed the key (old key differs from new key).
    pub fn changes_key(&self) -> bool {
        match (&self.old, &self.new) {
            (Some(old), Some(new)) => old.key_values() != new.key_values(),
            _ => false,
        }
    }
}

/// A committed source transaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Transaction {
    /// Which database it was committed on.
    pub side: Side,
    /// Source transaction id.
    pub xid: u32,
    /// LSN of the commit record; the resume point once applied.
    pub commit_lsn: Lsn,
    /// LSN just past the commit record (what the slot may confirm).
    pub end_lsn: Lsn,
    /// Commit timestamp on the source.
    pub commit_ts: DateTime<Utc>,
    /// Replication origin that produced it, if any (used to drop echoes).
    pub origin: Option<String>,
    /// Row changes in source order.
    pub changes: Vec<Change>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unnest_names_one_array_per_alias() {
        assert_eq!(
            unnest_text_arrays(numbered("k", 2).chain(["vol".to_string()])),
            "unnest($1::text[], $2::text[], $3::text[]) AS u(k1, k2, vol)"
        );
    }
}
