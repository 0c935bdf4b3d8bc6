//! Model selection: k-fold cross-validation of candidate approaches and
//! feature sets on the training split (`fgf compare`).
//!
//! Every candidate sees the same folds, builds its vocabulary on the fold's
//! training part only, and is scored the same way: per-label thresholds
//! are cross-fitted (for the samples of one fold they are tuned on the
//! out-of-fold scores of the other folds), then a pillar is returned when
//! one of its themes is, or alone when its own score passes its threshold,
//! as the service does. The frozen test split is not
//! touched here.

use std::time::Instant;

use anyhow::{Context, Result};
use linfa::traits::Fit;
use linfa::{DatasetBase, ParamGuard};

use fgf_core::evaluation::Evaluation;
use fgf_core::features::{FeatureParams, FeatureSpace, SparseVector};
use fgf_core::model::{TrainParams, sigmoid};

use crate::fit::{cross_fitted_evaluation, fit_all, margins};
use crate::folds::Fold;
use crate::naive_bayes::MultinomialNbParams;
use crate::sparse_linear::{Loss, SparseRows};
use fgf_core::taxonomy::Taxonomy;
use fgf_core::tokenize::FeatureWords;

/// A learning approach built from linfa estimators (`--approaches` names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Approach {
    /// One binary linear SVM (squared hinge, [`crate::sparse_linear`]) per
    /// label, margins turned into scores by a sigmoid (the service's model,
    /// which calibrates them by Platt scaling instead).
    #[value(name = "svm")]
    LinearSvmOneVsRest,
    /// One binary logistic regression ([`crate::sparse_linear`], the same
    /// objective as `linfa_logistic`) per label.
    #[value(name = "lr")]
    LogisticOneVsRest,
    /// One binary multinomial naive Bayes ([`crate::naive_bayes`], smoothing
    /// 0.1) per label; the probability of the label is the softmax of the
    /// two joint log-likelihoods, taken as `sigmoid(jll_yes - jll_no)` so it
    /// cannot overflow.
    #[value(name = "nb")]
    NaiveBayesOneVsRest,
    /// Logistic regression for the three pillars, then for each pillar a
    /// logistic regression per theme trained only on that pillar's samples;
    /// `P(theme) = P(pillar) * P(theme | pillar)`.
    #[value(name = "two-stage")]
    TwoStageLogistic,
}

impl Approach {
    pub fn all() -> [Approach; 4] {
        [
            Approach::LinearSvmOneVsRest,
            Approach::LogisticOneVsRest,
            Approach::NaiveBayesOneVsRest,
            Approach::TwoStageLogistic,
        ]
    }

    pub fn name(self) -> &'static str {
        match self {
            Approach::LinearSvmOneVsRest => "one-vs-rest linear SVM",
            Approach::LogisticOneVsRest => "one-vs-rest logistic regression",
            Approach::NaiveBayesOneVsRest => "one-vs-rest multinomial naive Bayes",
            Approach::TwoStageLogistic => "two-stage pillar-then-theme logistic",
        }
    }

    /// The L2 strength each approach is compared at unless `--alphas` is
    /// given: the best of each loss on cross-validation (see the issue-16
    /// sweep in `models/REPORT.md`). Naive Bayes has no `alpha` of this kind.
    pub fn default_alpha(self) -> Option<f64> {
        match self {
            Approach::LinearSvmOneVsRest => Some(0.3),
            Approach::LogisticOneVsRest | Approach::TwoStageLogistic => Some(0.003),
            Approach::NaiveBayesOneVsRest => None,
        }
    }
}

/// A named way of building terms.
#[derive(Debug, Clone, Copy)]
pub struct FeatureSet {
    pub name: &'static str,
    pub params: FeatureParams,
}

/// The feature sets compared: words; + word bigrams; + CJK char bigrams;
/// + domain-dictionary hits.
pub fn feature_sets(max_features: usize) -> Vec<FeatureSet> {
    let base = FeatureParams {
        word_bigrams: false,
        char_bigrams: false,
        dict_hits: false,
        min_df: 2,
        max_features,
    };
    vec![
        FeatureSet {
            name: "words",
            params: base,
        },
        FeatureSet {
            name: "words + word bigrams",
            params: FeatureParams {
                word_bigrams: true,
                ..base
            },
        },
        FeatureSet {
            name: "words + word bigrams + char bigrams",
            params: FeatureParams {
                word_bigrams: true,
                char_bigrams: true,
                ..base
            },
        },
        FeatureSet {
            name: "words + bigrams + char bigrams + dictionary hits",
            params: FeatureParams {
                word_bigrams: true,
                char_bigrams: true,
                dict_hits: true,
                ..base
            },
        },
    ]
}

