//! The live catalog check of the shipped mappings against freshly migrated legacy and SUPRA
//! databases (real PostgreSQL clusters from the testkit), and the failures it must report.

mod support;

use std::path::{Path, PathBuf};

use support::*;
use supra_sync_mapping::{MappingSet, check_dir, check_dir_with_db, explain_dir};

async fn apply_dir(client: &tokio_postgres::Client, dir: &str) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .join(dir);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.retain(|p| p.extension().is_some_and(|x| x == "sql"));
    files.sort();
    for f in files {
        let sql = std::fs::read_to_string(&f).unwrap();
        client
            .batch_execute(&sql)
            .await
            .unwrap_or_else(|e| panic!("{}: {e:?}", f.display()));
    }
}

async fn databases() -> (tokio_postgres::Client, tokio_postgres::Client) {
    let legacy = supra_sync_testkit::legacy()
        .fresh_database("mapping_legacy")
        .await
        .unwrap()
        .connect()
        .await
        .unwrap();
    let supra = supra_sync_testkit::supra()
        .fresh_database("mapping_supra")
        .await
        .unwrap()
        .connect()
        .await
        .unwrap();
    apply_dir(&legacy, "sql/legacy").await;
    apply_dir(&supra, "sql/supra").await;
    apply_dir(&supra, "sql/sync").await;
    (legacy, supra)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shipped_mappings_match_freshly_migrated_databases() {
    let (legacy, supra) = databases().await;
    let outcome = check_dir_with_db(&mappings_dir(), &legacy, &supra).await;
    assert_eq!(outcome.exit_code, 0, "{}", outcome.report);
    assert!(
        outcome
            .report
            .contains("ok: the mappings match both catalogs"),
        "{}",
        outcome.report
    );

    // Malformed mappings fail with file, line and field.
    let persona = std::fs::read_to_string(mappings_dir().join("persona.toml")).unwrap();
    let line_of =
        |needle: &str, src: &str| src.lines().position(|l| l.starts_with(needle)).unwrap() + 1;
    let broken = persona
        .replace(
            "rfc               = \"trim_nullif(prsnif)\"",
            "rfc               = \"trim_nullif(prsnifx)\"",
        )
        .replace(
            "vulnerable        = \"coalesce(legacy_bool(prssnvulnerable), false)\"",
            "vulnerable        = \"trim(prsnombre)\"",
        )
        .replace(
            "prstelef        = \"phone\"",
            "prstelef        = \"phone\"\nprsdirid        = \"phone\"",
        );
    let mut files: Vec<(PathBuf, String)> = Vec::new();
    for entry in std::fs::read_dir(mappings_dir()).unwrap() {
        let p = entry.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        if p.file_name().unwrap() == "persona.toml" {
            files.push((PathBuf::from("mappings/persona.toml"), broken.clone()));
        } else {
            files.push((p, text));
        }
    }
    let set = MappingSet::from_sources(&files).unwrap_or_else(|d| panic!("{d}"));
    let d = set.check_catalog(&legacy, &supra).await;
    let text = d.to_string();
    let rfc_line = line_of("rfc ", &broken);
    assert!(text.contains(&format!(
        "mappings/persona.toml:{rfc_line}: [forward.rfc] unknown column `prsnifx` in cf_quere_pro.persona (column 13) — hint: did you mean `prsnif`?"
    )), "{text}");
    let vul_line = line_of("vulnerable ", &broken);
    assert!(text.contains(&format!(
        "mappings/persona.toml:{vul_line}: [forward.vulnerable] type mismatch: the expression is text but public.persons.vulnerable is boolean — hint: use legacy_bool(...)"
    )), "{text}");
    let dir_line = line_of("prsdirid ", &broken);
    assert!(text.contains(&format!(
        "mappings/persona.toml:{dir_line}: [reverse.prsdirid] type mismatch: the expression is text but cf_quere_pro.persona.prsdirid is numeric(10,0) — hint: use to_numeric(...)"
    )), "{text}");
    assert_eq!(d.len(), 3, "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_tables_columns_and_not_null_targets_are_reported() {
    let (legacy, supra) = databases().await;
    let src = r#"entity = "persona"
[legacy]
table = "cf_quere_pro.personas"
key = ["prsid"]
[supra]
table = "public.persons"
tenant = "cea-queretaro"
[forward]
rfc = "prsnif"
nombre = "prsnombre"
"#;
    let set = MappingSet::from_sources(&[(PathBuf::from("m/p.toml"), src.to_string())]).unwrap();
    let d = set.check_catalog(&legacy, &supra).await;
    let text = d.to_string();
    assert!(text.contains("m/p.toml:2: [legacy.table] unknown legacy table cf_quere_pro.personas — hint: did you mean `persona`?"), "{text}");
    assert!(
        text.contains("m/p.toml:10: [forward.nombre] unknown column `nombre` in public.persons"),
        "{text}"
    );
    assert!(
        text.contains("[forward] NOT NULL column `person_type` of public.persons has no default"),
        "{text}"
    );
    assert!(
        text.contains("NOT NULL column `name` of public.persons"),
        "{text}"
    );
}

#[test]
fn cli_reports_and_exit_codes() {
    let ok = check_dir(&mappings_dir());
    assert_eq!(ok.exit_code, 0, "{}", ok.report);
    assert!(
        ok.report.starts_with("ok: 53 entities in 13 files"),
        "{}",
        ok.report
    );
    let dir = std::env::temp_dir().join(format!("mapping-check-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("bad.toml"), "entity = \"x\"\n[legacy]\ntable = \"cf_quere_pro.x\"\nkey = [\"id\"]\n[supra]\ntable = \"public.x\"\ntenant = \"t\"\n[forward]\na = \"lower(\"\n").unwrap();
    let bad = check_dir(&dir);
    assert_eq!(bad.exit_code, 1);
    assert!(
        bad.report
            .contains("bad.toml:9: [forward.a] bad expression"),
        "{}",
        bad.report
    );
    assert!(bad.report.ends_with("1 problem found\n"), "{}", bad.report);
    std::fs::remove_dir_all(&dir).unwrap();
    let ex = explain_dir(&mappings_dir(), "contrato");
    assert_eq!(ex.exit_code, 0);
    assert!(ex.report.contains("person_id"), "{}", ex.report);
    assert_eq!(explain_dir(&mappings_dir(), "contrat").exit_code, 1);
}
