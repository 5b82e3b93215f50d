//! Round trip of every bidirectional mapping: legacy → SUPRA → legacy gives back the original
//! values of the columns `[reverse]` writes, modulo the normalizations each mapping file
//! documents (text trimmed and '' → NULL, S/N flags canonicalized, date-only columns at
//! midnight, local times read through America/Mexico_City, unknown codes → map default).
//! The expected row applies exactly those normalizations; nothing else may change.

mod support;

use std::sync::Arc;

use chrono::{Duration, NaiveDateTime};
use proptest::prelude::*;
use rust_decimal::Decimal;
use support::*;
use supra_sync_core::{ColumnDef, PgType, Row, RowSchema, Side, Value};
use supra_sync_mapping::builtins::time::{local_to_utc, utc_to_local};
use supra_sync_mapping::{MappingSet, ResolvedContext, TargetOp};
use uuid::Uuid;

fn set() -> &'static MappingSet {
    static SET: std::sync::OnceLock<MappingSet> = std::sync::OnceLock::new();
    SET.get_or_init(shipped)
}

fn pg_of(v: &Value) -> PgType {
    match v {
        Value::Bool(_) => PgType::Bool,
        Value::Int(_) => PgType::Int4,
        Value::Numeric(_) => PgType::Numeric,
        Value::Date(_) => PgType::Date,
        Value::Timestamptz(_) => PgType::Timestamptz,
        Value::Uuid(_) => PgType::Uuid,
        Value::Json(_) => PgType::Jsonb,
        Value::Point(_) => PgType::Geography,
        _ => PgType::Text,
    }
}

/// legacy row → forward → SUPRA row → reverse → legacy values, by column.
fn round_trip(entity: &str, legacy: &Row, ctx: &mut ResolvedContext) -> Vec<(String, Value)> {
    let e = set().entity(entity).unwrap();
    let ops = e
        .forward(legacy, ctx)
        .unwrap_or_else(|err| panic!("forward: {err}"));
    let TargetOp::Upsert {
        table,
        columns,
        values,
        ..
    } = &ops[0]
    else {
        panic!()
    };
    let supra = Row::new(
        Arc::new(RowSchema {
            table: table.clone(),
            columns: columns
                .iter()
                .zip(values)
                .map(|(c, v)| ColumnDef {
                    name: c.clone(),
                    pg_type: pg_of(v),
                    key: c == "id",
                })
                .collect(),
        }),
        values.clone(),
    );
    assert_eq!(set().routes_for(Side::Supra, table)[0].entity, entity);
    let id = match supra.get("id") {
        Some(Value::Uuid(u)) => *u,
        _ => panic!(),
    };
    let needs = e.reverse_needs(&supra);
    assert_eq!(
        (
            needs.reverse_refs[0].entity.as_str(),
            needs.reverse_refs[0].supra_id
        ),
        (entity, id)
    );
    ctx.add_mapping(entity, &legacy.key_text(), id);
    let back = e
        .reverse(&supra, ctx)
        .unwrap_or_else(|err| panic!("reverse: {err}"));
    let TargetOp::Upsert {
        table,
        columns,
        values,
        conflict_columns,
    } = &back[0]
    else {
        panic!()
    };
    assert_eq!(table, e.legacy_table());
    assert_eq!(conflict_columns.as_slice(), e.legacy_key());
    columns
        .iter()
        .cloned()
        .zip(values.iter().cloned())
        .collect()
}

fn same(a: &Value, b: &Value) -> bool {
    let num = |v: &Value| match v {
        Value::Int(i) => Some(Decimal::from(*i)),
        Value::Numeric(d) => Some(*d),
        _ => None,
    };
    match (num(a), num(b)) {
        (Some(x), Some(y)) => x == y,
        _ => a == b,
    }
}

fn assert_back(back: &[(String, Value)], expected: &Row, skip: &[&str]) {
    for (c, v) in back {
        if skip.contains(&c.as_str()) {
            continue;
        }
        let want = expected
            .get(c)
            .unwrap_or_else(|| panic!("reverse writes unknown column {c}"));
        assert!(same(v, want), "column {c}: got {v:?}, want {want:?}");
    }
}

