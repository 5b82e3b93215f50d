//! The SUPRA and sync schemas after migrations: every table, RLS, tenant isolation.

use supra_sync_postgres::migrate;

use crate::support::{config, migrated_supra};

const SUPRA_TABLES: &[&str] = &[
    "tenants",
    "explotaciones",
    "explotacion_configs",
    "offices",
    "persons",
    "addresses",
    "person_contacts",
    "sectores_hidraulicos",
    "acometidas",
    "tomas",
    "meters",
    "contracts",
    "contract_notifications",
    "meter_readings",
    "tariff_schedules",
    "invoice_batches",
    "invoices",
    "invoice_lines",
    "payments",
    "payment_plans",
    "work_orders",
    "domain_values",
    "domain_value_links",
    "sat_catalogs",
    "domain_events",
];

const SYNC_TABLES: &[&str] = &["sync_mappings", "sync_log", "sync_conflicts"];

#[tokio::test]
async fn every_supra_and_sync_table_exists() {
    let db = migrated_supra().await;
    let c = db.connect().await.unwrap();
    for table in SUPRA_TABLES {
        let found: bool = c
            .query_one("SELECT to_regclass('public.' || $1) IS NOT NULL", &[table])
            .await
            .unwrap()
            .get(0);
        assert!(found, "SUPRA table {table} missing after migrations");
    }
    for table in SYNC_TABLES {
        let found: bool = c
            .query_one(
                "SELECT to_regclass('supra_sync.' || $1) IS NOT NULL",
                &[table],
            )
            .await
            .unwrap()
            .get(0);
        assert!(found, "sync table {table} missing after migrations");
    }
    let sat: i64 = c
        .query_one("SELECT count(*) FROM sat_catalogs", &[])
        .await
        .unwrap()
        .get(0);
    assert!(
        sat >= 13,
        "sat_catalogs seeded with the seed's codes, found {sat}"
    );
}

#[tokio::test]
async fn migrations_are_idempotent() {
    let db = migrated_supra().await;
    let cfg = config("supra", &db);
    migrate::migrate_supra(&cfg)
        .await
        .expect("second run applies nothing and succeeds");
}

#[tokio::test]
async fn rls_is_enabled_and_forced_on_every_tenant_scoped_table() {
    let db = migrated_supra().await;
    let c = db.connect().await.unwrap();
    let rows = c
        .query(
            "SELECT c.relname::text, c.relrowsecurity, c.relforcerowsecurity
               FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = 'public' AND c.relkind IN ('r', 'p')
                AND NOT c.relispartition
                AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid
                             AND a.attname = 'tenant_id' AND NOT a.attisdropped)",
            &[],
        )
        .await
        .unwrap();
    assert!(
        rows.len() >= 15,
        "expected many tenant-scoped tables, got {}",
        rows.len()
    );
    for r in rows {
        let (name, enabled, forced): (String, bool, bool) = (r.get(0), r.get(1), r.get(2));
        assert!(
            enabled && forced,
            "{name}: RLS enabled={enabled} forced={forced}"
        );
    }
}

#[tokio::test]
async fn a_tenant_sees_and_writes_only_its_own_rows() {
    let db = migrated_supra().await;
    let admin = db.connect().await.unwrap();
    // A non-superuser application role: superusers bypass RLS even when it is forced.
    admin
        .batch_execute(
            "DO $$ BEGIN
               IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'supra_app_test') THEN
                 CREATE ROLE supra_app_test LOGIN;
               END IF;
             END $$;
             GRANT USAGE ON SCHEMA public TO supra_app_test;
             GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO supra_app_test;",
        )
        .await
        .unwrap();
    let a = uuid::Uuid::new_v4();
    let b = uuid::Uuid::new_v4();
    admin
        .execute(
            "INSERT INTO tenants (id, name, slug) VALUES ($1, 'Tenant A', $3), ($2, 'Tenant B', $4)",
            &[&a, &b, &format!("a-{a}"), &format!("b-{b}")],
        )
        .await
        .unwrap();

    let app = supra_sync_testkit::supra().connect(&db.name).await.unwrap();
    app.batch_execute("SET ROLE supra_app_test").await.unwrap();
    for (tenant, name) in [(a, "Ana de A"), (b, "Beto de B")] {
        app.batch_execute(&format!("SET app.current_tenant = '{tenant}'"))
            .await
            .unwrap();
        app.execute(
            "INSERT INTO persons (tenant_id, person_type, name) VALUES ($1, 'fisica', $2)",
            &[&tenant, &name],
        )
        .await
        .unwrap();
    }
    app.batch_execute(&format!("SET app.current_tenant = '{a}'"))
        .await
        .unwrap();
    let names: Vec<String> = app
        .query("SELECT name FROM persons", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(
        names,
        vec!["Ana de A".to_string()],
        "tenant A must see only its own person"
    );
    let err = app
        .execute(
            "INSERT INTO persons (tenant_id, person_type, name) VALUES ($1, 'fisica', 'intruso')",
            &[&b],
        )
        .await
        .expect_err("tenant A must not insert a row of tenant B");
    assert_eq!(err.code().map(|c| c.code()), Some("42501"), "{err}");
    let changed = app
        .execute(
            "UPDATE persons SET name = 'hackeado' WHERE tenant_id = $1",
            &[&b],
        )
        .await
        .unwrap();
    assert_eq!(changed, 0, "tenant A updated tenant B's rows");

    app.batch_execute("RESET app.current_tenant").await.unwrap();
    let seen: i64 = app
        .query_one("SELECT count(*) FROM persons", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(seen, 0, "no tenant context must see nothing");
}
