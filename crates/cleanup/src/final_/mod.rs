//! Final cleanup (seed 004).

pub mod archive;

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
    Err(CleanupError::invalid("final phase not implemented yet"))
}
pub(crate) async fn verify(_c: &Client, _cfg: &CleanupConfig) -> Result<Vec<CheckResult>> {
    Ok(Vec::new())
}
pub(crate) async fn rollback(_ctx: &Ctx<'_>) -> Result<Value> {
    Err(CleanupError::invalid("final phase not implemented yet"))
}
