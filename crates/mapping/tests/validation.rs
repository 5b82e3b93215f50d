//! Malformed mapping files fail with file, line and field — and every problem is reported.

use std::path::PathBuf;

use supra_sync_mapping::{Diagnostic, MappingSet};

const PERSONA: &str = r#"entity = "persona"
direction = "legacy_to_supra"

[legacy]
table = "cf_quere_pro.persona"
key = ["prsid"]

[supra]
table = "public.persons"
tenant = "cea-queretaro"

[forward]
person_type = "map(prstipo, {F = 'fisica', J = 'moral'}, 'moral')"
rfc = "trim_nullif(prsnif)"
"#;

fn check(files: &[(&str, &str)]) -> Vec<Diagnostic> {
    let files: Vec<(PathBuf, String)> = files
        .iter()
        .map(|(p, s)| (PathBuf::from(p), s.to_string()))
        .collect();
    match MappingSet::from_sources(&files) {
        Ok(_) => Vec::new(),
        Err(d) => d.0,
    }
}

fn one(files: &[(&str, &str)]) -> Diagnostic {
    let d = check(files);
    assert_eq!(d.len(), 1, "{d:#?}");
    d.into_iter().next().unwrap()
}

#[test]
fn valid_file_passes() {
    assert!(check(&[("mappings/persona.toml", PERSONA)]).is_empty());
}

#[test]
fn bad_expression_names_file_line_field_and_column() {
    let src = PERSONA.replace("trim_nullif(prsnif)\"", "trim_nullif(prsnif\"");
    let d = one(&[("mappings/persona.toml", &src)]);
    assert_eq!(
        (d.file.to_str().unwrap(), d.line, d.field.as_str()),
        ("mappings/persona.toml", 14, "forward.rfc")
    );
    assert!(
        d.message.starts_with("bad expression: expected `,` or `)`"),
        "{}",
        d.message
    );
    assert!(d.message.ends_with("(column 19)"), "{}", d.message);
    assert_eq!(
        d.to_string(),
        format!("mappings/persona.toml:14: [forward.rfc] {}", d.message)
    );
}

#[test]
fn unknown_function_and_arity_have_hints() {
    let src = PERSONA.replace("trim_nullif(prsnif)", "trim_nulif(prsnif)");
    let d = one(&[("m/p.toml", &src)]);
    assert_eq!((d.line, d.field.as_str()), (14, "forward.rfc"));
    assert!(d.message.starts_with("unknown function `trim_nulif`"));
    assert_eq!(d.hint.as_deref(), Some("did you mean `trim_nullif`?"));
    let src = PERSONA.replace("trim_nullif(prsnif)", "trim_nullif(prsnif, 1)");
    let d = one(&[("m/p.toml", &src)]);
    assert!(
        d.message
            .starts_with("wrong number of arguments to trim_nullif(): expected 1, got 2"),
        "{}",
        d.message
    );
}

#[test]
fn duplicate_target_column() {
    // Same key twice in [forward] (a TOML-level duplicate).
    let src = format!("{PERSONA}rfc = \"prsnif\"\n");
    let d = one(&[("m/p.toml", &src)]);
    assert_eq!((d.line, d.field.as_str()), (15, "forward.rfc"));
    assert_eq!(d.message, "duplicate target column `rfc`");
    // A column the engine writes itself.
    let src = format!("{PERSONA}tenant_id = \"prsid\"\n");
    let d = one(&[("m/p.toml", &src)]);
    assert_eq!((d.line, d.field.as_str()), (15, "forward.tenant_id"));
    assert!(d.message.starts_with("duplicate target column `tenant_id`"));
}

#[test]
fn lookup_to_an_unmapped_entity() {
    let src = format!("{PERSONA}zip_code = \"ref('direcion', prsdirid)\"\n");
    let d = one(&[
        ("m/p.toml", &src),
        (
            "m/direccion.toml",
            &PERSONA.replace("\"persona\"", "\"direccion\""),
        ),
    ]);
    assert_eq!((d.line, d.field.as_str()), (15, "forward.zip_code"));
    assert!(
        d.message
            .starts_with("lookup to an unmapped entity `direcion`"),
        "{}",
        d.message
    );
    assert_eq!(d.hint.as_deref(), Some("did you mean `direccion`?"));
}

