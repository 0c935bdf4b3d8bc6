//! Fitting a [`Model`]: one linear model per label on sparse TF-IDF rows
//! ([`crate::sparse_linear`]), Platt calibration and per-label thresholds
//! from k-fold out-of-fold margins, optional feature selection, and the
//! learned boilerplate check. The model file format and scoring live in
//! `fgf_core::model`; this crate only writes what that one reads.

use anyhow::{Context, Result, bail};
use fgf_core::evaluation::Evaluation;
use fgf_core::features::{FeatureParams, FeatureSpace, SparseVector};
use fgf_core::model::{Calibration, Loss, MODEL_FORMAT, Model, TrainParams, ValidTrainParams};
use fgf_core::taxonomy::Taxonomy;
use fgf_core::tokenize::{DomainDictionary, Tokenizer};
use linfa::traits::Fit;
use linfa::{DatasetBase, ParamGuard};
use linfa_logistic::LogisticRegression;
use ndarray::{Array1, Array2, ArrayView2};

use crate::corpus::Sample;
use crate::folds::{Fold, folds};
use crate::sparse_linear::{SparseLinearParams, SparseRows};

/// Feature words of each text, then terms.
pub(crate) fn sample_terms(
    tokenizer: &Tokenizer,
    params: &FeatureParams,
    text: &str,
) -> Vec<String> {
    params.terms(tokenizer.feature_words(text).all())
}

/// Gold label matrix: one row per sample, one column per label.
pub fn gold_labels(taxonomy: &Taxonomy, samples: &[Sample]) -> Vec<Vec<bool>> {
    samples
        .iter()
        .map(|s| {
            let mut row = vec![false; taxonomy.len()];
            for code in s.codes() {
                if let Some(j) = taxonomy.index_of(code) {
                    row[j] = true;
                }
            }
            row
        })
        .collect()
}

/// Weights and intercept of one fitted binary model.
pub(crate) type FittedLabel = (Vec<f32>, f32);

/// Fits one binary logistic regression on sparse rows (see
/// [`crate::sparse_linear`]); returns weights and intercept of the
/// probability that the label is present.
pub(crate) fn fit_label(
    loss: Loss,
    alpha: f64,
    max_iterations: u64,
    x: SparseRows<'_>,
    y: &[bool],
) -> Result<FittedLabel> {
    let fitted = SparseLinearParams::new()
        .loss(loss)
        .alpha(alpha)
        .max_iterations(max_iterations)
        .check()?
        .fit(&DatasetBase::new(x, y.to_vec()))
        .context("fitting a linear model")?;
    Ok((fitted.weights, fitted.intercept))
}

/// Fits one dense binary logistic regression with linfa-logistic (used for
/// Platt scaling, one feature).
fn fit_dense_label(
    alpha: f64,
    max_iterations: u64,
    x: ArrayView2<'_, f32>,
    y: &[bool],
) -> Result<FittedLabel> {
    let positives = y.iter().filter(|&&b| b).count();
    if positives == 0 || positives == y.len() {
        // Nothing to learn: a constant model.
        let p = if positives == 0 { -12.0 } else { 12.0 };
        return Ok((vec![0.0; x.ncols()], p));
    }
    let dataset = DatasetBase::new(x, Array1::from(y.to_vec()));
    let fitted = LogisticRegression::<f32>::default()
        .alpha(alpha as f32)
        .max_iterations(max_iterations)
        .fit(&dataset)
        .context("fitting logistic regression")?;
    // linfa calls the more frequent class "positive": flip when that is `false`.
    let sign = if fitted.labels().pos.class { 1.0 } else { -1.0 };
    let w = fitted.params().iter().map(|&v| sign * v).collect();
    Ok((w, sign * fitted.intercept()))
}

/// Fits every label column on `x`, two labels at a time per core.
/// Which features `params.selected_features` keeps (`None`: all): a
/// first fit on `rows`, then the features whose largest absolute weight
/// over all labels is largest (ties by index). Weights are comparable
/// because every row is L2-normalised TF-IDF.
fn select_features(
    params: &TrainParams,
    rows: &[SparseVector],
    n_features: usize,
    gold: &[Vec<bool>],
    n_labels: usize,
) -> Result<Option<Vec<bool>>> {
    let k = params.selected_features;
    if k == 0 || k >= n_features {
        return Ok(None);
    }
    let x = SparseRows { rows, n_features };
    let mut strength = vec![0.0f32; n_features];
    for (w, _) in fit_all(params, x, gold, n_labels)? {
        for (s, &x) in strength.iter_mut().zip(&w) {
            *s = s.max(x.abs());
        }
    }
    let mut order: Vec<usize> = (0..n_features).collect();
    order.sort_by(|&a, &b| strength[b].total_cmp(&strength[a]).then(a.cmp(&b)));
    let mut keep = vec![false; n_features];
    for &f in &order[..k] {
        keep[f] = true;
    }
    Ok(Some(keep))
}