// ---- generators -------------------------------------------------------------------------

fn any_text() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(text("")),
        Just(text("   ")),
        Just(text("Peña Ñúñez")),
        Just(text(" José María ")),
        "[A-Za-zÁÉÍÓÚáéíóúÑñ0-9 .,'-]{1,20}".prop_map(Value::Text),
    ]
}

fn norm_text(v: &Value) -> Value {
    match v {
        Value::Text(s) if s.trim().is_empty() => Value::Null,
        Value::Text(s) => text(s.trim()),
        other => other.clone(),
    }
}

fn id() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(num(0)),
        Just(num(1)),
        Just(num(9_999_999_999)),
        Just(num(-5)),
        (1i64..9_999_999_999).prop_map(num)
    ]
}

fn local_ts() -> impl Strategy<Value = NaiveDateTime> {
    // 1990..2030, minute resolution.
    (0i64..21_000_000).prop_map(|m| {
        NaiveDateTime::parse_from_str("1990-01-01 00:00:00", "%Y-%m-%d %H:%M:%S").unwrap()
            + Duration::minutes(m)
    })
}

/// What a local legacy timestamp becomes after timestamptz and back (moves only in the
/// non-existent spring-forward hour).
fn norm_ts(t: NaiveDateTime) -> Value {
    Value::Timestamp(utc_to_local(local_to_utc(t)))
}

fn flag() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(text("S")),
        Just(text("N")),
        Just(text("Y")),
        Just(text("X")),
        Just(text("1")),
        Just(text("T")),
        Just(text("0")),
        Just(text("F")),
        Just(text(" ")),
        Just(text("s"))
    ]
}

fn norm_flag(v: &Value, null_as: &str) -> Value {
    match v {
        Value::Null => text(null_as),
        Value::Text(s)
            if matches!(
                s.trim().to_ascii_uppercase().as_str(),
                "S" | "Y" | "X" | "1" | "T"
            ) =>
        {
            text("S")
        }
        _ => text("N"),
    }
}

fn code(codes: &'static [&'static str]) -> impl Strategy<Value = Value> {
    proptest::sample::select(codes).prop_map(text)
}