#[test]
fn unknown_keys_and_toml_errors() {
    let src = PERSONA.replace("tenant = ", "tenat = ");
    let d = check(&[("m/p.toml", &src)]);
    assert!(
        d.iter().any(|d| d.line == 10
            && d.field == "supra.tenat"
            && d.message == "unknown key `tenat`"
            && d.hint.as_deref() == Some("did you mean `tenant`?")),
        "{d:#?}"
    );
    assert!(
        d.iter()
            .any(|d| d.field == "supra.tenant" && d.message.contains("missing required key")),
        "{d:#?}"
    );
    let d = one(&[("m/p.toml", "entity = \"x\"\n[legacy\n")]);
    assert_eq!((d.line, d.field.as_str()), (2, "toml"));
    assert!(d.message.starts_with("TOML syntax error"));
}

#[test]
fn all_errors_of_all_files_are_collected() {
    let a = PERSONA
        .replace("trim_nullif(prsnif)", "nope(prsnif)")
        .replace("'moral')", "'moral'");
    let b = PERSONA
        .replace("\"persona\"", "\"other\"")
        .replace("key = [\"prsid\"]", "key = [\"prsid\"]\nbogus = 1");
    let d = check(&[("m/a.toml", &a), ("m/b.toml", &b)]);
    assert_eq!(d.len(), 3, "{d:#?}");
    assert_eq!((d[0].file.to_str().unwrap(), d[0].line), ("m/a.toml", 13));
    assert_eq!((d[1].file.to_str().unwrap(), d[1].line), ("m/a.toml", 14));
    assert_eq!(
        (d[2].file.to_str().unwrap(), d[2].line, d[2].field.as_str()),
        ("m/b.toml", 7, "legacy.bogus")
    );
}

#[test]
fn bidirectional_rules() {
    let src = PERSONA.replace("legacy_to_supra", "bidirectional");
    let d = check(&[("m/p.toml", &src)]);
    assert!(d.iter().any(|d| d.line == 2
        && d.field == "direction"
        && d.message == "bidirectional entity without [reverse]"));
    assert!(
        d.iter()
            .any(|d| d.field == "legacy" && d.message.contains("id strategy"))
    );
    let src = src.replace(
        "key = [\"prsid\"]",
        "key = [\"prsid\"]\nid = { sequence = \"cf_quere_pro.seq_prsid\" }",
    ) + "\n[reverse]\nprsnif = \"rfc\"\n";
    let d = one(&[("m/p.toml", &src)]);
    assert_eq!(d.field, "reverse");
    assert_eq!(
        d.message,
        "[reverse] does not produce legacy key column `prsid`"
    );
    let ok = src + "prsid = \"to_numeric(legacy_key())\"\n";
    assert!(check(&[("m/p.toml", &ok)]).is_empty());
    let bad = ok.replace("prsnif = \"rfc\"", "prsnif = \"ref('persona', rfc)\"");
    let d = one(&[("m/p.toml", &bad)]);
    assert!(
        d.message.starts_with("ref() resolves legacy keys"),
        "{}",
        d.message
    );
}

#[test]
fn dependency_cycles_are_reported() {
    let a = format!("{PERSONA}zip_code = \"ref('b', prsid)\"\n");
    let b = PERSONA.replace("\"persona\"", "\"b\"") + "zip_code = \"ref('persona', prsid)\"\n";
    let d = check(&[("m/a.toml", &a), ("m/b.toml", &b)]);
    assert_eq!(d.len(), 2, "{d:#?}");
    assert!(
        d.iter()
            .all(|d| d.message.starts_with("dependency cycle among entities"))
    );
}

#[test]
fn shipped_explain_names_sources() {
    let set =
        MappingSet::load_dir(&PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../mappings"))
            .unwrap();
    let text = set.explain("direccion").unwrap();
    assert!(
        text.contains("LEFT JOIN cf_quere_pro.geolocalizacion AS geo ON geo.geolocdirid = dirid"),
        "{text}"
    );
    assert!(text.contains("geom"));
    assert!(
        text.contains("reads geo.geoloclat, geo.geoloclong"),
        "{text}"
    );
    let text = set.explain("persona").unwrap();
    assert!(text.contains("reverse → cf_quere_pro.persona"));
    assert!(set.explain("nope").is_none());
}
