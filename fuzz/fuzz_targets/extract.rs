//! Arbitrary bytes through decoding and HTML extraction.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fgf_extract::fuzzing::extract(data));
