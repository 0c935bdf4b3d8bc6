//! The model file and scoring: one linear model per pillar and per theme
//! over TF-IDF features (a linear SVM or logistic regression, see
//! [`Loss`]), each margin calibrated into a probability, per-label
//! thresholds, and the evidence behind a label.
//!
//! [`TrainParams`] holds the hyperparameters behind a checked builder
//! ([`ValidTrainParams`]); they live here because the model file records
//! them. Fitting is `fgf_train::fit::fit`, which returns a [`Model`]; the
//! model serialises with serde. Weights are stored feature-major, so that
//! scoring is a sparse dot product over the few features a paragraph has.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};

use crate::evaluation::Evaluation;
use crate::features::{FeatureParams, FeatureSpace, SentenceVectors, SparseVector, TermKind};
use crate::prefetch::{each_hinted_ahead, prefetch_slice};
use crate::taxonomy::Taxonomy;
use crate::tokenize::{DomainDictionary, Tokenizer, Words};

/// The loss each label's linear model is fitted with (summed over samples;
/// `y` is +1 or -1, `z` the margin). Recorded in the model file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Loss {
    /// `log(1 + exp(-y z))`: logistic regression.
    #[default]
    Logistic,
    /// `max(0, 1 - y z)^2`: a linear SVM (scikit-learn's `LinearSVC` with
    /// `C = 1 / alpha`). Its margins are not probabilities: calibrate them.
    SquaredHinge,
}

/// Version of the model file layout; bumped on incompatible changes.
pub const MODEL_FORMAT: u32 = 2;

/// Hyperparameters of training.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct TrainParams {
    pub features: FeatureParams,
    /// Logistic regression or a linear SVM per label (scores are calibrated
    /// either way). Model files written before the choice existed used
    /// logistic regression.
    #[serde(default)]
    pub loss: Loss,
    /// L2 strength of the learned boilerplate check (always logistic).
    #[serde(default = "default_boilerplate_alpha")]
    pub boilerplate_alpha: f64,
    pub alpha: f64,
    pub max_iterations: u64,
    pub threshold_folds: usize,
    pub default_threshold: f32,
    /// After a first fit on the whole vocabulary, keep only this many terms,
    /// those with the largest weight for some label, and fit again
    /// (0: keep every term). Fewer terms per text make tagging cheaper.
    #[serde(default)]
    pub selected_features: usize,
}

impl Default for TrainParams {
    fn default() -> Self {
        Self {
            features: FeatureParams::default(),
            loss: Loss::SquaredHinge,
            boilerplate_alpha: default_boilerplate_alpha(),
            alpha: 0.3,
            max_iterations: 150,
            threshold_folds: 5,
            default_threshold: 0.5,
            selected_features: 0,
        }
    }
}

fn default_boilerplate_alpha() -> f64 {
    0.003
}

impl TrainParams {
    /// How terms are built.
    pub fn feature_params(&self) -> FeatureParams {
        self.features
    }

    /// The defaults the committed model is trained with.
    pub fn new() -> Self {
        Self::default()
    }

    /// Feature extraction settings.
    pub fn features(mut self, features: FeatureParams) -> Self {
        self.features = features;
        self
    }

    /// L2 strength of the learned boilerplate check.
    pub fn boilerplate_alpha(mut self, alpha: f64) -> Self {
        self.boilerplate_alpha = alpha;
        self
    }

    /// The loss of each label's linear model.
    pub fn loss(mut self, loss: Loss) -> Self {
        self.loss = loss;
        self
    }

    /// L2 regularisation strength of each label's linear model (linfa's
    /// `alpha`, applied to the summed loss; a linear SVM's `C` is `1/alpha`).
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// L-BFGS iteration cap per label.
    pub fn max_iterations(mut self, n: u64) -> Self {
        self.max_iterations = n;
        self
    }

    /// Folds of the cross-validation that tunes per-label thresholds on the
    /// training split; 0 keeps `default_threshold` for every label.
    pub fn threshold_folds(mut self, folds: usize) -> Self {
        self.threshold_folds = folds;
        self
    }

    /// Keep only the `n` terms with the largest weight after a first fit,
    /// then fit again on them (0: keep the whole vocabulary).
    pub fn selected_features(mut self, n: usize) -> Self {
        self.selected_features = n;
        self
    }

    /// Threshold used for labels that are not tuned.
    pub fn default_threshold(mut self, t: f32) -> Self {
        self.default_threshold = t;
        self
    }

