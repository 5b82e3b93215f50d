//! Publisher: envelopes as a plain consumer reads them, tombstones, key changes, broker failures.

use serde_json::json;
use supra_sync_core::Value;
use supra_sync_kafka::envelope::{Decoded, Decoder};
use supra_sync_kafka::{KafkaError, Publisher};

use crate::support::*;

#[tokio::test]
async fn published_envelopes_read_back_field_by_field() {
    let cluster = cluster(1);
    let bootstrap = cluster.bootstrap_servers();
    let publisher = Publisher::new(publisher_config(&bootstrap)).unwrap();
    let mut renamed = persona(42, "ANA");
    renamed.values[6] = Value::Unchanged;
    let txs = [
        tx(
            1,
            vec![insert(persona(42, "ANA")), insert(persona(43, "LUIS"))],
        ),
        tx(2, vec![update(None, renamed)]),
        tx(3, vec![delete(persona_key(43))]),
    ];
    for t in &txs {
        publisher.publish_transaction(t, false).await.unwrap();
    }
    assert_eq!(publisher.stats().records_acked, 5);

    let records = read_topic(&bootstrap, PERSONA_TOPIC).await;
    assert_eq!(records.len(), 5, "3 creates/updates, 1 delete, 1 tombstone");
    let keys: Vec<_> = records.iter().map(|r| r.key_text().unwrap()).collect();
    assert_eq!(
        keys,
        [
            r#"{"prsid":"42"}"#,
            r#"{"prsid":"43"}"#,
            r#"{"prsid":"42"}"#,
            r#"{"prsid":"43"}"#,
            r#"{"prsid":"43"}"#
        ]
    );

    let create = records[0].json();
    assert_eq!(create["op"], "c");
    assert_eq!(create["before"], json!(null));
    assert_eq!(
        create["after"],
        json!({
            "prsid": "42", "prsnombre": "ANA", "prsfecnac": 3789,
            "prsfecreg": 327_400_200_250_000_i64, "prsfecmod": "2024-03-01T16:00:00Z",
            "prssaldo": "1234.50", "prsnotas": "xxx"
        })
    );
    let source = &create["source"];
    assert_eq!(source["connector"], "postgresql");
    assert_eq!(source["name"], "aquacis");
    assert_eq!(source["db"], "aquacis");
    assert_eq!(source["schema"], "cf_quere_pro");
    assert_eq!(source["table"], "persona");
    assert_eq!(source["txId"], 701);
    assert_eq!(source["lsn"], json!(0x16_0000_0100_u64));
    assert_eq!(source["ts_ms"], json!(txs[0].commit_ts.timestamp_millis()));
    assert_eq!(source["snapshot"], "false");
    assert_eq!(source["origin"], json!(null));
    assert!(
        source["version"]
            .as_str()
            .unwrap()
            .starts_with("supra-sync-")
    );
    assert!(create["ts_ms"].as_i64().unwrap() >= source["ts_ms"].as_i64().unwrap());
    assert_eq!(
        create["transaction"]["id"],
        format!("701:{}", 0x16_0000_0100_u64)
    );
    assert_eq!(records[1].json()["transaction"]["total_order"], 2);
    assert_eq!(records[0].header("supra.lsn").as_deref(), Some("16/100"));
    assert_eq!(records[0].header("supra.side").as_deref(), Some("legacy"));
    assert!(
        records[0]
            .header("supra.types")
            .unwrap()
            .contains(r#"["prsfecmod","timestamptz"]"#)
    );

    let update = records[2].json();
    assert_eq!(update["op"], "u");
    assert_eq!(
        update["before"],
        json!(null),
        "default replica identity: no old image"
    );
    assert_eq!(update["after"]["prsnotas"], "__debezium_unavailable_value");
    assert_eq!(records[2].header("supra.lsn").as_deref(), Some("16/200"));

    let delete = records[3].json();
    assert_eq!(delete["op"], "d");
    assert_eq!(delete["before"]["prsid"], "43");
    assert_eq!(delete["after"], json!(null));
    assert_eq!(records[4].value, None, "a tombstone follows the delete");
    assert_eq!(records[4].header("supra.lsn").as_deref(), Some("16/300"));

    // And what was read decodes back to the changes that were published.
    let mut decoder = Decoder::new();
    let mut changes = Vec::new();
    for r in &records {
        let headers: Vec<(&str, &[u8])> = r
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_slice()))
            .collect();
        if let Decoded::Change(e) = decoder
            .decode(r.key.as_deref(), r.value.as_deref(), &headers)
            .unwrap()
        {
            changes.push(e.change);
        }
    }
    let published: Vec<_> = txs.iter().flat_map(|t| t.changes.clone()).collect();
    assert_eq!(changes, published);
}

