//! Arbitrary bytes as a PDF, and written over a sample PDF.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| fgf_extract::fuzzing::pdf(data));
