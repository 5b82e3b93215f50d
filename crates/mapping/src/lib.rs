//! Declarative mappings between the legacy AquaCIS schema (`cf_quere_pro`) and SUPRA.
//!
//! ```text
//!  mappings/*.toml ──parse──► FileSpec ──validate (pure, all errors)──► compile ──► MappingSet
//!                                                                         │
//!        live catalogs ──check_catalog──► Diagnostics                     ▼
//!  legacy Row ──forward_needs──► Needs ──engine lookups──► ResolvedContext ──forward──► TargetOps
//!  SUPRA Row  ──reverse_needs──► Needs ─────────────────►        "        ──reverse──► TargetOps
//! ```
//!
//! One file per entity (or one file for a family of look-up tables) says, column by column,
//! how a legacy row becomes SUPRA rows and, for bidirectional entities, how a SUPRA row is
//! written back. Expressions are a small language ([`expr`]) with built-in functions
//! ([`builtins`]), compiled once and evaluated in Rust — never spliced into SQL. Evaluation is
//! pure: the engine gathers what a row [`Needs`], resolves it in batches, and passes the
//! results in a [`ResolvedContext`].
//!
//! # File format
//!
//! ```toml
//! entity    = "persona"              # sync_mappings.entity_type
//! direction = "bidirectional"        # or "legacy_to_supra" (default)
//! conflicts = "manual"               # legacy_wins (default) | supra_wins | newest_wins | manual
//! on_delete = "delete"               # delete (default) | ignore | { soft_delete = { column = "status", value = "baja" } }
//! on_truncate = "refuse"             # refuse (default) | propagate
//! depends_on = ["explotacion"]       # optional; every ref() target is added automatically
//!
//! [conflict_overrides]               # optional: this SUPRA column always takes this side
//! phone = "legacy"
//!
//! [legacy]
//! table = "cf_quere_pro.persona"
//! key   = ["prsid"]
//! id    = { sequence = "cf_quere_pro.seq_prsid" }   # or { range = [900000000, 999999999] }
//! # [[legacy.join]]  table = "...", alias = "geo", on = { geolocdirid = "dirid" }
//!
//! [supra]
//! table  = "public.persons"
//! tenant = "cea-queretaro"           # tenant code; tenant_column (default tenant_id) is set from it
//!
//! [forward]                          # SUPRA column = expression over legacy columns
//! rfc = "trim_nullif(prsnif)"
//!
//! [reverse]                          # legacy column = expression over SUPRA columns
//! prsid  = "to_numeric(legacy_key())"
//! prsnif = "rfc"
//! ```
//!
//! Beyond 1:1: `[[legacy.join]]` (a joined table, role Secondary), `[[children]]` (child rows
//! aggregated into a JSONB array, role Child), `[[also]]` (more SUPRA tables from the same
//! row), and `[[sources]]` + `$variables` (a family of tables sharing one template, each its
//! own entity). The id and tenant columns are written automatically.
#![deny(missing_docs)]

pub mod builtins;
mod catalog;
mod compile;
mod context;
mod diag;
mod entity;
mod explain;
pub mod expr;
mod forward;
mod ids;
mod parse;
mod report;
mod reverse;
mod set;
mod spec;
mod validate;

pub use catalog::{Catalog, CatalogColumn, CatalogTable};
pub use compile::Ty;
pub use context::{
    EvalError, FetchNeed, Needs, RefNeed, ResolvedContext, ReverseRefNeed, Role, Route, TargetOp,
};
pub use diag::{Diagnostic, Diagnostics};
pub use entity::EntityMapping;
pub use ids::{NAMESPACE, derive_supra_id, mint_supra_id};
pub use report::{CheckOutcome, check_dir, check_dir_with_db, explain_dir};
pub use set::MappingSet;
pub use spec::{ConflictPolicy, DeletePolicy, Direction, IdStrategy, TruncatePolicy};
