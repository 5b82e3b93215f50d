//! Malformed messages: each is a specific error, never a panic or a huge allocation.

use supra_sync_pgoutput::{DecodeError, decode};

use crate::cat;

const LSN_A: &[u8] = &[0, 0, 0, 0, 0x01, 0x53, 0x3a, 0x48]; // 0/1533A48
const REL: &[u8] = &[0, 0, 0x40, 0x07]; // relation 16391
const XID: &[u8] = &[0, 0, 0x02, 0xda]; // 730

fn err(bytes: &[u8]) -> DecodeError {
    decode(bytes).expect_err("decoded malformed bytes")
}

#[test]
fn malformed_messages_are_errors() {
    assert_eq!(err(b""), DecodeError::Empty);
    assert_eq!(err(b"Z"), DecodeError::UnknownTag(b'Z'));
    assert_eq!(err(b"b"), DecodeError::UnknownTag(b'b'));
    let unexpected = |bytes: &[u8]| match err(bytes) {
        DecodeError::UnexpectedByte {
            field,
            offset,
            found,
        } => (field, offset, found),
        other => panic!("{other:?}"),
    };
    assert_eq!(
        unexpected(&cat(&[b"I", REL, b"K", &[0, 0]])),
        ("insert tuple marker", 5, b'K')
    );
    assert_eq!(unexpected(&cat(&[b"U", REL, b"X"])).2, b'X');
    assert_eq!(
        unexpected(&cat(&[b"U", REL, b"K", &[0, 0], b"K", &[0, 0]])).0,
        "update new tuple marker"
    );
    assert_eq!(
        unexpected(&cat(&[b"D", REL, b"N", &[0, 0]])).0,
        "delete tuple marker"
    );
    assert_eq!(
        unexpected(&cat(&[b"I", REL, b"N", &[0, 1], b"x"])),
        ("tuple column kind", 8, b'x')
    );
    assert_eq!(
        unexpected(&cat(&[b"R", REL, b"s\0t\0", b"x", &[0, 0]])).0,
        "replica identity"
    );
    assert_eq!(
        unexpected(&cat(&[b"M", &[2], LSN_A, b"p\0", &[0, 0, 0, 0]])).0,
        "message flags"
    );
    assert_eq!(unexpected(&cat(&[b"S", XID, &[7]])).0, "first segment flag");

    assert_eq!(
        err(&cat(&[b"E", b"x"])),
        DecodeError::TrailingBytes {
            message: "Stream Stop",
            count: 1
        }
    );
    assert_eq!(
        err(&cat(&[b"I", REL, b"N", &[0, 0], b"junk"])),
        DecodeError::TrailingBytes {
            message: "Insert",
            count: 4
        }
    );
    assert!(matches!(
        err(&cat(&[b"I", REL, b"N", &[0xff, 0xff]])),
        DecodeError::NegativeLength { value: -1, .. }
    ));
    assert!(matches!(
        err(&cat(&[b"M", &[1], LSN_A, b"p\0", &[0x80, 0, 0, 0]])),
        DecodeError::NegativeLength {
            value: i32::MIN,
            ..
        }
    ));
    assert!(matches!(
        err(&cat(&[b"R", REL, &[0xc3, 0x28, 0], b"t\0d", &[0, 0]])),
        DecodeError::InvalidUtf8 {
            field: "relation namespace",
            offset: 5
        }
    ));
    assert!(matches!(
        err(&cat(&[b"O", LSN_A, b"no terminator"])),
        DecodeError::UnterminatedString {
            field: "origin name",
            offset: 9
        }
    ));
}

#[test]
fn huge_counts_and_lengths_do_not_allocate_or_panic() {
    assert!(matches!(
        err(&cat(&[b"I", REL, b"N", &[0x7f, 0xff], b"n"])),
        DecodeError::UnexpectedEof {
            field: "tuple column kind",
            ..
        }
    ));
    assert!(matches!(
        err(&cat(&[
            b"I",
            REL,
            b"N",
            &[0, 1],
            b"t",
            &[0x7f, 0xff, 0xff, 0xff],
            b"abc"
        ])),
        DecodeError::UnexpectedEof {
            needed: 0x7fff_ffff,
            available: 3,
            ..
        }
    ));
    assert!(matches!(
        err(&cat(&[b"T", &[0x7f, 0xff, 0xff, 0xff], &[0], REL])),
        DecodeError::UnexpectedEof {
            field: "truncate relation ids",
            ..
        }
    ));
    assert!(matches!(
        err(&cat(&[b"R", REL, b"s\0t\0d", &[0x7f, 0xff]])),
        DecodeError::UnexpectedEof {
            field: "column flags",
            ..
        }
    ));
    assert!(matches!(
        err(&cat(&[
            b"M",
            &[1],
            LSN_A,
            b"p\0",
            &[0x7f, 0xff, 0xff, 0xff]
        ])),
        DecodeError::UnexpectedEof {
            field: "message content",
            ..
        }
    ));
}