/// Cross-validated scores of one candidate.
#[derive(Debug, Clone)]
pub struct CvResult {
    pub approach: Approach,
    pub features: &'static str,
    /// L2 strength (none for naive Bayes).
    pub alpha: Option<f64>,
    /// Vocabulary cap.
    pub max_features: usize,
    pub evaluation: Evaluation,
    pub seconds: f64,
}

/// Label probabilities of held-out vectors after fitting on `fit`.
fn fold_scores(
    approach: Approach,
    params: &TrainParams,
    taxonomy: &Taxonomy,
    n_features: usize,
    fit: &[(&SparseVector, &Vec<bool>)],
    held: &[&SparseVector],
) -> Result<Vec<Vec<f32>>> {
    let n_labels = taxonomy.len();
    let fit_vectors: Vec<SparseVector> = fit.iter().map(|(v, _)| (*v).clone()).collect();
    let fit_gold: Vec<Vec<bool>> = fit.iter().map(|(_, g)| (*g).clone()).collect();
    let rows = SparseRows {
        rows: &fit_vectors,
        n_features,
    };
    let logistic = params.loss(Loss::Logistic);
    match approach {
        Approach::LinearSvmOneVsRest | Approach::LogisticOneVsRest => {
            let params = if approach == Approach::LinearSvmOneVsRest {
                params.loss(Loss::SquaredHinge)
            } else {
                logistic
            };
            let fitted = fit_all(&params, rows, &fit_gold, n_labels)?;
            Ok(held
                .iter()
                .map(|v| margins(&fitted, v).into_iter().map(sigmoid).collect())
                .collect())
        }
        Approach::NaiveBayesOneVsRest => {
            let mut out = vec![vec![0.0f32; n_labels]; held.len()];
            for j in 0..n_labels {
                let y: Vec<bool> = fit_gold.iter().map(|g| g[j]).collect();
                let nb = MultinomialNbParams::new()
                    .alpha(0.1)
                    .check()?
                    .fit(&DatasetBase::new(rows, y))
                    .context("fitting multinomial naive Bayes")?;
                // A label with no positive (or no negative) fitting sample
                // has infinite log-odds: probability exactly 0 (or 1).
                for (row, v) in out.iter_mut().zip(held) {
                    row[j] = sigmoid(nb.log_odds(v));
                }
            }
            Ok(out)
        }
        Approach::TwoStageLogistic => {
            let n_pillars = taxonomy.pillars.len();
            let pillar_gold: Vec<Vec<bool>> =
                fit_gold.iter().map(|g| g[..n_pillars].to_vec()).collect();
            let pillars = fit_all(&logistic, rows, &pillar_gold, n_pillars)?;
            let mut out: Vec<Vec<f32>> = held
                .iter()
                .map(|v| {
                    let mut row = vec![0.0f32; n_labels];
                    for (j, m) in margins(&pillars, v).into_iter().enumerate() {
                        row[j] = sigmoid(m);
                    }
                    row
                })
                .collect();
            for p in 0..n_pillars {
                let themes: Vec<usize> = (n_pillars..n_labels)
                    .filter(|&j| taxonomy.pillar_index(j) == p)
                    .collect();
                let rows: Vec<usize> = (0..fit.len()).filter(|&i| fit_gold[i][p]).collect();
                if rows.is_empty() {
                    continue;
                }
                let sub_vectors: Vec<SparseVector> =
                    rows.iter().map(|&i| fit_vectors[i].clone()).collect();
                let sub_gold: Vec<Vec<bool>> = rows
                    .iter()
                    .map(|&i| themes.iter().map(|&j| fit_gold[i][j]).collect())
                    .collect();
                let xs = SparseRows {
                    rows: &sub_vectors,
                    n_features,
                };
                let fitted = fit_all(&logistic, xs, &sub_gold, themes.len())?;
                for (row, v) in out.iter_mut().zip(held) {
                    let pillar_p = row[p];
                    for (k, m) in margins(&fitted, v).into_iter().enumerate() {
                        row[themes[k]] = pillar_p * sigmoid(m);
                    }
                }
            }
            Ok(out)
        }
    }
}

/// The training samples, segmented once for every candidate.
#[derive(Debug, Clone, Copy)]
pub struct CvData<'a> {
    pub taxonomy: &'a Taxonomy,
    /// Feature words of each sample.
    pub words: &'a [FeatureWords],
    /// Gold label rows.
    pub gold: &'a [Vec<bool>],
    /// Samples the role rules call boilerplate (never labeled).
    pub boilerplate: &'a [bool],
}

