//! Binary multinomial naive Bayes on sparse rows, as a linfa algorithm
//! (the naive Bayes row of `fgf compare`).
//!
//! It computes what `linfa_bayes::MultinomialNb` 0.8.1 computes on the
//! densified rows, bit for bit, without densifying them or depending on that
//! crate (whose 0.8.1 `fit` prints every class histogram to stderr). For
//! each class `c` (label absent, label present):
//!
//! - the prior is the class's share of the samples, `n_c / n`;
//! - a feature's log-probability is `ln(N_cj + alpha) - ln(sum_k (N_ck +
//!   alpha))`, where `N_cj` sums feature `j` over the class's rows (Lidstone
//!   smoothing; `alpha` 1 by default, as in linfa);
//! - a row's joint log-likelihood is `ln(prior) + sum_j x_j ln P(j | c)`.
//!
//! The label's probability is the softmax of the two joint
//! log-likelihoods, i.e. `sigmoid` of [`FittedMultinomialNb::log_odds`].
//!
//! Everything is `f32` and summed in linfa's order (rows in order for the
//! counts, ndarray's `sum` for the total, ndarray's eight-lane dot product
//! for the likelihood; see `dense_order_dot`). Summing in `f64` instead,
//! more exact but rounded differently, moved a few `fgf compare` cells by
//! 0.001 (at 3 and 10 folds): thresholds are tuned on the scores, and a
//! difference in the last bits can move a sample across one. In this order
//! the numbers are linfa's, which a unit test checks bit for bit against the
//! same steps on dense ndarray arrays.
//!
//! As in [`crate::sparse_linear`], hyperparameters live in
//! [`MultinomialNbParams`] checked by [`ParamGuard`], and [`Fit`] on a
//! [`DatasetBase`] of [`SparseRows`] returns a [`FittedMultinomialNb`].

use linfa::dataset::{DatasetBase, Records};
use linfa::traits::Fit;
use linfa::{Error, ParamGuard};
use ndarray::ArrayView1;
use serde::{Deserialize, Serialize};

use fgf_core::features::SparseVector;

use crate::sparse_linear::SparseRows;

/// Hyperparameters (unchecked; [`ParamGuard::check`] validates them).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MultinomialNbParams(MultinomialNbValidParams);

/// Checked [`MultinomialNbParams`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MultinomialNbValidParams {
    alpha: f32,
}

impl Default for MultinomialNbParams {
    fn default() -> Self {
        Self(MultinomialNbValidParams { alpha: 1.0 })
    }
}

impl MultinomialNbParams {
    pub fn new() -> Self {
        Self::default()
    }

    /// Additive (Lidstone) smoothing of the feature counts; 1 (Laplace) by
    /// default.
    pub fn alpha(mut self, alpha: f32) -> Self {
        self.0.alpha = alpha;
        self
    }
}

impl MultinomialNbValidParams {
    pub fn alpha(&self) -> f32 {
        self.alpha
    }
}

impl ParamGuard for MultinomialNbParams {
    type Checked = MultinomialNbValidParams;
    type Error = Error;

    /// `alpha` must be positive: linfa also takes 0, but then a feature
    /// never seen with a class has log-probability `-inf`.
    fn check_ref(&self) -> Result<&MultinomialNbValidParams, Error> {
        let p = &self.0;
        if !(p.alpha.is_finite() && p.alpha > 0.0) {
            return Err(Error::Parameters(format!(
                "alpha must be a positive number, got {}",
                p.alpha
            )));
        }
        Ok(p)
    }

    fn check(self) -> Result<MultinomialNbValidParams, Error> {
        self.check_ref()?;
        Ok(self.0)
    }
}

/// A fitted binary model. Index 0 of each pair is the class "label
/// absent", index 1 "label present".
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedMultinomialNb {
    /// Training samples of each class.
    pub class_count: [usize; 2],
    /// Each class's share of the training samples (0 for a class without
    /// samples, whose log-likelihood is then `-inf`).
    pub prior: [f32; 2],
    /// Smoothed log-probability of each feature given the class.
    pub feature_log_prob: [Vec<f32>; 2],
}

