//! Streams captured from a real PostgreSQL 15 by `tests/data/capture.sh`.

use std::collections::{BTreeMap, HashMap};

use bytes::Bytes;
use supra_sync_pgoutput::{ColumnValue, LogicalMessage, Lsn, OldTuple, StreamDecoder, TupleData};

/// One captured message: the slot position and xid PostgreSQL reported, and the bytes.
pub struct Captured {
    pub lsn: Lsn,
    pub xid: u32,
    pub bytes: Bytes,
}

fn unhex(hex: &str) -> Vec<u8> {
    assert!(hex.len().is_multiple_of(2), "odd hex length");
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
        .collect()
}

/// Loads `tests/data/<name>`: `<lsn> <xid> <hex>` per line, `#` comments.
pub fn load(name: &str) -> Vec<Captured> {
    let path = format!("{}/tests/data/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines()
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let mut fields = line.split(' ');
            let (lsn, xid, hex) = (fields.next(), fields.next(), fields.next());
            Captured {
                lsn: lsn.and_then(|s| s.parse().ok()).expect("lsn"),
                xid: xid.and_then(|s| s.parse().ok()).expect("xid"),
                bytes: Bytes::from(unhex(hex.expect("hex"))),
            }
        })
        .collect()
}

/// Decodes a whole captured stream, in order.
pub fn decode_all(name: &str) -> Vec<LogicalMessage> {
    let mut decoder = StreamDecoder::new();
    load(name)
        .into_iter()
        .enumerate()
        .map(|(i, c)| {
            decoder
                .decode(c.bytes)
                .unwrap_or_else(|e| panic!("{name}:{i}: {e}"))
        })
        .collect()
}

fn show_value(v: &ColumnValue) -> String {
    match v {
        ColumnValue::Null => "NULL".into(),
        ColumnValue::Unchanged => "UNCHANGED".into(),
        ColumnValue::Text(b) if b.len() > 40 => {
            format!(
                "'{}…'({} bytes)",
                String::from_utf8_lossy(&b[..16]),
                b.len()
            )
        }
        ColumnValue::Text(b) => format!("'{}'", String::from_utf8_lossy(b)),
        ColumnValue::Binary(b) => {
            let hex: String = b.iter().take(20).map(|x| format!("{x:02x}")).collect();
            format!("x'{hex}'")
        }
    }
}

fn show_tuple(t: &TupleData) -> String {
    let values: Vec<_> = t.iter().map(show_value).collect();
    format!("({})", values.join(", "))
}

fn show_old(old: &OldTuple) -> String {
    match old {
        OldTuple::Key(t) => format!("key={}", show_tuple(t)),
        OldTuple::Full(t) => format!("old={}", show_tuple(t)),
    }
}