/// `v` with only the features `keep` marks, L2-normalised again: the
/// vector a space that retains only those features gives the same text.
fn restrict(v: &SparseVector, keep: &[bool]) -> SparseVector {
    let mut out: SparseVector = v
        .iter()
        .copied()
        .filter(|&(f, _)| keep[f as usize])
        .collect();
    let norm = out.iter().map(|&(_, x)| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, x) in &mut out {
            *x /= norm;
        }
    }
    out
}

pub(crate) fn fit_all(
    params: &TrainParams,
    x: SparseRows<'_>,
    gold: &[Vec<bool>],
    n_labels: usize,
) -> Result<Vec<FittedLabel>> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let columns: Vec<usize> = (0..n_labels).collect();
    let chunks: Vec<&[usize]> = columns.chunks(n_labels.div_ceil(threads)).collect();
    let results: Vec<Result<Vec<(usize, FittedLabel)>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .iter()
            .map(|chunk| {
                scope.spawn(move || {
                    chunk
                        .iter()
                        .map(|&j| {
                            let y: Vec<bool> = gold.iter().map(|row| row[j]).collect();
                            fit_label(params.loss, params.alpha, params.max_iterations, x, &y)
                                .map(|r| (j, r))
                        })
                        .collect::<Result<Vec<_>>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("training thread panicked"))
            .collect()
    });
    let mut out = vec![(Vec::new(), 0.0); n_labels];
    for r in results {
        for (j, fitted) in r? {
            out[j] = fitted;
        }
    }
    Ok(out)
}

/// Margins (log-odds before calibration) of one vector under fitted columns.
pub(crate) fn margins(fitted: &[FittedLabel], v: &SparseVector) -> Vec<f32> {
    fitted
        .iter()
        .map(|(w, b)| b + v.iter().map(|&(j, x)| w[j as usize] * x).sum::<f32>())
        .collect()
}

/// Fits Platt scaling of one label on out-of-fold margins (linfa, one
/// feature).
fn fit_calibration(margins: &[f32], gold: &[bool]) -> Result<Calibration> {
    let x = Array2::from_shape_vec((margins.len(), 1), margins.to_vec())?;
    let (w, offset) = fit_dense_label(1e-3, 300, x.view(), gold)?;
    let slope = w.first().copied().unwrap_or(1.0);
    // A label with no positives (or no negatives) keeps its margins.
    if slope == 0.0 {
        return Ok(Calibration::IDENTITY);
    }
    Ok(Calibration { slope, offset })
}

/// The threshold that maximises F1 of out-of-fold scores (ties go to the
/// value closest to `default`).
pub(crate) fn best_threshold(scores: &[f32], gold: &[bool], default: f32) -> f32 {
    let mut best = (f64::MIN, default);
    for step in 4..=36 {
        let t = step as f32 * 0.025;
        let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
        for (&s, &g) in scores.iter().zip(gold) {
            match (s >= t, g) {
                (true, true) => tp += 1,
                (true, false) => fp += 1,
                (false, true) => fn_ += 1,
                _ => {}
            }
        }
        let f1 = fgf_core::evaluation::Scores::from_counts(tp, fp, fn_).f1;
        let closer = (t - default).abs() < (best.1 - default).abs();
        if f1 > best.0 + 1e-9 || ((f1 - best.0).abs() <= 1e-9 && closer) {
            best = (f1, t);
        }
    }
    best.1
}

/// What k-fold calibration yields: per-label calibration and thresholds,
/// and the calibrated out-of-fold probabilities (one row per sample).
struct Calibrated {
    calibration: Vec<Calibration>,
    thresholds: Vec<f32>,
    oof: Vec<Vec<f32>>,
}