impl FittedMultinomialNb {
    /// The unnormalised log posterior of each class for one row.
    pub fn joint_log_likelihood(&self, row: &SparseVector) -> [f32; 2] {
        [0, 1].map(|c| dense_order_dot(row, &self.feature_log_prob[c]) + self.prior[c].ln())
    }

    /// `ln P(present | row) - ln P(absent | row)`: the label's probability
    /// is its sigmoid. Infinite when one class had no training samples.
    pub fn log_odds(&self, row: &SparseVector) -> f32 {
        let [absent, present] = self.joint_log_likelihood(row);
        present - absent
    }
}

/// `row . w`, rounded as ndarray 0.16's dense `dot` of `f32` slices rounds
/// it (what linfa-bayes computes) when the row's indices ascend: eight
/// running sums, index `j` in sum `j % 8`, combined as `(s0 + s4) + (s1 +
/// s5) + ...`, then the last `len % 8` products one by one. The dense
/// product's zeros add nothing, so only the non-zeros are visited.
fn dense_order_dot(row: &SparseVector, w: &[f32]) -> f32 {
    let unrolled = (w.len() - w.len() % 8) as u32;
    let mut lanes = [0.0f32; 8];
    for &(j, x) in row.iter().filter(|&&(j, _)| j < unrolled) {
        lanes[j as usize % 8] += x * w[j as usize];
    }
    let mut sum = 0.0f32;
    for l in 0..4 {
        sum += lanes[l] + lanes[l + 4];
    }
    for &(j, x) in row.iter().filter(|&&(j, _)| j >= unrolled) {
        sum += x * w[j as usize];
    }
    sum
}

impl<'a> Fit<SparseRows<'a>, Vec<bool>, Error> for MultinomialNbValidParams {
    type Object = FittedMultinomialNb;

