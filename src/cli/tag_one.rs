//! `fgf tag-one`: tags one file in process and prints its spans.

use super::*;
use anyhow::{Context, Result};
use fgf_core::tagger::Tagger;
use std::path::PathBuf;

/// Tag one file locally, without a server (FILE, or - for stdin).
#[derive(Debug, clap::Args)]
pub struct TagOneArgs {
    /// The text file to tag, or - to read it from stdin (UTF-8, UTF-16,
    /// GB18030/GBK or Big5, detected; or as --encoding says).
    pub file: PathBuf,
    /// Encoding of the file: a label such as gb18030, gbk, big5, utf-16le
    /// (default: detected).
    #[arg(long, value_name = "LABEL", value_parser = parse_encoding)]
    pub encoding: Option<&'static fgf_extract::Encoding>,
    /// Model file written by `fgf train` (default: $FGF_MODEL, ./models/fgf.model,
    /// PREFIX/share/fgf/fgf.model beside the binary, the build checkout's).
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    #[command(flatten)]
    pub flags: TagFlags,
}

pub fn run(args: TagOneArgs) -> Result<()> {
    let TagOneArgs {
        file,
        model,
        encoding,
        flags: TagFlags {
            sentences,
            lines,
            evidence,
        },
    } = args;
    let model = fgf_core::model_path::resolve(model.as_deref())?;
    let bytes = if file.as_os_str() == "-" {
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut std::io::stdin(), &mut bytes).context("reading stdin")?;
        bytes
    } else {
        std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?
    };
    let name = file.to_string_lossy();
    let text = fgf_extract::extract(&bytes, Some(&name), encoding)
        .with_context(|| format!("reading {}", file.display()))?
        .text;
    let tagger = Tagger::load(&model)?;
    // The options a TagRequest with these flags gets from the server.
    let request = flags_request(sentences, lines, evidence);
    let options = fgf_grpc::request::tag_options(&request, &fgf_grpc::limits::Limits::default())
        .map_err(|status| anyhow::anyhow!("{}", status.message()))?;
    let doc = tagger.tag(&text, &options);
    let taxonomy = &tagger.model().taxonomy;
    let show = |indent: &str, s: &fgf_core::tagger::TaggedSpan| {
        let labels: Vec<String> = s
            .labels
            .iter()
            .map(|h| {
                let mut label = format!("{}:{:.2}", taxonomy.label(h.index).code, h.score);
                if !h.evidence.is_empty() {
                    let terms: Vec<&str> = h.evidence.iter().map(|e| e.term.as_str()).collect();
                    label.push_str(&format!("({})", terms.join(",")));
                }
                label
            })
            .collect();
        println!(
            "{indent}[{}..{}] {:<11} {:<40} {}",
            s.span.start,
            s.span.end,
            s.role.as_str(),
            labels.join(" "),
            s.span.slice(&text).chars().take(40).collect::<String>()
        );
    };
    for span in &doc.spans {
        show("", span);
        for sentence in &span.sentences {
            show("    ", sentence);
        }
    }
    Ok(())
}