/// A one-line summary of a message, for comparing whole streams.
pub fn summary(m: &LogicalMessage) -> String {
    let body = match m {
        LogicalMessage::Begin(b) => format!("BEGIN {} final={}", b.xid, b.final_lsn),
        LogicalMessage::Commit(c) => format!("COMMIT {} end={}", c.commit_lsn, c.end_lsn),
        LogicalMessage::Origin(o) => format!("ORIGIN {} {}", o.name, o.commit_lsn),
        LogicalMessage::Relation(r) => {
            let cols: Vec<_> = r
                .columns
                .iter()
                .map(|c| {
                    let key = if c.is_key() { "*" } else { "" };
                    format!("{key}{}:{}/{}", c.name, c.type_oid, c.type_modifier)
                })
                .collect();
            let ident = r.replica_identity;
            format!(
                "RELATION {} {}.{} {ident:?} {}",
                r.id,
                r.namespace,
                r.name,
                cols.join(" ")
            )
        }
        LogicalMessage::Type(t) => format!("TYPE {} {}.{}", t.id, t.namespace, t.name),
        LogicalMessage::Insert(i) => format!("INSERT {} {}", i.relation_id, show_tuple(&i.new)),
        LogicalMessage::Update(u) => {
            let old = u
                .old
                .as_ref()
                .map(|o| format!("{} ", show_old(o)))
                .unwrap_or_default();
            format!("UPDATE {} {old}new={}", u.relation_id, show_tuple(&u.new))
        }
        LogicalMessage::Delete(d) => format!("DELETE {} {}", d.relation_id, show_old(&d.old)),
        LogicalMessage::Truncate(t) => {
            let (c, r) = (t.cascade(), t.restart_identity());
            format!("TRUNCATE {:?} cascade={c} restart={r}", t.relation_ids)
        }
        LogicalMessage::Message(m) => format!(
            "MESSAGE transactional={} {} {:?} '{}'",
            m.transactional,
            m.lsn,
            m.prefix,
            String::from_utf8_lossy(&m.content)
        ),
        LogicalMessage::StreamStart(s) => {
            format!("STREAM START {} first={}", s.xid, s.first_segment)
        }
        LogicalMessage::StreamStop => "STREAM STOP".into(),
        LogicalMessage::StreamCommit(c) => {
            format!("STREAM COMMIT {} {} end={}", c.xid, c.commit_lsn, c.end_lsn)
        }
        LogicalMessage::StreamAbort(a) => format!("STREAM ABORT {} sub={}", a.xid, a.subxid),
    };
    let streamed = matches!(
        m,
        LogicalMessage::Relation(_)
            | LogicalMessage::Type(_)
            | LogicalMessage::Insert(_)
            | LogicalMessage::Update(_)
            | LogicalMessage::Delete(_)
            | LogicalMessage::Truncate(_)
            | LogicalMessage::Message(_)
    );
    match m.xid() {
        Some(xid) if streamed => format!("[{xid}] {body}"),
        _ => body,
    }
}

const V1_EXPECTED: &[&str] = &[
    "BEGIN 730 final=0/1533A48",
    "TYPE 16385 public.mood",
    "RELATION 16391 public.persona Default *prsid:23/-1 prsnombre:25/-1 prsnif:1043/17 \
     prsmood:16385/-1 prsnotes:25/-1",
    "INSERT 16391 ('1', 'José Núñez 水', '', 'happy', NULL)",
    "COMMIT 0/1533A48 end=0/1533A78",
    "BEGIN 731 final=0/15363C8",
    "INSERT 16391 ('2', 'Big', 'XAXX010101000', 'ok', 'c4ca4238a0b92382…'(9600 bytes))",
    "COMMIT 0/15363C8 end=0/15363F8",
    "BEGIN 732 final=0/15364A8",
    "UPDATE 16391 new=('2', 'Big Updated', 'XAXX010101000', 'ok', UNCHANGED)",
    "COMMIT 0/15364A8 end=0/15364D8",
    "BEGIN 733 final=0/1536580",
    "UPDATE 16391 key=('1', NULL, NULL, NULL, NULL) new=('10', 'José Núñez 水', '', 'happy', NULL)",
    "COMMIT 0/1536580 end=0/15365B0",
    "BEGIN 734 final=0/1536648",
    "RELATION 16398 public.contrato Full *cntid:20/-1 *cntprsid:23/-1 *cntsaldo:1700/786438",
    "INSERT 16398 ('100', '10', '1234.50')",
    "INSERT 16398 ('101', NULL, '-7.25')",
    "COMMIT 0/1536648 end=0/1536678",
    "BEGIN 735 final=0/15366E8",
    "UPDATE 16398 old=('100', '10', '1234.50') new=('100', '10', '0.00')",
    "COMMIT 0/15366E8 end=0/1536718",
    "BEGIN 736 final=0/1536768",
    "DELETE 16398 old=('101', NULL, '-7.25')",
    "COMMIT 0/1536768 end=0/1536798",
    "BEGIN 737 final=0/15367D8",
    "DELETE 16391 key=('10', NULL, NULL, NULL, NULL)",
    "COMMIT 0/15367D8 end=0/1536808",
    "BEGIN 738 final=0/1536848",
    "MESSAGE transactional=true 0/1536848 \"prefix\" 'content'",
    "COMMIT 0/1536848 end=0/1536878",
    "MESSAGE transactional=false 0/15368C8 \"supra_sync.watermark\" 'low:42'",
    "BEGIN 739 final=0/1536A78",
    "RELATION 16401 public.lookup Default *code:25/-1 label:25/-1",
    "INSERT 16401 ('A', 'alpha')",
    "MESSAGE transactional=true 0/15369F8 \"supra_sync.watermark\" 'high:ñ'",
    "INSERT 16401 ('B', NULL)",
    "COMMIT 0/1536A78 end=0/1536AA8",
    "BEGIN 740 final=0/1537630",
    "RELATION 16401 public.lookup Default *code:25/-1 label:25/-1",
    "TRUNCATE [16401] cascade=false restart=false",
    "COMMIT 0/1537630 end=0/15377A0",
    "BEGIN 741 final=0/15385C0",
    "RELATION 16398 public.contrato Full *cntid:20/-1 *cntprsid:23/-1 *cntsaldo:1700/786438",
    "TYPE 16385 public.mood",
    "RELATION 16391 public.persona Default *prsid:23/-1 prsnombre:25/-1 prsnif:1043/17 \
     prsmood:16385/-1 prsnotes:25/-1",
    "TRUNCATE [16398, 16391] cascade=true restart=true",
    "COMMIT 0/15385C0 end=0/1538768",
    "BEGIN 743 final=0/1538AC8",
    "ORIGIN supra_sync_legacy 0/ABCDEF01",
    "RELATION 16401 public.lookup Default *code:25/-1 label:25/-1",
    "INSERT 16401 ('O', 'from origin')",
    "COMMIT 0/1538AC8 end=0/1538B10",
];