    /// Checks every setting.
    pub fn check(self) -> Result<ValidTrainParams> {
        self.features.check()?;
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            bail!("alpha must be a positive number, got {}", self.alpha);
        }
        if !(self.boilerplate_alpha.is_finite() && self.boilerplate_alpha > 0.0) {
            bail!(
                "boilerplate_alpha must be a positive number, got {}",
                self.boilerplate_alpha
            );
        }
        if self.max_iterations == 0 {
            bail!("max_iterations must be at least 1");
        }
        if self.threshold_folds == 1 {
            bail!("threshold_folds must be 0 (off) or at least 2");
        }
        if !(self.default_threshold > 0.0 && self.default_threshold < 1.0) {
            bail!("default_threshold must be in (0, 1)");
        }
        Ok(ValidTrainParams(self))
    }
}

/// Checked [`TrainParams`] (fitted by `fgf_train::fit::fit`).
#[derive(Debug, Clone, Copy)]
pub struct ValidTrainParams(TrainParams);

impl ValidTrainParams {
    pub fn params(&self) -> &TrainParams {
        &self.0
    }
}

/// A fitted model: everything the server needs, in one file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Model {
    pub format: u32,
    /// `fgf-<date>-<corpus hash prefix>`.
    pub version: String,
    /// RFC 3339 UTC.
    pub trained_at: String,
    pub corpus_fingerprint: String,
    pub train_samples: usize,
    pub test_samples: usize,
    pub params: TrainParams,
    pub taxonomy: Taxonomy,
    pub dictionary: DomainDictionary,
    pub features: FeatureSpace,
    /// `features.len() x labels` weights, feature-major.
    pub weights: Vec<f32>,
    /// One intercept per label (pillars then themes).
    pub intercepts: Vec<f32>,
    /// Calibration of each label's margin into a probability.
    pub calibration: Vec<Calibration>,
    /// Default decision threshold per label (on calibrated probabilities).
    pub thresholds: Vec<f32>,
    /// Positive training samples per label.
    pub train_support: Vec<usize>,
    /// Scores on the frozen test split (filled in by `fgf train`).
    pub test: Option<Evaluation>,
    /// k-fold cross-validated scores on the training split, from the same
    /// out-of-fold scores that calibrate the model (thresholds cross-fitted:
    /// each fold's are tuned on the other folds).
    #[serde(default)]
    pub cv: Option<Evaluation>,
    /// The learned boilerplate check of short lines (absent in models
    /// trained before it existed: then the role rules alone decide).
    #[serde(default)]
    pub boilerplate: Option<crate::boilerplate::BoilerplateModel>,
}

/// A term that raised a label's score, and where its characters are.
#[derive(Debug, Clone, PartialEq)]
pub struct Evidence {
    pub term: String,
    /// Word, dictionary hit, word pair or character pair.
    pub kind: TermKind,
    /// Contribution to the label's log-odds.
    pub weight: f32,
    /// Byte range in the text the words were cut from of exactly the
    /// characters that made the term (see [`crate::features::TermPlace::range`]).
    pub start: usize,
    pub end: usize,
}

/// The logistic function.
pub fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}

/// Platt scaling of one label: `p = sigmoid(slope * margin + offset)`.
///
/// The one-vs-rest regressions are fitted with L2 on rare labels, so their
/// raw probabilities run low; a one-feature logistic regression on
/// out-of-fold margins maps them to probabilities that match how often the
/// label is really there.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Calibration {
    pub slope: f32,
    pub offset: f32,
}

impl Calibration {
    /// Leaves margins as they are.
    pub const IDENTITY: Self = Self {
        slope: 1.0,
        offset: 0.0,
    };

    /// The calibrated probability of a margin.
    pub fn probability(&self, margin: f32) -> f32 {
        sigmoid(self.slope * margin + self.offset)
    }
}

