//! The operator library against real clusters: policies on real concurrent edits, resolving
//! manual conflicts (both databases, the conflict row, held changes, no echo, refusals) and
//! retrying failed changes.

mod policies;
mod resolving;
mod retrying;
mod scenario;
