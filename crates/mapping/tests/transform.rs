//! Fixture-like legacy rows through every shipped mapping, checked against the seed's rules.

mod support;

use support::*;
use supra_sync_core::{PgType, Side, TableName, Value};
use supra_sync_mapping::{EvalError, Role, TargetOp, mint_supra_id};
use uuid::Uuid;

#[test]
fn persona_maps_type_name_flags_and_tenant() {
    let set = shipped();
    let e = set.entity("persona").unwrap();
    let r = persona(
        42,
        "F",
        text(" PERJ800101AB1 "),
        text("Peña Ñúñez"),
        text("José"),
    );
    let ops = e.forward(&r, &ctx()).unwrap();
    assert_eq!(ops.len(), 1);
    assert_eq!(col(&ops, "persons", "person_type"), &text("fisica"));
    assert_eq!(col(&ops, "persons", "rfc"), &text("PERJ800101AB1"));
    assert_eq!(col(&ops, "persons", "name"), &text("Peña Ñúñez José"));
    assert_eq!(col(&ops, "persons", "phone"), &text("4421234567"));
    assert_eq!(col(&ops, "persons", "phone_secondary"), &Value::Null);
    assert_eq!(col(&ops, "persons", "vulnerable"), &Value::Bool(true));
    assert_eq!(col(&ops, "persons", "tenant_id"), &Value::Uuid(TENANT));
    assert_eq!(
        col(&ops, "persons", "id"),
        &Value::Uuid(mint_supra_id("persona", "42"))
    );
    // 2020-07-15 10:00 local (summer, UTC-5 that year) = 15:00Z.
    assert_eq!(
        col(&ops, "persons", "created_at").to_text().unwrap(),
        "2020-07-15 15:00:00+00"
    );
    let TargetOp::Upsert {
        conflict_columns,
        columns,
        ..
    } = &ops[0]
    else {
        panic!()
    };
    assert_eq!(conflict_columns, &["id"]);
    assert!(
        !columns.iter().any(|c| c.contains("pass")),
        "passwords are never synced"
    );
    let moral = persona(
        43,
        "J",
        Value::Null,
        text("Agua del Centro SA de CV"),
        Value::Null,
    );
    let ops = e.forward(&moral, &ctx()).unwrap();
    assert_eq!(col(&ops, "persons", "person_type"), &text("moral"));
    assert_eq!(
        col(&ops, "persons", "name"),
        &text("Agua del Centro SA de CV")
    );
    let nameless = persona(44, "X", Value::Null, text("  "), Value::Null);
    let ops = e.forward(&nameless, &ctx()).unwrap();
    assert_eq!(col(&ops, "persons", "person_type"), &text("moral"));
    assert_eq!(col(&ops, "persons", "name"), &text("(sin nombre)"));
    // An existing mapping wins over minting.
    let mut c = ctx();
    let known = Uuid::from_u128(7);
    c.add_mapping("persona", "42", known);
    let ops = e.forward(&r, &c).unwrap();
    assert_eq!(col(&ops, "persons", "id"), &Value::Uuid(known));
}

#[test]
fn contrato_resolves_foreign_keys_through_sync_mappings() {
    let set = shipped();
    let e = set.entity("contrato").unwrap();
    let r = contrato(5001, num(42), num(9), "S");
    let needs = e.forward_needs(Role::Primary, &r);
    let keys: Vec<(String, String)> = needs
        .refs
        .iter()
        .map(|n| (n.entity.clone(), n.legacy_key.clone()))
        .collect();
    assert!(keys.contains(&("persona".into(), "42".into())));
    assert!(keys.contains(&("ptoserv".into(), "9".into())));
    assert!(keys.contains(&("explotacion".into(), "1".into())));
    match e.forward(&r, &ctx()) {
        Err(EvalError::MissingReference { .. }) => {}
        other => panic!("expected a missing reference, got {other:?}"),
    }
    let mut c = ctx();
    let (p, t, x) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
    c.add_mapping("persona", "42", p);
    c.add_mapping("ptoserv", "9", t);
    c.add_mapping("explotacion", "1", x);
    let ops = e.forward(&r, &c).unwrap();
    assert_eq!(col(&ops, "contracts", "person_id"), &Value::Uuid(p));
    assert_eq!(col(&ops, "contracts", "toma_id"), &Value::Uuid(t));
    assert_eq!(col(&ops, "contracts", "status"), &text("suspendido"));
    assert_eq!(
        col(&ops, "contracts", "payment_method"),
        &text("domiciliacion")
    );
    assert_eq!(col(&ops, "contracts", "start_date"), &date("2019-03-01"));
    assert_eq!(col(&ops, "contracts", "contract_number"), &text("5001"));
    assert_eq!(
        col(&ops, "contracts", "preferred_contact_method"),
        &text("whatsapp")
    );
    assert_eq!(col(&ops, "contracts", "billing_address_id"), &Value::Null);
    let Value::Json(bank) = col(&ops, "contracts", "bank_account") else {
        panic!()
    };
    assert_eq!(bank["clabe"], "072680004567890123");
    assert!(e.depends_on().contains(&"persona".to_string()));
    // Dependency order: persona before contrato.
    let order: Vec<&str> = set.entities().iter().map(|e| e.name()).collect();
    let pos = |n: &str| order.iter().position(|x| *x == n).unwrap();
    assert!(pos("persona") < pos("contrato") && pos("ptoserv") < pos("contrato"));
    assert!(pos("explotacion") < pos("ptoserv") && pos("factura") < pos("linfactura"));
}

