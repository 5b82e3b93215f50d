//! The snapshot baseline: `COPY (SELECT * FROM table) TO STDOUT` on legacy piped, chunk by
//! chunk as it arrives, into `COPY table FROM STDIN` on the SUPRA cluster (tokio-postgres
//! `copy_out` → `copy_in`, text format, one target transaction).

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt, pin_mut};
use tokio_postgres::Client;

/// Pipes every row of `table` from `source` into the same-named plain copy on `target`.
/// Returns the rows copied and the time from the first request to the target's commit.
pub async fn pipe(
    source: &Client,
    target: &Client,
    table: &str,
) -> anyhow::Result<(u64, Duration)> {
    let started = Instant::now();
    let out = source
        .copy_out(&format!("COPY (SELECT * FROM {table}) TO STDOUT"))
        .await?;
    let sink = target
        .copy_in::<_, bytes::Bytes>(&format!("COPY {table} FROM STDIN"))
        .await?;
    pin_mut!(out);
    pin_mut!(sink);
    while let Some(chunk) = out.next().await {
        sink.feed(chunk?).await?;
    }
    let rows = sink.as_mut().finish().await?;
    Ok((rows, started.elapsed()))
}
