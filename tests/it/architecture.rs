//! The dependency rules of ARCHITECTURE.md, checked on `Cargo.lock`: the
//! engine crate has no server and no training in it, and the gRPC crate
//! never depends on training. (Cargo.lock lists a package's normal, build
//! and dev dependencies together, so a dev-dependency counts too.)

use std::collections::{BTreeMap, BTreeSet};

/// Package name -> names of the packages it depends on.
fn lock_graph() -> BTreeMap<String, Vec<String>> {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.lock"))
        .expect("read Cargo.lock");
    let mut graph: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for package in lock.split("[[package]]").skip(1) {
        let name = package
            .lines()
            .find_map(|l| l.strip_prefix("name = "))
            .map(|n| n.trim_matches('"').to_string())
            .expect("a package has a name");
        let deps = match package.split_once("dependencies = [") {
            Some((_, rest)) => rest
                .split(']')
                .next()
                .unwrap_or("")
                .split(',')
                .filter_map(|d| d.trim().trim_matches('"').split(' ').next())
                .filter(|d| !d.is_empty())
                .map(str::to_string)
                .collect(),
            None => Vec::new(),
        };
        graph.entry(name).or_default().extend(deps);
    }
    graph
}

/// Every package `root` depends on, directly or not.
fn closure(root: &str) -> BTreeSet<String> {
    let graph = lock_graph();
    assert!(graph.contains_key(root), "{root} is not in Cargo.lock");
    let mut seen = BTreeSet::new();
    let mut todo = vec![root.to_string()];
    while let Some(p) = todo.pop() {
        for d in graph.get(&p).into_iter().flatten() {
            if seen.insert(d.clone()) {
                todo.push(d.clone());
            }
        }
    }
    seen
}

#[test]
fn the_engine_crate_has_no_server_and_no_training_in_it() {
    let deps = closure("fgf-core");
    assert!(
        deps.contains("jieba-rs"),
        "the closure is read right: {deps:?}"
    );
    for forbidden in [
        "tokio",
        "tonic",
        "prost",
        "hyper",
        "linfa",
        "ndarray",
        "fgf-grpc",
        "fgf-train",
    ] {
        assert!(!deps.contains(forbidden), "fgf-core depends on {forbidden}");
    }
}

#[test]
fn the_extraction_crate_has_no_server_no_model_and_no_training() {
    let deps = closure("fgf-extract");
    assert!(deps.contains("encoding_rs"), "{deps:?}");
    for forbidden in [
        "tokio",
        "tonic",
        "prost",
        "linfa",
        "jieba-rs",
        "fgf-core",
        "fgf-grpc",
        "fgf-train",
    ] {
        assert!(
            !deps.contains(forbidden),
            "fgf-extract depends on {forbidden}"
        );
    }
}

#[test]
fn the_grpc_crate_never_depends_on_training() {
    let deps = closure("fgf-grpc");
    assert!(
        deps.contains("fgf-core") && deps.contains("tonic"),
        "{deps:?}"
    );
    for forbidden in ["fgf-train", "linfa", "linfa-logistic", "ndarray"] {
        assert!(!deps.contains(forbidden), "fgf-grpc depends on {forbidden}");
    }
}
