//! `fgf train`: trains the model from the corpus in the models folder and
//! scores it on the frozen test split.

use super::*;
use anyhow::Result;
use fgf_core::features::FeatureParams;
use fgf_core::model::TrainParams;
use fgf_train::train::{self, ModelsDir};
use std::path::PathBuf;
use std::time::Instant;

/// Train the model from the corpus in the models folder and score it on
/// the frozen test split.
#[derive(Debug, clap::Args)]
pub struct TrainArgs {
    /// Folder with taxonomy.toml, domain_dict.txt and corpus/.
    #[arg(long, default_value = "models")]
    pub models_dir: PathBuf,
    /// L2 regularisation (default: the committed model's setting).
    #[arg(long)]
    pub alpha: Option<f64>,
    /// Loss of each label's linear model (default: the committed model's).
    #[arg(long, value_enum)]
    pub loss: Option<LossArg>,
    /// Vocabulary cap.
    #[arg(long)]
    pub max_features: Option<usize>,
    /// Cross-validation folds for threshold tuning (0: no tuning).
    #[arg(long)]
    pub folds: Option<usize>,
    /// L-BFGS iterations per label.
    #[arg(long)]
    pub max_iterations: Option<u64>,
    /// Keep only this many terms, those with the largest weights after a
    /// first fit, and fit again (0: keep all).
    #[arg(long)]
    pub selected_features: Option<usize>,
    /// Only print the report; leave models/ untouched.
    #[arg(long)]
    pub dry_run: bool,
}

pub fn run(args: TrainArgs) -> Result<()> {
    let TrainArgs {
        models_dir,
        alpha,
        loss,
        max_features,
        folds,
        max_iterations,
        selected_features,
        dry_run,
    } = args;
    let dir = ModelsDir::new(models_dir);
    let mut params = TrainParams::new();
    if let Some(alpha) = alpha {
        params = params.alpha(alpha);
    }
    if let Some(loss) = loss {
        params = params.loss(loss.into());
    }
    if let Some(n) = max_features {
        params = params.features(FeatureParams {
            max_features: n,
            ..FeatureParams::default()
        });
    }
    if let Some(k) = folds {
        params = params.threshold_folds(k);
    }
    if let Some(n) = selected_features {
        params = params.selected_features(n);
    }
    if let Some(n) = max_iterations {
        params = params.max_iterations(n);
    }
    let params = params.check()?;
    let started = Instant::now();
    let outcome = train::train(&dir, &params)?;
    print!("{}", outcome.report);
    if dry_run {
        println!(
            "trained in {:.1}s (dry run: nothing written)",
            started.elapsed().as_secs_f64()
        );
    } else {
        train::write_outputs(&dir, &outcome)?;
        println!(
            "wrote {} and {} in {:.1}s",
            dir.model().display(),
            dir.report().display(),
            started.elapsed().as_secs_f64()
        );
    }
    Ok(())
}
