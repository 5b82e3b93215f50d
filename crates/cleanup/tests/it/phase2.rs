//! Phase 2 end to end: tiers, backfill, triggers, views that return exactly what the
//! tables returned (row for row, pg_typeof per column), swap after the observation period,
//! verify, rollback.

use supra_sync_cleanup::{Cleanup, CleanupError, Phase, all_passed};

use crate::fixture::{self, count, dump, quiet, shapes};
use crate::fixture2;

fn config(name: &str) -> supra_sync_cleanup::CleanupConfig {
    let mut c = fixture::config(name);
    c.protected_tables = ["persona".to_string()].into();
    c
}

/// Rows of a relation, ordered, as text; and the pg_typeof of each column of its first row.
async fn rows_and_types(
    client: &tokio_postgres::Client,
    rel: &str,
    cols: &[&str],
) -> (Vec<String>, Vec<String>) {
    let rows = client
        .query(
            &format!("SELECT x::text FROM cf_quere_pro.{rel} x ORDER BY 1"),
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let exprs = cols
        .iter()
        .map(|c| format!("pg_typeof({c})::text"))
        .collect::<Vec<_>>()
        .join(", ");
    let types = client
        .query_one(
            &format!("SELECT ARRAY[{exprs}] FROM cf_quere_pro.{rel} LIMIT 1"),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    (rows, types)
}

#[tokio::test]
async fn phase2_views_match_row_for_row_then_swap_verify_rollback() {
    let db = fixture2::database("p2_full").await;
    let client = db.connect().await.unwrap();
    let before = dump(&client, "cf_quere_pro").await;
    let before_shapes = shapes(&client, "cf_quere_pro").await;
    let cleanup = Cleanup::connect(&db.connection_string, config("p2_full"))
        .await
        .unwrap();

    let plan = cleanup.plan(Phase::Two).await.unwrap();
    let text = plan.to_string();
    assert!(
        text.contains("histipooficina: tier 1")
            && text.contains("hisfactura: tier 2")
            && text.contains("hispersona: tier 2")
            && text.contains("p2.retained.hisfactura"),
        "{text}"
    );
    assert!(
        text.contains("hiscatcalle: tier 2 — base table catcalle not found"),
        "{text}"
    );
    assert!(
        text.contains("PARTITION BY RANGE (al_changed_at)"),
        "{text}"
    );

    // First apply: everything but the drops, which wait for the observation period.
    let err = cleanup.apply(Phase::Two, &quiet).await.unwrap_err();
    match &err {
        CleanupError::Incomplete { blocked, waiting } => {
            assert!(blocked.is_empty(), "{err}");
            assert_eq!(waiting.len(), 5, "{err}");
        }
        other => panic!("{other}"),
    }
    // Views return exactly what the tables return.
    let his_cols = [
        "tofid",
        "toftxtid",
        "tofsncaja",
        "tofsnatencion",
        "tofdesc",
        "tofhstusu",
        "tofhsthora",
    ];
    assert_eq!(
        rows_and_types(&client, "histipooficina", &his_cols).await,
        rows_and_types(&client, "histipooficina_compat", &his_cols).await
    );
    let dir_cols = [
        "dirid",
        "dirtexto",
        "dirlat",
        "dirnota",
        "dirfecalta",
        "dirimporte",
        "dirflags",
        "dirhstusu",
        "dirhsthora",
    ];
    assert_eq!(
        rows_and_types(&client, "hisdirec", &dir_cols).await,
        rows_and_types(&client, "hisdirec_compat", &dir_cols).await
    );
    assert_eq!(
        rows_and_types(&client, "tipooficina", &his_cols).await,
        rows_and_types(&client, "tipooficina_compat", &his_cols).await
    );
    assert_eq!(
        rows_and_types(&client, "tipocatcalle", &["tpctcid", "tpctctxtid"]).await,
        rows_and_types(&client, "tipocatcalle_compat", &["tpctcid", "tpctctxtid"]).await
    );
    assert_eq!(
        rows_and_types(&client, "tipoactsucsif", &["tasactid", "tassucsif"]).await,
        rows_and_types(&client, "tipoactsucsif_compat", &["tasactid", "tassucsif"]).await
    );
    assert_eq!(count(&client, "SELECT count(*) FROM cf_quere_pro.domain_value WHERE dv_domain = 'TIPO_OFICINA' AND dv_description = 'Módulo \"norte\"' AND dv_extra_json ? 'tofsncaja'").await, 1);
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM cf_quere_pro.domain_value WHERE dv_domain = 'TIPO_CATCALLE'"
        )
        .await,
        3
    );
    assert_eq!(count(&client, "SELECT count(*) FROM cf_quere_pro.audit_log WHERE al_table_name = 'direccion' AND al_record_key = '1'").await, 3);

    // The trigger now records changes of the base table; the view shows them as history.
    client.batch_execute("SELECT set_config('app.current_user', 'pedro', false); UPDATE cf_quere_pro.direccion SET dirtexto = 'Av. Juárez 11' WHERE dirid = 1").await.unwrap();
    assert_eq!(
        count(&client, "SELECT count(*) FROM cf_quere_pro.hisdirec_compat").await,
        4
    );

    // After the observation period: tables retired behind their views.
    let mut c = config("p2_full");
    c.observation_period_secs = 0;
    let cleanup = Cleanup::connect(&db.connection_string, c).await.unwrap();
    cleanup.apply(Phase::Two, &quiet).await.unwrap();
    for t in [
        "histipooficina",
        "hisdirec",
        "tipooficina",
        "tipocatcalle",
        "tipoactsucsif",
    ] {
        assert_eq!(count(&client, &format!("SELECT count(*) FROM pg_views WHERE schemaname = 'cf_quere_pro' AND viewname = '{t}'")).await, 1, "{t}");
    }
    let after = dump(&client, "cf_quere_pro").await;
    for t in [
        "histipooficina",
        "tipooficina",
        "tipocatcalle",
        "tipoactsucsif",
    ] {
        assert!(!after.contains_key(t));
    }
    let his_now: Vec<String> = client
        .query(
            "SELECT (to_jsonb(t))::text FROM cf_quere_pro.histipooficina t ORDER BY 1",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(his_now, before["histipooficina"]);
    let checks = cleanup.verify(Phase::Two).await.unwrap();
    assert!(
        all_passed(&checks),
        "{}",
        checks
            .iter()
            .map(|c| c.to_string())
            .collect::<Vec<_>>()
            .join("\n")
    );
    // Untouched: tier 2 tables and the complex lookup.
    assert!(
        after.contains_key("hisfactura")
            && after.contains_key("hispersona")
            && after.contains_key("tipoconcep")
    );

    // Rollback: every table back with its rows; hisdirec also keeps the trigger's entry.
    cleanup.rollback(Phase::Two, &quiet).await.unwrap();
    let restored = dump(&client, "cf_quere_pro").await;
    for (t, rows) in &before {
        if t == "hisdirec" {
            assert_eq!(restored[t].len(), rows.len() + 1);
            assert!(rows.iter().all(|r| restored[t].contains(r)));
        } else if t == "direccion" {
            continue;
        } else {
            assert_eq!(restored.get(t), Some(rows), "{t}");
        }
    }
    assert_eq!(shapes(&client, "cf_quere_pro").await, before_shapes);
    assert_eq!(count(&client, "SELECT count(*) FROM pg_class WHERE relname IN ('audit_log', 'domain_value', 'domain_value_link') AND relnamespace = 'cf_quere_pro'::regnamespace").await, 0);
    assert_eq!(
        count(
            &client,
            "SELECT count(*) FROM pg_trigger WHERE tgname LIKE 'trg_audit_%'"
        )
        .await,
        0
    );
}
