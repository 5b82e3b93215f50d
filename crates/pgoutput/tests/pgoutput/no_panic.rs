//! The decoder never panics: random bytes, mutated real messages, and every truncation.
//!
//! Anything it accepts is canonical: re-encoding a decoded message gives back the input bytes.

use std::sync::OnceLock;

use bytes::Bytes;
use proptest::prelude::*;
use supra_sync_pgoutput::encode::encode;
use supra_sync_pgoutput::{DecodeOptions, decode_bytes_with, decode_with};

use crate::captured::load;

/// Every captured message, with whether it was inside a stream block.
fn corpus() -> &'static [(Vec<u8>, bool)] {
    static CORPUS: OnceLock<Vec<(Vec<u8>, bool)>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut all = Vec::new();
        for name in [
            "pgoutput_v1.txt",
            "pgoutput_v1_binary.txt",
            "pgoutput_v2_stream.txt",
        ] {
            let mut streaming = false;
            for c in load(name) {
                let tag = c.bytes.first().copied();
                if tag == Some(b'E') {
                    streaming = false;
                }
                all.push((c.bytes.to_vec(), streaming));
                if tag == Some(b'S') {
                    streaming = true;
                }
            }
        }
        all
    })
}

/// Decodes `bytes`; if that succeeds, checks that the message re-encodes to the same bytes.
fn check(bytes: &[u8], streaming: bool) {
    if let Ok(message) = decode_with(bytes, DecodeOptions { streaming }) {
        assert_eq!(encode(&message), bytes, "{message:?} is not canonical");
    }
}

#[derive(Debug, Clone)]
enum Mutation {
    Flip { at: usize, bits: u8 },
    Insert { at: usize, byte: u8 },
    Remove { at: usize, len: usize },
    Overwrite { at: usize, word: [u8; 4] },
    Truncate { at: usize },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    let extreme = prop::sample::select(vec![
        [0x7f, 0xff, 0xff, 0xff],
        [0xff, 0xff, 0xff, 0xff],
        [0x80, 0, 0, 0],
        [0, 0, 0, 0],
        [0, 0, 0, 1],
    ]);
    prop_oneof![
        (any::<usize>(), 1..=255u8).prop_map(|(at, bits)| Mutation::Flip { at, bits }),
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Insert { at, byte }),
        (any::<usize>(), 1..8usize).prop_map(|(at, len)| Mutation::Remove { at, len }),
        (any::<usize>(), extreme).prop_map(|(at, word)| Mutation::Overwrite { at, word }),
        any::<usize>().prop_map(|at| Mutation::Truncate { at }),
    ]
}

fn apply(bytes: &mut Vec<u8>, m: &Mutation) {
    let n = bytes.len();
    match *m {
        Mutation::Flip { at, bits } if n > 0 => bytes[at % n] ^= bits,
        Mutation::Insert { at, byte } => bytes.insert(at % (n + 1), byte),
        Mutation::Remove { at, len } if n > 0 => {
            let start = at % n;
            bytes.drain(start..(start + len).min(n));
        }
        Mutation::Overwrite { at, word } if n > 0 => {
            for (i, b) in word.into_iter().enumerate() {
                if let Some(slot) = bytes.get_mut(at % n + i) {
                    *slot = b;
                }
            }
        }
        Mutation::Truncate { at } => bytes.truncate(at % (n + 1)),
        _ => {}
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..128), s: bool) {
        check(&bytes, s);
    }

    #[test]
    fn random_bodies_after_a_valid_tag_never_panic(
        tag in prop::sample::select(b"BCORYIUDTMSEcA".to_vec()),
        body in prop::collection::vec(
            prop_oneof![any::<u8>(), prop::sample::select(b"NKOntub\0\x01".to_vec())],
            0..96,
        ),
        streaming: bool,
    ) {
        let mut bytes = vec![tag];
        bytes.extend(body);
        check(&bytes, streaming);
    }

    #[test]
    fn mutated_real_messages_never_panic(
        pick in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 1..4),
        flip_streaming: bool,
    ) {
        let (original, streaming) = pick.get(corpus());
        let mut bytes = original.clone();
        for m in &mutations {
            apply(&mut bytes, m);
        }
        check(&bytes, *streaming ^ flip_streaming);
    }
}

#[test]
fn every_truncation_of_every_captured_message_is_an_error() {
    for (bytes, streaming) in corpus() {
        let options = DecodeOptions {
            streaming: *streaming,
        };
        let bytes = Bytes::from(bytes.clone());
        assert!(decode_bytes_with(bytes.clone(), options).is_ok());
        for len in 0..bytes.len() {
            let prefix = bytes.slice(..len);
            assert!(
                decode_bytes_with(prefix, options).is_err(),
                "prefix {len} of {bytes:02x?}"
            );
        }
    }
}
