//! Tagging a document: spans, roles and labels, with no gRPC in sight.
//!
//! [`Tagger`] owns a loaded [`Model`] and its [`Tokenizer`]; it is immutable
//! and shared by every request. The service layer only converts what
//! [`Tagger::tag`] returns into protobuf messages.

use std::ops::Range;
use std::path::Path;

use anyhow::Result;

use crate::features::SparseVector;
use crate::model::{Evidence, Model};
use crate::role::{self, Role};
use crate::spans::{self, LineMode, TextSpan};
use crate::tokenize::{Tokenizer, Words};

/// How to tag one document.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TagOptions {
    /// Also split paragraphs into labeled sentence spans.
    pub sentences: bool,
    /// One threshold for every label instead of the model's per-label ones.
    pub threshold: Option<f32>,
    /// Rejoin hard-wrapped lines into paragraphs, or keep one per line.
    pub line_mode: LineMode,
    /// Return evidence terms with every label.
    pub evidence: bool,
}

/// A label column of the model's taxonomy, its score and, when asked for,
/// the terms that raised it.
#[derive(Debug, Clone, PartialEq)]
pub struct LabelHit {
    /// Column in `Taxonomy::labels()` order.
    pub index: usize,
    pub score: f32,
    /// Strongest terms first; byte ranges (of exactly each term's
    /// characters) relative to the labeled text.
    pub evidence: Vec<Evidence>,
}

/// Evidence terms returned per label when asked for.
pub const EVIDENCE_TERMS: usize = 3;

/// Paragraphs at least this long (chars) are also scored sentence by
/// sentence: a theme one sentence of twenty reports is diluted in the
/// whole paragraph's vector but plain in the sentence's.
pub const SENTENCE_SCORING_MIN_CHARS: usize = 120;

/// A sentence raises a theme only with at least this score: single
/// sentences are short and noisy, so only a sentence that is clearly about
/// a theme adds it to its paragraph.
pub const SENTENCE_MIN_SCORE: f32 = 0.95;

/// A paragraph or sentence with its role and labels.
#[derive(Debug, Clone, PartialEq)]
pub struct TaggedSpan {
    pub span: TextSpan,
    pub role: Role,
    /// Labels at or above threshold, in taxonomy order. Empty for boilerplate.
    pub labels: Vec<LabelHit>,
    /// Sentence spans, when asked for.
    pub sentences: Vec<TaggedSpan>,
}

/// How much body text each label covers.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub paragraphs: usize,
    /// Chars in body paragraphs.
    pub body_chars: usize,
    /// Body chars carrying each label column.
    pub label_chars: Vec<usize>,
}

/// The result of tagging one document.
#[derive(Debug, Clone, PartialEq)]
pub struct TaggedDocument {
    pub spans: Vec<TaggedSpan>,
    pub summary: Summary,
}

/// A loaded model, ready to tag.
#[derive(Debug)]
pub struct Tagger {
    model: Model,
    tokenizer: Tokenizer,
}

impl Tagger {
    /// Builds the tokenizer from the model's own domain dictionary.
    pub fn new(model: Model) -> Self {
        let tokenizer = Tokenizer::new(&model.dictionary);
        Self { model, tokenizer }
    }

