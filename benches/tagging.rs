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
//! Each of those stages runs on the same document again and again, so the
//! parts of jieba's dictionary, the vocabulary and the weights that
//! document needs stay in the nearest caches. A server sees a different
//! document every time. Group `stream` measures that case: jieba `cut`
//! alone and the whole tag over 200 distinct 10 KB documents, the same
//! ones `fgf bench` sends (`fgf bench --write-docs`). Cutting is about
//! three times slower there than in `stage/jieba_cut`.
//!
//! And extraction next to the tagging of what it extracts (group
//! `extract`): a 1 MB HTML page in the manner of a government site
//! (navigation, a table, paragraphs, a footer) and a 50-page PDF laid out
//! as an exported report ([`fgf_extract::sample_pdf`]).
//!
//! Run with `cargo bench --bench tagging` (`-- extract` for extraction
//! only). The benches use the `fgf` binary's allocator, which puts
//! jieba's dictionary trie on huge pages ([`fgf_grpc::huge_pages`]).

use std::hint::black_box;
use std::path::Path;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use fgf_core::spans::{self, LineMode};
use fgf_core::tagger::{TagOptions, Tagger};
use fgf_core::taxonomy::Taxonomy;
use fgf_train::corpus::Corpus;

#[global_allocator]
static ALLOCATOR: fgf_grpc::huge_pages::HugePageAllocator = fgf_grpc::huge_pages::HugePageAllocator;

/// The training paragraphs, in corpus order.
fn training_paragraphs() -> Vec<String> {
    let taxonomy = Taxonomy::load(Path::new("models/taxonomy.toml")).unwrap();
    let corpus = Corpus::load(Path::new("models/corpus"), &taxonomy).unwrap();
    corpus.train.into_iter().map(|s| s.text).collect()
}

/// Documents of about 1 KB, 10 KB and 100 KB, from training paragraphs
/// taken in a fixed order.
fn documents() -> Vec<(usize, String)> {
    let paragraphs = training_paragraphs();
    let mut texts = paragraphs.iter().cycle().step_by(7);
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

fn stream(c: &mut Criterion) {
    let tagger = Tagger::load(Path::new("models/fgf.model")).unwrap();
    let docs: Vec<String> =
        fgf_tagger::loadgen::make_documents(&training_paragraphs(), 10_000, 200)
            .into_iter()
            .map(|r| r.text)
            .collect();
    let bytes: usize = docs.iter().map(String::len).sum();
    let mut group = c.benchmark_group("stream");
    group.throughput(Throughput::Bytes(bytes as u64));
    group.sample_size(10);
    group.bench_function("jieba_cut/200x10KB", |b| {
        b.iter(|| {
            let mut n = 0;
            for doc in &docs {
                n += tagger.tokenizer().jieba().cut(doc, true).len();
            }
            black_box(n)
        })
    });
    group.bench_function("tag/200x10KB", |b| {
        b.iter(|| {
            let mut n = 0;
            for doc in &docs {
                n += tagger.tag(doc, &TagOptions::default()).spans.len();
            }
            black_box(n)
        })
    });
    group.finish();
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

/// A government-site page of about `size` bytes: the site's navigation,
/// then article paragraphs with a table every 20, then the footer.
fn html_page(size: usize) -> String {
    let mut page = String::from(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>政务公开</title>\
         <style>.nav{color:#333}</style><script>var _hm=[];</script></head><body>\
         <div class=\"nav\"><ul><li><a href=\"/\">首页</a></li><li><a href=\"/zwgk\">政务公开</a></li>\
         <li><a href=\"/bs\">办事服务</a></li></ul></div><div class=\"crumb\">首页 &gt; 政务公开</div>\
         <div class=\"article\">",
    );
    let (_, doc) = documents().pop().unwrap();
    for (i, p) in doc.lines().cycle().enumerate() {
        if page.len() >= size {
            break;
        }
        page.push_str("<p style=\"text-indent:2em\">");
        page.push_str(p);
        page.push_str("</p>\n");
        if i % 20 == 19 {
            page.push_str("<table><tr><td>事项</td><td>时限</td></tr><tr><td>企业开办</td><td>1个工作日</td></tr></table>\n");
        }
    }
    page.push_str("</div><div class=\"foot\">版权所有：某市人民政府办公室 网站标识码0000000000</div></body></html>");
    page
}

/// A PDF of `pages` pages: training paragraphs at 28 chars a line and 22
/// lines a page, with running header and page numbers.
fn pdf(pages: usize) -> Vec<u8> {
    let (_, doc) = documents().pop().unwrap();
    let mut paragraphs = Vec::new();
    let mut chars = 0;
    for p in doc.lines().cycle() {
        if chars >= pages * 22 * 28 {
            break;
        }
        chars += p.chars().count().div_ceil(28) * 28;
        paragraphs.push(p.to_string());
    }
    let mut pdf = fgf_extract::sample_pdf::SamplePdf::new(paragraphs);
    pdf.header = Some("某市人民政府工作报告".into());
    pdf.to_bytes()
}

fn extraction(c: &mut Criterion) {
    let tagger = Tagger::load(Path::new("models/fgf.model")).unwrap();
    let mut group = c.benchmark_group("extract");
    let page = html_page(1_000_000);
    let page_text = fgf_extract::html_to_text(&page);
    group.throughput(Throughput::Bytes(page.len() as u64));
    group.bench_with_input(BenchmarkId::new("html_to_text", "1MB"), &page, |b, page| {
        b.iter(|| black_box(fgf_extract::html_to_text(page).len()))
    });
    group.bench_with_input(
        BenchmarkId::new("tag_its_text", "1MB_html"),
        &page_text,
        |b, text| b.iter(|| black_box(tagger.tag(text, &TagOptions::default()).spans.len())),
    );
    let file = pdf(50);
    let text = fgf_extract::pdf::pdf_to_text(&file).unwrap();
    assert!(text.matches('\u{c}').count() >= 49, "50 pages");
    group.throughput(Throughput::Bytes(file.len() as u64));
    group.bench_with_input(
        BenchmarkId::new("pdf_to_text", "50pages"),
        &file,
        |b, file| b.iter(|| black_box(fgf_extract::pdf::pdf_to_text(file).unwrap().len())),
    );
    group.bench_with_input(
        BenchmarkId::new("tag_its_text", "50pages_pdf"),
        &text,
        |b, text| b.iter(|| black_box(tagger.tag(text, &TagOptions::default()).spans.len())),
    );
    group.finish();
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(3));
    targets = stages, stream, extraction
}
criterion_main!(benches);