// ---- properties ---------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig { cases: 300, .. ProptestConfig::default() })]

    #[test]
    fn persona_round_trips(
        prsid in id(), tipo in code(&["F", "J"]), texts in proptest::collection::vec(any_text(), 11),
        vuln in flag(), reg in local_ts(), hst in local_ts(),
    ) {
        let names = ["prsnif", "prscurp", "prsnomape", "prsnombre", "prsape1", "prsape2", "prstelef", "prstelef2", "prsemail", "prsregfiscal", "prsusocfdi"];
        let mut given: Vec<(&str, Value)> = vec![("prsid", prsid), ("prstipo", tipo.clone()), ("prssnvulnerable", vuln.clone()),
            ("prsfecreg", Value::Timestamp(reg)), ("prshsthora", Value::Timestamp(hst))];
        given.extend(names.iter().copied().zip(texts.iter().cloned()));
        let legacy = legacy_row("persona", &["prsid"], &given);
        let back = round_trip("persona", &legacy, &mut ctx());
        // Expected: documented normalizations only.
        let n = |c: &str| norm_text(legacy.get(c).unwrap());
        let mut exp: Vec<(&str, Value)> = given.iter().map(|(c, v)| (*c, if names.contains(c) { norm_text(v) } else { v.clone() })).collect();
        let nomape = if tipo == text("J") {
            let joined = [n("prsnomape"), n("prsnombre")].iter().filter_map(|v| v.to_text()).collect::<Vec<_>>().join(" ");
            if joined.trim().is_empty() { text("(sin nombre)") } else { text(joined.trim()) }
        } else {
            let joined = [n("prsape1"), n("prsape2")].iter().filter_map(|v| v.to_text()).collect::<Vec<_>>().join(" ");
            norm_text(&text(&joined))
        };
        exp.retain(|(c, _)| *c != "prsnomape");
        exp.push(("prsnomape", nomape));
        exp.retain(|(c, _)| !["prssnvulnerable", "prsfecreg", "prshsthora"].contains(c));
        exp.push(("prssnvulnerable", norm_flag(&vuln, "N")));
        exp.push(("prsfecreg", norm_ts(reg)));
        exp.push(("prshsthora", norm_ts(hst)));
        let expected = legacy_row("persona", &["prsid"], &exp);
        assert_back(&back, &expected, &["prshstusu"]);
        prop_assert!(back.iter().any(|(c, v)| c == "prshstusu" && *v == text("SUPRA")));
    }

    #[test]
    fn contrato_round_trips(
        cnttnum in id(), prsid in id(), ptosid in id(), estado in code(&["P", "A", "S", "B", "C"]),
        pago in code(&["V", "D", "G", "O", "C"]), alta in local_ts(), hst in local_ts(),
        baja in proptest::option::of(local_ts()), texts in proptest::collection::vec(any_text(), 3),
        factelec in flag(), social in flag(), canal in prop_oneof![Just(text("whatsapp")), Just(text("sms")), Just(text("email"))],
        categ in prop_oneof![Just(Value::Null), (1i64..=9).prop_map(num), Just(num(12345))],
    ) {
        let baja_day = baja.map(|t| t.date().and_hms_opt(0, 0, 0).unwrap());
        let given: Vec<(&str, Value)> = vec![
            ("cnttnum", cnttnum), ("cnttprsid", prsid.clone()), ("cnttptosid", ptosid.clone()), ("cnttexpid", num(1)),
            ("cnttestado", estado), ("cnttformapago", pago), ("cnttfecalta", Value::Timestamp(alta)),
            ("cntthsthora", Value::Timestamp(hst)), ("cnttfecbaja", baja_day.map_or(Value::Null, Value::Timestamp)),
            ("cnttbanco", texts[0].clone()), ("cnttclabe", texts[1].clone()), ("cnttobserv", texts[2].clone()),
            ("cnttsnfactelec", factelec.clone()), ("cnttsntarsocial", social.clone()), ("cnttcanalpref", canal),
            ("cnttcategtarif", categ), ("cnttmotbaja", num(3)),
        ];
        let legacy = legacy_row("contrato", &["cnttnum"], &given);
        let mut c = ctx();
        c.add_mapping("persona", &prsid.to_text().unwrap(), Uuid::from_u128(1));
        c.add_mapping("ptoserv", &ptosid.to_text().unwrap(), Uuid::from_u128(2));
        c.add_mapping("explotacion", "1", Uuid::from_u128(3));
        let back = round_trip("contrato", &legacy, &mut c);
        let mut exp = given.clone();
        for (col, v) in exp.iter_mut() {
            match *col {
                "cnttbanco" | "cnttclabe" | "cnttobserv" => *v = norm_text(v),
                "cnttsnfactelec" | "cnttsntarsocial" => *v = norm_flag(v, "N"),
                "cnttfecalta" | "cntthsthora" => if let Value::Timestamp(t) = v { *v = norm_ts(*t) },
                _ => {}
            }
        }
        let expected = legacy_row("contrato", &["cnttnum"], &exp);
        assert_back(&back, &expected, &["cntthstusu"]);
    }

    #[test]
    fn ptoserv_round_trips(
        ptosid in id(), tipo in code(&["DO", "CO", "IN", "GO", "MX", "RU", "HI", "FU", "TE"]),
        estado in code(&["A", "C", "S", "B", "L", "P"]), fact in code(&["M", "F", "E"]), per in code(&["M", "B", "T"]),
        codigo in "[A-Z0-9-]{1,12}", texts in proptest::collection::vec(any_text(), 2), contador in flag(),
        alta in local_ts(), hst in local_ts(), corte in proptest::option::of(local_ts()), hab in proptest::option::of(0i64..999),
        categ in prop_oneof![Just(Value::Null), (1i64..=9).prop_map(num), Just(num(12345))],
    ) {
        let given: Vec<(&str, Value)> = vec![
            ("ptosid", ptosid), ("ptosexpid", num(1)), ("ptosdirid", num(7)), ("ptoscodigo", text(&codigo)), ("ptostipo", tipo),
            ("ptosestado", estado), ("ptostipofact", fact), ("ptosperiodic", per), ("ptoscategtarif", categ),
            ("ptosobserv", texts[1].clone()), ("ptossncontador", contador.clone()), ("ptosfecalta", Value::Timestamp(alta)),
            ("ptoshsthora", Value::Timestamp(hst)), ("ptosfeccorte", corte.map_or(Value::Null, Value::Timestamp)),
            ("ptoshabitantes", hab.map_or(Value::Null, num)), ("ptosmotcorte", num(2)), ("ptostipoinm", Value::Null),
            ("ptoslat", text("20,59")), ("ptoslong", text("-100.39")),
        ];
        let legacy = legacy_row("ptoserv", &["ptosid"], &given);
        let mut c = ctx();
        c.add_mapping("explotacion", "1", Uuid::from_u128(3));
        c.add_mapping("direccion", "7", Uuid::from_u128(4));
        let back = round_trip("ptoserv", &legacy, &mut c);
        let mut exp = given.clone();
        for (col, v) in exp.iter_mut() {
            match *col {
                "ptosobserv" => *v = norm_text(v),
                "ptossncontador" => *v = norm_flag(v, "S"),
                "ptosfecalta" | "ptoshsthora" | "ptosfeccorte" => if let Value::Timestamp(t) = v { *v = norm_ts(*t) },
                _ => {}
            }
        }
        assert_back(&back, &legacy_row("ptoserv", &["ptosid"], &exp), &["ptoshstusu"]);
    }

    #[test]
    fn contado_round_trips(
        conid in id(), diam in proptest::sample::select(&[13i64, 15, 20, 25, 32, 40, 50, 80, 100][..]), tipo in 1i64..=5,
        estado in code(&["A", "I", "V", "R", "W"]), serie in "[A-Z0-9]{4,12}", texts in proptest::collection::vec(any_text(), 6),
        smart in flag(), acc in flag(), inst in proptest::option::of(local_ts()), ultcom in proptest::option::of(local_ts()),
        lect in prop_oneof![Just(0i64), Just(99_999_999), 0i64..1_000_000], hst in local_ts(),
    ) {
        let midnight = |t: Option<NaiveDateTime>| t.map_or(Value::Null, |t| Value::Timestamp(t.date().and_hms_opt(0, 0, 0).unwrap()));
        let given: Vec<(&str, Value)> = vec![
            ("conid", conid), ("conptosid", num(9)), ("connumserie", text(&serie)), ("condiametro", num(diam)), ("contipo", num(tipo)),
            ("conestado", estado), ("conmarca", texts[0].clone()), ("conmodelo", texts[1].clone()), ("conprotocolo", texts[2].clone()),
            ("coneui", texts[3].clone()), ("conubicacion", texts[4].clone()), ("conobserv", texts[5].clone()),
            ("consnsmart", smart.clone()), ("consnaccesible", acc.clone()), ("confecinst", midnight(inst)),
            ("confeccalib", Value::Null), ("confecreemp", midnight(ultcom)), ("conultcom", ultcom.map_or(Value::Null, Value::Timestamp)),
            ("conlectini", num(lect)), ("conhsthora", Value::Timestamp(hst)),
        ];
        let legacy = legacy_row("contado", &["conid"], &given);
        let mut c = ctx();
        c.add_mapping("ptoserv", "9", Uuid::from_u128(2));
        let back = round_trip("contado", &legacy, &mut c);
        let mut exp = given.clone();
        for (col, v) in exp.iter_mut() {
            match *col {
                "conmarca" | "conmodelo" | "conprotocolo" | "coneui" | "conubicacion" | "conobserv" => *v = norm_text(v),
                "consnsmart" => *v = norm_flag(v, "N"),
                "consnaccesible" => *v = norm_flag(v, "S"),
                "conultcom" | "conhsthora" => if let Value::Timestamp(t) = v { *v = norm_ts(*t) },
                _ => {}
            }
        }
        assert_back(&back, &legacy_row("contado", &["conid"], &exp), &["conhstusu"]);
    }

    #[test]
    fn orden_round_trips(
        ordid in id(), tipo in 1i64..99, estado in code(&["P", "A", "E", "F", "C"]), prio in 1i64..=4,
        texts in proptest::collection::vec(any_text(), 2), crea in local_ts(), hst in local_ts(),
        prog in proptest::option::of(local_ts()), ini in proptest::option::of(local_ts()),
    ) {
        let given: Vec<(&str, Value)> = vec![
            ("ordid", ordid), ("ordtipo", num(tipo)), ("ordestado", estado), ("ordprioridad", num(prio)), ("ordexpid", num(1)),
            ("ordptosid", num(9)), ("ordcnttnum", Value::Null), ("orddesc", texts[0].clone()), ("ordresultado", texts[1].clone()),
            ("ordfeccrea", Value::Timestamp(crea)), ("ordhsthora", Value::Timestamp(hst)),
            ("ordfecprog", prog.map_or(Value::Null, |t| Value::Timestamp(t.date().and_hms_opt(0, 0, 0).unwrap()))),
            ("ordfecini", ini.map_or(Value::Null, Value::Timestamp)), ("ordfecfin", Value::Null),
        ];
        let legacy = legacy_row("orden", &["ordid"], &given);
        let mut c = ctx();
        c.add_mapping("explotacion", "1", Uuid::from_u128(3));
        c.add_mapping("ptoserv", "9", Uuid::from_u128(2));
        let back = round_trip("orden", &legacy, &mut c);
        let mut exp = given.clone();
        for (col, v) in exp.iter_mut() {
            match *col {
                "orddesc" | "ordresultado" => *v = norm_text(v),
                "ordfeccrea" | "ordhsthora" | "ordfecini" => if let Value::Timestamp(t) = v { *v = norm_ts(*t) },
                _ => {}
            }
        }
        assert_back(&back, &legacy_row("orden", &["ordid"], &exp), &["ordhstusu"]);
    }
}