fn direccion_row(id: i64) -> supra_sync_core::Row {
    row(
        "cf_quere_pro.direccion",
        1,
        &[
            ("dirid", PgType::Numeric, num(id)),
            ("dirtipo", PgType::Bpchar, text("F")),
            ("dirtexto", PgType::Varchar, text("Av. Constituyentes")),
            ("dirnum", PgType::Varchar, text("12")),
            ("dirnumint", PgType::Varchar, text("")),
            ("dirbarrio", PgType::Varchar, text("Centro")),
            ("dirpob", PgType::Varchar, text("Querétaro")),
            ("dirloc", PgType::Varchar, Value::Null),
            ("dirprov", PgType::Varchar, Value::Null),
            ("dircp", PgType::Varchar, text("76000")),
            ("dircveloc", PgType::Varchar, Value::Null),
            ("dirsnvalidada", PgType::Bpchar, text("N")),
            ("dirhsthora", PgType::Timestamp, ts("2024-01-01 00:00:00")),
        ],
    )
}

fn geo(id: i64, lat: &str, lng: &str) -> supra_sync_core::Row {
    row(
        "cf_quere_pro.geolocalizacion",
        1,
        &[
            ("geolocdirid", PgType::Numeric, num(id)),
            ("geoloclat", PgType::Varchar, text(lat)),
            ("geoloclong", PgType::Varchar, text(lng)),
        ],
    )
}

#[test]
fn direccion_joins_geolocalizacion_and_cleans_gps() {
    let set = shipped();
    let e = set.entity("direccion").unwrap();
    let d = direccion_row(7);
    let needs = e.forward_needs(Role::Primary, &d);
    assert_eq!(
        needs.secondary[0].table,
        TableName::new("cf_quere_pro", "geolocalizacion")
    );
    assert_eq!(
        needs.secondary[0].key,
        vec![("geolocdirid".to_string(), num(7))]
    );
    let cases = [
        ("20,5888", "-100,3899", Some((20.5888, -100.3899))),
        ("-100.3899", "20.5888", Some((20.5888, -100.3899))),
        ("N/A", "N/A", None),
        ("", "", None),
        ("abc", "-100.1", None),
        ("0", "0", None),
    ];
    for (lat, lng, want) in cases {
        let mut c = ctx();
        c.secondary.insert(
            TableName::new("cf_quere_pro", "geolocalizacion"),
            vec![geo(99, "1", "1"), geo(7, lat, lng)],
        );
        let ops = e.forward(&d, &c).unwrap();
        match (col(&ops, "addresses", "geom"), want) {
            (Value::Point(p), Some((la, lo))) => {
                assert!((p.lat - la).abs() < 1e-12 && (p.lon - lo).abs() < 1e-12)
            }
            (Value::Null, None) => assert_eq!(col(&ops, "addresses", "latitude"), &Value::Null),
            (got, want) => panic!("{lat:?},{lng:?}: got {got:?}, want {want:?}"),
        }
    }
    // No geolocalizacion row at all: NULL geom, the address still maps.
    let ops = e.forward(&d, &ctx()).unwrap();
    assert_eq!(col(&ops, "addresses", "geom"), &Value::Null);
    assert_eq!(col(&ops, "addresses", "address_type"), &text("fiscal"));
    assert_eq!(col(&ops, "addresses", "state"), &text("Queretaro"));
    assert_eq!(col(&ops, "addresses", "interior_number"), &Value::Null);
    // A geolocalizacion change recomputes its address.
    let routes = set.routes_for(
        Side::Legacy,
        &TableName::new("cf_quere_pro", "geolocalizacion"),
    );
    assert_eq!(routes.len(), 1);
    assert_eq!(
        (routes[0].entity.as_str(), routes[0].role),
        ("direccion", Role::Secondary)
    );
    let needs = e.forward_needs(Role::Secondary, &geo(7, "1", "2"));
    assert_eq!(
        needs.parent,
        Some(("direccion".to_string(), "7".to_string()))
    );
}

