//! `fgf eval`: scores a model file on the frozen test split.

use anyhow::Result;
use fgf_core::tagger::Tagger;
use fgf_train::train::{self, ModelsDir};
use std::path::PathBuf;

/// Score a model file on the frozen test split.
#[derive(Debug, clap::Args)]
pub struct EvalArgs {
    /// Model file written by `fgf train` (default: $FGF_MODEL, ./models/fgf.model,
    /// PREFIX/share/fgf/fgf.model beside the binary, the build checkout's).
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Folder with the corpus whose frozen test split is scored.
    #[arg(long, default_value = "models")]
    pub models_dir: PathBuf,
    /// Also list every test sample whose labels or role came out wrong.
    #[arg(long)]
    pub show_errors: bool,
}

pub fn run(args: EvalArgs) -> Result<()> {
    let EvalArgs {
        model,
        models_dir,
        show_errors,
    } = args;
    let model = fgf_core::model_path::resolve(model.as_deref())?;
    let dir = ModelsDir::new(models_dir);
    let tagger = Tagger::load(&model)?;
    let (_, _, corpus) = train::load_inputs(&dir)?;
    let evaluation = train::evaluate(&tagger, &corpus.test);
    print!("{}", train::report(tagger.model(), &evaluation));
    print!("{}", train::test_parts(&tagger, &corpus.test));
    if show_errors {
        print!("{}", train::errors(&tagger, &corpus.test));
    }
    Ok(())
}
