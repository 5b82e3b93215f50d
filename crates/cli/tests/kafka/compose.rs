//! `docker-compose.yml`, checked without Docker: the services and images the deployment
//! promises, published ports, health checks, start order on health, Kafka in KRaft mode, and
//! that every `SUPRA_SYNC_*` variable given to supra-sync is one the binary reads (so a renamed
//! key cannot silently stop working).

use std::collections::BTreeSet;

use serde_yaml::Value;

use crate::support::repo;

fn compose() -> Value {
    let text =
        std::fs::read_to_string(repo().join("docker-compose.yml")).expect("docker-compose.yml");
    serde_yaml::from_str(&text).expect("docker-compose.yml is valid YAML")
}

fn service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    compose["services"]
        .get(name)
        .unwrap_or_else(|| panic!("service {name} is missing"))
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        other => panic!("expected a scalar, got {other:?}"),
    }
}

/// `KEY: value` pairs of a service's `environment` (map form).
fn environment(service: &Value) -> Vec<(String, String)> {
    service["environment"]
        .as_mapping()
        .expect("environment as a map")
        .iter()
        .map(|(k, v)| (text(k), text(v)))
        .collect()
}

/// The environment variables the binary reads: clap's `env = …` (listed by `--help` of every
/// command it has) and the configuration file's overrides (literals in config.rs).
fn accepted_variables() -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut collect = |s: &str| {
        for part in s.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')) {
            if part.starts_with("SUPRA_SYNC_") && part.len() > "SUPRA_SYNC_".len() {
                out.insert(part.trim_end_matches('_').to_string());
            }
        }
    };
    for args in [
        &["run", "--help"][..],
        &["replay", "--help"],
        &["setup", "--help"],
    ] {
        let help = std::process::Command::new(crate::support::binary())
            .args(args)
            .output()
            .expect("supra-sync --help");
        collect(&String::from_utf8_lossy(&help.stdout));
    }
    for source in ["src/config.rs", "src/options.rs"] {
        collect(&std::fs::read_to_string(repo().join("crates/cli").join(source)).expect(source));
    }
    // options.rs builds the password variables from each side's prefix.
    let options = std::fs::read_to_string(repo().join("crates/cli/src/options.rs")).unwrap();
    if options.contains("\"{}_PASSWORD\", side.env_prefix()") {
        for side in ["SUPRA_SYNC_LEGACY", "SUPRA_SYNC_SUPRA"] {
            out.insert(format!("{side}_PASSWORD"));
            out.insert(format!("{side}_PASSWORD_FILE"));
        }
    }
    out
}