impl Model {
    /// Reads and checks a model file.
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read model file {}", path.display()))?;
        let model: Model = serde_json::from_slice(&bytes)
            .with_context(|| format!("model file {} is not a valid fgf model", path.display()))?;
        model
            .check()
            .with_context(|| format!("model file {} is inconsistent", path.display()))?;
        Ok(model)
    }

    /// Writes the model as JSON.
    pub fn save(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec(self)?;
        std::fs::write(path, json).with_context(|| format!("writing {}", path.display()))
    }

    /// Shapes agree with each other and with the taxonomy.
    pub fn check(&self) -> Result<()> {
        if self.format != MODEL_FORMAT {
            bail!(
                "model format {} but this build reads format {MODEL_FORMAT}; retrain with `fgf train`",
                self.format
            );
        }
        self.taxonomy.check()?;
        let n = self.taxonomy.len();
        let d = self.features.len();
        if self.weights.len() != n * d
            || self.intercepts.len() != n
            || self.thresholds.len() != n
            || self.calibration.len() != n
            || self.train_support.len() != n
        {
            bail!("weight, intercept or threshold counts do not match {n} labels x {d} features");
        }
        if self.features.vocabulary.len() != d
            || self.features.vocabulary.values().any(|&i| i as usize >= d)
        {
            bail!("vocabulary does not match the IDF table");
        }
        if !self.features.hashes_are_unique() {
            bail!("two vocabulary terms share a hash; retrain with `fgf train`");
        }
        if self
            .weights
            .iter()
            .chain(&self.intercepts)
            .any(|w| !w.is_finite())
        {
            bail!("non-finite weights");
        }
        Ok(())
    }

    /// Calibrated label probabilities (pillars then themes) of a feature vector.
    pub fn scores(&self, v: &SparseVector) -> Vec<f32> {
        let row = self.weight_rows();
        let mut z = self.intercepts.clone();
        each_hinted_ahead(
            v,
            ROW_HINT_AHEAD,
            |&(f, _)| prefetch_slice(row(f)),
            |&(f, x)| add_scaled(&mut z, row(f), x),
        );
        self.calibrated(&z)
    }

    /// The scores of a text and of each of its sentences: the same as
    /// [`Self::scores`] of `v.whole` and of each `v.sentence(s)`, but each
    /// weight row is read once, for the text and every sentence that has
    /// its feature. Every sum still runs in feature order, so the scores
    /// are the same to the bit.
    pub fn scores_with_sentences(&self, v: &SentenceVectors) -> (Vec<f32>, Vec<Vec<f32>>) {
        let n = self.intercepts.len();
        let row = self.weight_rows();
        let mut z = self.intercepts.clone();
        let mut z_sentences: Vec<f32> = self.intercepts.repeat(v.sentences);
        let mut entries = v.entries.iter().peekable();
        each_hinted_ahead(
            &v.whole,
            ROW_HINT_AHEAD,
            |&(f, _)| prefetch_slice(row(f)),
            |&(f, x)| {
                let r = row(f);
                add_scaled(&mut z, r, x);
                while let Some(&(_, s, y)) = entries.next_if(|e| e.0 == f) {
                    let s = s as usize;
                    add_scaled(&mut z_sentences[s * n..(s + 1) * n], r, y);
                }
            },
        );
        debug_assert!(
            entries.next().is_none(),
            "a sentence feature not in the whole text"
        );
        let sentences = if n == 0 {
            vec![Vec::new(); v.sentences]
        } else {
            z_sentences.chunks(n).map(|z| self.calibrated(z)).collect()
        };
        (self.calibrated(&z), sentences)
    }

    /// Feature `f`'s weights, one per label, as `row(f)` (the label count
    /// read once, outside the loops that call it).
    fn weight_rows<'a>(&'a self) -> impl Fn(u32) -> &'a [f32] + Copy + 'a {
        let (n, weights) = (self.intercepts.len(), self.weights.as_slice());
        move |f| &weights[f as usize * n..(f as usize + 1) * n]
    }

    /// The calibrated probabilities of margins `z`, one per label.
    fn calibrated(&self, z: &[f32]) -> Vec<f32> {
        z.iter()
            .zip(&self.calibration)
            .map(|(&z, c)| c.probability(z))
            .collect()
    }

    /// The feature vector of a text.
    pub fn vectorize(&self, tokenizer: &Tokenizer, text: &str) -> SparseVector {
        self.features
            .transform_words(tokenizer.feature_words(text).all())
    }

    /// The `k` terms of `words` (vectorised as `v`) that add most to label
    /// `label`'s log-odds, strongest first, each with the byte range of its
    /// first occurrence in `text`, the text `words` were cut from.
    pub fn evidence(
        &self,
        text: &str,
        words: Words<'_>,
        v: &SparseVector,
        label: usize,
        k: usize,
    ) -> Vec<Evidence> {
        let n = self.intercepts.len();
        let mut contributions: Vec<(u32, f32)> = v
            .iter()
            .map(|&(f, x)| (f, self.weights[f as usize * n + label] * x))
            .filter(|&(_, c)| c > 0.0)
            .collect();
        contributions.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        contributions.truncate(k);
        let mut found: Vec<Option<Evidence>> = vec![None; contributions.len()];
        self.features
            .params
            .each_located_term(words, |term, kind, place| {
                if let Some(&f) = self.features.vocabulary.get(&term)
                    && let Some(i) = contributions.iter().position(|&(g, _)| g == f)
                    && found[i].is_none()
                {
                    let (start, end) = place.range(text, words);
                    found[i] = Some(Evidence {
                        term,
                        kind,
                        weight: contributions[i].1,
                        start,
                        end,
                    });
                }
            });
        found.into_iter().flatten().collect()
    }

    /// Chooses labels from scores. Themes at or above their threshold are
    /// returned, each with its pillar, scored as the larger of the pillar's
    /// own probability and its best theme's. A pillar is also returned alone
    /// when its own probability reaches its threshold: text about a pillar
    /// in general ("（一）深化简政放权", "加强事中事后监管") names no theme's
    /// measure, and the corpus labels such text with the pillar only.
    /// `threshold` overrides the per-label defaults when given. Returns
    /// `(label column, score)` pairs in taxonomy order.
    pub fn decide(&self, scores: &[f32], threshold: Option<f32>) -> Vec<(usize, f32)> {
        let t = &self.taxonomy;
        let thr = |j: usize| threshold.unwrap_or(self.thresholds[j]);
        let mut pillar_score: Vec<Option<f32>> = (0..t.pillars.len())
            .map(|p| (scores[p] >= thr(p)).then_some(scores[p]))
            .collect();
        let mut out = Vec::new();
        for j in t.pillars.len()..t.len() {
            if scores[j] >= thr(j) {
                let p = t.pillar_index(j);
                let s = pillar_score[p].get_or_insert(scores[p]);
                *s = s.max(scores[j]);
                out.push((j, scores[j]));
            }
        }
        for (p, s) in pillar_score.into_iter().enumerate() {
            if let Some(s) = s {
                out.push((p, s));
            }
        }
        out.sort_by_key(|&(j, _)| j);
        out
    }
}

