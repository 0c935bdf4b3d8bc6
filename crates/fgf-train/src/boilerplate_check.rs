//! Fitting the learned boilerplate check of short lines
//! ([`fgf_core::boilerplate::BoilerplateModel`]): logistic regression on
//! the label model's term features plus layout features, over every
//! training sample's role, with its threshold tuned out of fold on the
//! lines it will be asked about.

use anyhow::Result;
use fgf_core::features::SparseVector;
use fgf_core::model::{Loss, ValidTrainParams, sigmoid};

use crate::corpus::Sample;
use crate::fit::{best_threshold, fit_label, margins};
use crate::folds::{Fold, folds};
use crate::sparse_linear::SparseRows;

/// Fits the learned boilerplate check on every sample's role, over the
/// term features `x` plus layout features. Its threshold is chosen on
/// out-of-fold probabilities of the lines it will be asked about (short,
/// and not boilerplate by the rules); without folds it is 0.5.
pub(crate) fn fit_boilerplate(
    valid: &ValidTrainParams,
    x: SparseRows<'_>,
    train: &[Sample],
) -> Result<fgf_core::boilerplate::BoilerplateModel> {
    use fgf_core::boilerplate::{LAYOUT_FEATURES, layout_features};
    use fgf_core::role::{Role, classify};
    let params = valid.params();
    let n_terms = x.n_features;
    // Term features, then the layout features as extra columns.
    let full: Vec<SparseVector> = x
        .rows
        .iter()
        .zip(train)
        .map(|(row, s)| {
            let mut row = row.clone();
            for (k, v) in layout_features(&s.text).into_iter().enumerate() {
                if v != 0.0 {
                    row.push(((n_terms + k) as u32, v));
                }
            }
            row
        })
        .collect();
    let n_full = n_terms + LAYOUT_FEATURES;
    let gold: Vec<bool> = train.iter().map(|s| s.role == Role::Boilerplate).collect();
    let asked: Vec<bool> = train
        .iter()
        .map(|s| {
            fgf_core::boilerplate::is_candidate(&s.text)
                && classify(s.text.trim()) != Role::Boilerplate
        })
        .collect();
    let k = params.threshold_folds;
    let mut oof = vec![0.0f32; train.len()];
    for Fold {
        fit: fit_rows,
        held: held_rows,
    } in folds(train.len(), k)
    {
        let xf: Vec<SparseVector> = fit_rows.iter().map(|&i| full[i].clone()).collect();
        let yf: Vec<bool> = fit_rows.iter().map(|&i| gold[i]).collect();
        let rows = SparseRows {
            rows: &xf,
            n_features: n_full,
        };
        let fitted = vec![fit_label(
            Loss::Logistic,
            params.boilerplate_alpha,
            params.max_iterations,
            rows,
            &yf,
        )?];
        for &i in &held_rows {
            oof[i] = sigmoid(margins(&fitted, &full[i])[0]);
        }
    }
    let (p, g): (Vec<f32>, Vec<bool>) = (0..train.len())
        .filter(|&i| asked[i])
        .map(|i| (oof[i], gold[i]))
        .unzip();
    // Calling body text boilerplate drops its labels: never below even odds.
    let threshold = if k >= 2 {
        best_threshold(&p, &g, 0.5).max(0.5)
    } else {
        0.5
    };
    let rows = SparseRows {
        rows: &full,
        n_features: n_full,
    };
    // Always logistic: its sigmoid is the probability the threshold reads.
    let (w, intercept) = fit_label(
        Loss::Logistic,
        params.boilerplate_alpha,
        params.max_iterations,
        rows,
        &gold,
    )?;
    Ok(fgf_core::boilerplate::BoilerplateModel {
        term_weights: w[..n_terms].to_vec(),
        layout_weights: w[n_terms..].to_vec(),
        intercept,
        threshold,
    })
}
