//! Fuzzes `decode`: it must never panic, and whatever it accepts must be canonical
//! (re-encoding the decoded message gives back the input bytes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use supra_sync_pgoutput::encode::encode;
use supra_sync_pgoutput::{DecodeOptions, decode_with};

fuzz_target!(|data: &[u8]| {
    for streaming in [false, true] {
        if let Ok(message) = decode_with(data, DecodeOptions { streaming }) {
            assert_eq!(encode(&message), data, "not canonical: {message:?}");
        }
    }
});
