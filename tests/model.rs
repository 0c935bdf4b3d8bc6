//! The committed model: fresh, good enough, and reproducible from the corpus.

use fgf_tagger::model::Model;
use fgf_tagger::tagger::Tagger;
use fgf_tagger::train::{self, ModelsDir};

fn committed() -> (ModelsDir, Tagger) {
    let dir = ModelsDir::new("models");
    let tagger = Tagger::load(&dir.model()).expect("models/fgf.model loads");
    (dir, tagger)
}

#[test]
fn committed_model_was_trained_on_the_committed_corpus() {
    let (dir, tagger) = committed();
    let (_, dictionary, corpus) = train::load_inputs(&dir).unwrap();
    let model = tagger.model();
    assert_eq!(
        model.corpus_fingerprint, corpus.fingerprint,
        "models/corpus changed since models/fgf.model was trained: run `cargo run --release -- train`"
    );
    assert_eq!(
        model.dictionary, dictionary,
        "domain_dict.txt changed: retrain"
    );
    assert_eq!(model.train_samples, corpus.train.len());
    assert_eq!(model.test_samples, corpus.test.len());
}

#[test]
fn frozen_test_split_scores_clear_the_floors() {
    let (dir, tagger) = committed();
    let (_, _, corpus) = train::load_inputs(&dir).unwrap();
    let e = train::evaluate(&tagger, &corpus.test);
    // Floors that catch a broken model; the targets are in the report.
    assert!(e.pillar_micro.f1 >= 0.85, "{}", e.to_table());
    assert!(e.theme_micro.f1 >= 0.70, "{}", e.to_table());
    assert!(e.theme_macro.f1 >= 0.60, "{}", e.to_table());
    assert_eq!(e.boilerplate_labeled, 0, "{}", e.to_table());
    assert!(e.role_accuracy >= 0.85, "{}", e.to_table());
    // And they are the scores the model file and the report claim.
    assert_eq!(Some(&e), tagger.model().test.as_ref());
    let report = std::fs::read_to_string(dir.report()).unwrap();
    assert!(
        report.contains(&e.to_table()),
        "models/test_report.txt is stale"
    );
}

#[test]
fn training_again_reproduces_the_committed_model() {
    // Training is deterministic on one machine; across CPUs, SIMD kernels may
    // sum floats in another order, so allow for tiny drift rather than
    // demanding identical bits.
    let (dir, tagger) = committed();
    let committed: &Model = tagger.model();
    let params = committed.params.check().unwrap();
    let fresh = train::train(&dir, &params).unwrap().model;
    assert_eq!(fresh.features.vocabulary, committed.features.vocabulary);
    for (a, b) in fresh.thresholds.iter().zip(&committed.thresholds) {
        assert!(
            (a - b).abs() <= 0.051,
            "thresholds {a} vs {b}: retrain and commit"
        );
    }
    let max_diff = fresh
        .weights
        .iter()
        .zip(&committed.weights)
        .map(|(a, b)| (a - b).abs())
        .fold(0.0f32, f32::max);
    assert!(
        max_diff < 0.05,
        "weights differ by {max_diff}: retrain and commit"
    );
    let (f, c) = (fresh.test.unwrap(), committed.test.clone().unwrap());
    for (name, a, b) in [
        ("pillar micro F1", f.pillar_micro.f1, c.pillar_micro.f1),
        ("theme micro F1", f.theme_micro.f1, c.theme_micro.f1),
        ("theme macro F1", f.theme_macro.f1, c.theme_macro.f1),
    ] {
        assert!(
            (a - b).abs() <= 0.01,
            "{name}: retrained {a:.4}, committed {b:.4}"
        );
    }
}
