//! Arbitrary protobuf bytes into the gRPC service handlers.
#![no_main]

use std::sync::{Arc, OnceLock};

use fgf_grpc::fuzzing::ServiceHarness;
use fgf_core::tagger::Tagger;
use libfuzzer_sys::fuzz_target;

fn harness() -> &'static ServiceHarness {
    static HARNESS: OnceLock<ServiceHarness> = OnceLock::new();
    HARNESS.get_or_init(|| {
        let tagger =
            Tagger::load(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/fgf.model").as_ref())
                .expect("load models/fgf.model");
        ServiceHarness::new(Arc::new(tagger))
    })
}

fuzz_target!(|data: &[u8]| fgf_grpc::fuzzing::service_request(harness(), data));
