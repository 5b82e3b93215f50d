//! The change model shared by every supra-sync crate. No I/O lives here.
//!
//! ```text
//!  source (pgoutput / Kafka)          mapping              applier
//!  ───────────────► Transaction ──► Change{old,new: Row} ──► target rows
//!                    (commit LSN,      Row = RowSchema +      (typed Values,
//!                     origin, ts)      Vec<Value>              bound, never spliced)
//! ```
//!
//! * [`Value`] is a typed SQL value; NUMERIC stays an exact [`rust_decimal::Decimal`].
//! * [`Row`] pairs values with the [`RowSchema`] of the table they came from.
//! * [`Change`] and [`Transaction`] are what a source hands to the pipeline.
#![deny(missing_docs)]

mod change;
mod lsn;
mod pg_type;
mod row;
mod value;

pub use change::{
    Change, ChangeOp, Side, TableName, Transaction, numbered, quote_ident, unnest_text_arrays,
};
pub use lsn::Lsn;
pub use pg_type::PgType;
pub use row::{ColumnDef, Row, RowSchema};
pub use value::{GeoPoint, Value, ValueError, quote_literal};