#[test]
fn documented_normalizations() {
    let e = set().entity("persona").unwrap();
    // NULL prsfecreg comes back as the first sync time; 'X' as 'S'; '' as NULL.
    let legacy = legacy_row(
        "persona",
        &["prsid"],
        &[
            ("prsid", num(1)),
            ("prstipo", text("F")),
            ("prssnvulnerable", text("X")),
            ("prsnif", text("")),
        ],
    );
    let back = round_trip("persona", &legacy, &mut ctx());
    let get = |c: &str| back.iter().find(|(n, _)| n == c).unwrap().1.clone();
    assert_eq!(get("prssnvulnerable"), text("S"));
    assert_eq!(get("prsnif"), Value::Null);
    assert_eq!(get("prsfecreg"), Value::Timestamp(utc_to_local(now())));
    // Rows of another tenant are not written back.
    let ops = e.forward(&legacy, &ctx()).unwrap();
    let TargetOp::Upsert {
        columns,
        mut values,
        ..
    } = ops[0].clone()
    else {
        panic!()
    };
    values[1] = Value::Uuid(Uuid::from_u128(99));
    let schema = Arc::new(RowSchema {
        table: supra_sync_core::TableName::new("public", "persons"),
        columns: columns
            .iter()
            .zip(&values)
            .map(|(c, v)| ColumnDef {
                name: c.clone(),
                pg_type: pg_of(v),
                key: c == "id",
            })
            .collect(),
    });
    assert!(
        e.reverse(&Row::new(schema, values), &ctx())
            .unwrap()
            .is_empty()
    );
}
