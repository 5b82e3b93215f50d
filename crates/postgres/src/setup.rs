//! Creating and removing what a pipeline needs on each server: the publication and logical
//! slot on its source, the replication origin on its target. Every step is idempotent.
//!
//! ```text
//!  source side:  preflight ─► publication (mapped tables only) ─► logical slot (pgoutput)
//!  target side:  replication origin (marks applied changes, stores the resume point)
//! ```

use supra_sync_core::{Lsn, Side, TableName, quote_ident};
use tokio_postgres::Client;

use crate::PgError;
use crate::catalog::has_replica_identity;
use crate::names::ObjectNames;

/// Checks that a source server can feed a pipeline and collects *every* problem, each with
/// the exact fix: `wal_level`, replication privilege, slot/sender capacity, and that every
/// mapped table exists and has a replica identity.
pub async fn preflight(client: &Client, label: &str, tables: &[TableName]) -> Vec<PgError> {
    let mut problems = Vec::new();
    let setting = |name: &'static str| async move {
        client
            .query_one("SELECT current_setting($1)", &[&name])
            .await
            .map(|r| r.get::<_, String>(0))
    };
    match setting("wal_level").await {
        Ok(level) if level == "logical" => {}
        Ok(level) => problems.push(PgError::Misconfigured {
            problem: format!(
                "the {label} server has wal_level = {level}; logical replication needs logical"
            ),
            fix: "ALTER SYSTEM SET wal_level = logical; then restart PostgreSQL".into(),
        }),
        Err(e) => problems.push(PgError::sql("reading wal_level")(e)),
    }
    for (name, min) in [("max_replication_slots", 2), ("max_wal_senders", 2)] {
        if let Ok(v) = setting(name).await
            && v.parse::<i64>().unwrap_or(0) < min
        {
            problems.push(PgError::Misconfigured {
                problem: format!("the {label} server has {name} = {v}"),
                fix: format!("ALTER SYSTEM SET {name} = 10; then restart PostgreSQL"),
            });
        }
    }
    match client
        .query_one(
            "SELECT rolreplication OR rolsuper, current_user::text FROM pg_roles WHERE rolname = current_user",
            &[],
        )
        .await
    {
        Ok(row) if row.get::<_, bool>(0) => {}
        Ok(row) => {
            let user: String = row.get(1);
            problems.push(PgError::Misconfigured {
                problem: format!("role {user} on the {label} server has no REPLICATION privilege"),
                fix: format!("ALTER ROLE {} WITH REPLICATION;", quote_ident(&user)),
            })
        }
        Err(e) => problems.push(PgError::sql("reading role privileges")(e)),
    }
    for table in tables {
        match has_replica_identity(client, table).await {
            Ok(true) => {}
            Ok(false) => {
                let exists = client
                    .query_one(
                        "SELECT EXISTS (SELECT 1 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                                         WHERE n.nspname = $1 AND c.relname = $2)",
                        &[&table.schema, &table.name],
                    )
                    .await
                    .map(|r| r.get::<_, bool>(0))
                    .unwrap_or(false);
                problems.push(if exists {
                    PgError::Misconfigured {
                        problem: format!("mapped table {table} on the {label} server has no primary key, so its updates and deletes cannot be replicated"),
                        fix: format!("ALTER TABLE {} ADD PRIMARY KEY (…); or ALTER TABLE {} REPLICA IDENTITY FULL;", table.quoted(), table.quoted()),
                    }
                } else {
                    PgError::Misconfigured {
                        problem: format!("mapped table {table} does not exist on the {label} server"),
                        fix: "check the table name in the mapping file, or create the table".into(),
                    }
                });
            }
            Err(e) => problems.push(e),
        }
    }
    problems
}

/// What [`setup_source`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceSetup {
    /// Publication name.
    pub publication: String,
    /// Slot name.
    pub slot: String,
    /// True when the slot was created now (false: it already existed).
    pub slot_created: bool,
    /// The slot's confirmed position.
    pub confirmed_lsn: Option<Lsn>,
}

