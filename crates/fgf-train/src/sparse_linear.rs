//! Binary linear models on sparse rows, fitted by L-BFGS, as a linfa
//! algorithm: L2-regularised logistic regression or a linear SVM (squared
//! hinge loss, what scikit-learn's `LinearSVC` fits).
//!
//! `linfa-logistic` fits records given as a dense `Array2`, and `linfa-svm`
//! fits kernel machines on dense records. Our TF-IDF rows have a few hundred
//! non-zero terms out of tens of thousands, so a dense fit spends almost all
//! its time multiplying zeros: at an 8,000-term cap, `fgf train` took 11.5
//! minutes. This module minimises the same objective as `linfa-logistic`
//! (summed loss plus `alpha / 2 * |w|^2`, intercept not penalised) over
//! [`SparseRows`], so a fit costs the non-zeros only and the vocabulary need
//! not be capped. It plugs into linfa the way linfa's own algorithm crates
//! do: hyperparameters in [`SparseLinearParams`] checked by [`ParamGuard`],
//! [`Fit`] on a [`DatasetBase`] returning a [`FittedSparseLinear`] that
//! serialises with serde. A unit test checks that the logistic loss reaches
//! linfa-logistic's weights on the same data.

use linfa::dataset::{DatasetBase, Records};
use linfa::traits::Fit;
use linfa::{Error, ParamGuard};
use serde::{Deserialize, Serialize};

use fgf_core::features::SparseVector;

/// Rows of `(feature index, value)` pairs over `n_features` columns.
#[derive(Debug, Clone, Copy)]
pub struct SparseRows<'a> {
    pub rows: &'a [SparseVector],
    pub n_features: usize,
}

impl Records for SparseRows<'_> {
    type Elem = f32;

    fn nsamples(&self) -> usize {
        self.rows.len()
    }

    fn nfeatures(&self) -> usize {
        self.n_features
    }
}

/// Hyperparameters (unchecked; [`ParamGuard::check`] validates them). As in
/// linfa's own crates, the unchecked type wraps the checked one.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SparseLinearParams(SparseLinearValidParams);

/// The loss (defined beside the model file, which records it).
pub use fgf_core::model::Loss;

/// Checked [`SparseLinearParams`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct SparseLinearValidParams {
    loss: Loss,
    alpha: f64,
    max_iterations: u64,
    gradient_tolerance: f64,
    memory: usize,
}

impl Default for SparseLinearParams {
    fn default() -> Self {
        Self(SparseLinearValidParams {
            loss: Loss::Logistic,
            alpha: 1.0,
            max_iterations: 100,
            gradient_tolerance: 1e-4,
            memory: 10,
        })
    }
}

impl SparseLinearParams {
    pub fn new() -> Self {
        Self::default()
    }

    /// The loss: logistic regression (default) or a linear SVM.
    pub fn loss(mut self, loss: Loss) -> Self {
        self.0.loss = loss;
        self
    }

    /// L2 strength on the weights (not the intercept), applied to the
    /// summed loss as in linfa-logistic.
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.0.alpha = alpha;
        self
    }

    /// L-BFGS iteration cap.
    pub fn max_iterations(mut self, n: u64) -> Self {
        self.0.max_iterations = n;
        self
    }

    /// Stop when the gradient's Euclidean norm falls below this.
    pub fn gradient_tolerance(mut self, tol: f64) -> Self {
        self.0.gradient_tolerance = tol;
        self
    }

    /// Number of past steps L-BFGS keeps.
    pub fn memory(mut self, m: usize) -> Self {
        self.0.memory = m;
        self
    }
}

impl ParamGuard for SparseLinearParams {
    type Checked = SparseLinearValidParams;
    type Error = Error;

    fn check_ref(&self) -> Result<&SparseLinearValidParams, Error> {
        let p = &self.0;
        if !(p.alpha.is_finite() && p.alpha > 0.0) {
            return Err(Error::Parameters(format!(
                "alpha must be a positive number, got {}",
                p.alpha
            )));
        }
        if p.max_iterations == 0 {
            return Err(Error::Parameters(
                "max_iterations must be at least 1".into(),
            ));
        }
        if !(p.gradient_tolerance.is_finite() && p.gradient_tolerance > 0.0) {
            return Err(Error::Parameters(format!(
                "gradient_tolerance must be a positive number, got {}",
                p.gradient_tolerance
            )));
        }
        if p.memory == 0 {
            return Err(Error::Parameters("memory must be at least 1".into()));
        }
        Ok(p)
    }

