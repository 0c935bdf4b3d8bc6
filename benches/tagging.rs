//! Throughput of each stage of tagging, on generated documents of 1 KB,
//! 10 KB and 100 KB built from the training corpus (paragraphs joined with
//! newlines, the same documents for every stage):
//!
//! * `split`: paragraphs (with reconstruction) and their sentences;
//! * `jieba_cut`: jieba-rs `cut` alone on the whole text (the limit);
//! * `tokenize`: normalisation, jieba and offsets ([`Tokenizer::tokens`]);
//! * `features`: feature words, terms and TF-IDF vectors per paragraph;
//! * `scoring`: label probabilities of ready vectors;
//! * `tag`: the whole in-process tag of a document ([`Tagger::tag`]).
//!
//! Run with `cargo bench --bench tagging`.

use std::hint::black_box;
use std::path::Path;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fgf_core::spans::{self, LineMode};
use fgf_core::tagger::{TagOptions, Tagger};
use fgf_core::taxonomy::Taxonomy;
use fgf_train::corpus::Corpus;

/// Documents of about `size` bytes each, from training paragraphs taken in
/// a fixed order.
fn documents() -> Vec<(usize, String)> {
    let taxonomy = Taxonomy::load(Path::new("models/taxonomy.toml")).unwrap();
    let corpus = Corpus::load(Path::new("models/corpus"), &taxonomy).unwrap();
    let mut texts = corpus
        .train
        .iter()
        .map(|s| s.text.as_str())
        .cycle()
        .step_by(7);
    [1_000, 10_000, 100_000]
        .into_iter()
        .map(|size| {
            let mut doc = String::new();
            while doc.len() < size {
                doc.push_str(texts.next().unwrap());
                doc.push('\n');
            }
            (size, doc)
        })
        .collect()
}

fn stages(c: &mut Criterion) {
    let tagger = Tagger::load(Path::new("models/fgf.model")).unwrap();
    let model = tagger.model();
    let tokenizer = tagger.tokenizer();
    for (size, doc) in documents() {
        let label = format!("{}KB", size / 1000);
        let mut group = c.benchmark_group("stage");
        group.throughput(Throughput::Bytes(doc.len() as u64));
        group.bench_with_input(BenchmarkId::new("split", &label), &doc, |b, doc| {
            b.iter(|| {
                let mut n = 0;
                for p in spans::paragraphs_with(doc, LineMode::Reflow) {
                    n += spans::sentences(doc, p).len();
                }
                black_box(n)
            })
        });
        group.bench_with_input(BenchmarkId::new("jieba_cut", &label), &doc, |b, doc| {
            b.iter(|| black_box(tokenizer.jieba().cut(doc, true).len()))
        });
        group.bench_with_input(BenchmarkId::new("tokenize", &label), &doc, |b, doc| {
            b.iter(|| black_box(tokenizer.tokens(doc).len()))
        });
        let paragraphs: Vec<&str> = spans::paragraphs(&doc)
            .into_iter()
            .map(|p| p.slice(&doc))
            .collect();
        group.bench_with_input(
            BenchmarkId::new("features", &label),
            &paragraphs,
            |b, ps| {
                b.iter(|| {
                    let mut n = 0;
                    for p in ps {
                        n += model.vectorize(tokenizer, p).len();
                    }
                    black_box(n)
                })
            },
        );
        let vectors: Vec<_> = paragraphs
            .iter()
            .map(|p| model.vectorize(tokenizer, p))
            .collect();
        group.bench_with_input(BenchmarkId::new("scoring", &label), &vectors, |b, vs| {
            b.iter(|| {
                let mut sum = 0.0f32;
                for v in vs {
                    sum += model.scores(v)[0];
                }
                black_box(sum)
            })
        });
        group.bench_with_input(BenchmarkId::new("tag", &label), &doc, |b, doc| {
            b.iter(|| black_box(tagger.tag(doc, &TagOptions::default()).spans.len()))
        });
        group.finish();
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = stages
}
criterion_main!(benches);
