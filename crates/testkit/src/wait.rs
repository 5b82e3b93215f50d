//! Waiting on conditions with a deadline.

use std::future::Future;
use std::time::{Duration, Instant};

/// A condition did not hold before its deadline.
#[derive(Debug, thiserror::Error)]
#[error("timed out after {waited:?} waiting for {what}{}", last.as_ref().map(|l| format!(" (last: {l})")).unwrap_or_default())]
pub struct WaitError {
    /// What was awaited.
    pub what: String,
    /// How long.
    pub waited: Duration,
    /// The last observation reported by the condition.
    pub last: Option<String>,
}

/// Polls `condition` until it returns `Ok(true)` or `timeout` passes. The condition may return
/// `Err(observation)` to report what it saw; the last one is included in the timeout error.
pub async fn wait_until<F, Fut>(
    what: &str,
    timeout: Duration,
    mut condition: F,
) -> Result<(), WaitError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<bool, String>>,
{
    let start = Instant::now();
    let mut last = None;
    loop {
        match condition().await {
            Ok(true) => return Ok(()),
            Ok(false) => {}
            Err(observation) => last = Some(observation),
        }
        if start.elapsed() >= timeout {
            return Err(WaitError {
                what: what.to_string(),
                waited: start.elapsed(),
                last,
            });
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