#[test]
fn v1_text_stream_decodes_to_the_workload() {
    let messages = decode_all("pgoutput_v1.txt");
    let summaries: Vec<_> = messages.iter().map(summary).collect();
    assert_eq!(summaries, V1_EXPECTED);

    // The TOASTed value arrives whole on insert, and as `Unchanged` (not a value) on update.
    let LogicalMessage::Insert(insert) = &messages[6] else {
        panic!("not an insert")
    };
    let notes = insert
        .new
        .get(4)
        .and_then(ColumnValue::as_str)
        .unwrap()
        .unwrap();
    assert_eq!(notes.len(), 300 * 32);
    assert!(notes.starts_with("c4ca4238a0b923820dcc509a6f75849b")); // md5('1')
    assert!(notes.bytes().all(|b| b.is_ascii_hexdigit()));
    let LogicalMessage::Update(update) = &messages[9] else {
        panic!("not an update")
    };
    assert_eq!(update.new.get(4), Some(&ColumnValue::Unchanged));

    // pg_replication_origin_xact_setup('0/ABCDEF01', '2024-01-02 03:04:05.678901+00')
    let LogicalMessage::Begin(begin) = &messages[48] else {
        panic!("not a begin")
    };
    assert_eq!(begin.commit_ts.unix_micros(), 1_704_164_645_678_901);
    let LogicalMessage::Origin(origin) = &messages[49] else {
        panic!("not an origin")
    };
    assert_eq!(origin.commit_lsn, "0/ABCDEF01".parse().unwrap());
}

#[test]
fn captured_positions_match_the_slot() {
    for name in [
        "pgoutput_v1.txt",
        "pgoutput_v1_binary.txt",
        "pgoutput_v2_stream.txt",
    ] {
        let mut decoder = StreamDecoder::new();
        for c in load(name) {
            match decoder.decode(c.bytes).unwrap() {
                // The slot reports a commit at the end of the transaction, under its xid.
                LogicalMessage::Commit(commit) => assert_eq!(commit.end_lsn, c.lsn),
                LogicalMessage::StreamCommit(commit) => {
                    assert_eq!((commit.end_lsn, commit.xid), (c.lsn, c.xid));
                }
                LogicalMessage::Begin(begin) => assert_eq!(begin.xid, c.xid),
                LogicalMessage::StreamStart(start) => assert_eq!(start.xid, c.xid),
                _ => {}
            }
        }
    }
}

/// Relation id → column type OIDs, from the Relation messages seen so far.
type Schemas = HashMap<u32, Vec<u32>>;

fn tuples(m: &LogicalMessage) -> Vec<&TupleData> {
    match m {
        LogicalMessage::Insert(i) => vec![&i.new],
        LogicalMessage::Update(u) => u.old.iter().map(OldTuple::tuple).chain([&u.new]).collect(),
        LogicalMessage::Delete(d) => vec![d.old.tuple()],
        _ => vec![],
    }
}

