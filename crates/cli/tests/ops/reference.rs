//! `supra-sync config reference` prints the committed configuration reference.

#[tokio::test]
async fn config_reference_prints_docs_config_md() {
    let out = tokio::process::Command::new(env!("CARGO_BIN_EXE_supra-sync"))
        .args(["config", "reference"])
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    let committed = std::fs::read_to_string(crate::support::repo().join("docs/CONFIG.md")).unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), committed);
}
