//! fn_audit_trigger() (seed 001 P2-S1-05): insert, update of one and of several fields,
//! no-op update, delete, NULLs, JSONB edge cases, composite keys, session settings.

use serde_json::{Value, json};
use supra_sync_cleanup::{Cleanup, Phase};
use tokio_postgres::Client;

use crate::fixture::{self, quiet};
use crate::fixture2;

/// JSON parsed exactly (numbers keep their scale, as in the audit log).
fn j(s: &str) -> Value {
    serde_json::from_str(s).unwrap()
}

async fn setup() -> Client {
    let db = fixture2::database("audit_trg").await;
    let cleanup = Cleanup::connect(&db.connection_string, fixture::config("audit_trg"))
        .await
        .unwrap();
    let _ = cleanup.apply(Phase::Two, &quiet).await;
    let client = db.connect().await.unwrap();
    client
        .batch_execute(
            "CREATE TABLE cf_quere_pro.prueba (id NUMERIC(10,0) PRIMARY KEY, nombre VARCHAR(40), importe NUMERIC(12,2),
                 fecha TIMESTAMP, datos JSONB, activo BOOLEAN, bin BYTEA);
             CREATE TRIGGER trg_audit_prueba AFTER INSERT OR UPDATE OR DELETE ON cf_quere_pro.prueba
                 FOR EACH ROW EXECUTE FUNCTION cf_quere_pro.fn_audit_trigger('id');
             CREATE TABLE cf_quere_pro.prueba2 (a INTEGER, b TEXT, v TEXT, PRIMARY KEY (a, b));
             CREATE TRIGGER trg_audit_prueba2 AFTER INSERT OR UPDATE OR DELETE ON cf_quere_pro.prueba2
                 FOR EACH ROW EXECUTE FUNCTION cf_quere_pro.fn_audit_trigger('a', 'b');",
        )
        .await
        .unwrap();
    client
}

/// The audit rows of a table, oldest first: (op, key, old, new, changed, user, sesid).
async fn log(
    client: &Client,
    table: &str,
) -> Vec<(
    String,
    String,
    Option<Value>,
    Option<Value>,
    Option<Value>,
    String,
    Option<i64>,
)> {
    client
        .query(
            "SELECT al_operation::text, al_record_key, al_old_data, al_new_data, al_changed_fields, al_user_id::text, al_sesid
               FROM cf_quere_pro.audit_log WHERE al_table_name = $1 ORDER BY al_id",
            &[&table],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3), r.get(4), r.get(5), r.get(6)))
        .collect()
}

