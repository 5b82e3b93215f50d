//! Running DDL safely: every transaction starts with `SET LOCAL lock_timeout`; a lock
//! conflict (or deadlock) rolls back, waits with exponential backoff and tries again, up to
//! `lock_attempts`; then the run stops with [`CleanupError::Locked`] and is resumable.

use std::future::Future;
use std::time::{Duration, Instant};

use super::Ctx;
use crate::error::{CleanupError, Result};

/// Runs `body` inside a transaction under `lock_timeout`, retrying it on lock conflicts.
/// `body` must be safe to run again from scratch (it is: a retry follows a rollback).
pub(crate) async fn in_tx<T, F, Fut>(ctx: &Ctx<'_>, what: &str, mut body: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let started = Instant::now();
    let mut backoff = Duration::from_millis(ctx.config.backoff_initial_ms);
    let mut attempt = 0;
    loop {
        attempt += 1;
        ctx.client
            .batch_execute(&format!(
                "BEGIN; SET LOCAL lock_timeout = '{}ms'",
                ctx.config.lock_timeout_ms
            ))
            .await
            .map_err(CleanupError::db(format!("begin a transaction for {what}")))?;
        let outcome = match body().await {
            Ok(v) => ctx
                .client
                .batch_execute("COMMIT")
                .await
                .map(|_| v)
                .map_err(CleanupError::db(format!("commit {what}"))),
            Err(e) => {
                let _ = ctx.client.batch_execute("ROLLBACK").await;
                Err(e)
            }
        };
        match outcome {
            Ok(v) => return Ok(v),
            Err(e) if e.is_lock_conflict() => {
                if attempt >= ctx.config.lock_attempts.max(1) {
                    return Err(CleanupError::Locked {
                        what: what.to_string(),
                        attempts: attempt,
                        lock_timeout: ctx.config.lock_timeout(),
                        waited: started.elapsed(),
                    });
                }
                tracing::info!(what, attempt, ?backoff, "lock not available, retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_millis(ctx.config.backoff_max_ms));
            }
            Err(e) => return Err(e),
        }
    }
}

/// Runs a statement that cannot run in a transaction block (`VACUUM`, `CHECKPOINT`) with a
/// session-level `lock_timeout`, retrying on lock conflicts.
pub(crate) async fn outside_tx(ctx: &Ctx<'_>, what: &str, sql: &str) -> Result<()> {
    let started = Instant::now();
    let mut backoff = Duration::from_millis(ctx.config.backoff_initial_ms);
    let mut attempt = 0;
    loop {
        attempt += 1;
        let set = format!("SET lock_timeout = '{}ms'", ctx.config.lock_timeout_ms);
        ctx.client
            .batch_execute(&set)
            .await
            .map_err(CleanupError::db("set lock_timeout"))?;
        let r = ctx
            .client
            .batch_execute(sql)
            .await
            .map_err(CleanupError::db(what.to_string()));
        let _ = ctx.client.batch_execute("RESET lock_timeout").await;
        match r {
            Ok(()) => return Ok(()),
            Err(e) if e.is_lock_conflict() && attempt < ctx.config.lock_attempts.max(1) => {
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_millis(ctx.config.backoff_max_ms));
            }
            Err(e) if e.is_lock_conflict() => {
                return Err(CleanupError::Locked {
                    what: what.to_string(),
                    attempts: attempt,
                    lock_timeout: ctx.config.lock_timeout(),
                    waited: started.elapsed(),
                });
            }
            Err(e) => return Err(e),
        }
    }
}