#[test]
fn compose_file_describes_the_whole_stack() {
    let c = compose();
    let images = [
        ("legacy", "postgres:15"),
        ("supra", "postgis/postgis:15-3.4"),
        ("kafka", "apache/kafka:"),
        ("prometheus", "prom/prometheus:"),
    ];
    for (name, image) in images {
        let got = text(&service(&c, name)["image"]);
        assert!(
            got.starts_with(image),
            "{name} runs {got}, expected {image}…"
        );
    }
    let sync = service(&c, "supra-sync");
    assert_eq!(text(&sync["build"]["dockerfile"]), "Dockerfile");
    assert!(repo().join("Dockerfile").exists());
    let dockerfile = std::fs::read_to_string(repo().join("Dockerfile")).unwrap();
    for needed in [
        "AS builder",
        "cmake",
        "libsasl2-dev",
        "libssl-dev",
        "debian:bookworm-slim",
        "COPY mappings",
    ] {
        assert!(dockerfile.contains(needed), "Dockerfile lacks {needed}");
    }

    for (name, port) in [
        ("legacy", "5433:5432"),
        ("supra", "5434:5432"),
        ("kafka", "9092:9092"),
        ("prometheus", "9090:9090"),
        ("supra-sync", "9187:9187"),
    ] {
        let ports: Vec<String> = service(&c, name)["ports"]
            .as_sequence()
            .expect("ports")
            .iter()
            .map(text)
            .collect();
        assert!(
            ports.contains(&port.to_string()),
            "{name} publishes {ports:?}, expected {port}"
        );
    }
    for name in ["legacy", "supra", "kafka", "prometheus"] {
        let test = &service(&c, name)["healthcheck"]["test"];
        assert!(
            test.as_sequence().is_some_and(|t| t.len() >= 2),
            "{name} has a health check"
        );
    }
    for db in ["legacy", "supra"] {
        let cmd: Vec<String> = service(&c, db)["command"]
            .as_sequence()
            .expect("command")
            .iter()
            .map(text)
            .collect();
        assert!(
            cmd.contains(&"wal_level=logical".to_string()),
            "{db} needs wal_level=logical: {cmd:?}"
        );
    }
    let legacy_init: Vec<String> = service(&c, "legacy")["volumes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(text)
        .collect();
    assert!(
        legacy_init
            .iter()
            .any(|v| v.starts_with("./sql/legacy:/docker-entrypoint-initdb.d"))
    );

    for dependency in ["legacy", "supra", "kafka"] {
        assert_eq!(
            text(&sync["depends_on"][dependency]["condition"]),
            "service_healthy",
            "supra-sync starts once {dependency} is healthy"
        );
    }
    let kafka: std::collections::BTreeMap<String, String> =
        environment(service(&c, "kafka")).into_iter().collect();
    assert_eq!(
        kafka["KAFKA_PROCESS_ROLES"], "broker,controller",
        "KRaft, no ZooKeeper"
    );
    assert!(kafka["KAFKA_ADVERTISED_LISTENERS"].contains("kafka:9092"));
    assert_eq!(
        kafka["KAFKA_LOG_CLEANUP_POLICY"], "compact",
        "topics stay replayable"
    );

    let prometheus =
        std::fs::read_to_string(repo().join("deploy/prometheus/prometheus.yml")).unwrap();
    let prometheus: Value = serde_yaml::from_str(&prometheus).expect("prometheus.yml is YAML");
    let targets: Vec<String> = prometheus["scrape_configs"]
        .as_sequence()
        .unwrap()
        .iter()
        .flat_map(|j| {
            j["static_configs"]
                .as_sequence()
                .cloned()
                .unwrap_or_default()
        })
        .flat_map(|s| s["targets"].as_sequence().cloned().unwrap_or_default())
        .map(|t| text(&t))
        .collect();
    assert!(
        targets.contains(&"supra-sync:9187".to_string()),
        "{targets:?}"
    );
}

#[test]
fn supra_sync_environment_uses_only_keys_the_binary_reads() {
    let c = compose();
    let env = environment(service(&c, "supra-sync"));
    let accepted = accepted_variables();
    for needed in [
        "SUPRA_SYNC_LEGACY_URL",
        "SUPRA_SYNC_SUPRA_URL",
        "SUPRA_SYNC_KAFKA_BOOTSTRAP_SERVERS",
        "SUPRA_SYNC_KAFKA_TOPIC_PREFIX",
        "SUPRA_SYNC_PREFIX",
    ] {
        assert!(
            accepted.contains(needed),
            "the binary no longer reads {needed}: {accepted:?}"
        );
        assert!(
            env.iter().any(|(k, _)| k == needed),
            "compose does not set {needed}"
        );
    }
    let unknown: Vec<&String> = env
        .iter()
        .map(|(k, _)| k)
        .filter(|k| k.starts_with("SUPRA_SYNC_") && !accepted.contains(*k))
        .collect();
    assert!(
        unknown.is_empty(),
        "compose sets variables supra-sync ignores: {unknown:?}\naccepted: {accepted:?}"
    );
    let get = |k: &str| {
        env.iter()
            .find(|(key, _)| key == k)
            .map(|(_, v)| v.clone())
            .unwrap()
    };
    assert_eq!(
        get("SUPRA_SYNC_KAFKA_BOOTSTRAP_SERVERS"),
        "kafka:9092",
        "the broker's advertised listener"
    );
    assert!(get("SUPRA_SYNC_LEGACY_URL").contains("@legacy:5432/"));
    assert!(get("SUPRA_SYNC_SUPRA_URL").contains("@supra:5432/"));
    assert!(["true", "false"].contains(&get("SUPRA_SYNC_KAFKA_CAPTURE_ONLY").as_str()));
    assert_eq!(
        get("SUPRA_SYNC_METRICS_ADDR"),
        "0.0.0.0:9187",
        "Prometheus scrapes supra-sync:9187"
    );
}
