//! The deployment files under `deploy/` checked without a cluster or a Docker engine: every
//! YAML parses; manifests carry apiVersion/kind/metadata; the Deployment probes exactly the
//! routes the server answers on the port it listens on; alert rules and the dashboard use only
//! metric names of `names.rs` (and the dashboard shows all of them); the mappings ConfigMap
//! holds exactly `mappings/*.toml`; the systemd unit restarts and is hardened.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde_yaml::Value;
use supra_sync_ops::names;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn deploy() -> PathBuf {
    repo().join("deploy")
}

/// Every file under `dir` (recursively) whose name ends with one of `extensions`.
fn files(dir: &Path, extensions: &[&str]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path, extensions));
        } else if extensions
            .iter()
            .any(|x| path.extension().is_some_and(|e| e == *x))
        {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// All YAML documents of a file.
fn documents(path: &Path) -> Vec<Value> {
    let text = std::fs::read_to_string(path).unwrap();
    serde_yaml::Deserializer::from_str(&text)
        .map(|d| {
            serde::Deserialize::deserialize(d).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        })
        .filter(|v: &Value| !v.is_null())
        .collect()
}

/// The Kubernetes manifests: `(file, document)` for every document with an `apiVersion`.
fn manifests() -> Vec<(PathBuf, Value)> {
    files(&deploy().join("k8s"), &["yaml", "yml"])
        .into_iter()
        .flat_map(|p| documents(&p).into_iter().map(move |d| (p.clone(), d)))
        .collect()
}

fn manifest(kind: &str, name: &str) -> Value {
    manifests()
        .into_iter()
        .map(|(_, d)| d)
        .find(|d| d["kind"] == kind && d["metadata"]["name"] == name)
        .unwrap_or_else(|| panic!("no {kind} {name} in deploy/k8s"))
}

fn str_of<'a>(v: &'a Value, what: &str) -> &'a str {
    v.as_str()
        .unwrap_or_else(|| panic!("{what} is not a string: {v:?}"))
}

/// `supra_sync_*` identifiers of a PromQL expression outside string literals.
fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut in_string = false;
    let mut current = String::new();
    for c in expr.chars().chain(std::iter::once(' ')) {
        if c == '"' {
            in_string = !in_string;
            current.clear();
            continue;
        }
        if !in_string && (c.is_ascii_alphanumeric() || c == '_' || c == ':') {
            current.push(c);
            continue;
        }
        if current.starts_with("supra_sync_") {
            names.insert(current.clone());
        }
        current.clear();
    }
    names
}

fn assert_known(exprs: &[String], file: &str) -> BTreeSet<String> {
    let mut used = BTreeSet::new();
    for expr in exprs {
        for name in metric_names(expr) {
            assert!(
                names::is_known_series(&name),
                "{file}: unknown metric {name} in `{expr}`"
            );
            used.insert(name);
        }
    }
    used
}

#[test]
fn every_yaml_under_deploy_parses_and_manifests_name_their_kind() {
    let all = files(&deploy(), &["yaml", "yml"]);
    assert!(all.len() >= 8, "{all:?}");
    for path in &all {
        assert!(!documents(path).is_empty(), "{} is empty", path.display());
    }
    let manifests = manifests();
    assert!(manifests.len() >= 7);
    for (path, doc) in &manifests {
        let what = path.display();
        for field in ["apiVersion", "kind"] {
            assert!(doc[field].is_string(), "{what}: no {field}");
        }
        if doc["kind"] == "Kustomization" {
            continue;
        }
        assert!(
            doc["metadata"]["name"].is_string(),
            "{what}: no metadata.name"
        );
        if doc["kind"] != "Namespace" {
            assert_eq!(doc["metadata"]["namespace"], "supra-sync", "{what}");
        }
    }
    // The kustomization lists every manifest file.
    let kustomization = &documents(&deploy().join("k8s/kustomization.yaml"))[0];
    let listed: BTreeSet<&str> = kustomization["resources"]
        .as_sequence()
        .expect("resources")
        .iter()
        .map(|r| str_of(r, "resource"))
        .collect();
    for path in files(&deploy().join("k8s"), &["yaml"]) {
        let name = path.file_name().unwrap().to_str().unwrap();
        if name != "kustomization.yaml" {
            assert!(
                listed.contains(name),
                "kustomization.yaml does not list {name}"
            );
        }
    }
}