    /// Loads a model file.
    pub fn load(path: &Path) -> Result<Self> {
        Ok(Self::new(Model::load(path)?))
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Gives the model back, dropping the tokenizer.
    pub fn into_model(self) -> Model {
        self.model
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Labels of one piece of text, whatever its role. A long text is also
    /// scored sentence by sentence, and each theme keeps the best of its
    /// whole-text and sentence scores (then pillars follow their themes, as
    /// in [`Model::decide`]).
    pub fn labels(&self, text: &str, threshold: Option<f32>, evidence: bool) -> Vec<LabelHit> {
        self.role_and_labels(text, None, threshold, evidence).1
    }

    /// The role and labels of a paragraph the role rules call `rules`
    /// (`None`: label it whatever it is). The words are cut once: a short
    /// line the rules do not call boilerplate goes through the learned
    /// check ([`Self::is_furniture`]) on the same vector its labels use.
    fn role_and_labels(
        &self,
        text: &str,
        rules: Option<Role>,
        threshold: Option<f32>,
        evidence: bool,
    ) -> (Option<Role>, Vec<LabelHit>) {
        if rules == Some(Role::Boilerplate) {
            return (rules, Vec::new());
        }
        let words = self.tokenizer.feature_words(text);
        let words = words.all();
        let space = &self.model.features;
        // Terms are found once; the whole text and each sentence take theirs.
        let terms = space.find_terms(words);
        // Sentences as ranges of `words`, when the text is long enough to
        // be scored sentence by sentence too.
        let sentences = sentence_word_ranges(text, words);
        let vectors = space.vectors_with_sentences(&terms, &sentences);
        if rules.is_some() && self.is_furniture(text, &vectors.whole) {
            return (Some(Role::Boilerplate), Vec::new());
        }
        let (mut scores, sentence_scores) = self.model.scores_with_sentences(&vectors);
        // Which sentence (index into `sentences`) gave each label its score.
        let mut from: Vec<Option<usize>> = vec![None; scores.len()];
        let pillars = self.model.taxonomy.pillars.len();
        for (i, ss) in sentence_scores.iter().enumerate() {
            for j in pillars..scores.len() {
                if ss[j] > scores[j] && ss[j] >= SENTENCE_MIN_SCORE {
                    scores[j] = ss[j];
                    from[j] = Some(i);
                }
            }
        }
        let hits = self.model.decide(&scores, threshold);
        let evidence_of = |j: usize| -> Vec<Evidence> {
            match from[j] {
                Some(i) => self.model.evidence(
                    text,
                    words.slice(sentences[i].clone()),
                    &vectors.sentence(i),
                    j,
                    EVIDENCE_TERMS,
                ),
                None => self
                    .model
                    .evidence(text, words, &vectors.whole, j, EVIDENCE_TERMS),
            }
        };
        let taxonomy = &self.model.taxonomy;
        let hits = hits
            .iter()
            .map(|&(index, score)| {
                let evidence = if !evidence {
                    Vec::new()
                } else if taxonomy.is_pillar(index) {
                    // A pillar's evidence is its best theme's.
                    hits.iter()
                        .filter(|&&(j, _)| {
                            !taxonomy.is_pillar(j) && taxonomy.pillar_index(j) == index
                        })
                        .max_by(|a, b| a.1.total_cmp(&b.1))
                        .map(|&(j, _)| evidence_of(j))
                        .unwrap_or_default()
                } else {
                    evidence_of(index)
                };
                LabelHit {
                    index,
                    score,
                    evidence,
                }
            })
            .collect();
        (rules, hits)
    }

    /// The role of a paragraph: the role rules, then, for a short line they
    /// do not call boilerplate, the model's learned boilerplate check
    /// ([`crate::boilerplate`]).
    pub fn role_of(&self, text: &str) -> Role {
        let text = text.trim();
        let rules = role::classify(text);
        if rules != Role::Boilerplate
            && self.model.boilerplate.is_some()
            && self.is_furniture(text, &self.model.vectorize(&self.tokenizer, text))
        {
            Role::Boilerplate
        } else {
            rules
        }
    }

    /// The learned boilerplate check of a line (vectorised as `v`): true
    /// for a short, unnumbered line whose boilerplate probability reaches the
    /// model's threshold; never for other lines or a model without the check.
    fn is_furniture(&self, text: &str, v: &SparseVector) -> bool {
        let text = text.trim();
        match &self.model.boilerplate {
            Some(check) if crate::boilerplate::is_candidate(text) => {
                check.probability(text, v) >= check.threshold
            }
            _ => false,
        }
    }

    /// Labels as the service would give a text on its own line: nothing when
    /// it is boilerplate. Used for evaluation.
    pub fn predict(&self, text: &str) -> Vec<LabelHit> {
        match self.role_of(text) {
            Role::Boilerplate => Vec::new(),
            _ => self.labels(text, None, false),
        }
    }

    /// Splits, classifies and labels a document.
    pub fn tag(&self, text: &str, options: &TagOptions) -> TaggedDocument {
        let n_labels = self.model.taxonomy.len();
        let mut summary = Summary {
            paragraphs: 0,
            body_chars: 0,
            label_chars: vec![0; n_labels],
        };
        let paragraphs = spans::paragraphs_with(text, options.line_mode);
        let repeated = repeated_short_lines(text, &paragraphs);
        let spans: Vec<TaggedSpan> = paragraphs
            .into_iter()
            .map(|para| {
                let para_text = para.slice(text);
                let rules = if repeated.contains(para_text) {
                    Role::Boilerplate
                } else {
                    role::classify(para_text.trim())
                };
                let (role, labels) = self.role_and_labels(
                    para_text,
                    Some(rules),
                    options.threshold,
                    options.evidence,
                );
                let role = role.unwrap_or(rules);
                let sentences = if options.sentences {
                    spans::sentences(text, para)
                        .into_iter()
                        .map(|s| TaggedSpan {
                            span: s,
                            role,
                            labels: self.labels_for(s.slice(text), role, options),
                            sentences: Vec::new(),
                        })
                        .collect()
                } else {
                    Vec::new()
                };
                if role == Role::Body {
                    summary.body_chars += para.char_len();
                    for hit in &labels {
                        summary.label_chars[hit.index] += para.char_len();
                    }
                }
                TaggedSpan {
                    span: para,
                    role,
                    labels,
                    sentences,
                }
            })
            .collect();
        summary.paragraphs = spans.len();
        TaggedDocument { spans, summary }
    }

    fn labels_for(&self, text: &str, role: Role, options: &TagOptions) -> Vec<LabelHit> {
        if role == Role::Boilerplate {
            Vec::new()
        } else {
            self.labels(text, options.threshold, options.evidence)
        }
    }
}

/// The sentences of `text` as ranges of its `words`, when it is scored
/// sentence by sentence too: at least [`SENTENCE_SCORING_MIN_CHARS`]
/// long and split into two sentences or more (a sentence without words
/// is left out). Empty otherwise.
fn sentence_word_ranges(text: &str, words: Words<'_>) -> Vec<Range<usize>> {
    let n_chars = text.chars().count();
    if n_chars < SENTENCE_SCORING_MIN_CHARS {
        return Vec::new();
    }
    let span = TextSpan {
        start: 0,
        end: text.len(),
        char_start: 0,
        char_end: n_chars,
    };
    let sentences = spans::sentences(text, span);
    if sentences.len() < 2 {
        return Vec::new();
    }
    let at = words.as_slice();
    sentences
        .iter()
        .filter_map(|s| {
            // Words are in text order: a sentence's words are a run.
            let first = at.partition_point(|w| w.start < s.start);
            let last = at.partition_point(|w| w.end <= s.end);
            (first < last).then_some(first..last)
        })
        .collect()
}

/// Running headers and footers: short paragraphs repeated at page breaks.
///
/// A short line that occurs more than once is page furniture when one of
/// its occurrences sits next to a page number or a form feed, or when it
/// comes back at least three times with 8 or more paragraphs between
/// every two occurrences (a header every page of an export without page
/// numbers). Other repeats keep their role and labels: a page that shows a
/// news title in its header and again above the article, or a plan that
/// names a task twice, is not furniture.
fn repeated_short_lines<'a>(text: &'a str, paragraphs: &[TextSpan]) -> RepeatedLines<'a> {
    let mut short: Vec<(&str, usize)> = paragraphs
        .iter()
        .enumerate()
        .filter(|(_, p)| p.char_len() <= spans::SHORT_LINE_CHARS)
        .map(|(i, p)| (p.slice(text), i))
        .collect();
    short.sort_unstable();
    let at_page_break = |i: usize| {
        let neighbour_is_number = |j: Option<usize>| {
            j.and_then(|j| paragraphs.get(j))
                .is_some_and(|p| spans::is_page_number_line(p.slice(text).trim()))
        };
        let gap_before = i.checked_sub(1).map_or(&text[..paragraphs[i].start], |j| {
            &text[paragraphs[j].end..paragraphs[i].start]
        });
        let gap_after = paragraphs
            .get(i + 1)
            .map_or(&text[paragraphs[i].end..], |n| {
                &text[paragraphs[i].end..n.start]
            });
        neighbour_is_number(i.checked_sub(1))
            || neighbour_is_number(Some(i + 1))
            || gap_before.contains('\u{c}')
            || gap_after.contains('\u{c}')
    };
    RepeatedLines(
        short
            .chunk_by(|a, b| a.0 == b.0)
            .filter(|run| {
                run.len() >= 2
                    && (run.iter().any(|&(_, i)| at_page_break(i))
                        || (run.len() >= 3 && run.windows(2).all(|w| w[1].1 - w[0].1 >= 8)))
            })
            .map(|run| run[0].0)
            .collect(),
    )
}

/// The repeated short lines of a document, sorted (a document has few; a
/// binary search beats hashing every paragraph).
struct RepeatedLines<'a>(Vec<&'a str>);

impl RepeatedLines<'_> {
    fn contains(&self, line: &str) -> bool {
        self.0.binary_search(&line).is_ok()
    }
}
