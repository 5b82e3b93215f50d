//! Phase 2 (seeds 001, 002): history tables into `audit_log`, lookups into `domain_value`.

pub(crate) mod audit;

use serde_json::Value;
use tokio_postgres::Client;

use crate::check::CheckResult;
use crate::config::CleanupConfig;
use crate::error::{CleanupError, Result};
use crate::job::Ctx;
use crate::plan::Plan;

pub(crate) async fn plan(ctx: &Ctx<'_>) -> Result<Plan> {
    Ok(Plan {
        phase: ctx.phase,
        steps: Vec::new(),
    })
}
pub(crate) async fn apply(_ctx: &Ctx<'_>) -> Result<()> {
    Err(CleanupError::invalid("phase 2 not implemented yet"))
}
pub(crate) async fn verify(_c: &Client, _cfg: &CleanupConfig) -> Result<Vec<CheckResult>> {
    Ok(Vec::new())
}
pub(crate) async fn rollback(_ctx: &Ctx<'_>) -> Result<Value> {
    Err(CleanupError::invalid("phase 2 not implemented yet"))
}
