//! Arbitrary UTF-8 through splitting, tokenizing and tagging.
#![no_main]

use std::sync::OnceLock;

use fgf_core::tagger::Tagger;
use libfuzzer_sys::fuzz_target;

fn tagger() -> &'static Tagger {
    static TAGGER: OnceLock<Tagger> = OnceLock::new();
    TAGGER.get_or_init(|| {
        Tagger::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/fgf.model").as_ref())
            .expect("load models/fgf.model")
    })
}

fuzz_target!(|data: &[u8]| fgf_grpc::fuzzing::tag_text(tagger(), data));
