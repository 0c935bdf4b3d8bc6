//! The `fgf` command line: [`Cli`] and its [`Command`]s, one module per
//! subcommand holding its arguments and its `run`. Shared helpers are here.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use fgf_core::model::Loss;
use fgf_grpc::logging::LogFormat;
use fgf_train::train::ModelsDir;
use std::io::Read;
use std::net::SocketAddr;
use std::path::PathBuf;

pub mod bench;
pub mod compare;
pub mod compare_roles;
pub mod eval;
pub mod eval_layout;
pub mod eval_real;
pub mod segment;
pub mod serve;
pub mod soak;
pub mod tag;
pub mod tag_one;
pub mod train;

#[derive(Parser)]
#[command(
    name = "fgf",
    version,
    about = "Tags Chinese government documents by the 放管服 reform"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// Log lines on stderr as text (coloured only on a terminal) or as one
    /// JSON object per line, for log collectors.
    #[arg(
        long,
        global = true,
        value_enum,
        env = "FGF_LOG_FORMAT",
        default_value_t
    )]
    pub log_format: LogFormat,
}

#[derive(Subcommand)]
pub enum Command {
    /// Serve the fgf.v1.Tagger gRPC API (with health and reflection).
    Serve(serve::ServeArgs),
    /// Train the model from the corpus in the models folder and score it on
    /// the frozen test split.
    Train(train::TrainArgs),
    /// Compare approaches and feature sets by k-fold cross-validation on the
    /// training split and write the table to models/REPORT.md.
    Compare(compare::CompareArgs),
    /// Score a model file on the frozen test split.
    Eval(eval::EvalArgs),
    /// Compare the service's role decision (rules, then the learned
    /// boilerplate check) with a fully learned role classifier, on the
    /// frozen test split and on real documents with gold lines.
    CompareRoles(compare_roles::CompareRolesArgs),
    /// Score the tagger on real documents against line-level gold labels
    /// (the format is in the eval_real module doc and the README): pillar and
    /// theme precision/recall/F1, per-label scores, role accuracy, and
    /// boilerplate lines that got labels.
    EvalReal(eval_real::EvalRealArgs),
    /// Segment text with jieba and the domain dictionary (TEXT, or - for stdin).
    Segment(segment::SegmentArgs),
    /// Tag one file locally, without a server (FILE, or - for stdin).
    TagOne(tag_one::TagOneArgs),
    /// Tag many documents: files, folders (*.txt, *.md, *.html, *.htm, *.docx, *.pdf), JSONL files with
    /// {"id","text"} per line, or - for JSONL on stdin. Writes one
    /// proto-JSON TagResponse per line, in input order. Exit code 0 when
    /// every document was tagged, 1 when some failed, 2 when a server cannot
    /// be used (checked before any input is read, and watched during the
    /// run), 130 on Ctrl-C.
    Tag(tag::TagArgs),
    /// Load-test a server's Tag API (this one or any other speaking the
    /// proto) and report docs/s, MB/s, latency percentiles and errors.
    Bench(bench::BenchArgs),
    /// Soak a running server: a mix of normal, large, oversized, empty,
    /// binary-looking, malformed, impatient, streamed and Segment calls for
    /// a while; then check statuses, RSS (via --metrics) and health. Exits
    /// non-zero when the server did not hold up.
    Soak(soak::SoakArgs),
    /// Measure paragraph reconstruction: wrap clean documents (one paragraph
    /// per line) at several widths and compare spans and labels.
    EvalLayout(eval_layout::EvalLayoutArgs),
}

/// How to reach a server: the flags `fgf tag`, `fgf bench` and `fgf soak`
/// share.
#[derive(Debug, clap::Args)]
pub struct ClientArgs {
    /// Bearer token for servers that need one (or FGF_AUTH_TOKEN).
    #[arg(long)]
    pub auth_token_file: Option<PathBuf>,
    /// PEM CA certificate that https:// servers are verified against.
    #[arg(long)]
    pub tls_ca: Option<PathBuf>,
}

/// What to put in a tagged document: the flags `fgf tag` and
/// `fgf tag-one` share.
#[derive(Debug, clap::Args)]
pub struct TagFlags {
    /// Add sentence spans under each paragraph.
    #[arg(long)]
    pub sentences: bool,
    /// One paragraph per line: no reconstruction of hard-wrapped text.
    #[arg(long)]
    pub lines: bool,
    /// Add the evidence terms of every label.
    #[arg(long)]
    pub evidence: bool,
}

