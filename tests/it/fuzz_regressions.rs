//! Replays the inputs kept in `fuzz/regressions/<target>/` through the same
//! entry points the cargo-fuzz targets call, so a crash found by fuzzing
//! and fixed stays fixed on stable Rust, in every `cargo test`.

use std::path::Path;
use std::sync::Arc;

use fgf_core::tagger::Tagger;
use fgf_grpc::fuzzing::{self, ServiceHarness};

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new("fuzz/regressions").join(target);
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
        .collect()
}

fn tagger() -> Tagger {
    Tagger::load(Path::new("models/fgf.model")).unwrap()
}

#[test]
fn tag_text_regressions_pass() {
    let tagger = tagger();
    let inputs = inputs("tag_text");
    assert!(!inputs.is_empty());
    for (name, data) in inputs {
        eprintln!("{name}");
        fuzzing::tag_text(&tagger, &data);
    }
}

#[test]
fn service_request_regressions_pass() {
    let harness = ServiceHarness::new(Arc::new(tagger()));
    let inputs = inputs("service_request");
    assert!(!inputs.is_empty());
    for (name, data) in inputs {
        eprintln!("{name}");
        fuzzing::service_request(&harness, &data);
    }
}

#[test]
fn extract_regressions_pass() {
    let inputs = inputs("extract");
    assert!(!inputs.is_empty());
    for (name, data) in inputs {
        eprintln!("{name}");
        fgf_extract::fuzzing::extract(&data);
    }
}

#[test]
fn pdf_regressions_pass() {
    let inputs = inputs("pdf");
    assert!(!inputs.is_empty());
    for (name, data) in inputs {
        eprintln!("{name}");
        fgf_extract::fuzzing::pdf(&data);
    }
}
