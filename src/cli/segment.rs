//! `fgf segment`: cuts text into words with jieba and the domain
//! dictionary.

use super::*;
use anyhow::Result;
use fgf_core::tagger::Tagger;
use fgf_core::tokenize::{DomainDictionary, Tokenizer};
use std::path::PathBuf;

/// Segment text with jieba and the domain dictionary (TEXT, or - for stdin).
#[derive(Debug, clap::Args)]
pub struct SegmentArgs {
    /// The text to segment, or - to read it from stdin.
    pub text: String,
    /// Domain dictionary file, one term per line (default: the one
    /// embedded in the model file, found as for --model).
    #[arg(long, value_name = "FILE")]
    pub dict: Option<PathBuf>,
    /// Model file whose dictionary is used when --dict is not given.
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
}

pub fn run(args: SegmentArgs) -> Result<()> {
    let SegmentArgs { text, dict, model } = args;
    let text = if text == "-" { read_stdin()? } else { text };
    let tagger;
    let from_file;
    let tokenizer = match dict {
        Some(dict) => {
            from_file = Tokenizer::new(&DomainDictionary::load(&dict)?);
            &from_file
        }
        None => {
            let model = fgf_core::model_path::resolve(model.as_deref())?;
            tagger = Tagger::load(&model)?;
            tagger.tokenizer()
        }
    };
    for t in tokenizer.tokens(&text) {
        let mark = if t.in_domain_dict { "\t*" } else { "" };
        println!("{}\t{}..{}{mark}", t.word, t.start, t.end);
    }
    Ok(())
}
