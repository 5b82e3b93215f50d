//! Integration tests of the pgoutput decoder, in one binary:
//!
//! * `messages`: hand-written bytes for every message kind;
//! * `malformed`: hand-written malformed messages and the errors they give;
//! * `captured`: streams captured from a real PostgreSQL 15 (`tests/data/`);
//! * `no_panic`: property tests feeding random and mutated messages to the decoder;
//! * `roundtrip`: property tests encoding arbitrary messages and decoding them back.

mod captured;
mod malformed;
mod messages;
mod no_panic;
mod roundtrip;

/// Concatenates hand-written byte fragments into one message.
pub fn cat(parts: &[&[u8]]) -> Vec<u8> {
    parts.concat()
}

/// Asserts that every strict prefix of `bytes` fails to decode (and does not panic).
pub fn assert_truncations_fail(bytes: &[u8], streaming: bool) {
    let options = supra_sync_pgoutput::DecodeOptions { streaming };
    for len in 0..bytes.len() {
        let result = supra_sync_pgoutput::decode_with(&bytes[..len], options);
        assert!(
            result.is_err(),
            "prefix of {len} of {} bytes decoded: {result:?}",
            bytes.len()
        );
    }
}