#[test]
fn tarifa_aggregates_aplictarif_blocks_in_order() {
    let set = shipped();
    let e = set.entity("tarifa").unwrap();
    let t = row(
        "cf_quere_pro.tarifa",
        1,
        &[
            ("tarid", PgType::Numeric, num(3)),
            ("tardesc", PgType::Varchar, text("Doméstica 2025")),
            ("tartipo", PgType::Varchar, text("1")),
            ("tarexpid", PgType::Numeric, Value::Null),
            ("tarfecini", PgType::Timestamp, ts("2025-01-01 00:00:00")),
            ("tarfecfin", PgType::Timestamp, Value::Null),
            ("tarperiodic", PgType::Bpchar, text("B")),
            ("tarsniva", PgType::Bpchar, text("N")),
            ("tarpctdescsocial", PgType::Float8, Value::Float(50.0)),
            ("taraprobado", PgType::Varchar, Value::Null),
            ("tarfecaprob", PgType::Timestamp, Value::Null),
            ("targaceta", PgType::Varchar, Value::Null),
            ("tarhsthora", PgType::Timestamp, Value::Null),
        ],
    );
    let block = |lim: i64, limf: Option<i64>, price: f64, fixed: Option<f64>, fecha: &str| {
        row(
            "cf_quere_pro.aplictarif",
            3,
            &[
                ("apttarid", PgType::Numeric, num(3)),
                ("aptfecapl", PgType::Timestamp, ts(fecha)),
                ("aptlimi", PgType::Numeric, num(lim)),
                ("aptlimf", PgType::Numeric, limf.map_or(Value::Null, num)),
                ("aptprecio", PgType::Float8, Value::Float(price)),
                (
                    "aptcuotafija",
                    PgType::Float8,
                    fixed.map_or(Value::Null, Value::Float),
                ),
            ],
        )
    };
    let needs = e.forward_needs(Role::Primary, &t);
    assert_eq!(needs.children[0].key.len(), 2);
    let mut c = ctx();
    c.children.insert(
        TableName::new("cf_quere_pro", "aplictarif"),
        vec![
            block(40, None, 25.0, None, "2025-01-01 00:00:00"),
            block(10, Some(20), 8.75, None, "2025-01-01 00:00:00"),
            block(0, Some(10), 5.5, Some(45.0), "2025-01-01 00:00:00"),
            block(20, Some(40), 15.3, Some(0.125), "2025-01-01 00:00:00"),
            block(0, Some(99), 1.0, None, "2024-01-01 00:00:00"), // older tariff version: not ours
        ],
    );
    let ops = e.forward(&t, &c).unwrap();
    let Value::Json(blocks) = col(&ops, "tariff_schedules", "blocks") else {
        panic!()
    };
    assert_eq!(
        blocks.to_string(),
        r#"[{"fixed_charge":45.00,"from_m3":"0","price_per_m3":5.50,"to_m3":"10"},{"fixed_charge":0,"from_m3":"10","price_per_m3":8.75,"to_m3":"20"},{"fixed_charge":0.13,"from_m3":"20","price_per_m3":15.30,"to_m3":"40"},{"fixed_charge":0,"from_m3":"40","price_per_m3":25.00,"to_m3":null}]"#
            .replace("\"0\"", "0").replace("\"10\"", "10").replace("\"20\"", "20").replace("\"40\"", "40")
    );
    assert_eq!(
        col(&ops, "tariff_schedules", "category"),
        &text("domestica")
    );
    assert_eq!(
        col(&ops, "tariff_schedules", "billing_period"),
        &text("bimestral")
    );
    assert_eq!(
        col(&ops, "tariff_schedules", "social_discount_pct"),
        &dec("50.00")
    );
    let routes = set.routes_for(Side::Legacy, &TableName::new("cf_quere_pro", "aplictarif"));
    assert_eq!(
        (routes[0].entity.as_str(), routes[0].role),
        ("tarifa", Role::Child)
    );
    let needs = e.forward_needs(
        Role::Child,
        &block(0, None, 1.0, None, "2025-01-01 00:00:00"),
    );
    assert_eq!(needs.parent, Some(("tarifa".to_string(), "3".to_string())));
}