/// Creates or updates the publication (exactly `tables`) and creates the logical slot if it
/// does not exist.
pub async fn setup_source(
    client: &Client,
    side: Side,
    names: &ObjectNames,
    tables: &[TableName],
) -> Result<SourceSetup, PgError> {
    let publication = names.publication(side);
    let slot = names.slot(side);
    let list = tables
        .iter()
        .map(TableName::quoted)
        .collect::<Vec<_>>()
        .join(", ");
    let exists: bool = client
        .query_one(
            "SELECT EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)",
            &[&publication],
        )
        .await
        .map_err(PgError::sql("reading publications"))?
        .get(0);
    let name = quote_ident(&publication);
    let sql = match (exists, tables.is_empty()) {
        (false, true) => format!("CREATE PUBLICATION {name}"),
        (false, false) => format!("CREATE PUBLICATION {name} FOR TABLE {list}"),
        // SET TABLE needs at least one table: an emptied set is a fresh empty publication.
        (true, true) => format!("DROP PUBLICATION {name}; CREATE PUBLICATION {name}"),
        (true, false) => format!("ALTER PUBLICATION {name} SET TABLE {list}"),
    };
    client
        .batch_execute(&sql)
        .await
        .map_err(PgError::sql(format!("creating publication {publication}")))?;
    let existing = slot_position(client, &slot).await?;
    let slot_created = existing.is_none();
    if slot_created {
        client
            .query_one(
                "SELECT pg_create_logical_replication_slot($1, 'pgoutput')",
                &[&slot],
            )
            .await
            .map_err(PgError::sql(format!("creating logical slot {slot}")))?;
    }
    Ok(SourceSetup {
        publication,
        slot: slot.clone(),
        slot_created,
        confirmed_lsn: slot_position(client, &slot).await?.flatten(),
    })
}

/// The slot's `confirmed_flush_lsn`: `None` if the slot does not exist.
pub async fn slot_position(client: &Client, slot: &str) -> Result<Option<Option<Lsn>>, PgError> {
    let row = client
        .query_opt(
            "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .await
        .map_err(PgError::sql("reading replication slots"))?;
    Ok(row.map(|r| r.get::<_, Option<String>>(0).and_then(|s| s.parse().ok())))
}

/// Creates the replication origin for changes coming from `source` (on the target server).
pub async fn setup_target(
    client: &Client,
    source: Side,
    names: &ObjectNames,
) -> Result<(), PgError> {
    let origin = names.origin(source);
    client
        .execute(
            "SELECT pg_replication_origin_create($1)
              WHERE NOT EXISTS (SELECT 1 FROM pg_replication_origin WHERE roname = $1)",
            &[&origin],
        )
        .await
        .map_err(PgError::sql(format!(
            "creating replication origin {origin}"
        )))?;
    Ok(())
}

/// The applied position stored in the origin for changes from `source` (the resume point).
pub async fn origin_position(
    client: &Client,
    source: Side,
    names: &ObjectNames,
) -> Result<Option<Lsn>, PgError> {
    let row = client
        .query_opt(
            "SELECT pg_replication_origin_progress($1, true)::text
               FROM pg_replication_origin WHERE roname = $1",
            &[&names.origin(source)],
        )
        .await
        .map_err(PgError::sql("reading replication origin progress"))?;
    Ok(row
        .and_then(|r| r.get::<_, Option<String>>(0))
        .and_then(|s| s.parse().ok()))
}

/// Removes the slot (terminating a walsender still attached to it) and the publication on a
/// source server, so no abandoned slot retains WAL.
pub async fn teardown_source(
    client: &Client,
    side: Side,
    names: &ObjectNames,
) -> Result<(), PgError> {
    let slot = names.slot(side);
    client
        .execute(
            "SELECT pg_terminate_backend(active_pid) FROM pg_replication_slots
              WHERE slot_name = $1 AND active_pid IS NOT NULL",
            &[&slot],
        )
        .await
        .map_err(PgError::sql("stopping the walsender of the slot"))?;
    // The walsender needs a moment to release the slot; retry until it is free.
    let mut attempts = 0;
    loop {
        let result = client
            .execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE slot_name = $1",
                &[&slot],
            )
            .await;
        match result {
            Ok(_) => break,
            Err(e) if attempts < 50 && e.code().map(|c| c.code()) == Some("55006") => {
                attempts += 1;
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
            Err(e) => return Err(PgError::sql(format!("dropping slot {slot}"))(e)),
        }
    }
    client
        .batch_execute(&format!(
            "DROP PUBLICATION IF EXISTS {}",
            quote_ident(&names.publication(side))
        ))
        .await
        .map_err(PgError::sql("dropping the publication"))?;
    Ok(())
}

/// Removes the replication origin for changes from `source` on a target server.
pub async fn teardown_target(
    client: &Client,
    source: Side,
    names: &ObjectNames,
) -> Result<(), PgError> {
    client
        .execute(
            "SELECT pg_replication_origin_drop(roname) FROM pg_replication_origin WHERE roname = $1",
            &[&names.origin(source)],
        )
        .await
        .map_err(PgError::sql("dropping the replication origin"))?;
    Ok(())
}