#[test]
fn the_deployment_runs_two_leased_replicas_probing_the_server_routes_on_its_port() {
    let deployment = manifest("Deployment", "supra-sync");
    assert_eq!(deployment["spec"]["replicas"], 2);
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let default_port: u64 = names::DEFAULT_METRICS_ADDR
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let port = &container["ports"][0];
    assert_eq!(port["containerPort"].as_u64(), Some(default_port));
    let port_name = str_of(&port["name"], "port name");
    for (probe, path) in [
        ("livenessProbe", names::ROUTE_HEALTHZ),
        ("readinessProbe", names::ROUTE_READYZ),
        ("startupProbe", names::ROUTE_HEALTHZ),
    ] {
        let get = &container[probe]["httpGet"];
        assert_eq!(get["path"], path, "{probe}");
        assert!(
            get["port"] == port_name || get["port"].as_u64() == Some(default_port),
            "{probe} port {:?}",
            get["port"]
        );
    }
    for (kind, key) in [
        ("requests", "cpu"),
        ("requests", "memory"),
        ("limits", "memory"),
    ] {
        assert!(
            !container["resources"][kind][key].is_null(),
            "resources.{kind}.{key}"
        );
    }
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    // The config binds the metrics server on the container port (not loopback) with the lease.
    let config: toml::Table = {
        let map = manifest("ConfigMap", "supra-sync-config");
        toml::from_str(str_of(&map["data"]["supra-sync.toml"], "supra-sync.toml")).unwrap()
    };
    let addr = config["metrics_addr"].as_str().expect("metrics_addr");
    assert!(
        addr.starts_with("0.0.0.0:"),
        "{addr}: probes come from outside the pod"
    );
    assert!(addr.ends_with(&format!(":{default_port}")), "{addr}");
    assert_eq!(config["leader_lease"].as_bool(), Some(true));
    // Every Secret key and ConfigMap the pod uses exists.
    let secret = manifest("Secret", "supra-sync-credentials");
    let mut secret_keys = Vec::new();
    for env in container["env"].as_sequence().unwrap() {
        if let Some(r) = env["valueFrom"]["secretKeyRef"].as_mapping() {
            secret_keys.push(str_of(&r[&Value::from("key")], "key").to_string());
        }
    }
    for volume in pod["volumes"].as_sequence().unwrap() {
        if let Some(name) = volume["configMap"]["name"].as_str() {
            manifest("ConfigMap", name);
        }
        for item in volume["secret"]["items"]
            .as_sequence()
            .into_iter()
            .flatten()
        {
            secret_keys.push(str_of(&item["key"], "key").to_string());
        }
    }
    for key in &secret_keys {
        assert!(
            !secret["stringData"][key.as_str()].is_null(),
            "Secret has no {key}"
        );
    }
    // Passwords only as files, never as plain environment values.
    for env in container["env"].as_sequence().unwrap() {
        let name = str_of(&env["name"], "env name");
        assert!(!name.ends_with("_PASSWORD"), "{name}: use {name}_FILE");
    }
}

/// The mappings ConfigMap as it must be: one key per `mappings/*.toml`.
fn mappings_configmap() -> String {
    let mut out = String::from(
        "# Generated from mappings/*.toml by crates/ops/tests/deploy.rs; do not edit. Regenerate with\n\
         # SUPRA_SYNC_BLESS=1 cargo test -p supra-sync-ops --test deploy\n\
         apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: supra-sync-mappings\n  namespace: supra-sync\n  \
         labels:\n    app.kubernetes.io/name: supra-sync\ndata:\n",
    );
    for path in files(&repo().join("mappings"), &["toml"]) {
        let text = std::fs::read_to_string(&path).unwrap();
        out.push_str(&format!(
            "  {}: |\n",
            path.file_name().unwrap().to_str().unwrap()
        ));
        for line in text.trim_end_matches('\n').lines() {
            if line.is_empty() {
                out.push('\n');
            } else {
                out.push_str(&format!("    {line}\n"));
            }
        }
    }
    out
}

#[test]
fn the_mappings_configmap_holds_exactly_the_mapping_files() {
    let path = deploy().join("k8s/configmap-mappings.yaml");
    if std::env::var_os("SUPRA_SYNC_BLESS").is_some() {
        std::fs::write(&path, mappings_configmap()).unwrap();
    }
    let map = manifest("ConfigMap", "supra-sync-mappings");
    let data = map["data"].as_mapping().expect("data");
    let files = files(&repo().join("mappings"), &["toml"]);
    assert_eq!(data.len(), files.len(), "one key per mapping file");
    for file in files {
        let name = file.file_name().unwrap().to_str().unwrap();
        let text = std::fs::read_to_string(&file).unwrap();
        assert_eq!(
            data.get(name).and_then(Value::as_str).map(|s| s.trim_end()),
            Some(text.trim_end()),
            "deploy/k8s/configmap-mappings.yaml is stale for {name}: run SUPRA_SYNC_BLESS=1 cargo test -p supra-sync-ops --test deploy"
        );
    }
}