/// Scores of out-of-fold probabilities (`oof`, rows of samples) with
/// thresholds cross-fitted over `k` folds ([`crate::folds`]): each fold's
/// thresholds are tuned on the other folds; pillars follow their themes and
/// stand alone where their own score passes, as in the service. Boilerplate samples (`boilerplate[i]`) get no labels, as in the
/// service; role accuracy is left to the caller.
pub(crate) fn cross_fitted_evaluation(
    taxonomy: &Taxonomy,
    oof: &[Vec<f32>],
    gold: &[Vec<bool>],
    boilerplate: &[bool],
    k: usize,
    default: f32,
) -> Evaluation {
    let n = oof.len();
    let n_labels = taxonomy.len();
    let n_pillars = taxonomy.pillars.len();
    let mut predicted = vec![vec![false; n_labels]; n];
    for Fold { fit: others, held } in crate::folds::folds(n, k) {
        // Every label's threshold tuned on the other folds, as `fgf train`
        // tunes it on all of them.
        let t: Vec<f32> = (0..n_labels)
            .map(|j| {
                let s: Vec<f32> = others.iter().map(|&i| oof[i][j]).collect();
                let g: Vec<bool> = others.iter().map(|&i| gold[i][j]).collect();
                best_threshold(&s, &g, default)
            })
            .collect();
        for i in held.into_iter().filter(|&i| !boilerplate[i]) {
            for j in n_pillars..n_labels {
                if oof[i][j] >= t[j] {
                    predicted[i][j] = true;
                    predicted[i][taxonomy.pillar_index(j)] = true;
                }
            }
            // A pillar alone, as `Model::decide` gives it.
            for p in 0..n_pillars {
                if oof[i][p] >= t[p] {
                    predicted[i][p] = true;
                }
            }
        }
    }
    let mut evaluation = Evaluation::new(taxonomy, gold, &predicted);
    evaluation.boilerplate_labeled = predicted
        .iter()
        .zip(boilerplate)
        .filter(|(p, b)| **b && p.iter().any(|&x| x))
        .count();
    evaluation
}

/// Fits a model on `train`. The version, fingerprint and test scores are
/// filled in by the caller ([`crate::train`]).
pub fn fit(
    valid: &ValidTrainParams,
    taxonomy: &Taxonomy,
    dictionary: &DomainDictionary,
    train: &[Sample],
) -> Result<Model> {
    let params = valid.params();
    if train.is_empty() {
        bail!("no training samples");
    }
    let tokenizer = Tokenizer::new(dictionary);
    let terms: Vec<Vec<String>> = train
        .iter()
        .map(|s| sample_terms(&tokenizer, &params.features, &s.text))
        .collect();
    let gold = gold_labels(taxonomy, train);
    let n_labels = taxonomy.len();
    let mut space = FeatureSpace::fit(params.features, &terms)?;
    let mut vectors: Vec<SparseVector> = terms.iter().map(|t| space.transform(t)).collect();

    let (calibration, thresholds, cv) = if params.threshold_folds >= 2 {
        let Calibrated {
            calibration,
            thresholds,
            oof,
        } = calibrate(valid, &space, &vectors, &gold, taxonomy.len())?;
        let boilerplate: Vec<bool> = train
            .iter()
            .map(|s| fgf_core::role::classify(s.text.trim()) == fgf_core::role::Role::Boilerplate)
            .collect();
        let mut cv = cross_fitted_evaluation(
            taxonomy,
            &oof,
            &gold,
            &boilerplate,
            params.threshold_folds,
            params.default_threshold,
        );
        let roles_right = train
            .iter()
            .filter(|s| fgf_core::role::classify(s.text.trim()) == s.role)
            .count();
        cv.role_accuracy = roles_right as f64 / train.len() as f64;
        (calibration, thresholds, Some(cv))
    } else {
        (
            vec![Calibration::IDENTITY; n_labels],
            vec![params.default_threshold; n_labels],
            None,
        )
    };

    // Feature selection after calibration: each fold of the calibration
    // selected its own features from its own rows.
    if let Some(keep) = select_features(params, &vectors, space.len(), &gold, n_labels)? {
        let kept: Vec<u32> = (0..space.len() as u32)
            .filter(|&f| keep[f as usize])
            .collect();
        space = space.retain(&kept);
        vectors = terms.iter().map(|t| space.transform(t)).collect();
    }
    let x = SparseRows {
        rows: &vectors,
        n_features: space.len(),
    };
    let boilerplate = Some(crate::boilerplate_check::fit_boilerplate(valid, x, train)?);
    let fitted = fit_all(params, x, &gold, n_labels)?;
    let mut weights = vec![0.0f32; space.len() * n_labels];
    for (j, (w, _)) in fitted.iter().enumerate() {
        for (f, &value) in w.iter().enumerate() {
            weights[f * n_labels + j] = value;
        }
    }
    let train_support = (0..n_labels)
        .map(|j| gold.iter().filter(|row| row[j]).count())
        .collect();
    Ok(Model {
        format: MODEL_FORMAT,
        version: String::new(),
        trained_at: String::new(),
        corpus_fingerprint: String::new(),
        train_samples: train.len(),
        test_samples: 0,
        params: *params,
        taxonomy: taxonomy.clone(),
        dictionary: dictionary.clone(),
        features: space,
        weights,
        intercepts: fitted.iter().map(|(_, b)| *b).collect(),
        calibration,
        thresholds,
        train_support,
        test: None,
        cv,
        boilerplate,
    })
}

