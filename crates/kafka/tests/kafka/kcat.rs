//! An independent client (kcat, librdkafka's command-line client) reads a published topic and
//! the envelope fields are checked on what it prints.

use std::process::Command;

use serde_json::{Value as Json, json};
use supra_sync_kafka::Publisher;

use crate::support::*;

#[tokio::test]
async fn kcat_reads_the_published_envelopes() {
    if Command::new("kcat").arg("-V").output().is_err() {
        eprintln!(
            "SKIPPED kcat_reads_the_published_envelopes: kcat is not on PATH (scripts/setup installs it)"
        );
        return;
    }
    let cluster = cluster(1);
    let bootstrap = cluster.bootstrap_servers();
    let publisher = Publisher::new(publisher_config(&bootstrap)).unwrap();
    let t = tx(1, vec![insert(persona(42, "ANA")), delete(persona_key(42))]);
    publisher.publish_transaction(&t, false).await.unwrap();

    let bootstrap_arg = bootstrap.clone();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("kcat")
            .args([
                "-b",
                &bootstrap_arg,
                "-C",
                "-t",
                PERSONA_TOPIC,
                "-e",
                "-J",
                "-q",
            ])
            .output()
            .expect("kcat runs")
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "kcat failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lines: Vec<Json> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "create, delete, tombstone: {lines:#?}");

    let create = &lines[0];
    assert_eq!(create["topic"], PERSONA_TOPIC);
    assert_eq!(create["key"], r#"{"prsid":"42"}"#);
    let value: Json = serde_json::from_str(create["payload"].as_str().unwrap()).unwrap();
    assert_eq!(value["op"], "c");
    assert_eq!(value["before"], Json::Null);
    assert_eq!(value["after"]["prsid"], "42");
    assert_eq!(value["after"]["prssaldo"], "1234.50");
    assert_eq!(value["after"]["prsfecnac"], 3789);
    assert_eq!(value["after"]["prsfecmod"], "2024-03-01T16:00:00Z");
    assert_eq!(
        value["source"],
        json!({
            "version": value["source"]["version"],
            "connector": "postgresql", "name": "aquacis", "db": "aquacis",
            "schema": "cf_quere_pro", "table": "persona", "txId": 701,
            "lsn": 0x16_0000_0100_u64, "ts_ms": t.commit_ts.timestamp_millis(),
            "ts_us": t.commit_ts.timestamp_micros(), "snapshot": "false", "origin": null
        })
    );
    // kcat prints headers as a flat [name, value, name, value, …] array.
    let headers: Vec<&str> = create["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap())
        .collect();
    let header = |name: &str| headers.chunks(2).find(|kv| kv[0] == name).map(|kv| kv[1]);
    assert_eq!(header("supra.lsn"), Some("16/100"));
    assert_eq!(header("supra.side"), Some("legacy"));
    assert!(
        header("supra.types")
            .unwrap()
            .starts_with(r#"[["prsid","numeric","key"]"#)
    );

    let delete: Json = serde_json::from_str(lines[1]["payload"].as_str().unwrap()).unwrap();
    assert_eq!(delete["op"], "d");
    assert_eq!(delete["before"]["prsid"], "42");
    assert_eq!(lines[2]["key"], r#"{"prsid":"42"}"#);
    assert_eq!(lines[2]["payload"], Json::Null, "tombstone");
}