/// k-fold cross-validation of one candidate on segmented training samples.
pub fn cross_validate(
    approach: Approach,
    features: &FeatureSet,
    params: &TrainParams,
    data: CvData<'_>,
    folds: usize,
) -> Result<CvResult> {
    let CvData {
        taxonomy,
        words,
        gold,
        boilerplate,
    } = data;
    let started = Instant::now();
    let n = words.len();
    let n_labels = taxonomy.len();
    let terms: Vec<Vec<String>> = words
        .iter()
        .map(|w| features.params.terms(w.all()))
        .collect();
    let mut oof = vec![vec![0.0f32; n_labels]; n];
    for Fold {
        fit: fit_rows,
        held: held_rows,
    } in crate::folds::folds(n, folds)
    {
        let fit_terms: Vec<Vec<String>> = fit_rows.iter().map(|&i| terms[i].clone()).collect();
        let space = FeatureSpace::fit(features.params, &fit_terms)?;
        let vectors: Vec<SparseVector> = terms.iter().map(|t| space.transform(t)).collect();
        let fit: Vec<(&SparseVector, &Vec<bool>)> =
            fit_rows.iter().map(|&i| (&vectors[i], &gold[i])).collect();
        let held: Vec<&SparseVector> = held_rows.iter().map(|&i| &vectors[i]).collect();
        let scores = fold_scores(approach, params, taxonomy, space.len(), &fit, &held)?;
        for (&i, s) in held_rows.iter().zip(scores) {
            oof[i] = s;
        }
    }
    Ok(CvResult {
        approach,
        features: features.name,
        alpha: approach.default_alpha().map(|_| params.alpha),
        max_features: features.params.max_features,
        evaluation: cross_fitted_evaluation(
            taxonomy,
            &oof,
            gold,
            boilerplate,
            folds,
            params.default_threshold,
        ),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// A markdown table of results, best theme macro-F1 first.
pub fn markdown_table(results: &[CvResult]) -> String {
    let mut sorted: Vec<&CvResult> = results.iter().collect();
    sorted.sort_by(|a, b| {
        b.evaluation
            .theme_macro
            .f1
            .total_cmp(&a.evaluation.theme_macro.f1)
    });
    let mut out = String::from(
        "| approach | features | alpha | vocabulary | pillar micro-F1 | pillar macro-F1 | theme micro-F1 | theme macro-F1 | seconds |\n|---|---|---|---|---|---|---|---|---|\n",
    );
    for r in sorted {
        let e = &r.evaluation;
        out.push_str(&format!(
            "| {} | {} | {} | {} | {:.3} | {:.3} | {:.3} | {:.3} | {:.0} |\n",
            r.approach.name(),
            r.features,
            r.alpha.map_or("-".to_string(), |a| a.to_string()),
            r.max_features,
            e.pillar_micro.f1,
            e.pillar_macro.f1,
            e.theme_micro.f1,
            e.theme_macro.f1,
            r.seconds
        ));
    }
    out
}

/// The `models/REPORT.md` text: how the comparison was run, the table, and
/// the best candidate by cross-validated theme macro-F1 with its per-label
/// scores.
pub fn report(
    results: &[CvResult],
    command: &str,
    folds: usize,
    samples: usize,
    fingerprint: &str,
) -> String {
    let mut out = String::from("# Model comparison\n\n");
    out.push_str(&format!(
        "Written by `{command}`: {folds}-fold cross-validation on the \
         {samples} samples of the training split (corpus {}). The frozen test split is not \
         used. Each fold builds its own vocabulary (at most `vocabulary` terms, min_df 2, \
         sublinear TF-IDF, L2) from its training part; per-label thresholds are cross-fitted (tuned on \
         the other folds' out-of-fold scores); a pillar is returned when one of its themes \
         is, or alone when its own score passes its threshold. Long paragraphs are scored whole here (the service also scores their sentences).\n\n",
        &fingerprint[..fingerprint.len().min(12)]
    ));
    out.push_str(&markdown_table(results));
    if let Some(best) = results.iter().max_by(|a, b| {
        a.evaluation
            .theme_macro
            .f1
            .total_cmp(&b.evaluation.theme_macro.f1)
    }) {
        out.push_str(&format!(
            "\nBest by cross-validated theme macro-F1: **{}** with **{}** (alpha {}, {} terms).\n\n\
             Its cross-validated per-label scores:\n\n```\n{}```\n",
            best.approach.name(),
            best.features,
            best.alpha.map_or("-".to_string(), |a| a.to_string()),
            best.max_features,
            best.evaluation.to_table()
        ));
    }
    out
}
