//! The parsed, not yet validated, content of one mapping file, with source locations.
//!
//! [`crate::parse`] builds a [`FileSpec`] from TOML; [`crate::validate`] and
//! [`crate::compile`] turn specs into [`crate::EntityMapping`]s.

use std::path::PathBuf;

use supra_sync_core::Side;

/// Where something is written: line and dotted field path.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Loc {
    pub(crate) line: usize,
    pub(crate) field: String,
}

/// An expression source string with enough location data to point into it.
#[derive(Debug, Clone)]
pub(crate) struct ExprSrc {
    pub(crate) text: String,
    pub(crate) loc: Loc,
    /// Line on which the expression text itself starts.
    pub(crate) first_line: usize,
}

impl ExprSrc {
    /// The file line holding byte `pos` of the expression text.
    pub(crate) fn line_at(&self, pos: usize) -> usize {
        let upto = &self.text[..pos.min(self.text.len())];
        self.first_line + upto.matches('\n').count()
    }

    /// The 1-based column of byte `pos` within its line of the expression text.
    pub(crate) fn column_at(&self, pos: usize) -> usize {
        let upto = &self.text[..pos.min(self.text.len())];
        upto.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1
    }
}

/// A target column and the expression that produces it.
#[derive(Debug, Clone)]
pub(crate) struct ColumnSpec {
    pub(crate) column: String,
    pub(crate) expr: ExprSrc,
}

/// `direction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Legacy changes flow to SUPRA only.
    LegacyToSupra,
    /// Both ways: SUPRA changes are written back to legacy through `[reverse]`.
    Bidirectional,
}

/// `conflicts`: what to do when both sides changed the same row since the last sync.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConflictPolicy {
    /// The legacy image is applied.
    LegacyWins,
    /// The SUPRA image is kept.
    SupraWins,
    /// The change with the later commit timestamp wins.
    NewestWins,
    /// Nothing is applied; the pair goes to `sync_conflicts` for review.
    Manual,
}

/// `on_truncate`: what a TRUNCATE of the legacy table does to SUPRA.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TruncatePolicy {
    /// Delete the mapped SUPRA rows too.
    Propagate,
    /// Do not touch SUPRA; log the truncate as failed for an operator.
    Refuse,
}

/// `on_delete`: what a legacy DELETE does to SUPRA.
#[derive(Debug, Clone, PartialEq)]
pub enum DeletePolicy {
    /// Delete the SUPRA row(s).
    Delete,
    /// Leave SUPRA as it is.
    Ignore,
    /// Set one column of the primary SUPRA row to a value (e.g. `status = 'baja'`).
    SoftDelete {
        /// SUPRA column.
        column: String,
        /// Value to set.
        value: supra_sync_core::Value,
    },
}

/// How rows born in SUPRA get a legacy id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdStrategy {
    /// `nextval()` of this legacy sequence.
    Sequence(String),
    /// Ids handed out from a range reserved for SUPRA (inclusive bounds).
    Range {
        /// First id.
        start: i64,
        /// Last id.
        end: i64,
    },
}

/// `[[legacy.join]]`: a legacy table joined 1:1 (LEFT JOIN) to the entity's table.
#[derive(Debug, Clone)]
pub(crate) struct JoinSpec {
    pub(crate) table: String,
    pub(crate) alias: String,
    /// (joined column, entity column) pairs.
    pub(crate) on: Vec<(String, String)>,
}

/// `[[children]]`: child rows aggregated into a JSONB array column.
#[derive(Debug, Clone)]
pub(crate) struct ChildSpec {
    pub(crate) table: String,
    /// (child column, entity column) pairs.
    pub(crate) on: Vec<(String, String)>,
    pub(crate) order_by: Vec<String>,
    pub(crate) into: String,
    pub(crate) into_loc: Loc,
    pub(crate) element: Vec<ColumnSpec>,
    pub(crate) loc: Loc,
}

/// `[[also]]`: one more SUPRA table written from the same legacy row.
#[derive(Debug, Clone)]
pub(crate) struct AlsoSpec {
    pub(crate) table: String,
    pub(crate) id_column: Option<String>,
    pub(crate) conflict: Vec<String>,
    pub(crate) forward: Vec<ColumnSpec>,
    pub(crate) loc: Loc,
}

/// `[[sources]]`: one legacy table of a family file.
#[derive(Debug, Clone)]
pub(crate) struct SourceSpec {
    pub(crate) entity: Option<String>,
    pub(crate) table: String,
    pub(crate) key: Vec<String>,
    pub(crate) vars: Vec<(String, ExprSrc)>,
    pub(crate) loc: Loc,
}

/// One mapping file.
#[derive(Debug, Clone)]
pub(crate) struct FileSpec {
    pub(crate) path: PathBuf,
    pub(crate) entity: String,
    pub(crate) entity_loc: Loc,
    pub(crate) direction: Direction,
    pub(crate) direction_loc: Loc,
    pub(crate) conflicts: ConflictPolicy,
    pub(crate) conflict_overrides: Vec<(String, Side, Loc)>,
    pub(crate) depends_on: Vec<(String, Loc)>,
    pub(crate) on_delete: DeletePolicy,
    pub(crate) on_truncate: TruncatePolicy,
    pub(crate) legacy_table: Option<String>,
    pub(crate) legacy_key: Vec<String>,
    pub(crate) legacy_loc: Loc,
    pub(crate) id_strategy: Option<IdStrategy>,
    pub(crate) joins: Vec<JoinSpec>,
    pub(crate) supra_table: String,
    pub(crate) supra_loc: Loc,
    pub(crate) supra_id_column: String,
    /// Upsert conflict columns of the primary SUPRA table (default: the id column).
    pub(crate) supra_conflict: Vec<String>,
    pub(crate) tenant: String,
    pub(crate) tenant_column: Option<String>,
    pub(crate) forward: Vec<ColumnSpec>,
    pub(crate) forward_loc: Loc,
    pub(crate) also: Vec<AlsoSpec>,
    pub(crate) children: Vec<ChildSpec>,
    pub(crate) reverse: Option<Vec<ColumnSpec>>,
    pub(crate) reverse_loc: Loc,
    pub(crate) sources: Vec<SourceSpec>,
    pub(crate) vars_default: Vec<(String, ExprSrc)>,
}
