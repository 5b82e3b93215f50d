//! Evaluation speed of the persona and contrato forward mappings over generated rows.
//! Prints rows/s per core (single-threaded) besides criterion's timings.
//!
//! Run: `cargo bench -p supra-sync-mapping --bench eval`

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, NaiveDateTime, Utc};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rust_decimal::Decimal;
use supra_sync_core::{ColumnDef, PgType, Row, RowSchema, TableName, Value};
use supra_sync_mapping::{MappingSet, ResolvedContext};
use uuid::Uuid;

const ROWS: usize = 10_000;

fn schema(table: &str, cols: &[(&str, PgType)]) -> Arc<RowSchema> {
    Arc::new(RowSchema {
        table: TableName::new("cf_quere_pro", table),
        columns: cols
            .iter()
            .enumerate()
            .map(|(i, (n, t))| ColumnDef {
                name: n.to_string(),
                pg_type: *t,
                key: i == 0,
            })
            .collect(),
    })
}

fn ts(i: usize) -> Value {
    let base = NaiveDateTime::parse_from_str("2015-01-01 08:00:00", "%Y-%m-%d %H:%M:%S").unwrap();
    Value::Timestamp(base + chrono::Duration::minutes(i as i64 * 37))
}

fn personas() -> Vec<Row> {
    use PgType::*;
    let s = schema(
        "persona",
        &[
            ("prsid", Numeric),
            ("prstipo", Bpchar),
            ("prsnif", Varchar),
            ("prscurp", Varchar),
            ("prsnomape", Varchar),
            ("prsnombre", Varchar),
            ("prsape1", Varchar),
            ("prsape2", Varchar),
            ("prssexo", Bpchar),
            ("prsfecnac", Timestamp),
            ("prstelef", Varchar),
            ("prstelef2", Varchar),
            ("prsemail", Varchar),
            ("prsdirid", Numeric),
            ("prsregfiscal", Varchar),
            ("prsusocfdi", Varchar),
            ("prstipident", Numeric),
            ("prsnumident", Varchar),
            ("prssnvulnerable", Bpchar),
            ("prssnpubli", Bpchar),
            ("prspassweb", Varchar),
            ("prsfecreg", Timestamp),
            ("prshstusu", Varchar),
            ("prshsthora", Timestamp),
        ],
    );
    let t = |s: &str| Value::Text(s.to_string());
    (0..ROWS)
        .map(|i| {
            let moral = i % 10 == 0;
            Row::new(
                s.clone(),
                vec![
                    Value::Numeric(Decimal::from(i as i64 + 1)),
                    t(if moral { "J" } else { "F" }),
                    if i % 7 == 0 {
                        Value::Null
                    } else {
                        t(&format!("PEÑJ8{:06}AB1", i))
                    },
                    t(&format!("PEÑJ8{:06}HQTRRN09", i)),
                    t(if moral {
                        "Agua y Servicios del Bajío SA de CV"
                    } else {
                        "Peña Ñúñez"
                    }),
                    if moral {
                        Value::Null
                    } else {
                        t(" José María ")
                    },
                    t("Peña"),
                    t("Ñúñez"),
                    t("M"),
                    Value::Null,
                    t(&format!("442{:07}", i)),
                    t(""),
                    Value::Null,
                    Value::Numeric(Decimal::from(i as i64)),
                    t("616"),
                    t("S01"),
                    Value::Null,
                    Value::Null,
                    t(if i % 3 == 0 { "S" } else { "N" }),
                    t("N"),
                    t("secreto"),
                    ts(i),
                    t("MIGRA"),
                    ts(i + 5),
                ],
            )
        })
        .collect()
}

