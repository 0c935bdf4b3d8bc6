//! `fgf compare-roles`: the service's role decision against a fully learned
//! role classifier, on the test split and on real gold sets.

use anyhow::Result;
use fgf_core::tagger::Tagger;
use fgf_train::train::{self, ModelsDir};
use std::path::PathBuf;

/// Compare the service's role decision (rules, then the learned
/// boilerplate check) with a fully learned role classifier, on the
/// frozen test split and on real documents with gold lines.
#[derive(Debug, clap::Args)]
pub struct CompareRolesArgs {
    /// Folder with taxonomy.toml, domain_dict.txt and corpus/.
    #[arg(long, default_value = "models")]
    pub models_dir: PathBuf,
    /// Model file whose feature space the learned classifier uses
    /// (default: found as for `fgf serve`).
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Real documents and their gold file, as for `fgf eval-real`
    /// (repeatable).
    #[arg(long, num_args = 2, value_names = ["DOCS", "GOLD"])]
    pub real: Vec<PathBuf>,
    /// L2 strength of the learned classifier.
    #[arg(long, default_value_t = 0.003)]
    pub alpha: f64,
}

pub fn run(args: CompareRolesArgs) -> Result<()> {
    let CompareRolesArgs {
        models_dir,
        model,
        real,
        alpha,
    } = args;
    let model = fgf_core::model_path::resolve(model.as_deref())?;
    let tagger = Tagger::load(&model)?;
    let (_, _, corpus) = train::load_inputs(&ModelsDir::new(models_dir))?;
    let mut sets = Vec::new();
    let mut names = Vec::new();
    for pair in real.chunks(2) {
        names.push(pair[0].display().to_string());
        sets.push(fgf_train::role_compare::RealSet {
            docs: pair[0].clone(),
            gold: fgf_train::eval_real::load_gold(&pair[1])?,
        });
    }
    let scores =
        fgf_train::role_compare::compare(&tagger, &corpus.train, &corpus.test, &sets, alpha)?;
    print!("{}", fgf_train::role_compare::report(&scores, &names));
    Ok(())
}