    fn check(self) -> Result<SparseLinearValidParams, Error> {
        self.check_ref()?;
        Ok(self.0)
    }
}

/// A fitted binary model: the margin is `w . x + intercept`; with the
/// logistic loss `p(label) = sigmoid(margin)`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FittedSparseLinear {
    pub weights: Vec<f32>,
    pub intercept: f32,
    /// L-BFGS iterations used.
    pub iterations: u64,
}

impl FittedSparseLinear {
    /// The margin (log-odds) of one row.
    pub fn margin(&self, row: &SparseVector) -> f32 {
        self.intercept
            + row
                .iter()
                .map(|&(j, x)| self.weights[j as usize] * x)
                .sum::<f32>()
    }
}

impl<'a> Fit<SparseRows<'a>, Vec<bool>, Error> for SparseLinearValidParams {
    type Object = FittedSparseLinear;

    fn fit(&self, dataset: &DatasetBase<SparseRows<'a>, Vec<bool>>) -> Result<Self::Object, Error> {
        let x = dataset.records();
        let y = dataset.targets();
        if x.rows.len() != y.len() {
            return Err(Error::MismatchedShapes(x.rows.len(), y.len()));
        }
        if x.rows.is_empty() {
            return Err(Error::NotEnoughSamples);
        }
        if let Some(&(j, _)) = x
            .rows
            .iter()
            .flatten()
            .find(|&&(j, _)| j as usize >= x.n_features)
        {
            return Err(Error::Parameters(format!(
                "feature index {j} is out of range for {} features",
                x.n_features
            )));
        }
        let positives = y.iter().filter(|&&b| b).count();
        if positives == 0 || positives == y.len() {
            // Nothing to learn: a constant model.
            let intercept = if positives == 0 { -12.0 } else { 12.0 };
            return Ok(FittedSparseLinear {
                weights: vec![0.0; x.n_features],
                intercept,
                iterations: 0,
            });
        }
        let problem = Problem {
            x,
            y,
            alpha: self.alpha,
            loss: self.loss,
        };
        let (w, iterations) = lbfgs(&problem, self);
        Ok(FittedSparseLinear {
            weights: w[..x.n_features].iter().map(|&v| v as f32).collect(),
            intercept: w[x.n_features] as f32,
            iterations,
        })
    }
}

/// The objective: parameters are the weights followed by the intercept.
struct Problem<'a, 'b> {
    x: &'b SparseRows<'a>,
    y: &'b [bool],
    alpha: f64,
    loss: Loss,
}

impl Problem<'_, '_> {
    fn dim(&self) -> usize {
        self.x.n_features + 1
    }

    /// Loss and gradient at `w`.
    fn loss_and_gradient(&self, w: &[f64], grad: &mut [f64]) -> f64 {
        let n = self.x.n_features;
        let b = w[n];
        let mut loss = 0.0;
        for (j, g) in grad.iter_mut().enumerate().take(n) {
            *g = self.alpha * w[j];
        }
        grad[n] = 0.0;
        for (row, &label) in self.x.rows.iter().zip(self.y) {
            let sign = if label { 1.0 } else { -1.0 };
            let z = b + row
                .iter()
                .map(|&(j, v)| w[j as usize] * f64::from(v))
                .sum::<f64>();
            // r: the loss's derivative by the margin z.
            let r = match self.loss {
                Loss::Logistic => {
                    let t = -sign * z;
                    // log(1 + e^t), stably.
                    loss += t.max(0.0) + (-t.abs()).exp().ln_1p();
                    // d/dz log(1 + e^{-sign z}) = -sign * sigmoid(t)
                    -sign * sigmoid(t)
                }
                Loss::SquaredHinge => {
                    let gap = (1.0 - sign * z).max(0.0);
                    loss += gap * gap;
                    -2.0 * sign * gap
                }
            };
            if r == 0.0 {
                continue;
            }
            for &(j, v) in row {
                grad[j as usize] += r * f64::from(v);
            }
            grad[n] += r;
        }
        let penalty: f64 = w[..n].iter().map(|v| v * v).sum();
        loss + 0.5 * self.alpha * penalty
    }
}