fn contratos() -> Vec<Row> {
    use PgType::*;
    let s = schema(
        "contrato",
        &[
            ("cnttnum", Numeric),
            ("cnttprsid", Numeric),
            ("cnttptosid", Numeric),
            ("cnttexpid", Numeric),
            ("cnttsocemi", Numeric),
            ("cnttestado", Bpchar),
            ("cnttfecalta", Timestamp),
            ("cnttfecbaja", Timestamp),
            ("cnttmotbaja", Numeric),
            ("cnttcategtarif", Varchar),
            ("cntttarid", Numeric),
            ("cnttformapago", Bpchar),
            ("cnttbanco", Varchar),
            ("cnttclabe", Varchar),
            ("cnttsnfactelec", Bpchar),
            ("cnttsntarsocial", Bpchar),
            ("cnttdirenvio", Numeric),
            ("cnttcanalpref", Varchar),
            ("cnttcnttant", Numeric),
            ("cnttobserv", Varchar),
            ("cntthstusu", Varchar),
            ("cntthsthora", Timestamp),
        ],
    );
    let t = |s: &str| Value::Text(s.to_string());
    let n = |i: usize| Value::Numeric(Decimal::from(i as i64));
    (0..ROWS)
        .map(|i| {
            Row::new(
                s.clone(),
                vec![
                    n(i + 1),
                    n(i + 1),
                    n(i + 1),
                    n(1),
                    n(1),
                    t(["A", "S", "B", "P", "C"][i % 5]),
                    ts(i),
                    Value::Null,
                    Value::Null,
                    t("DOM"),
                    n(1),
                    t(if i % 20 == 0 { "D" } else { "V" }),
                    if i % 20 == 0 {
                        t("BANORTE")
                    } else {
                        Value::Null
                    },
                    if i % 20 == 0 {
                        t("072680004567890123")
                    } else {
                        Value::Null
                    },
                    t("N"),
                    t("N"),
                    Value::Null,
                    t("whatsapp"),
                    Value::Null,
                    Value::Null,
                    t("MIGRA"),
                    ts(i + 3),
                ],
            )
        })
        .collect()
}

fn context(with_refs: bool) -> ResolvedContext {
    let now: DateTime<Utc> = DateTime::parse_from_rfc3339("2025-06-01T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc);
    let mut c = ResolvedContext::new(Uuid::from_u128(1), now);
    if with_refs {
        c.add_mapping("explotacion", "1", Uuid::from_u128(2));
        for i in 1..=ROWS {
            c.add_mapping("persona", &i.to_string(), Uuid::from_u128(1000 + i as u128));
            c.add_mapping(
                "ptoserv",
                &i.to_string(),
                Uuid::from_u128(100_000 + i as u128),
            );
        }
    }
    c
}

/// Nanoseconds this thread has spent on a CPU (Linux `schedstat`), so the rate is per core
/// even when other processes compete for the machine.
fn cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

fn report(what: &str, n: usize, wall: f64, cpu0: Option<u64>) {
    let wall_rate = n as f64 / wall;
    match (cpu0, cpu_ns()) {
        (Some(a), Some(b)) if b > a => {
            let cpu = (b - a) as f64 / 1e9;
            println!(
                "{what}: {:.0} rows/s per core of CPU time ({wall_rate:.0} rows/s wall, {n} rows)",
                n as f64 / cpu
            );
        }
        _ => println!("{what}: {wall_rate:.0} rows/s wall ({n} rows)"),
    }
}

fn rate(name: &str, set: &MappingSet, rows: &[Row], ctx: &ResolvedContext) {
    let e = set.entity(name).unwrap();
    let cpu0 = cpu_ns();
    let start = Instant::now();
    let mut n = 0usize;
    while start.elapsed().as_secs_f64() < 2.0 {
        for r in rows {
            std::hint::black_box(e.forward(r, ctx).unwrap());
        }
        n += rows.len();
    }
    report(
        &format!("{name} forward"),
        n,
        start.elapsed().as_secs_f64(),
        cpu0,
    );
    let cpu0 = cpu_ns();
    let start = Instant::now();
    let mut n = 0usize;
    while start.elapsed().as_secs_f64() < 2.0 {
        for r in rows {
            std::hint::black_box(e.forward_values(r, ctx).unwrap());
        }
        n += rows.len();
    }
    report(
        &format!("{name} forward_values"),
        n,
        start.elapsed().as_secs_f64(),
        cpu0,
    );
}

fn bench(c: &mut Criterion) {
    let set = MappingSet::load_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mappings"))
        .unwrap();
    let (p, k) = (personas(), contratos());
    let (pc, kc) = (context(false), context(true));
    rate("persona", &set, &p, &pc);
    rate("contrato", &set, &k, &kc);
    let mut g = c.benchmark_group("forward");
    g.throughput(Throughput::Elements(ROWS as u64));
    let persona = set.entity("persona").unwrap();
    g.bench_function("persona", |b| {
        b.iter(|| {
            for r in &p {
                std::hint::black_box(persona.forward(r, &pc).unwrap());
            }
        })
    });
    let contrato = set.entity("contrato").unwrap();
    g.bench_function("contrato", |b| {
        b.iter(|| {
            for r in &k {
                std::hint::black_box(contrato.forward(r, &kc).unwrap());
            }
        })
    });
    g.finish();
}

// criterion_group! generates an undocumented `benches` function.
#[allow(missing_docs)]
mod group {
    use super::*;
    criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = bench
    }
}
criterion_main!(group::benches);
