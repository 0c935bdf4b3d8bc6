//! `fgf compare`: compares approaches and feature sets by k-fold
//! cross-validation on the training split and writes models/REPORT.md.

use anyhow::{Context, Result};
use fgf_core::model::TrainParams;
use fgf_core::tokenize::Tokenizer;
use fgf_train::compare;
use fgf_train::train::{self, ModelsDir};
use std::path::PathBuf;

/// Compare approaches and feature sets by k-fold cross-validation on the
/// training split and write the table to models/REPORT.md.
#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// Folder with taxonomy.toml, domain_dict.txt and corpus/.
    #[arg(long, default_value = "models")]
    pub models_dir: PathBuf,
    /// Cross-validation folds.
    #[arg(long, default_value_t = 5)]
    pub folds: usize,
    /// Only these approaches; default all.
    #[arg(long, value_delimiter = ',', value_enum)]
    pub approaches: Vec<compare::Approach>,
    /// Only these feature sets, by index (0: words ... 3: + dictionary hits).
    #[arg(long, value_delimiter = ',')]
    pub feature_sets: Vec<usize>,
    /// L2 strengths to sweep (default: each approach's own, svm 0.3, lr 0.003).
    #[arg(long, value_delimiter = ',')]
    pub alphas: Vec<f64>,
    /// Vocabulary caps to sweep (default: the committed model's, 30000).
    #[arg(long, value_delimiter = ',')]
    pub max_features: Vec<usize>,
    /// Where to write the markdown report (nothing written if empty).
    #[arg(long, default_value = "models/REPORT.md")]
    pub out: PathBuf,
}

pub fn run(args: CompareArgs) -> Result<()> {
    let CompareArgs {
        models_dir,
        folds,
        approaches,
        feature_sets,
        alphas,
        max_features,
        out,
    } = args;
    let command = std::env::args().skip(1).collect::<Vec<_>>().join(" ");
    let command = format!("fgf {command}");
    let dir = ModelsDir::new(models_dir);
    let (taxonomy, dictionary, corpus) = train::load_inputs(&dir)?;
    let params = TrainParams::new();
    params.check()?;
    let tokenizer = Tokenizer::new(&dictionary);
    let words: Vec<_> = corpus
        .train
        .iter()
        .map(|s| tokenizer.feature_words(&s.text))
        .collect();
    let gold = fgf_train::fit::gold_labels(&taxonomy, &corpus.train);
    let boilerplate: Vec<bool> = corpus
        .train
        .iter()
        .map(|s| fgf_core::role::classify(s.text.trim()) == fgf_core::role::Role::Boilerplate)
        .collect();
    let mut results = Vec::new();
    let caps = if max_features.is_empty() {
        vec![params.feature_params().max_features]
    } else {
        max_features
    };
    for approach in compare::Approach::all() {
        if !approaches.is_empty() && !approaches.contains(&approach) {
            continue;
        }
        let approach_alphas: Vec<f64> = match approach.default_alpha() {
            // Naive Bayes ignores it: one run.
            None => vec![1.0],
            Some(own) if alphas.is_empty() => vec![own],
            Some(_) => alphas.clone(),
        };
        for &cap in &caps {
            for (i, set) in compare::feature_sets(cap).iter().enumerate() {
                if !feature_sets.is_empty() && !feature_sets.contains(&i) {
                    continue;
                }
                for &alpha in &approach_alphas {
                    let params = params.alpha(alpha).check()?;
                    let r = compare::cross_validate(
                        approach,
                        set,
                        params.params(),
                        compare::CvData {
                            taxonomy: &taxonomy,
                            words: &words,
                            gold: &gold,
                            boilerplate: &boilerplate,
                        },
                        folds,
                    )?;
                    // Naive Bayes has its own smoothing and no alpha.
                    let alpha = match approach.default_alpha() {
                        Some(_) => alpha.to_string(),
                        None => "-".to_string(),
                    };
                    eprintln!(
                        "{:<38} {:<50} alpha {:<6} {:>7} terms  theme micro-F1 {:.3} macro-F1 {:.3}  ({:.0} s)",
                        approach.name(),
                        set.name,
                        alpha,
                        cap,
                        r.evaluation.theme_micro.f1,
                        r.evaluation.theme_macro.f1,
                        r.seconds
                    );
                    results.push(r);
                }
            }
        }
    }
    let table = compare::markdown_table(&results);
    print!("{table}");
    if !out.as_os_str().is_empty() {
        let report = compare::report(
            &results,
            &command,
            folds,
            corpus.train.len(),
            &corpus.fingerprint,
        );
        std::fs::write(&out, report).with_context(|| format!("writing {}", out.display()))?;
        eprintln!("wrote {}", out.display());
    }
    Ok(())
}
