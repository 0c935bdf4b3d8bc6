//! `fgf eval-real`: scores the tagger on real documents against
//! line-level gold labels.

use anyhow::Result;
use fgf_core::tagger::Tagger;
use std::path::PathBuf;

/// Score the tagger on real documents against line-level gold labels
/// (the format is in the eval_real module doc and the README): pillar and
/// theme precision/recall/F1, per-label scores, role accuracy, and
/// boilerplate lines that got labels.
#[derive(Debug, clap::Args)]
pub struct EvalRealArgs {
    /// Folder holding the documents the gold file names.
    pub docs: PathBuf,
    /// Gold file: one JSON object per gold line.
    pub gold: PathBuf,
    /// Model file (default: found as for `fgf serve`).
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Also list every gold line the tagger got wrong.
    #[arg(long)]
    pub show_errors: bool,
}

pub fn run(args: EvalRealArgs) -> Result<()> {
    let EvalRealArgs {
        docs,
        gold,
        model,
        show_errors,
    } = args;
    let model = fgf_core::model_path::resolve(model.as_deref())?;
    let tagger = Tagger::load(&model)?;
    let gold = fgf_train::eval_real::load_gold(&gold)?;
    let scores = fgf_train::eval_real::evaluate(&tagger, &docs, &gold)?;
    print!("{}", fgf_train::eval_real::report(&scores, show_errors));
    Ok(())
}
