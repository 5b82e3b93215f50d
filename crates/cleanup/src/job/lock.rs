//! One run at a time: a session-level advisory lock held for the whole apply/rollback.
//! A killed run's lock goes away with its session, so the next run can resume.

use tokio_postgres::Client;

use crate::error::{CleanupError, Result};

/// The advisory lock key ("SUPRACLN" in ASCII).
pub const LOCK_KEY: i64 = 0x5355_5052_4143_4c4e;

/// Holds the advisory lock until [`RunLock::release`] (or until the session ends).
pub(crate) struct RunLock<'a> {
    client: &'a Client,
}

impl<'a> RunLock<'a> {
    /// Takes the lock or fails with [`CleanupError::ConcurrentRun`] naming the holder.
    pub async fn acquire(client: &'a Client) -> Result<RunLock<'a>> {
        let got: bool = client
            .query_one("SELECT pg_try_advisory_lock($1)", &[&LOCK_KEY])
            .await
            .map_err(CleanupError::db("take the cleanup advisory lock"))?
            .get(0);
        if got {
            return Ok(RunLock { client });
        }
        Err(CleanupError::ConcurrentRun {
            key: LOCK_KEY,
            holder: holder(client).await,
        })
    }

    /// Releases the lock.
    pub async fn release(self) -> Result<()> {
        self.client
            .query_one("SELECT pg_advisory_unlock($1)", &[&LOCK_KEY])
            .await
            .map_err(CleanupError::db("release the cleanup advisory lock"))?;
        Ok(())
    }
}

/// `pid N (application, since T)` of the session holding the lock, if any.
pub(crate) async fn holder(client: &Client) -> Option<String> {
    let row = client
        .query_opt(
            "SELECT format('pid %s (%s, since %s)', a.pid,
                           coalesce(nullif(a.application_name, ''), 'no application name'),
                           date_trunc('second', a.backend_start))
               FROM pg_locks l JOIN pg_stat_activity a USING (pid)
              WHERE l.locktype = 'advisory' AND l.granted
                AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
                AND ((l.classid::bigint << 32) | l.objid::bigint) = $1
              LIMIT 1",
            &[&LOCK_KEY],
        )
        .await
        .ok()
        .flatten();
    row.map(|r| r.get(0))
}