    fn fit(&self, dataset: &DatasetBase<SparseRows<'a>, Vec<bool>>) -> Result<Self::Object, Error> {
        let x = dataset.records();
        let y = dataset.targets();
        if x.rows.len() != y.len() {
            return Err(Error::MismatchedShapes(x.rows.len(), y.len()));
        }
        if x.rows.is_empty() {
            return Err(Error::NotEnoughSamples);
        }
        let n_features = x.nfeatures();
        let mut feature_count = [vec![0.0f32; n_features], vec![0.0f32; n_features]];
        let mut class_count = [0usize; 2];
        for (row, &label) in x.rows.iter().zip(y) {
            let c = usize::from(label);
            class_count[c] += 1;
            let mut previous = None;
            for &(j, v) in row {
                if j as usize >= n_features {
                    return Err(Error::Parameters(format!(
                        "feature index {j} is out of range for {n_features} features"
                    )));
                }
                if let Some(p) = previous
                    && p >= j
                {
                    return Err(Error::Parameters(format!(
                        "feature indices of a row must ascend, found {j} after {p}"
                    )));
                }
                if !(v >= 0.0 && v.is_finite()) {
                    return Err(Error::Parameters(format!(
                        "multinomial naive Bayes needs finite non-negative values, got {v} for feature {j}"
                    )));
                }
                previous = Some(j);
                feature_count[c][j as usize] += v;
            }
        }
        let feature_log_prob = feature_count.map(|counts| {
            let smoothed: Vec<f32> = counts.into_iter().map(|n| n + self.alpha).collect();
            let ln_total = ArrayView1::from(&smoothed).sum().ln();
            smoothed.into_iter().map(|n| n.ln() - ln_total).collect()
        });
        let n = x.rows.len() as f32;
        Ok(FittedMultinomialNb {
            class_count,
            prior: class_count.map(|k| k as f32 / n),
            feature_log_prob,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{Array1, Array2, Axis};

    /// Two positive and three negative rows over three features.
    fn data() -> (Vec<SparseVector>, Vec<bool>) {
        let rows = vec![
            vec![(0, 2.0), (1, 1.0)],
            vec![(2, 3.0)],
            vec![(0, 1.0)],
            vec![(1, 1.0), (2, 1.0)],
            vec![],
        ];
        (rows, vec![true, false, true, false, false])
    }

    fn fit(
        rows: &[SparseVector],
        n_features: usize,
        y: &[bool],
        alpha: f32,
    ) -> FittedMultinomialNb {
        MultinomialNbParams::new()
            .alpha(alpha)
            .check()
            .unwrap()
            .fit(&DatasetBase::new(
                SparseRows { rows, n_features },
                y.to_vec(),
            ))
            .unwrap()
    }

    fn close(a: f32, b: f64) {
        assert!((f64::from(a) - b).abs() < 1e-5, "{a} vs {b}");
    }

    #[test]
    fn priors_and_feature_log_probabilities_are_smoothed_class_histograms() {
        let (rows, y) = data();
        let nb = fit(&rows, 3, &y, 1.0);
        assert_eq!(nb.class_count, [3, 2]);
        assert_eq!(nb.prior, [0.6, 0.4]);
        // Absent: counts (0, 1, 4) + 1 over 8; present: (3, 1, 0) + 1 over 7.
        for (got, want) in nb.feature_log_prob[0].iter().zip([1.0, 2.0, 5.0]) {
            close(*got, (want / 8.0f64).ln());
        }
        for (got, want) in nb.feature_log_prob[1].iter().zip([4.0, 2.0, 1.0]) {
            close(*got, (want / 7.0f64).ln());
        }
    }

    #[test]
    fn the_log_odds_are_the_difference_of_the_joint_log_likelihoods() {
        let (rows, y) = data();
        let nb = fit(&rows, 3, &y, 1.0);
        let row = vec![(0, 1.0), (2, 1.0)];
        let [absent, present] = nb.joint_log_likelihood(&row);
        close(absent, (0.6f64 * (1.0 / 8.0) * (5.0 / 8.0)).ln());
        close(present, (0.4f64 * (4.0 / 7.0) * (1.0 / 7.0)).ln());
        // (2/3) * (4/49) / (5/64)
        close(nb.log_odds(&row), (512.0f64 / 735.0).ln());
        // An empty row is decided by the priors alone.
        close(nb.log_odds(&vec![]), (2.0f64 / 3.0).ln());
        assert!(nb.log_odds(&vec![(0, 1.0)]) > 0.0);
        assert!(nb.log_odds(&vec![(2, 1.0)]) < 0.0);
    }

    #[test]
    fn smoothing_alpha_is_added_to_every_count() {
        let (rows, y) = data();
        let nb = fit(&rows, 3, &y, 0.1);
        // Present: (3, 1, 0) + 0.1 over 4.3.
        for (got, want) in nb.feature_log_prob[1].iter().zip([3.1, 1.1, 0.1]) {
            close(*got, (want / 4.3f64).ln());
        }
    }

    #[test]
    fn a_class_without_samples_gives_certain_probabilities() {
        let (rows, _) = data();
        let never = fit(&rows, 3, &[false; 5], 1.0);
        assert_eq!(never.log_odds(&rows[0]), f32::NEG_INFINITY);
        let always = fit(&rows, 3, &[true; 5], 1.0);
        assert_eq!(always.log_odds(&rows[1]), f32::INFINITY);
        // So the probability is exactly 0 or 1.
        let sigmoid = fgf_core::model::sigmoid;
        assert_eq!(sigmoid(never.log_odds(&rows[0])), 0.0);
        assert_eq!(sigmoid(always.log_odds(&rows[1])), 1.0);
    }

    /// Non-negative rows over `n_features` columns, about a third of them
    /// set, ascending, and a label loosely tied to the first features.
    fn random_data(n_rows: usize, n_features: usize) -> (Vec<SparseVector>, Vec<bool>) {
        let mut state = 11u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f32) / (1u64 << 31) as f32
        };
        let mut rows = Vec::new();
        let mut y = Vec::new();
        for _ in 0..n_rows {
            let row: SparseVector = (0..n_features as u32)
                .filter_map(|j| {
                    let v = next();
                    (v < 0.35).then_some((j, v * 7.3 + 0.01))
                })
                .collect();
            let lead: f32 = row.iter().filter(|(j, _)| *j < 5).map(|(_, v)| v).sum();
            y.push(lead > 2.0 || next() < 0.2);
            rows.push(row);
        }
        (rows, y)
    }

    /// linfa-bayes 0.8.1's `MultinomialNb` on the densified rows, step by
    /// step as it does it (filter the class's rows, `sum_axis`, `sum`, `ln`,
    /// `dot`): the joint log-likelihoods of `held`.
    fn linfa_reference(
        rows: &[SparseVector],
        n_features: usize,
        y: &[bool],
        alpha: f32,
        held: &[SparseVector],
    ) -> Vec<[f32; 2]> {
        let dense = |rows: &[&SparseVector]| {
            let mut x = Array2::<f32>::zeros((rows.len(), n_features));
            for (i, row) in rows.iter().enumerate() {
                for &(j, v) in row.iter() {
                    x[[i, j as usize]] = v;
                }
            }
            x
        };
        let held: Vec<&SparseVector> = held.iter().collect();
        let xh = dense(&held);
        let mut out = vec![[0.0f32; 2]; held.len()];
        for class in [false, true] {
            let members: Vec<&SparseVector> = rows
                .iter()
                .zip(y)
                .filter(|&(_, &label)| label == class)
                .map(|(r, _)| r)
                .collect();
            let counts: Array1<f32> = dense(&members).sum_axis(Axis(0));
            let smoothed = counts.mapv(|v| v + alpha);
            let total = smoothed.sum();
            let flp = smoothed.mapv(|v| v.ln() - total.ln());
            let prior = members.len() as f32 / y.len() as f32;
            let jll = xh.dot(&flp) + prior.ln();
            for (o, v) in out.iter_mut().zip(jll) {
                o[usize::from(class)] = v;
            }
        }
        out
    }

    #[test]
    fn the_numbers_are_linfa_bayes_bit_for_bit() {
        // 8 columns or more exercise the eight lanes, and a count that is not
        // a multiple of 8 the tail.
        for n_features in [3, 8, 21, 67] {
            let (rows, y) = random_data(120, n_features);
            let (held, _) = random_data(40, n_features);
            let nb = fit(&rows, n_features, &y, 0.1);
            let want = linfa_reference(&rows, n_features, &y, 0.1, &held);
            for (row, want) in held.iter().zip(want) {
                let got = nb.joint_log_likelihood(row);
                assert_eq!(
                    got.map(f32::to_bits),
                    want.map(f32::to_bits),
                    "{got:?} vs {want:?}"
                );
            }
        }
    }

    #[test]
    fn bad_parameters_and_data_are_rejected() {
        for alpha in [0.0, -1.0, f32::NAN, f32::INFINITY] {
            assert!(MultinomialNbParams::new().alpha(alpha).check().is_err());
        }
        let params = MultinomialNbParams::new().check().unwrap();
        let fit_rows = |rows: &[SparseVector], y: Vec<bool>| {
            params.fit(&DatasetBase::new(
                SparseRows {
                    rows,
                    n_features: 3,
                },
                y,
            ))
        };
        assert!(fit_rows(&[], vec![]).is_err());
        assert!(fit_rows(&[vec![(0, 1.0)]], vec![true, false]).is_err());
        assert!(fit_rows(&[vec![(3, 1.0)]], vec![true]).is_err());
        assert!(fit_rows(&[vec![(0, -1.0)]], vec![true]).is_err());
        assert!(fit_rows(&[vec![(1, 1.0), (0, 1.0)]], vec![true]).is_err());
        assert!(fit_rows(&[vec![(1, 1.0), (1, 1.0)]], vec![true]).is_err());
    }
}
