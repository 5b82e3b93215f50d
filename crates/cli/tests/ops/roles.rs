//! The least-privilege roles of `sql/roles/`: they cover exactly what the shipped mappings
//! write, and `supra-sync run` works under them (RLS in force) while they cannot touch
//! anything else.

use supra_sync_mapping::{Direction, IdStrategy, MappingSet};
use supra_sync_ops::names;
use supra_sync_testkit::{TestDatabase, legacy, supra};

use crate::support::{
    Env, Instance, admin, count, legacy_database, repo, supra_database, wait_count,
};

fn script(name: &str) -> String {
    std::fs::read_to_string(repo().join("sql/roles").join(name)).unwrap()
}

fn granted(sql: &str, object: &str) -> bool {
    sql.lines()
        .any(|l| l.trim().trim_end_matches(',') == object)
}

#[test]
fn the_role_scripts_grant_writes_on_exactly_the_mapped_tables() {
    let mappings = MappingSet::load_dir(&repo().join("mappings")).expect("mappings");
    let (legacy_sql, supra_sql) = (script("legacy_roles.sql"), script("supra_roles.sql"));
    let mut supra_tables = Vec::new();
    for entity in mappings.entities() {
        for table in entity.supra_tables() {
            supra_tables.push(table.to_string());
            assert!(
                granted(&supra_sql, &table.to_string()),
                "supra_roles.sql: no grant on {table}"
            );
        }
        if entity.direction() == Direction::Bidirectional {
            let table = entity.legacy_table().to_string();
            assert!(
                granted(&legacy_sql, &table),
                "legacy_roles.sql: no grant on {table}"
            );
            if let Some(IdStrategy::Sequence(seq)) = entity.id_strategy() {
                assert!(
                    granted(&legacy_sql, seq),
                    "legacy_roles.sql: no grant on {seq}"
                );
            }
        }
    }
    // Nothing beyond them: every `public.` object granted on SUPRA is a mapped table.
    for line in supra_sql.lines().map(|l| l.trim().trim_end_matches(',')) {
        if line.starts_with("public.") && line != "public.tenants" {
            assert!(
                supra_tables.iter().any(|t| t == line),
                "supra_roles.sql grants {line}, which no mapping writes"
            );
        }
    }
}

/// Runs a role script as the superuser, for the deployment prefix.
async fn apply(db: &TestDatabase, prefix: &str, name: &str) {
    let client = db.connect().await.unwrap();
    client
        .batch_execute(&format!(
            "SET supra_sync.prefix = '{prefix}';\n{}",
            script(name)
        ))
        .await
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
}

#[tokio::test]
async fn sync_runs_under_the_least_privilege_roles_which_can_do_nothing_else() {
    let mut env = Env::new(legacy_database(legacy()).await, supra_database().await).await;
    apply(&env.legacy, &env.prefix, "legacy_roles.sql").await;
    apply(&env.supra, &env.prefix, "supra_roles.sql").await;
    env.legacy_url = format!(
        "host=127.0.0.1 port={} user=supra_sync_legacy dbname={}",
        legacy().port(),
        env.legacy.name
    );
    env.supra_url = format!(
        "host=127.0.0.1 port={} user=supra_sync_supra dbname={}",
        supra().port(),
        env.supra.name
    );
    let run = Instance::start(env.command(&[]), "roles").await;

    // Forward: legacy → SUPRA through RLS (no admin bypass).
    let legacy_admin = env.legacy.connect().await.unwrap();
    legacy_admin
        .batch_execute(
            "INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnombre) VALUES (1, 'F', 'Rol')",
        )
        .await
        .unwrap();
    let supra_admin = admin(&env.supra).await;
    wait_count(&supra_admin, "SELECT count(*) FROM persons", 1).await;
    // Reverse: SUPRA → legacy through the legacy writer role and its origin grants.
    supra_admin
        .batch_execute("UPDATE persons SET rfc = 'ROLE800101AB1'")
        .await
        .unwrap();
    wait_count(
        &legacy_admin,
        "SELECT count(*) FROM cf_quere_pro.persona WHERE prsnif = 'ROLE800101AB1'",
        1,
    )
    .await;
    // The collector works under the roles too.
    let slot = format!("{}_legacy", env.prefix);
    run.wait_metric(
        "slot seen",
        names::SLOT_ACTIVE,
        &[(names::LABEL_SLOT, slot.as_str())],
        |v| v == 1.0,
    )
    .await;
    run.wait_metric(
        "origin read",
        names::ORIGIN_LSN,
        &[(names::LABEL_DATABASE, "supra")],
        |v| v > 0.0,
    )
    .await;
    assert_eq!(
        run.metric(names::COLLECTOR_ERRORS, &[]).await,
        None,
        "{}",
        run.log_text()
    );
    run.stop().await;

    // And nothing else: no unpublished table, no write outside the mapped tables, no RLS bypass.
    let as_role = |db: &TestDatabase, role: &str| {
        let url = format!(
            "host=127.0.0.1 port={} user={role} dbname={}",
            db.port, db.name
        );
        async move {
            let (c, conn) = tokio_postgres::connect(&url, tokio_postgres::NoTls)
                .await
                .unwrap();
            tokio::spawn(conn);
            c
        }
    };
    let denied = |r: Result<u64, tokio_postgres::Error>| {
        r.err().and_then(|e| e.code().map(|c| c.code().to_string())) == Some("42501".into())
    };
    let l = as_role(&env.legacy, "supra_sync_legacy").await;
    let unpublished: String = legacy_admin
        .query_one(
            &format!(
                "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = 'cf_quere_pro' AND c.relkind = 'r'
                    AND c.relname NOT IN (SELECT tablename FROM pg_publication_tables WHERE pubname = '{}_legacy_pub')
                  ORDER BY 1 LIMIT 1",
                env.prefix
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    assert!(
        denied(
            l.execute(&format!("SELECT * FROM cf_quere_pro.{unpublished}"), &[])
                .await
        ),
        "reads {unpublished}"
    );
    assert!(
        denied(l.execute("DELETE FROM cf_quere_pro.lectura", &[]).await),
        "writes a legacy table no bidirectional entity maps"
    );
    assert!(denied(
        l.execute("CREATE TABLE cf_quere_pro.x (i int)", &[]).await
    ));
    let s = as_role(&env.supra, "supra_sync_supra").await;
    assert_eq!(
        count(&s, "SELECT count(*) FROM persons").await,
        0,
        "RLS hides rows without a tenant context"
    );
    assert!(denied(
        s.execute("SELECT pg_replication_origin_create('x')", &[])
            .await
    ));
    assert!(denied(
        s.execute("CREATE TABLE public.x (i int)", &[]).await
    ));
    env.teardown().await;
}