#[test]
fn explotacion_writes_explotaciones_and_configs() {
    let set = shipped();
    let e = set.entity("explotacion").unwrap();
    let mut cols = vec![
        ("expid", PgType::Numeric, num(1)),
        ("expnombre", PgType::Varchar, text("Querétaro")),
        ("expestado", PgType::Numeric, num(1)),
        ("expdiasvencfact", PgType::Numeric, num(20)),
        ("expmaxmensfact", PgType::Numeric, num(6)),
        ("expsncrearfact", PgType::Bpchar, text("S")),
        ("expsnsimulacion", PgType::Bpchar, text("N")),
        ("expsnrevision", PgType::Bpchar, text("X")),
        ("expnumfactgrupo", PgType::Numeric, num(500)),
        ("expnumcopias", PgType::Numeric, num(2)),
        ("exppctrecargo", PgType::Float8, Value::Float(1.5)),
        ("expimpmincorte", PgType::Float8, Value::Float(2.675)),
    ];
    for c in [
        "expmunicipio",
        "expperiodicfact",
        "expredondeo",
        "expdiasgracia",
        "exppctinteres",
        "expsnrecargoauto",
        "expdiasaviso",
        "exppcttolerancia",
        "expmetodoestim",
        "expm3minestim",
        "expmaxestimcons",
        "expsnsms",
        "expsnemail",
        "expsnwhatsapp",
        "expremitente",
        "expmesesmincorte",
        "expsnbloqestac",
        "expsnvalvula",
        "expurlportal",
        "expsnbiometria",
        "expsnpagolinea",
        "exppctiva",
        "expversioncfdi",
        "expseriecfdi",
        "explugarexp",
        "expregfiscal",
        "expumbralquejas",
        "expdiasinspeccion",
        "expsnencuesta",
        "expfecalta",
        "exphsthora",
    ] {
        cols.push((c, PgType::Varchar, Value::Null));
    }
    let r = row("cf_quere_pro.explotacion", 1, &cols);
    let ops = e.forward(&r, &ctx()).unwrap();
    assert_eq!(ops.len(), 2);
    assert_eq!(ops[0].table().name, "explotaciones");
    let id = mint_supra_id("explotacion", "1");
    assert_eq!(
        col(&ops, "explotacion_configs", "explotacion_id"),
        &Value::Uuid(id)
    );
    assert_eq!(
        col(&ops, "explotacion_configs", "id"),
        &Value::Uuid(supra_sync_mapping::derive_supra_id(
            id,
            "explotacion_configs"
        ))
    );
    assert_eq!(
        col(&ops, "explotacion_configs", "tenant_id"),
        &Value::Uuid(TENANT)
    );
    let Value::Json(billing) = col(&ops, "explotacion_configs", "billing") else {
        panic!()
    };
    assert_eq!(billing["cycle_days"].to_string(), "20");
    assert_eq!(billing["max_months"].to_string(), "6");
    assert_eq!(billing["create_invoices"], true);
    assert_eq!(billing["simulation_mode"], false);
    assert_eq!(billing["review"], true);
    assert_eq!(billing["group_size"].to_string(), "500");
    assert_eq!(billing["copies"].to_string(), "2");
    let Value::Json(cutoff) = col(&ops, "explotacion_configs", "cutoff") else {
        panic!()
    };
    assert_eq!(cutoff["min_debt"].to_string(), "2.68");
    // Delete: configs first, then the explotacion — but the policy here is ignore.
    assert!(e.forward_delete("1", &ctx()).unwrap().is_empty());
}