/// How many features ahead of its turn a weight row is hinted. The rows of
/// a vector's features lie anywhere in a matrix bigger than the caches, so
/// hinting lets their loads overlap (about 9% of a tag's time, with 16
/// ahead; 4 and 8 gained less, 32 and 64 no more).
const ROW_HINT_AHEAD: usize = 16;

/// `acc[k] += row[k] * x` for every label `k`, eight lanes at a time so
/// that the compiler can use vector instructions (each sum is still added
/// in the same order, so scores do not change).
#[inline(always)]
fn add_scaled(acc: &mut [f32], row: &[f32], x: f32) {
    debug_assert_eq!(acc.len(), row.len());
    let (acc8, acc_rest) = acc.as_chunks_mut::<8>();
    let (row8, row_rest) = row.as_chunks::<8>();
    for (a, r) in acc8.iter_mut().zip(row8) {
        *a = std::array::from_fn(|k| a[k] + r[k] * x);
    }
    // The rest (6 of 22 labels) four lanes at a time too, then one by one.
    let (acc4, acc_rest) = acc_rest.as_chunks_mut::<4>();
    let (row4, row_rest) = row_rest.as_chunks::<4>();
    for (a, r) in acc4.iter_mut().zip(row4) {
        *a = std::array::from_fn(|k| a[k] + r[k] * x);
    }
    for (a, &r) in acc_rest.iter_mut().zip(row_rest) {
        *a += r * x;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_scaled_matches_the_plain_loop() {
        for n in [0, 1, 7, 8, 9, 17, 22] {
            let row: Vec<f32> = (0..n).map(|k| k as f32 * 0.37 - 2.0).collect();
            let mut acc: Vec<f32> = (0..n).map(|k| 1.0 / (k as f32 + 1.0)).collect();
            let mut want = acc.clone();
            for (a, &r) in want.iter_mut().zip(&row) {
                *a += r * 0.61;
            }
            add_scaled(&mut acc, &row, 0.61);
            assert_eq!(acc, want, "n = {n}");
        }
    }

    #[test]
    fn params_are_checked() {
        assert!(TrainParams::new().check().is_ok());
        assert!(TrainParams::new().alpha(0.0).check().is_err());
        assert!(TrainParams::new().alpha(f64::NAN).check().is_err());
        assert!(TrainParams::new().max_iterations(0).check().is_err());
        assert!(TrainParams::new().threshold_folds(1).check().is_err());
        assert!(TrainParams::new().default_threshold(1.5).check().is_err());
    }
}