/// Per-label calibration and thresholds from k-fold out-of-fold margins
/// on the training split.
fn calibrate(
    valid: &ValidTrainParams,
    space: &FeatureSpace,
    vectors: &[SparseVector],
    gold: &[Vec<bool>],
    n_labels: usize,
) -> Result<Calibrated> {
    let params = valid.params();
    let k = params.threshold_folds;
    let mut oof = vec![vec![0.0f32; n_labels]; vectors.len()];
    for Fold {
        fit: fit_rows,
        held: held_rows,
    } in folds(vectors.len(), k)
    {
        let fit_vectors: Vec<SparseVector> = fit_rows.iter().map(|&i| vectors[i].clone()).collect();
        let fit_gold: Vec<Vec<bool>> = fit_rows.iter().map(|&i| gold[i].clone()).collect();
        // The fold selects features as the final fit will, from its rows.
        let keep = select_features(params, &fit_vectors, space.len(), &fit_gold, n_labels)?;
        let view = |v: &SparseVector| match &keep {
            Some(keep) => restrict(v, keep),
            None => v.clone(),
        };
        let fit_vectors: Vec<SparseVector> = fit_vectors.iter().map(view).collect();
        let x = SparseRows {
            rows: &fit_vectors,
            n_features: space.len(),
        };
        let fitted = fit_all(params, x, &fit_gold, n_labels)?;
        for &i in &held_rows {
            oof[i] = margins(&fitted, &view(&vectors[i]));
        }
    }
    let mut calibration = Vec::with_capacity(n_labels);
    let mut thresholds = Vec::with_capacity(n_labels);
    for j in 0..n_labels {
        let m: Vec<f32> = oof.iter().map(|r| r[j]).collect();
        let g: Vec<bool> = gold.iter().map(|r| r[j]).collect();
        let c = fit_calibration(&m, &g)?;
        let p: Vec<f32> = m.iter().map(|&z| c.probability(z)).collect();
        thresholds.push(best_threshold(&p, &g, params.default_threshold));
        for (row, p) in oof.iter_mut().zip(p) {
            row[j] = p;
        }
        calibration.push(c);
    }
    Ok(Calibrated {
        calibration,
        thresholds,
        oof,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_restricted_vector_is_what_the_retained_space_gives() {
        let p = FeatureParams {
            min_df: 1,
            ..FeatureParams::default()
        };
        let tokenizer = Tokenizer::new(&DomainDictionary::default());
        let texts = ["取消一批审批事项", "压缩审批时限", "推进信用监管"];
        let terms: Vec<Vec<String>> = texts
            .iter()
            .map(|t| sample_terms(&tokenizer, &p, t))
            .collect();
        let space = FeatureSpace::fit(p, &terms).unwrap();
        // Keep every other feature.
        let keep: Vec<bool> = (0..space.len()).map(|f| f % 2 == 0).collect();
        let kept: Vec<u32> = (0..space.len() as u32).filter(|&f| f % 2 == 0).collect();
        let smaller = space.retain(&kept);
        assert_eq!(smaller.len(), kept.len());
        for t in &terms {
            let restricted: Vec<(u32, f32)> = restrict(&space.transform(t), &keep)
                .into_iter()
                .map(|(f, x)| (f / 2, x))
                .collect();
            let direct = smaller.transform(t);
            assert_eq!(restricted.len(), direct.len());
            for (a, b) in restricted.iter().zip(&direct) {
                assert_eq!(a.0, b.0);
                assert!((a.1 - b.1).abs() < 1e-6, "{a:?} vs {b:?}");
            }
        }
    }

    #[test]
    fn best_threshold_separates_scores() {
        let scores = [0.1, 0.2, 0.35, 0.4, 0.8, 0.9];
        let gold = [false, false, true, true, true, true];
        let t = best_threshold(&scores, &gold, 0.5);
        assert!(t > 0.2 && t <= 0.35, "{t}");
    }
}