#[test]
fn tipo_family_maps_each_table_to_its_domain() {
    let set = shipped();
    let t = TableName::new("cf_quere_pro", "tipocatcalle");
    let routes = set.routes_for(Side::Legacy, &t);
    assert_eq!(routes.len(), 1);
    assert_eq!(routes[0].entity, "tipocatcalle");
    let e = set.entity("tipocatcalle").unwrap();
    let r = row(
        "cf_quere_pro.tipocatcalle",
        1,
        &[
            ("tpctcid", PgType::Numeric, num(3)),
            ("tpctctxtid", PgType::Numeric, num(900)),
        ],
    );
    let needs = e.forward_needs(Role::Primary, &r);
    assert_eq!(
        needs.secondary[0].key,
        vec![("tddtddid".to_string(), num(900))]
    );
    let mut c = ctx();
    c.secondary.insert(
        TableName::new("cf_quere_pro", "tabladesc"),
        vec![row(
            "cf_quere_pro.tabladesc",
            1,
            &[
                ("tddtddid", PgType::Numeric, num(900)),
                ("tddescri", PgType::Varchar, text("Avenida")),
            ],
        )],
    );
    let ops = e.forward(&r, &c).unwrap();
    assert_eq!(col(&ops, "domain_values", "domain"), &text("TIPOCATCALLE"));
    assert_eq!(col(&ops, "domain_values", "code"), &text("3"));
    assert_eq!(col(&ops, "domain_values", "description"), &text("Avenida"));
    assert_eq!(
        col(&ops, "domain_values", "extra"),
        &Value::Json(serde_json::json!({}))
    );
    assert_eq!(
        col(&ops, "domain_values", "tenant_id"),
        &Value::Uuid(TENANT)
    );
    // An extended table keeps its extra columns in `extra`.
    let e = set.entity("tipolicver").unwrap();
    let r = row(
        "cf_quere_pro.tipolicver",
        1,
        &[
            ("tlvid", PgType::Numeric, num(1)),
            ("tlvtxtid", PgType::Numeric, Value::Null),
            ("tlvsnactivo", PgType::Bpchar, text("S")),
            ("tlvdias", PgType::Numeric, num(30)),
        ],
    );
    let ops = e.forward(&r, &ctx()).unwrap();
    assert_eq!(col(&ops, "domain_values", "domain"), &text("TIPOLICVER"));
    assert_eq!(col(&ops, "domain_values", "description"), &text("1"));
    let Value::Json(extra) = col(&ops, "domain_values", "extra") else {
        panic!()
    };
    assert_eq!(extra.to_string(), r#"{"tlvdias":30,"tlvsnactivo":true}"#);
    assert_eq!(
        set.entities()
            .iter()
            .filter(|e| e.supra_tables()[0].name == "domain_values")
            .count(),
        41
    );
}

#[test]
fn factura_and_linfactura_money_and_parent_reference() {
    let set = shipped();
    let f = set.entity("factura").unwrap();
    let fr = row(
        "cf_quere_pro.factura",
        1,
        &[
            ("facid", PgType::Numeric, num(77)),
            ("facexpid", PgType::Numeric, num(1)),
            ("facsocemi", PgType::Numeric, num(1)),
            ("faccnttnum", PgType::Numeric, num(5001)),
            ("facperiodo", PgType::Varchar, text("202502")),
            ("facfecfact", PgType::Timestamp, ts("2025-03-03 00:00:00")),
            ("facfecvto", PgType::Timestamp, Value::Null),
            ("factipo", PgType::Numeric, num(1)),
            ("facorigen", PgType::Bpchar, text("E")),
            ("facestado", PgType::Bpchar, text("V")),
            ("facconsumo", PgType::Numeric, num(18)),
            ("facimporte", PgType::Float8, Value::Float(2.675)),
            ("faciva", PgType::Float8, Value::Float(0.125)),
            ("factotal", PgType::Float8, Value::Float(2.8)),
            ("facuuid", PgType::Varchar, text("not-a-uuid")),
            ("facreferencia", PgType::Varchar, Value::Null),
            ("fachsthora", PgType::Timestamp, Value::Null),
        ],
    );
    let mut c = ctx();
    for (e, k, n) in [
        ("contrato", "5001", 1),
        ("persona", "42", 2),
        ("ptoserv", "9", 3),
        ("explotacion", "1", 4),
    ] {
        c.add_mapping(e, k, Uuid::from_u128(n));
    }
    let joined_contract = contrato(5001, num(42), num(9), "A");
    let mut probe = ctx();
    probe.secondary.insert(
        TableName::new("cf_quere_pro", "contrato"),
        vec![joined_contract],
    );
    let later: Vec<(String, String)> = f
        .joined_refs(&fr, &probe)
        .into_iter()
        .map(|n| (n.entity, n.legacy_key))
        .collect();
    assert_eq!(
        later,
        vec![
            ("persona".to_string(), "42".to_string()),
            ("ptoserv".to_string(), "9".to_string())
        ]
    );
    c.secondary.insert(
        TableName::new("cf_quere_pro", "contrato"),
        vec![contrato(5001, num(42), num(9), "A")],
    );
    let ops = f.forward(&fr, &c).unwrap();
    assert_eq!(col(&ops, "invoices", "subtotal"), &dec("2.68"));
    assert_eq!(col(&ops, "invoices", "iva_amount"), &dec("0.13"));
    assert_eq!(col(&ops, "invoices", "total"), &dec("2.80"));
    assert_eq!(
        col(&ops, "invoices", "person_id"),
        &Value::Uuid(Uuid::from_u128(2))
    );
    assert_eq!(col(&ops, "invoices", "period_start"), &date("2025-02-01"));
    assert_eq!(col(&ops, "invoices", "period_end"), &date("2025-02-28"));
    assert_eq!(col(&ops, "invoices", "due_date"), &date("2025-03-03"));
    assert_eq!(col(&ops, "invoices", "folio_fiscal"), &Value::Null);
    assert_eq!(col(&ops, "invoices", "status"), &text("impagada"));
    assert_eq!(col(&ops, "invoices", "origin"), &text("estimada"));
    assert!(
        f.forward_delete("77", &c).unwrap().is_empty(),
        "invoices are never deleted"
    );
    // Lines: composite key, invoice_id through ref('factura', linfacid).
    let l = set.entity("linfactura").unwrap();
    let lr = row(
        "cf_quere_pro.linfactura",
        2,
        &[
            ("linfacid", PgType::Numeric, num(77)),
            ("linfacnum", PgType::Numeric, num(2)),
            ("linfaccptoid", PgType::Numeric, num(1)),
            ("linfacdesc", PgType::Varchar, Value::Null),
            ("linfaccant", PgType::Float8, Value::Float(18.0)),
            ("linfacprecio", PgType::Float8, Value::Float(8.755)),
            ("linfacimporte", PgType::Float8, Value::Float(157.59)),
            ("linfacimpiva", PgType::Float8, Value::Float(0.005)),
        ],
    );
    let needs = l.forward_needs(Role::Primary, &lr);
    assert_eq!(needs.refs[0].legacy_key, "77");
    let mut c2 = ctx();
    c2.add_mapping("factura", "77", Uuid::from_u128(5));
    let ops = l.forward(&lr, &c2).unwrap();
    assert_eq!(
        col(&ops, "invoice_lines", "id"),
        &Value::Uuid(mint_supra_id("linfactura", "[\"77\",\"2\"]"))
    );
    assert_eq!(
        col(&ops, "invoice_lines", "invoice_id"),
        &Value::Uuid(Uuid::from_u128(5))
    );
    assert_eq!(col(&ops, "invoice_lines", "total"), &dec("157.60"));
    assert_eq!(col(&ops, "invoice_lines", "unit_price"), &dec("8.7550"));
    assert_eq!(col(&ops, "invoice_lines", "concept_code"), &text("1"));
    assert_eq!(
        col(&ops, "invoice_lines", "concept_name"),
        &text("Concepto")
    );
}

#[test]
fn other_entities_map_codes_to_check_values() {
    let set = shipped();
    let mut c = ctx();
    for (e, k, n) in [
        ("explotacion", "1", 1),
        ("direccion", "7", 2),
        ("ptoserv", "9", 3),
        ("contrato", "5001", 4),
        ("contado", "11", 5),
        ("factura", "77", 6),
    ] {
        c.add_mapping(e, k, Uuid::from_u128(n));
    }
    let p = legacy_row(
        "ptoserv",
        &[],
        &[
            ("ptosid", num(9)),
            ("ptosexpid", num(1)),
            ("ptosdirid", num(7)),
            ("ptoscodigo", text(" ")),
            ("ptostipo", text("CO")),
            ("ptosestado", text("L")),
            ("ptoslat", text("20.6")),
            ("ptoslong", text("-100.4")),
        ],
    );
    let ops = set.entity("ptoserv").unwrap().forward(&p, &c).unwrap();
    assert_eq!(col(&ops, "tomas", "toma_number"), &text("9"));
    assert_eq!(col(&ops, "tomas", "toma_type"), &text("comercial"));
    assert_eq!(col(&ops, "tomas", "status"), &text("clausurada"));
    assert_eq!(col(&ops, "tomas", "latitude"), &dec("20.6000000"));
    let m = legacy_row(
        "contado",
        &[],
        &[
            ("conid", num(11)),
            ("conptosid", num(9)),
            ("connumserie", Value::Null),
            ("condiametro", num(20)),
            ("contipo", num(5)),
            ("conestado", text("W")),
        ],
    );
    let ops = set.entity("contado").unwrap().forward(&m, &c).unwrap();
    assert_eq!(col(&ops, "meters", "serial_number"), &text("SN-11"));
    assert_eq!(col(&ops, "meters", "diameter_inches"), &dec("0.79"));
    assert_eq!(col(&ops, "meters", "meter_type"), &text("smart"));
    assert_eq!(col(&ops, "meters", "status"), &text("en_almacen"));
    let del = set
        .entity("contado")
        .unwrap()
        .forward_delete("11", &c)
        .unwrap();
    assert!(
        matches!(&del[0], TargetOp::Update { columns, values, .. } if columns == &["status"] && values == &[text("retirado")])
    );
    let l = legacy_row(
        "lectura",
        &[],
        &[
            ("lecid", num(100)),
            ("leccontid", num(11)),
            ("lecptosid", num(9)),
            ("lecfecha", ts("2025-02-10 08:00:00")),
            ("lecvalor", Value::Null),
            ("lectipo", text("S")),
            ("lecestado", text("S")),
        ],
    );
    let ops = set.entity("lectura").unwrap().forward(&l, &c).unwrap();
    assert_eq!(col(&ops, "meter_readings", "source"), &text("smart_meter"));
    assert_eq!(col(&ops, "meter_readings", "status"), &text("suspicious"));
    assert_eq!(col(&ops, "meter_readings", "reading_value"), &Value::Int(0));
    assert_eq!(
        col(&ops, "meter_readings", "period_end"),
        &date("2025-02-28")
    );
    let TargetOp::Upsert {
        conflict_columns, ..
    } = &ops[0]
    else {
        panic!()
    };
    assert_eq!(conflict_columns, &["id", "reading_date"]);
    let o = legacy_row(
        "orden",
        &[],
        &[
            ("ordid", num(300)),
            ("ordtipo", num(4)),
            ("ordestado", text("E")),
            ("ordexpid", num(1)),
            ("ordprioridad", num(1)),
            ("ordgpslat", text("N/A")),
            ("ordgpslong", text("")),
        ],
    );
    let ops = set.entity("orden").unwrap().forward(&o, &c).unwrap();
    assert_eq!(col(&ops, "work_orders", "status"), &text("en_proceso"));
    assert_eq!(col(&ops, "work_orders", "priority"), &text("urgente"));
    assert_eq!(col(&ops, "work_orders", "gps_arrival"), &Value::Null);
    let pay = legacy_row(
        "opecargest",
        &[],
        &[
            ("ocgid", num(55)),
            ("ocgcnttnum", num(5001)),
            ("ocgfacid", num(77)),
            ("ocgimporte", Value::Float(0.125)),
            ("ocgcanal", text("WE")),
            ("ocgestado", text("X")),
        ],
    );
    let ops = set.entity("opecargest").unwrap().forward(&pay, &c).unwrap();
    assert_eq!(col(&ops, "payments", "amount"), &dec("0.13"));
    assert_eq!(col(&ops, "payments", "channel"), &text("digital"));
    assert_eq!(col(&ops, "payments", "status"), &text("cancelado"));
}

#[test]
fn unchanged_toast_and_schema_drift_are_reported() {
    let set = shipped();
    let e = set.entity("persona").unwrap();
    let mut r = persona(1, "F", Value::Unchanged, Value::Null, Value::Null);
    assert!(
        matches!(e.forward(&r, &ctx()), Err(EvalError::Unchanged { column }) if column == "prsnif")
    );
    r.values[2] = Value::Null;
    let short = row(
        "cf_quere_pro.persona",
        1,
        &[("prsid", PgType::Numeric, num(1))],
    );
    assert!(matches!(
        e.forward(&short, &ctx()),
        Err(EvalError::MissingColumn { .. })
    ));
    assert!(e.forward(&r, &ctx()).is_ok());
}
