//! TLS to a real server with its own certificate authority: `sslmode` from `disable` to
//! `verify-full` behaves as in libpq.
//!
//! ```text
//!  test: rcgen CA ─signs─► server certificate (DNS name localhost)
//!        private cluster: ssl = on with that certificate
//!        DbConfig::parse(… sslmode=… sslrootcert=…).connect() ─► pg_stat_ssl.ssl
//! ```

use std::path::Path;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use supra_sync_postgres::DbConfig;
use supra_sync_testkit::{Cluster, ClusterOptions};

/// A CA certificate (PEM) and its key.
fn authority(name: &str) -> (rcgen::Certificate, KeyPair) {
    let key = KeyPair::generate().unwrap();
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.distinguished_name.push(DnType::CommonName, name);
    (params.self_signed(&key).unwrap(), key)
}

fn write(dir: &Path, name: &str, text: &str) -> String {
    use std::os::unix::fs::PermissionsExt as _;
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o600)).unwrap();
    path.display().to_string()
}

/// Whether a connection made with `conninfo` succeeds, and if so whether it is encrypted.
async fn connect(conninfo: &str) -> Result<bool, String> {
    let db = DbConfig::parse("supra", conninfo).map_err(|e| e.to_string())?;
    let client = db.connect().await.map_err(|e| e.to_string())?;
    let row = client
        .query_one(
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
            &[],
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(row.get(0))
}

#[tokio::test]
async fn sslmode_verify_full_checks_the_chain_and_the_host_name() {
    let (ca, ca_key) = authority("supra-sync test CA");
    let (other_ca, _) = authority("some other CA");
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_string()])
        .unwrap()
        .signed_by(&server_key, &ca, &ca_key)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cert = write(dir.path(), "server.crt", &server.pem());
    let key = write(dir.path(), "server.key", &server_key.serialize_pem());
    let ca_file = write(dir.path(), "ca.pem", &ca.pem());
    let other_file = write(dir.path(), "other.pem", &other_ca.pem());
    // The server runs as `postgres` when the tests run as root: give it the files.
    let as_root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .unwrap()
        .stdout
        == b"0\n";
    if as_root {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).unwrap();
        let status = std::process::Command::new("chown")
            .args(["-R", "postgres"])
            .arg(dir.path())
            .status()
            .unwrap();
        assert!(status.success());
    }
    let options = ClusterOptions {
        settings: vec![
            ("ssl".into(), "on".into()),
            ("ssl_cert_file".into(), format!("'{cert}'")),
            ("ssl_key_file".into(), format!("'{key}'")),
        ],
        ..ClusterOptions::named("tls")
    };
    let cluster = tokio::task::spawn_blocking(move || Cluster::start(options))
        .await
        .unwrap()
        .expect("a cluster with TLS");
    let port = cluster.port();
    let base = |host: &str| format!("host={host} port={port} user=postgres dbname=postgres");

    let full = format!(
        "{} sslmode=verify-full sslrootcert={ca_file}",
        base("localhost")
    );
    assert_eq!(
        connect(&full).await,
        Ok(true),
        "verify-full with the right CA and name"
    );
    let url = format!(
        "postgres://postgres@localhost:{port}/postgres?sslmode=verify-full&sslrootcert={ca_file}"
    );
    assert_eq!(connect(&url).await, Ok(true), "the URL form");
    let wrong_name = format!(
        "{} sslmode=verify-full sslrootcert={ca_file}",
        base("127.0.0.1")
    );
    let e = connect(&wrong_name)
        .await
        .expect_err("the certificate does not name 127.0.0.1");
    assert!(
        e.contains("certificate") || e.contains("TLS") || e.contains("tls"),
        "{e}"
    );
    let ca_only = format!(
        "{} sslmode=verify-ca sslrootcert={ca_file}",
        base("127.0.0.1")
    );
    assert_eq!(
        connect(&ca_only).await,
        Ok(true),
        "verify-ca ignores the name"
    );
    let wrong_ca = format!(
        "{} sslmode=verify-full sslrootcert={other_file}",
        base("localhost")
    );
    assert!(
        connect(&wrong_ca).await.is_err(),
        "a certificate from another CA is refused"
    );
    let missing = format!(
        "{} sslmode=verify-full sslrootcert=/nonexistent/ca.pem",
        base("localhost")
    );
    let e = connect(&missing)
        .await
        .expect_err("a missing root certificate file");
    assert!(e.contains("sslrootcert"), "{e}");
    assert_eq!(
        connect(&format!("{} sslmode=require", base("127.0.0.1"))).await,
        Ok(true)
    );
    assert_eq!(
        connect(&base("127.0.0.1")).await,
        Ok(true),
        "prefer (the default) encrypts when offered"
    );
    assert_eq!(
        connect(&format!("{} sslmode=disable", base("127.0.0.1"))).await,
        Ok(false)
    );
    cluster.shutdown();
}