#[test]
fn v1_binary_stream_matches_the_text_stream() {
    let text = decode_all("pgoutput_v1.txt");
    let binary = decode_all("pgoutput_v1_binary.txt");
    assert_eq!(text.len(), binary.len());
    let mut schemas = Schemas::new();
    let mut checked = 0;
    for (t, b) in text.iter().zip(&binary) {
        assert_eq!((t.tag(), t.relation_id()), (b.tag(), b.relation_id()));
        if let LogicalMessage::Relation(r) = b {
            schemas.insert(r.id, r.columns.iter().map(|c| c.type_oid).collect());
        }
        let Some(types) = b.relation_id().and_then(|id| schemas.get(&id)) else {
            continue;
        };
        for (tt, bt) in tuples(t).into_iter().zip(tuples(b)) {
            for ((tv, bv), oid) in tt.iter().zip(bt).zip(types) {
                let (ColumnValue::Text(tv), ColumnValue::Binary(bv)) = (tv, bv) else {
                    assert_eq!(tv, bv, "NULL and unchanged are the same in both formats");
                    continue;
                };
                let shown = match oid {
                    20 => i64::from_be_bytes(bv[..].try_into().unwrap()).to_string(),
                    23 => i32::from_be_bytes(bv[..].try_into().unwrap()).to_string(),
                    1700 => continue, // numeric's binary form is base-10000 digits
                    _ => String::from_utf8(bv.to_vec()).unwrap(), // text, varchar, enum
                };
                assert_eq!(shown.as_bytes(), &tv[..]);
                checked += 1;
            }
        }
    }
    // int4/int8 keys and values, text, varchar and enum columns of every row image.
    assert_eq!(checked, 32);
}

#[test]
fn v2_streamed_transactions() {
    let messages = decode_all("pgoutput_v2_stream.txt");
    let mut inserts_by_xid = BTreeMap::<Option<u32>, usize>::new();
    let mut others = Vec::new();
    for m in &messages {
        match m {
            LogicalMessage::Insert(i) if i.new.get(1) == Some(&ColumnValue::Null) => {
                *inserts_by_xid.entry(i.xid).or_default() += 1;
            }
            other => others.push(summary(other)),
        }
    }
    let rel = "RELATION 16422 public.big Default *id:23/-1 payload:25/-1";
    let expected = [
        "BEGIN 746 final=0/15421E8".to_string(),
        rel.into(),
        "INSERT 16422 ('0', 'small')".into(),
        "COMMIT 0/15421E8 end=0/1542218".into(),
        "STREAM START 747 first=true".into(),
        format!("[747] {rel}"),
        "STREAM STOP".into(),
        "STREAM START 747 first=false".into(),
        "STREAM STOP".into(),
        // ROLLBACK TO SAVEPOINT: only the subtransaction aborts.
        "STREAM ABORT 747 sub=748".into(),
        "STREAM START 747 first=false".into(),
        "[747] MESSAGE transactional=true 0/156E9B8 \"stream\" 'inside'".into(),
        // After the rollback, changes come from a new subtransaction with its own xid.
        format!("[749] {rel}"),
        "[749] INSERT 16422 ('2000', 'last')".into(),
        "STREAM STOP".into(),
        "STREAM COMMIT 747 0/156EA38 end=0/156EA70".into(),
        "STREAM START 750 first=true".into(),
        format!("[750] {rel}"),
        "STREAM STOP".into(),
        "STREAM ABORT 750 sub=750".into(),
        // The relation was already sent outside a stream in this session.
        "BEGIN 751 final=0/1585018".into(),
        "INSERT 16422 ('4000', 'after')".into(),
        "COMMIT 0/1585018 end=0/1585048".into(),
    ];
    assert_eq!(others, expected);
    // Rows 1..=700 of the top-level transaction, those of the aborted subtransaction that were
    // streamed before it aborted, and those of the aborted transaction streamed before it aborted.
    let counts: Vec<_> = inserts_by_xid.into_iter().collect();
    assert_eq!(
        counts,
        [(Some(747), 700), (Some(748), 294), (Some(750), 497)]
    );
}
