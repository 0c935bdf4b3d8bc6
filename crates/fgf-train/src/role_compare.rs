//! Rules or a learned model for paragraph roles? `fgf compare-roles`
//! answers with numbers.
//!
//! The service decides a paragraph's role with the role rules
//! ([`fgf_core::role`]) and, for a short line the rules do not call
//! boilerplate, the model's learned boilerplate check. This module fits the
//! alternative, a fully learned role classifier: one-vs-rest logistic
//! regression (heading, body, boilerplate; the strongest wins) on the label
//! model's term vector of the paragraph plus the layout features of
//! [`fgf_core::boilerplate::layout_features`], optionally with the rules' answer
//! as three more features (rules and model stacked). All are fitted on the
//! training split and scored on the frozen test split and on real documents
//! with gold lines ([`crate::eval_real`]), where each span keeps the
//! service's segmentation and only its role is replaced.

use std::collections::HashMap;
use std::path::PathBuf;

use anyhow::Result;

use crate::corpus::Sample;
use crate::eval_real::{GoldLine, PredictedSpan};
use crate::fit::fit_label;
use crate::sparse_linear::{Loss, SparseRows};
use fgf_core::boilerplate::{LAYOUT_FEATURES, layout_features};
use fgf_core::features::SparseVector;
use fgf_core::role::{self, Role};
use fgf_core::tagger::Tagger;

/// The roles in the order of the fitted classes.
const ROLES: [Role; 3] = [Role::Heading, Role::Body, Role::Boilerplate];

/// A learned role classifier over the label model's feature space.
pub struct LearnedRoles {
    /// Per class: weights over term features, layout features and (when
    /// `with_rules`) the rules' role as one-hot columns; then the intercept.
    classes: Vec<(Vec<f32>, f32)>,
    n_terms: usize,
    with_rules: bool,
}

impl LearnedRoles {
    /// Fits the classifier on `train` (L2 strength `alpha`).
    pub fn fit(tagger: &Tagger, train: &[Sample], with_rules: bool, alpha: f64) -> Result<Self> {
        let n_terms = tagger.model().features.len();
        let rows: Vec<SparseVector> = train
            .iter()
            .map(|s| row(tagger, n_terms, with_rules, &s.text))
            .collect();
        let x = SparseRows {
            rows: &rows,
            n_features: n_terms + LAYOUT_FEATURES + ROLES.len(),
        };
        let classes = ROLES
            .iter()
            .map(|&r| {
                let y: Vec<bool> = train.iter().map(|s| s.role == r).collect();
                fit_label(Loss::Logistic, alpha, 300, x, &y)
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            classes,
            n_terms,
            with_rules,
        })
    }

    /// The role of one paragraph.
    pub fn role(&self, tagger: &Tagger, text: &str) -> Role {
        let r = row(tagger, self.n_terms, self.with_rules, text);
        let margin = |(w, b): &(Vec<f32>, f32)| -> f32 {
            b + r.iter().map(|&(j, x)| w[j as usize] * x).sum::<f32>()
        };
        let best = self
            .classes
            .iter()
            .map(margin)
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map_or(1, |(i, _)| i);
        ROLES[best]
    }
}

/// Term vector, then layout features, then (optionally) the rules' role.
fn row(tagger: &Tagger, n_terms: usize, with_rules: bool, text: &str) -> SparseVector {
    let text = text.trim();
    let mut v = tagger.model().vectorize(tagger.tokenizer(), text);
    for (k, x) in layout_features(text).into_iter().enumerate() {
        if x != 0.0 {
            v.push(((n_terms + k) as u32, x));
        }
    }
    if with_rules {
        let rules = role::classify(text);
        let k = ROLES.iter().position(|&r| r == rules).unwrap_or(1);
        v.push(((n_terms + LAYOUT_FEATURES + k) as u32, 1.0));
    }
    v
}

/// A way of deciding a paragraph's role (`None`: the service's own).
type RoleDecider<'a> = Box<dyn Fn(&str) -> Option<Role> + 'a>;

