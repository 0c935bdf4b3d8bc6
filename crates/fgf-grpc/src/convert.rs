//! Domain types to protobuf: a [`TaggedDocument`] becomes a
//! `pb::TagResponse` (spans with byte and char offsets, roles, label scores,
//! evidence), a model becomes `pb::ModelInfo`. Used by the service, by
//! `fgf tag --local` and by the fuzz harness, so all answer alike.

use fgf_core::features::TermKind;
use fgf_core::role::Role;
use fgf_core::spans::TextSpan;
use fgf_core::tagger::{LabelHit, TaggedDocument, TaggedSpan, Tagger};

use crate::limits::Limits;
use crate::pb;

fn role_to_pb(role: Role) -> pb::Role {
    match role {
        Role::Heading => pb::Role::Heading,
        Role::Body => pb::Role::Body,
        Role::Boilerplate => pb::Role::Boilerplate,
    }
}

fn label_scores(
    tagger: &Tagger,
    text: &str,
    span: &TextSpan,
    hits: &[LabelHit],
    pillars: bool,
) -> Vec<pb::LabelScore> {
    let taxonomy = &tagger.model().taxonomy;
    let span_text = span.slice(text);
    let mut out: Vec<pb::LabelScore> = hits
        .iter()
        .filter(|h| taxonomy.is_pillar(h.index) == pillars)
        .map(|h| {
            let label = taxonomy.label(h.index);
            pb::LabelScore {
                code: label.code.clone(),
                name: label.name.clone(),
                score: h.score,
                evidence: h
                    .evidence
                    .iter()
                    .map(|e| {
                        let char_start = span.char_start + span_text[..e.start].chars().count();
                        pb::Evidence {
                            term: e.term.clone(),
                            weight: e.weight,
                            start: (span.start + e.start) as u32,
                            end: (span.start + e.end) as u32,
                            char_start: char_start as u32,
                            char_end: (char_start + span_text[e.start..e.end].chars().count())
                                as u32,
                            kind: evidence_kind(e.kind) as i32,
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out
}

fn evidence_kind(kind: TermKind) -> pb::EvidenceKind {
    match kind {
        TermKind::Word => pb::EvidenceKind::Word,
        TermKind::Dict => pb::EvidenceKind::Dictionary,
        TermKind::WordPair => pb::EvidenceKind::WordPair,
        TermKind::CharPair => pb::EvidenceKind::CharPair,
    }
}

fn to_span(tagger: &Tagger, text: &str, s: &TaggedSpan, omit_text: bool) -> pb::Span {
    let TextSpan {
        start,
        end,
        char_start,
        char_end,
    } = s.span;
    pb::Span {
        start: start as u32,
        end: end as u32,
        char_start: char_start as u32,
        char_end: char_end as u32,
        text: if omit_text {
            String::new()
        } else {
            text[start..end].to_string()
        },
        role: role_to_pb(s.role) as i32,
        pillars: label_scores(tagger, text, &s.span, &s.labels, true),
        themes: label_scores(tagger, text, &s.span, &s.labels, false),
        sentences: s
            .sentences
            .iter()
            .map(|c| to_span(tagger, text, c, omit_text))
            .collect(),
    }
}

/// Builds a TagResponse from a tagged document.
pub fn to_response(
    tagger: &Tagger,
    id: String,
    text: &str,
    doc: &TaggedDocument,
) -> pb::TagResponse {
    to_response_with(tagger, id, text, doc, false)
}

/// As [`to_response`]; with `omit_text`, spans carry offsets but no text.
pub fn to_response_with(
    tagger: &Tagger,
    id: String,
    text: &str,
    doc: &TaggedDocument,
    omit_text: bool,
) -> pb::TagResponse {
    let taxonomy = &tagger.model().taxonomy;
    let summary = &doc.summary;
    let share = |index: usize| {
        let label = taxonomy.label(index);
        let chars = summary.label_chars[index];
        pb::LabelShare {
            code: label.code.clone(),
            name: label.name.clone(),
            chars: chars as u32,
            share: if summary.body_chars == 0 {
                0.0
            } else {
                chars as f32 / summary.body_chars as f32
            },
        }
    };
    let mut pillars: Vec<pb::LabelShare> = (0..taxonomy.len())
        .filter(|&j| taxonomy.is_pillar(j) && summary.label_chars[j] > 0)
        .map(share)
        .collect();
    let mut themes: Vec<pb::LabelShare> = (0..taxonomy.len())
        .filter(|&j| !taxonomy.is_pillar(j) && summary.label_chars[j] > 0)
        .map(share)
        .collect();
    pillars.sort_by_key(|s| std::cmp::Reverse(s.chars));
    themes.sort_by_key(|s| std::cmp::Reverse(s.chars));
    pb::TagResponse {
        id,
        spans: doc
            .spans
            .iter()
            .map(|s| to_span(tagger, text, s, omit_text))
            .collect(),
        model_version: tagger.model().version.clone(),
        summary: Some(pb::DocumentSummary {
            paragraphs: summary.paragraphs as u32,
            body_chars: summary.body_chars as u32,
            pillars,
            themes,
        }),
        error: None,
        // Set by the service when the request sent content.
        text: String::new(),
    }
}

fn metrics_to_pb(s: &fgf_core::evaluation::Scores) -> pb::LabelMetrics {
    pb::LabelMetrics {
        precision: s.precision as f32,
        recall: s.recall as f32,
        f1: s.f1 as f32,
        support: s.support as u32,
    }
}

/// Describes the loaded model.
pub fn model_info(tagger: &Tagger, limits: &Limits) -> pb::ModelInfo {
    let model = tagger.model();
    let taxonomy = &model.taxonomy;
    let test = model.test.as_ref();
    let labels = taxonomy
        .labels()
        .enumerate()
        .map(|(j, label)| pb::LabelInfo {
            code: label.code.clone(),
            name: label.name.clone(),
            description: label.description.clone(),
            pillar: if taxonomy.is_pillar(j) {
                String::new()
            } else {
                taxonomy.label(taxonomy.pillar_index(j)).code.clone()
            },
            threshold: model.thresholds[j],
            train_support: model.train_support[j] as u32,
            test: test.and_then(|e| e.label(&label.code)).map(metrics_to_pb),
            cross_validation: model
                .cv
                .as_ref()
                .and_then(|e| e.label(&label.code))
                .map(metrics_to_pb),
        })
        .collect();
    pb::ModelInfo {
        version: model.version.clone(),
        trained_at: model.trained_at.clone(),
        train_samples: model.train_samples as u32,
        test_samples: model.test_samples as u32,
        labels,
        vocabulary_size: model.features.len() as u32,
        dictionary_terms: model.dictionary.len() as u32,
        pillar_micro: test.map(|e| metrics_to_pb(&e.pillar_micro)),
        theme_micro: test.map(|e| metrics_to_pb(&e.theme_micro)),
        theme_macro: test.map(|e| metrics_to_pb(&e.theme_macro)),
        max_doc_bytes: u32::try_from(limits.max_doc_bytes).unwrap_or(u32::MAX),
        corpus_fingerprint: model.corpus_fingerprint.clone(),
    }
}