/// `--encoding LABEL`: the encoding of text files, a WHATWG label
/// (`gb18030`, `gbk`, `big5`, `utf-16le`, `utf-8`, ...).
pub(crate) fn parse_encoding(label: &str) -> Result<&'static fgf_extract::Encoding, String> {
    fgf_extract::encoding_for_label(label).map_err(|e| e.to_string())
}

/// The TagRequest fields [`TagFlags`] set (text and id left empty).
pub(crate) fn flags_request(
    sentences: bool,
    lines: bool,
    evidence: bool,
) -> fgf_grpc::pb::TagRequest {
    use fgf_grpc::pb::{Granularity, LineMode};
    fgf_grpc::pb::TagRequest {
        granularity: if sentences {
            Granularity::Sentence as i32
        } else {
            Granularity::Unspecified as i32
        },
        line_mode: if lines {
            LineMode::Lines as i32
        } else {
            LineMode::Unspecified as i32
        },
        include_evidence: evidence,
        ..Default::default()
    }
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Serve(args) => serve::run(args),
        Command::Train(args) => train::run(args),
        Command::Compare(args) => compare::run(args),
        Command::Eval(args) => eval::run(args),
        Command::CompareRoles(args) => compare_roles::run(args),
        Command::EvalReal(args) => eval_real::run(args),
        Command::Segment(args) => segment::run(args),
        Command::TagOne(args) => tag_one::run(args),
        Command::Tag(args) => tag::run(args),
        Command::Bench(args) => bench::run(args),
        Command::Soak(args) => soak::run(args),
        Command::EvalLayout(args) => eval_layout::run(args),
    }
}

/// `--loss`: the losses of [`Loss`] as command-line values.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum LossArg {
    /// Logistic regression.
    Logistic,
    /// A linear SVM (scikit-learn's `LinearSVC`).
    SquaredHinge,
}

impl From<LossArg> for Loss {
    fn from(loss: LossArg) -> Self {
        match loss {
            LossArg::Logistic => Loss::Logistic,
            LossArg::SquaredHinge => Loss::SquaredHinge,
        }
    }
}

/// The addresses `addr` (HOST:PORT, HOST an IP or a name) resolves to, for
/// the listener of `flag`; all must be loopback unless `listen_public`.
pub(crate) fn resolve_listen(
    flag: &str,
    addr: &str,
    listen_public: bool,
) -> Result<Vec<SocketAddr>> {
    use std::net::ToSocketAddrs;
    let addrs: Vec<SocketAddr> = addr
        .to_socket_addrs()
        .with_context(|| {
            format!(
                "{flag} {addr}: not an address (HOST:PORT, e.g. 127.0.0.1:50051 or localhost:50051)"
            )
        })?
        .collect();
    if addrs.is_empty() {
        anyhow::bail!("{flag} {addr}: the host name resolves to no address");
    }
    if let Some(public) = addrs.iter().find(|a| !a.ip().is_loopback())
        && !listen_public
    {
        anyhow::bail!(
            "{flag} {addr} ({public}) is reachable from other machines; pass --listen-public to allow it"
        );
    }
    Ok(addrs)
}

/// The training split's texts, which `fgf bench` and `fgf soak` build
/// their documents from.
pub(crate) fn training_paragraphs() -> Result<Vec<String>> {
    let (_, _, corpus) = fgf_train::train::load_inputs(&ModelsDir::new("models"))?;
    Ok(corpus.train.into_iter().map(|s| s.text).collect())
}

/// Writes `value` as pretty JSON to `path`.
pub(crate) fn write_json(path: &std::path::Path, value: &impl serde::Serialize) -> Result<()> {
    std::fs::write(path, serde_json::to_string_pretty(value)?)
        .with_context(|| format!("writing {}", path.display()))
}

/// The bytes of an optional file.
pub(crate) fn read_optional(path: Option<&std::path::Path>) -> Result<Option<Vec<u8>>> {
    path.map(|p| std::fs::read(p).with_context(|| format!("reading {}", p.display())))
        .transpose()
}

pub(crate) fn read_stdin() -> Result<String> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .context("reading stdin")?;
    Ok(s)
}