fn sigmoid(t: f64) -> f64 {
    if t >= 0.0 {
        1.0 / (1.0 + (-t).exp())
    } else {
        let e = t.exp();
        e / (1.0 + e)
    }
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Limited-memory BFGS with a backtracking (Armijo) line search. The
/// objective is smooth and strictly convex, so a pair is kept only when
/// its curvature `s . y` is positive, which keeps the inverse-Hessian
/// estimate positive definite. Returns the minimiser and the iterations.
fn lbfgs(problem: &Problem<'_, '_>, params: &SparseLinearValidParams) -> (Vec<f64>, u64) {
    let d = problem.dim();
    let mut w = vec![0.0; d];
    let mut grad = vec![0.0; d];
    let mut loss = problem.loss_and_gradient(&w, &mut grad);
    let mut history: std::collections::VecDeque<(Vec<f64>, Vec<f64>, f64)> =
        std::collections::VecDeque::with_capacity(params.memory);
    let mut next_w = vec![0.0; d];
    let mut next_grad = vec![0.0; d];
    let mut iterations = 0;
    while iterations < params.max_iterations {
        if dot(&grad, &grad).sqrt() < params.gradient_tolerance {
            break;
        }
        iterations += 1;
        // Two-loop recursion: direction = -H grad.
        let mut q = grad.clone();
        let mut alphas = Vec::with_capacity(history.len());
        for (s, y, rho) in history.iter().rev() {
            let a = rho * dot(s, &q);
            q.iter_mut().zip(y).for_each(|(qi, yi)| *qi -= a * yi);
            alphas.push(a);
        }
        let gamma = history
            .back()
            .map_or(1.0 / dot(&grad, &grad).sqrt().max(1.0), |(s, y, _)| {
                dot(s, y) / dot(y, y)
            });
        q.iter_mut().for_each(|v| *v *= gamma);
        for ((s, y, rho), a) in history.iter().zip(alphas.iter().rev()) {
            let b = rho * dot(y, &q);
            q.iter_mut().zip(s).for_each(|(qi, si)| *qi += (a - b) * si);
        }
        let mut direction: Vec<f64> = q.iter().map(|v| -v).collect();
        let mut slope = dot(&direction, &grad);
        if slope >= 0.0 {
            // Not a descent direction (numerical trouble): restart.
            history.clear();
            direction = grad.iter().map(|v| -v).collect();
            slope = -dot(&grad, &grad);
        }
        let mut step = 1.0;
        let mut accepted = false;
        for _ in 0..50 {
            next_w
                .iter_mut()
                .zip(&w)
                .zip(&direction)
                .for_each(|((n, wi), di)| *n = wi + step * di);
            let next_loss = problem.loss_and_gradient(&next_w, &mut next_grad);
            if next_loss <= loss + 1e-4 * step * slope {
                let s: Vec<f64> = next_w.iter().zip(&w).map(|(a, b)| a - b).collect();
                let y: Vec<f64> = next_grad.iter().zip(&grad).map(|(a, b)| a - b).collect();
                let sy = dot(&s, &y);
                if sy > 1e-12 {
                    if history.len() == params.memory {
                        history.pop_front();
                    }
                    history.push_back((s, y, 1.0 / sy));
                }
                std::mem::swap(&mut w, &mut next_w);
                std::mem::swap(&mut grad, &mut next_grad);
                loss = next_loss;
                accepted = true;
                break;
            }
            step *= 0.5;
        }
        if !accepted {
            // No decrease along the best direction: at the minimum up to
            // floating-point precision.
            break;
        }
    }
    (w, iterations)
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa_logistic::LogisticRegression;
    use ndarray::{Array1, Array2};

    /// A small problem with overlapping classes (so the optimum is finite).
    fn data() -> (Vec<SparseVector>, Vec<bool>, usize) {
        let n_features = 6;
        let mut rows = Vec::new();
        let mut y = Vec::new();
        let mut state = 7u64;
        let mut next = || {
            state = state
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((state >> 33) as f32) / (1u64 << 31) as f32
        };
        for i in 0..200 {
            let mut row: SparseVector = Vec::new();
            for j in 0..n_features as u32 {
                let v = next();
                if v > 0.5 {
                    row.push((j, v));
                }
            }
            let score: f32 = row
                .iter()
                .map(|&(j, v)| if j < 3 { v } else { -v })
                .sum::<f32>()
                + next()
                - 0.5;
            y.push(score > 0.0 || i % 17 == 0);
            rows.push(row);
        }
        (rows, y, n_features)
    }

    #[test]
    fn reaches_linfa_logistic_weights_on_the_same_data() {
        let (rows, y, n_features) = data();
        let alpha = 0.5;
        let ours = SparseLinearParams::new()
            .alpha(alpha)
            .max_iterations(500)
            .gradient_tolerance(1e-8)
            .check()
            .unwrap()
            .fit(&DatasetBase::new(
                SparseRows {
                    rows: &rows,
                    n_features,
                },
                y.clone(),
            ))
            .unwrap();
        let mut dense = Array2::<f64>::zeros((rows.len(), n_features));
        for (i, row) in rows.iter().enumerate() {
            for &(j, v) in row {
                dense[[i, j as usize]] = f64::from(v);
            }
        }
        let linfa = LogisticRegression::<f64>::default()
            .alpha(alpha)
            .max_iterations(500)
            .gradient_tolerance(1e-8)
            .fit(&DatasetBase::new(dense, Array1::from(y)))
            .unwrap();
        // linfa calls the more frequent class positive: flip when it is `false`.
        let sign = if linfa.labels().pos.class { 1.0 } else { -1.0 };
        for (a, b) in ours.weights.iter().zip(linfa.params()) {
            assert!((f64::from(*a) - sign * b).abs() < 1e-3, "{a} vs {b}");
        }
        assert!((f64::from(ours.intercept) - sign * linfa.intercept()).abs() < 1e-3);
        assert!(ours.iterations > 1);
    }

    #[test]
    fn the_linear_svm_separates_what_the_logistic_model_separates() {
        let (rows, y, n_features) = data();
        let fit = |loss| {
            SparseLinearParams::new()
                .loss(loss)
                .alpha(0.1)
                .check()
                .unwrap()
                .fit(&DatasetBase::new(
                    SparseRows {
                        rows: &rows,
                        n_features,
                    },
                    y.clone(),
                ))
                .unwrap()
        };
        let accuracy = |m: &FittedSparseLinear| {
            rows.iter()
                .zip(&y)
                .filter(|&(r, &label)| (m.margin(r) > 0.0) == label)
                .count() as f64
                / rows.len() as f64
        };
        let (svm, logistic) = (fit(Loss::SquaredHinge), fit(Loss::Logistic));
        assert!(accuracy(&svm) > 0.8, "{}", accuracy(&svm));
        assert!((accuracy(&svm) - accuracy(&logistic)).abs() < 0.05);
        assert_ne!(svm.weights, logistic.weights);
    }

    #[test]
    fn one_class_gives_a_constant_model() {
        let rows = vec![vec![(0u32, 1.0f32)], vec![(1, 1.0)]];
        let fitted = SparseLinearParams::new()
            .check()
            .unwrap()
            .fit(&DatasetBase::new(
                SparseRows {
                    rows: &rows,
                    n_features: 2,
                },
                vec![false, false],
            ))
            .unwrap();
        assert!(fitted.weights.iter().all(|&w| w == 0.0));
        assert!(fitted.margin(&rows[0]) < -10.0);
    }

    #[test]
    fn bad_params_and_bad_rows_are_errors() {
        assert!(SparseLinearParams::new().alpha(0.0).check().is_err());
        assert!(SparseLinearParams::new().max_iterations(0).check().is_err());
        let rows = vec![vec![(5u32, 1.0f32)], vec![(0, 1.0)]];
        let err = SparseLinearParams::new()
            .check()
            .unwrap()
            .fit(&DatasetBase::new(
                SparseRows {
                    rows: &rows,
                    n_features: 2,
                },
                vec![true, false],
            ))
            .unwrap_err();
        assert!(err.to_string().contains("out of range"), "{err}");
    }
}
