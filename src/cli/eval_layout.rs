//! `fgf eval-layout`: measures paragraph reconstruction on hard-wrapped
//! copies of clean documents.

use anyhow::{Context, Result};
use fgf_core::tagger::Tagger;
use fgf_train::layout;
use std::path::PathBuf;

/// Measure paragraph reconstruction: wrap clean documents (one paragraph
/// per line) at several widths and compare spans and labels.
#[derive(Debug, clap::Args)]
pub struct EvalLayoutArgs {
    /// Clean documents (default: the test fixtures).
    #[arg(default_value = "tests/fixtures/layout")]
    pub paths: Vec<PathBuf>,
    /// Model file written by `fgf train` (default: $FGF_MODEL, ./models/fgf.model,
    /// PREFIX/share/fgf/fgf.model beside the binary, the build checkout's).
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
}

pub fn run(args: EvalLayoutArgs) -> Result<()> {
    let EvalLayoutArgs { paths, model } = args;
    let model = fgf_core::model_path::resolve(model.as_deref())?;
    let mut files = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut in_dir: Vec<PathBuf> = std::fs::read_dir(&path)
                .with_context(|| format!("reading {}", path.display()))?
                .map(|e| e.map(|e| e.path()))
                .collect::<std::io::Result<_>>()?;
            in_dir.retain(|p| p.extension().is_some_and(|e| e == "txt"));
            in_dir.sort();
            files.extend(in_dir);
        } else {
            files.push(path);
        }
    }
    let docs: Vec<String> = files
        .iter()
        .map(|f| std::fs::read_to_string(f).with_context(|| format!("reading {}", f.display())))
        .collect::<Result<_>>()?;
    let tagger = Tagger::load(&model)?;
    println!("{} clean documents", docs.len());
    print!(
        "{}",
        layout::format_table(&layout::evaluate(&tagger, &docs))
    );
    Ok(())
}