#[tokio::test]
async fn insert_update_delete_nulls_and_jsonb_edge_cases() {
    let c = setup().await;
    c.batch_execute("INSERT INTO cf_quere_pro.prueba VALUES (1, 'Ana', 10.50, '2024-01-01 10:00', '{\"b\": 1, \"a\": [1, 2]}', true, '\\x00')").await.unwrap();
    let l = log(&c, "prueba").await;
    assert_eq!(l.len(), 1);
    assert_eq!(
        (l[0].0.as_str(), l[0].1.as_str(), l[0].5.as_str()),
        ("I", "1", "system")
    );
    assert_eq!(l[0].2, None);
    assert_eq!(l[0].3.as_ref().unwrap()["nombre"], json!("Ana"));
    assert_eq!(
        l[0].3.as_ref().unwrap()["datos"],
        json!({"a": [1, 2], "b": 1})
    );
    assert_eq!(l[0].4, None);

    // One field, with the user and session from the settings.
    c.batch_execute("SELECT set_config('app.current_user', 'juan', false), set_config('app.current_sesid', '77', false);
                     UPDATE cf_quere_pro.prueba SET nombre = 'Ana María' WHERE id = 1").await.unwrap();
    let l = log(&c, "prueba").await;
    assert_eq!(l[1].0, "U");
    assert_eq!(
        l[1].4,
        Some(json!({"nombre": {"old": "Ana", "new": "Ana María"}}))
    );
    assert_eq!((l[1].5.as_str(), l[1].6), ("juan", Some(77)));
    assert_eq!(
        l[1].2.as_ref().unwrap()["nombre"],
        json!("Ana"),
        "the full old row is kept"
    );

    // Several fields at once, NULL to value and value to NULL.
    c.batch_execute("SELECT set_config('app.current_sesid', 'not-a-number', false);
                     UPDATE cf_quere_pro.prueba SET importe = NULL, activo = NULL, fecha = '2024-02-29 00:00', bin = NULL WHERE id = 1").await.unwrap();
    let l = log(&c, "prueba").await;
    assert_eq!(
        l[2].4,
        Some(j(r#"{
            "importe": {"old": 10.50, "new": null},
            "activo": {"old": true, "new": null},
            "fecha": {"old": "2024-01-01T10:00:00", "new": "2024-02-29T00:00:00"},
            "bin": {"old": "\\x00", "new": null}
        }"#))
    );
    assert_eq!(
        l[2].6, None,
        "a non-numeric session id is ignored, not an error"
    );
    c.batch_execute("UPDATE cf_quere_pro.prueba SET importe = 5 WHERE id = 1")
        .await
        .unwrap();
    let l = log(&c, "prueba").await;
    assert_eq!(
        l[3].4,
        Some(j(r#"{"importe": {"old": null, "new": 5.00}}"#)),
        "numeric(12,2) stores 5.00"
    );

    // No change, and a JSONB value rewritten with other key order or spacing: nothing logged.
    c.batch_execute("UPDATE cf_quere_pro.prueba SET nombre = nombre WHERE id = 1;
                     UPDATE cf_quere_pro.prueba SET datos = '{\"a\":[1,2],   \"b\":1}' WHERE id = 1").await.unwrap();
    assert_eq!(log(&c, "prueba").await.len(), 4);

    // JSONB edge cases that are changes: nested value, JSON null vs SQL NULL, numeric scale,
    // strings with quotes, backslashes and unicode, empty object.
    let edits = [
        (
            "datos = jsonb_set(datos, '{a,1}', '3')",
            json!({"old": {"a": [1, 2], "b": 1}, "new": {"a": [1, 3], "b": 1}}),
        ),
        (
            "datos = 'null'::jsonb",
            json!({"old": {"a": [1, 3], "b": 1}, "new": null}),
        ),
        (
            "datos = NULL",
            json!({"old": null, "new": null, "old_is_sql_null": false, "new_is_sql_null": true}),
        ),
        ("datos = '{}'", json!({"old": null, "new": {}})),
        (
            "datos = '{\"n\": 1.0}'",
            j(r#"{"old": {}, "new": {"n": 1.0}}"#),
        ),
        // Equal as jsonb values, different as text: a change of scale is recorded.
        (
            "datos = '{\"n\": 1.00}'",
            j(r#"{"old": {"n": 1.0}, "new": {"n": 1.00}}"#),
        ),
        (
            "nombre = E'comillas \" y \\\\ barra, ñ, 🚰'",
            json!({"old": "Ana María", "new": "comillas \" y \\ barra, ñ, 🚰"}),
        ),
    ];
    let mut expected_len = 4;
    for (set, diff) in edits {
        c.batch_execute(&format!(
            "UPDATE cf_quere_pro.prueba SET {set} WHERE id = 1"
        ))
        .await
        .unwrap();
        let l = log(&c, "prueba").await;
        expected_len += 1;
        assert_eq!(l.len(), expected_len, "{set}");
        let changed = l.last().unwrap().4.clone().unwrap();
        let field = changed.as_object().unwrap().keys().next().unwrap().clone();
        assert_eq!(changed[&field], diff, "{set}");
    }

    // Delete keeps the whole row.
    c.batch_execute("SELECT set_config('app.current_user', '', false); DELETE FROM cf_quere_pro.prueba WHERE id = 1").await.unwrap();
    let l = log(&c, "prueba").await;
    let last = l.last().unwrap();
    assert_eq!(
        (last.0.as_str(), last.1.as_str(), last.5.as_str()),
        ("D", "1", "system")
    );
    assert_eq!(
        last.2.as_ref().unwrap()["nombre"],
        json!("comillas \" y \\ barra, ñ, 🚰")
    );
    assert_eq!(last.3, None);

    // Composite keys and an update of the key itself (logged under the old key).
    c.batch_execute("INSERT INTO cf_quere_pro.prueba2 VALUES (1, 'x|y', 'v'); UPDATE cf_quere_pro.prueba2 SET a = 2 WHERE a = 1").await.unwrap();
    let l = log(&c, "prueba2").await;
    assert_eq!(l[0].1, "1|x|y");
    assert_eq!(l[1].1, "1|x|y");
    assert_eq!(l[1].4, Some(json!({"a": {"old": 1, "new": 2}})));
}
