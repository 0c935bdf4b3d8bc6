//! Tagging a document: spans, roles and labels, with no gRPC in sight.
//!
//! [`Tagger`] owns a loaded [`Model`] and its [`Tokenizer`]; it is immutable
//! and shared by every request. The service layer only converts what
//! [`Tagger::tag`] returns into protobuf messages.

use std::path::Path;

use anyhow::Result;

use crate::model::Model;
use crate::role::{self, Role};
use crate::segment::{self, TextSpan};
use crate::tokenize::Tokenizer;

/// How to tag one document.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct TagOptions {
    /// Also split paragraphs into labeled sentence spans.
    pub sentences: bool,
    /// One threshold for every label instead of the model's per-label ones.
    pub threshold: Option<f32>,
}

/// A label column of the model's taxonomy and its score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LabelHit {
    /// Column in `Taxonomy::labels()` order.
    pub index: usize,
    pub score: f32,
}

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

    /// Labels of one piece of text, whatever its role.
    pub fn labels(&self, text: &str, threshold: Option<f32>) -> Vec<LabelHit> {
        let v = self.model.vectorize(&self.tokenizer, text);
        let scores = self.model.scores(&v);
        self.model
            .decide(&scores, threshold)
            .into_iter()
            .map(|(index, score)| LabelHit { index, score })
            .collect()
    }

    /// Labels as the service would give a text on its own line: nothing when
    /// the role rules call it boilerplate. Used for evaluation.
    pub fn predict(&self, text: &str) -> Vec<LabelHit> {
        match role::classify(text.trim()) {
            Role::Boilerplate => Vec::new(),
            _ => self.labels(text, None),
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
        let spans: Vec<TaggedSpan> = segment::paragraphs(text)
            .into_iter()
            .map(|para| {
                let para_text = para.slice(text);
                let role = role::classify(para_text);
                let labels = self.labels_for(para_text, role, options);
                let sentences = if options.sentences {
                    segment::sentences(text, para)
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
            self.labels(text, options.threshold)
        }
    }
}
