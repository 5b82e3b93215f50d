//! Replication origins for operator writes, so that they are never captured and sent back.
//!
//! A write on SUPRA carries the legacy pipeline's origin (`names.origin(Legacy)`), a write on
//! legacy the SUPRA pipeline's (`names.origin(Supra)`): exactly what the appliers use, and
//! what each source drops. PostgreSQL 15 lets one session at a time attach to an origin, and a
//! running service keeps its pipelines attached; then the operator origins that every source
//! drops as well are tried — `names.reconcile_origin()`, then `names.replay_origin()` — and
//! created on that server when missing. Operator sessions never set an origin position
//! (`pg_replication_origin_xact_setup` is not called, or called with `0/0`), so the
//! pipelines' resume points are never moved.

use supra_sync_core::Side;
use supra_sync_postgres::names::ObjectNames;
use tokio_postgres::Client;

use super::ResolveError;

/// `object_in_use`: the origin is attached to another session (a running pipeline).
pub const IN_USE: &str = "55006";
/// `undefined_object`: no such origin on this server.
const UNDEFINED: &str = "42704";

/// The origins an operator write on `written` may carry, in order of preference.
pub fn candidates(names: &ObjectNames, written: Side) -> Vec<String> {
    vec![
        names.origin(written.other()),
        names.reconcile_origin(),
        names.replay_origin(),
    ]
}

/// Creates an operator origin on this server when it is missing.
pub async fn ensure(client: &Client, origin: &str) -> Result<(), ResolveError> {
    let created = client
        .execute(
            "SELECT pg_replication_origin_create($1)
              WHERE NOT EXISTS (SELECT 1 FROM pg_replication_origin WHERE roname = $1)",
            &[&origin],
        )
        .await;
    match created {
        Ok(_) => Ok(()),
        // Created meanwhile by another session.
        Err(e) if e.code().is_some_and(|c| c.code() == "23505") => Ok(()),
        Err(e) => Err(ResolveError::sql(
            format!("creating replication origin {origin}"),
            e,
        )),
    }
}

/// Creates the operator origins an operator write on `written` may fall back to, when
/// missing. Call outside any transaction (an origin created in a transaction that rolls back
/// would leave the session attached to nothing).
pub async fn prepare(
    client: &Client,
    names: &ObjectNames,
    written: Side,
) -> Result<(), ResolveError> {
    for origin in candidates(names, written).iter().skip(1) {
        ensure(client, origin).await?;
    }
    Ok(())
}

/// Attaches the session of `client` (inside its open transaction), which writes on
/// `written`, to the first free origin of [`candidates`]; returns its name. Each attempt runs
/// under a savepoint, so a refused one leaves the transaction usable. Call [`prepare`] first;
/// detach with [`detach`].
pub async fn attach(
    client: &Client,
    names: &ObjectNames,
    written: Side,
) -> Result<String, ResolveError> {
    let candidates = candidates(names, written);
    // A session left attached by an earlier, failed action is detached first.
    let attached: bool = client
        .query_one("SELECT pg_replication_origin_session_is_setup()", &[])
        .await
        .map_err(|e| ResolveError::sql("reading the session's replication origin", e))?
        .get(0);
    if attached {
        detach(client).await?;
    }
    let savepoint = |sql: &'static str| async move {
        client
            .batch_execute(sql)
            .await
            .map_err(|e| ResolveError::sql("attaching to a replication origin", e))
    };
    for origin in &candidates {
        savepoint("SAVEPOINT attach_origin").await?;
        match client
            .execute("SELECT pg_replication_origin_session_setup($1)", &[origin])
            .await
        {
            Ok(_) => {
                savepoint("RELEASE SAVEPOINT attach_origin").await?;
                return Ok(origin.clone());
            }
            Err(e)
                if e.code()
                    .is_some_and(|c| c.code() == IN_USE || c.code() == UNDEFINED) =>
            {
                tracing::debug!(%origin, error = %e, "origin not available; trying the next");
                savepoint("ROLLBACK TO SAVEPOINT attach_origin").await?;
            }
            Err(e) => {
                return Err(ResolveError::sql(
                    format!("attaching to replication origin {origin}"),
                    e,
                ));
            }
        }
    }
    Err(ResolveError::Refused(format!(
        "every replication origin supra-sync may write {written} under is in use ({})\nhint: the service, a `supra-sync reconcile --fix` and a `supra-sync replay` are probably running; retry when one has finished",
        candidates.join(", ")
    )))
}

/// Detaches the session from its origin.
pub async fn detach(client: &Client) -> Result<(), ResolveError> {
    client
        .execute("SELECT pg_replication_origin_session_reset()", &[])
        .await
        .map_err(|e| ResolveError::sql("detaching from the replication origin", e))?;
    Ok(())
}