/// One way of deciding roles, scored.
pub struct RoleScores {
    pub name: &'static str,
    pub test_accuracy: f64,
    /// Per real gold set: (role accuracy, boilerplate gold lines labeled,
    /// boilerplate gold lines).
    pub real: Vec<(f64, usize, usize)>,
}

/// A real document set with gold lines.
pub struct RealSet {
    pub docs: PathBuf,
    pub gold: Vec<GoldLine>,
}

/// Scores the service's roles and the learned alternatives.
pub fn compare(
    tagger: &Tagger,
    train: &[Sample],
    test: &[Sample],
    real: &[RealSet],
    alpha: f64,
) -> Result<Vec<RoleScores>> {
    let learned = LearnedRoles::fit(tagger, train, false, alpha)?;
    let stacked = LearnedRoles::fit(tagger, train, true, alpha)?;
    let deciders: [(&'static str, RoleDecider<'_>); 3] = [
        (
            "rules + learned boilerplate check (the service)",
            Box::new(|_: &str| None),
        ),
        (
            "learned: terms + layout",
            Box::new(|t: &str| Some(learned.role(tagger, t))),
        ),
        (
            "learned: terms + layout + the rules' role",
            Box::new(|t: &str| Some(stacked.role(tagger, t))),
        ),
    ];
    let mut out = Vec::new();
    for (name, decide) in deciders {
        let right = test
            .iter()
            .filter(|s| decide(&s.text).unwrap_or_else(|| tagger.role_of(&s.text)) == s.role)
            .count();
        let mut scores = RoleScores {
            name,
            test_accuracy: right as f64 / test.len().max(1) as f64,
            real: Vec::new(),
        };
        for set in real {
            let mut predicted = HashMap::new();
            let mut texts = HashMap::new();
            for name in set.gold.iter().map(|g| g.doc.as_str()) {
                if predicted.contains_key(name) {
                    continue;
                }
                let Ok(text) = std::fs::read_to_string(set.docs.join(name)) else {
                    continue;
                };
                let spans = crate::eval_real::predict(tagger, &text)
                    .into_iter()
                    .map(|span| with_role(&text, span, &decide))
                    .collect();
                predicted.insert(name.to_string(), spans);
                texts.insert(name.to_string(), text);
            }
            let s = crate::eval_real::score(&set.gold, &predicted, &texts);
            scores.real.push((
                s.role_accuracy(),
                s.boilerplate_labeled,
                s.boilerplate_lines,
            ));
        }
        out.push(scores);
    }
    Ok(out)
}

/// `span` with the role `decide` gives its text (labels dropped when that
/// is boilerplate); unchanged when `decide` gives none.
fn with_role(
    text: &str,
    mut span: PredictedSpan,
    decide: &dyn Fn(&str) -> Option<Role>,
) -> PredictedSpan {
    let chars: String = text
        .chars()
        .skip(span.char_start)
        .take(span.char_end - span.char_start)
        .collect();
    if let Some(role) = decide(&chars) {
        span.role = role.as_str().to_string();
        if role == Role::Boilerplate {
            span.pillars.clear();
            span.themes.clear();
        }
    }
    span
}

/// The comparison as a text table.
pub fn report(scores: &[RoleScores], real_names: &[String]) -> String {
    let mut out = format!("{:<50} {:>13}", "role decided by", "test split");
    for n in real_names {
        out.push_str(&format!(" {:>22}", n));
    }
    out.push('\n');
    for s in scores {
        out.push_str(&format!("{:<50} {:>13.3}", s.name, s.test_accuracy));
        for (acc, bp, lines) in &s.real {
            out.push_str(&format!(" {:>9.3} (bp {:>2}/{:<4})", acc, bp, lines));
        }
        out.push('\n');
    }
    out.push_str("(role accuracy; bp: boilerplate gold lines that got a label / all boilerplate gold lines)\n");
    out
}