#[tokio::test]
async fn key_change_is_delete_tombstone_create_on_the_keys_partitions() {
    let cluster = cluster(3);
    let bootstrap = cluster.bootstrap_servers();
    let publisher = Publisher::new(publisher_config(&bootstrap)).unwrap();
    publisher
        .publish_transaction(&tx(1, vec![insert(persona(42, "ANA"))]), false)
        .await
        .unwrap();
    publisher
        .publish_transaction(
            &tx(2, vec![update(Some(persona_key(42)), persona(99, "ANA"))]),
            false,
        )
        .await
        .unwrap();
    let records = read_topic(&bootstrap, PERSONA_TOPIC).await;
    let old: Vec<_> = records
        .iter()
        .filter(|r| r.key_text().unwrap().contains("42"))
        .collect();
    let new: Vec<_> = records
        .iter()
        .filter(|r| r.key_text().unwrap().contains("99"))
        .collect();
    assert_eq!(
        old.len(),
        3,
        "create, delete, tombstone of the old key: {records:#?}"
    );
    assert!(old.iter().all(|r| r.partition == old[0].partition));
    assert_eq!(old[1].json()["op"], "d");
    assert_eq!(
        old[1].header("__debezium.newkey").as_deref(),
        Some(r#"{"prsid":"99"}"#)
    );
    assert_eq!(old[2].value, None);
    assert_eq!(new.len(), 1);
    assert_eq!(new[0].json()["op"], "c");
    assert_eq!(new[0].json()["after"]["prsid"], "99");
    assert_eq!(
        new[0].header("__debezium.oldkey").as_deref(),
        Some(r#"{"prsid":"42"}"#)
    );
}

/// `expected` appears in `actual` in order (a re-sent suffix may add duplicates, never gaps).
fn is_subsequence(expected: &[(Option<String>, Option<Vec<u8>>)], actual: &[Consumed]) -> bool {
    let mut it = actual.iter();
    expected
        .iter()
        .all(|(k, v)| it.any(|c| &c.key_text() == k && &c.value.as_deref().map(strip_ts) == v))
}

/// The value without the top-level processing time (which differs between attempts).
fn strip_ts(value: &[u8]) -> Vec<u8> {
    let mut v: serde_json::Value = serde_json::from_slice(value).unwrap();
    v.as_object_mut().unwrap().remove("ts_ms");
    v.as_object_mut().unwrap().remove("ts_us");
    v.to_string().into_bytes()
}

#[tokio::test]
async fn broker_down_publish_retries_and_returns_only_once_delivered() {
    let cluster = cluster(1);
    let bootstrap = cluster.bootstrap_servers();
    let publisher = Publisher::new(publisher_config(&bootstrap)).unwrap();
    publisher
        .publish_transaction(&tx(1, vec![insert(persona(1, "A"))]), false)
        .await
        .unwrap();

    cluster.broker_down(1).unwrap();
    let t = tx(
        2,
        (2..12)
            .map(|i| insert(persona(i, "B")))
            .chain([delete(persona_key(1))])
            .collect(),
    );
    let publish = publisher.publish_transaction(&t, false);
    let operator = async {
        // The attempt fails while the broker is down and the publisher retries: not returned yet.
        wait_until("a failed attempt", || publisher.stats().retries >= 2).await;
        cluster.broker_up(1).unwrap();
    };
    let (published, ()) = tokio::join!(publish, operator);
    published.expect("publish returns Ok once the broker is back");

    let records = read_topic(&bootstrap, PERSONA_TOPIC).await;
    let expected: Vec<_> = supra_sync_kafka::envelope::encode_transaction(
        &envelope_settings(),
        &t,
        false,
        chrono::Utc::now(),
    )
    .into_iter()
    .map(|r| {
        (
            r.key.map(|k| String::from_utf8(k).unwrap()),
            r.value.as_deref().map(strip_ts),
        )
    })
    .collect();
    assert!(
        is_subsequence(&expected, &records[1..]),
        "every record of tx 2, in order: {records:#?}"
    );
}

#[tokio::test]
async fn bounded_retries_give_up_with_a_transient_error() {
    let cluster = cluster(1);
    let mut config = publisher_config(&cluster.bootstrap_servers());
    config.delivery_timeout = std::time::Duration::from_millis(300);
    config.retry.max_attempts = Some(2);
    let publisher = Publisher::new(config).unwrap();
    cluster.broker_down(1).unwrap();
    let err = publisher
        .publish_transaction(&tx(1, vec![insert(persona(1, "A"))]), false)
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
    assert!(
        err.to_string().contains("gave up after 2 attempts"),
        "{err}"
    );
}

#[tokio::test]
async fn produce_errors_are_retried_by_the_idempotent_producer_without_duplicates() {
    use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
    let cluster = cluster(1);
    let bootstrap = cluster.bootstrap_servers();
    let publisher = Publisher::new(publisher_config(&bootstrap)).unwrap();
    publisher
        .publish_transaction(&tx(1, vec![insert(persona(1, "A"))]), false)
        .await
        .unwrap();
    cluster.request_errors(
        RDKafkaApiKey::Produce,
        &[
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
            RDKafkaRespErr::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        ],
    );
    let t = tx(2, (2..6).map(|i| insert(persona(i, "B"))).collect());
    publisher.publish_transaction(&t, false).await.unwrap();
    let records = read_topic(&bootstrap, PERSONA_TOPIC).await;
    let ids: Vec<_> = records
        .iter()
        .map(|r| r.json()["after"]["prsid"].clone())
        .collect();
    assert_eq!(
        ids,
        [json!("1"), json!("2"), json!("3"), json!("4"), json!("5")]
    );
}

#[tokio::test]
async fn oversized_record_is_a_definite_error() {
    let cluster = cluster(1);
    let mut config = publisher_config(&cluster.bootstrap_servers());
    config
        .properties
        .insert("message.max.bytes".into(), "2000".into());
    let publisher = Publisher::new(config).unwrap();
    let mut big = persona(1, "A");
    big.values[6] = Value::Text("x".repeat(10_000));
    let err = publisher
        .publish_transaction(&tx(1, vec![insert(big)]), false)
        .await
        .unwrap_err();
    assert!(matches!(err, KafkaError::Definite { .. }), "{err:?}");
}

#[tokio::test]
async fn weakening_delivery_settings_is_refused() {
    let mut config = publisher_config("127.0.0.1:1");
    config.properties.insert("acks".into(), "1".into());
    assert!(matches!(
        Publisher::new(config),
        Err(KafkaError::Definite { .. })
    ));
}