#[test]
fn alert_rules_cover_lag_wal_failures_conflicts_slots_and_instances_with_known_metrics() {
    let doc = &documents(&deploy().join("prometheus/alerts.yml"))[0];
    let mut exprs = Vec::new();
    let mut alerts = BTreeSet::new();
    for group in doc["groups"].as_sequence().expect("groups") {
        assert!(group["name"].is_string());
        for rule in group["rules"].as_sequence().expect("rules") {
            let alert = str_of(&rule["alert"], "alert").to_string();
            assert!(alerts.insert(alert.clone()), "{alert} defined twice");
            let severity = str_of(&rule["labels"]["severity"], "severity");
            assert!(
                ["warning", "critical"].contains(&severity),
                "{alert}: {severity}"
            );
            assert!(
                rule["annotations"]["summary"].is_string(),
                "{alert}: no summary"
            );
            exprs.push(str_of(&rule["expr"], "expr").to_string());
        }
    }
    let used = assert_known(&exprs, "alerts.yml");
    for required in [
        names::REPLICATION_LAG_SECONDS,
        names::REPLICATION_LAG_BYTES,
        names::SLOT_RETAINED_WAL_BYTES,
        names::SYNC_LOG_FAILED,
        names::CONFLICTS_OPEN,
        names::SLOT_ACTIVE,
        names::PIPELINE_STATE,
    ] {
        assert!(used.contains(required), "no alert on {required}");
    }
    assert!(
        exprs.iter().any(|e| e.contains("up{job=\"supra-sync\"}")),
        "no instance-down alert"
    );
}

#[test]
fn the_dashboard_shows_every_metric_and_only_known_ones() {
    let path = deploy().join("grafana/supra-sync.json");
    let dashboard: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).expect("dashboard JSON");
    assert!(dashboard["title"].is_string() && dashboard["uid"].is_string());
    let mut exprs = Vec::new();
    let mut ids = BTreeSet::new();
    for panel in dashboard["panels"].as_array().expect("panels") {
        assert!(
            ids.insert(panel["id"].as_u64().expect("panel id")),
            "duplicate panel id"
        );
        for target in panel["targets"].as_array().into_iter().flatten() {
            exprs.push(target["expr"].as_str().expect("expr").to_string());
        }
    }
    for variable in dashboard["templating"]["list"]
        .as_array()
        .into_iter()
        .flatten()
    {
        if let Some(q) = variable["query"].as_str() {
            exprs.push(q.to_string());
        }
    }
    let used = assert_known(&exprs, "supra-sync.json");
    for (name, kind, _) in names::ALL {
        let shown = used.contains(*name)
            || (*kind == names::Kind::Histogram
                && ["_bucket", "_sum", "_count"]
                    .iter()
                    .any(|s| used.contains(&format!("{name}{s}"))));
        assert!(shown, "the dashboard does not show {name}");
    }
}

#[test]
fn the_systemd_unit_restarts_always_reads_credentials_from_a_file_and_is_hardened() {
    let text = std::fs::read_to_string(deploy().join("systemd/supra-sync.service")).unwrap();
    let mut section = String::new();
    let mut keys = Vec::new();
    for line in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
    {
        if line.starts_with('[') {
            section = line.to_string();
            continue;
        }
        let (key, value) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("not key=value: {line}"));
        keys.push((section.clone(), key.to_string(), value.to_string()));
    }
    let get = |s: &str, k: &str| {
        keys.iter()
            .find(|(sec, key, _)| sec == s && key == k)
            .map(|(_, _, v)| v.as_str())
    };
    assert_eq!(get("[Service]", "Restart"), Some("always"));
    assert!(get("[Service]", "EnvironmentFile").is_some());
    assert!(get("[Service]", "ExecStart").is_some_and(|e| e.ends_with(" run")));
    assert!(get("[Service]", "User").is_some_and(|u| u != "root"));
    for hardening in [
        "NoNewPrivileges",
        "ProtectSystem",
        "ProtectHome",
        "PrivateTmp",
        "CapabilityBoundingSet",
    ] {
        assert!(get("[Service]", hardening).is_some(), "no {hardening}");
    }
    assert!(get("[Install]", "WantedBy").is_some());
    // No secret in the unit itself (comments aside): credentials live in the EnvironmentFile.
    assert!(
        keys.iter()
            .all(|(_, k, v)| !format!("{k}={v}").contains("PASSWORD=")),
        "a password in the unit"
    );
}

#[test]
fn metric_names_are_found_in_promql() {
    let found = metric_names(
        "sum by (le) (rate(supra_sync_apply_lag_seconds_bucket{x=\"supra_sync_not_a_metric\"}[5m]))",
    );
    assert_eq!(
        found.into_iter().collect::<Vec<_>>(),
        ["supra_sync_apply_lag_seconds_bucket"]
    );
}
