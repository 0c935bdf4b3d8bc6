//! `fgf tag`: tags many documents through servers or in process
//! ([`crate::batch`]), one proto-JSON TagResponse per line in input order.

use super::*;
use anyhow::Result;
use fgf_core::tagger::Tagger;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Tag many documents: files, folders (*.txt, *.md, *.html, *.htm, *.docx, *.pdf), JSONL files with
/// {"id","text"} per line, or - for JSONL on stdin. Writes one
/// proto-JSON TagResponse per line, in input order. Exit code 0 when
/// every document was tagged, 1 when some failed, 2 when a server cannot
/// be used (checked before any input is read, and watched during the
/// run), 130 on Ctrl-C.
#[derive(Debug, clap::Args)]
pub struct TagArgs {
    /// Inputs: text files, folders, JSONL files, or - for JSONL on stdin.
    #[arg(required = true)]
    pub inputs: Vec<PathBuf>,
    /// Server URL, e.g. http://127.0.0.1:50051 (http:// is assumed
    /// without a scheme); repeat to balance over several.
    #[arg(long = "server")]
    pub servers: Vec<String>,
    /// Tag in process with --model instead of a server, one thread per core.
    #[arg(long, conflicts_with = "servers")]
    pub local: bool,
    /// Model file for --local (default: $FGF_MODEL, ./models/fgf.model,
    /// PREFIX/share/fgf/fgf.model beside the binary, the build checkout's).
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Output JSONL file (default: stdout).
    #[arg(long, short)]
    pub out: Option<PathBuf>,
    /// Rejected documents, one JSON object per line, created on the first
    /// one (default: OUT.errors.jsonl, or fgf-errors.jsonl with stdout).
    #[arg(long)]
    pub errors: Option<PathBuf>,
    /// Also write a CSV with one row per tagged document: id, chars,
    /// body_chars, fang, guan, fu, top_themes (see README).
    #[arg(long)]
    pub summary: Option<PathBuf>,
    /// Also write one self-contained HTML page for reviewing the batch: a
    /// sortable table of the documents (id, size, pillar shares, top
    /// themes, failures) and each document's highlighted view. Needs span
    /// text, so not with --omit-text.
    #[arg(long, value_name = "FILE", conflicts_with = "omit_text")]
    pub html: Option<PathBuf>,
    /// Continue an interrupted run: documents already in --out are
    /// skipped (an id written k times skips its first k occurrences),
    /// a torn last line is cut off, the rest is appended.
    #[arg(long, requires = "out")]
    pub resume: bool,
    /// Documents read but not yet written, at most.
    #[arg(long, default_value_t = 64)]
    pub window: usize,
    /// Concurrent TagStream calls (default: 2 per server).
    #[arg(long)]
    pub streams: Option<usize>,
    /// Attempts per document answered UNAVAILABLE, DEADLINE_EXCEEDED or
    /// RESOURCE_EXHAUSTED (a broken stream is not counted).
    #[arg(long, default_value_t = 8)]
    pub max_attempts: u32,
    /// Stop (exit code 2) when no server has answered for this long.
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub give_up_after: std::time::Duration,
    /// Leave span text out of the output (offsets only; TagRequest.omit_text):
    /// the output is 5-6 times smaller with --sentences.
    #[arg(long)]
    pub omit_text: bool,
    /// Threads for --local (default: one per core).
    #[arg(long)]
    pub threads: Option<usize>,
    /// PEM client certificate for servers that ask for one (mutual TLS).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    #[command(flatten)]
    pub client: ClientArgs,
    /// Encoding of the text files (not JSONL, which is UTF-8): a label such
    /// as gb18030, gbk, big5, utf-16le (default: detected: a BOM, UTF-8,
    /// UTF-16, else GB18030/GBK or Big5 by chardetng).
    #[arg(long, value_name = "LABEL", value_parser = parse_encoding)]
    pub encoding: Option<&'static fgf_extract::Encoding>,
    #[command(flatten)]
    pub flags: TagFlags,
}

pub fn run(args: TagArgs) -> Result<()> {
    let TagArgs {
        inputs,
        servers,
        local,
        model,
        out,
        errors,
        summary,
        html,
        resume,
        window,
        streams,
        max_attempts,
        give_up_after,
        omit_text,
        threads,
        tls_cert,
        tls_key,
        client: ClientArgs {
            auth_token_file,
            tls_ca,
        },
        encoding,
        flags: TagFlags {
            sentences,
            lines,
            evidence,
        },
    } = args;
    use crate::batch::{self, BatchOptions, Inputs, OrderedWriter, OutputPaths, Progress, Stopped};
    use std::sync::atomic::{AtomicBool, Ordering};
    if !local && servers.is_empty() {
        anyhow::bail!("give --server URL (repeatable) or --local");
    }
    let identity = match (
        read_optional(tls_cert.as_deref())?,
        read_optional(tls_key.as_deref())?,
    ) {
        (Some(cert), Some(key)) => Some((cert, key)),
        _ => None,
    };
    let mut options = BatchOptions {
        window: window.max(1),
        streams: streams.unwrap_or(2 * servers.len().max(1)),
        max_attempts: max_attempts.max(1),
        request: fgf_grpc::pb::TagRequest {
            omit_text,
            ..flags_request(sentences, lines, evidence)
        },
        threads: threads.unwrap_or(BatchOptions::default().threads).max(1),
        auth_token: fgf_grpc::auth::client_token(auth_token_file.as_deref())?,
        tls: fgf_grpc::client::ClientTls {
            ca: read_optional(tls_ca.as_deref())?,
            identity,
        },
        give_up_after: give_up_after.max(std::time::Duration::from_secs(1)),
        ..BatchOptions::default()
    };
    let runtime = tokio::runtime::Runtime::new()?;
    // Stops with its exit code (2: servers, 130: Ctrl-C), after the
    // summary when documents were being tagged.
    let stop_with = |stopped: &Stopped, summary: Option<String>, hint: Option<String>| -> ! {
        if let Some(summary) = summary {
            eprintln!("fgf tag: {summary}");
        }
        match stopped {
            Stopped::Unreachable(m) | Stopped::GaveUp(m) => {
                eprintln!("fgf tag: error: {m}")
            }
            Stopped::Interrupted => eprintln!("fgf tag: interrupted"),
        }
        if let Some(hint) = hint {
            eprintln!("fgf tag: {hint}");
        }
        std::process::exit(i32::from(stopped.exit_code()))
    };
    // Every server is checked before any input is read.
    let mut server_urls = Vec::new();
    if !local {
        match runtime.block_on(batch::preflight(&servers, &options)) {
            Ok(infos) => {
                for info in &infos {
                    eprintln!(
                        "fgf tag: {} answers: model {}, documents up to {} bytes",
                        info.url, info.model_version, info.max_doc_bytes
                    );
                }
                options.max_doc_bytes = infos.iter().map(|i| i.max_doc_bytes).min();
                server_urls = infos.into_iter().map(|i| i.url).collect();
            }
            Err(e) => match e.downcast_ref::<Stopped>() {
                Some(stopped) => stop_with(stopped, None, None),
                None => return Err(e),
            },
        }
    }
    let errors = errors.unwrap_or_else(|| match &out {
        Some(o) => PathBuf::from(format!("{}.errors.jsonl", o.display())),
        None => PathBuf::from("fgf-errors.jsonl"),
    });
    let documents = Inputs::new(&inputs)?.with_encoding(encoding);
    if let Some(first) = documents.skipped_files.first() {
        eprintln!(
            "fgf tag: skipped {} files in the input folders that are not .txt, .md, .html, .htm, .docx or .pdf (e.g. {}); give them by path to tag them as text",
            documents.skipped_files.len(),
            first.display()
        );
    }
    let progress = Arc::new(Progress::with_total(Inputs::count(&inputs)?));
    let paths = OutputPaths {
        out: out.clone(),
        errors: errors.clone(),
        summary,
        html,
        resume,
    };
    // The model before the outputs, so a bad --model leaves them as they are.
    let tagger = if local {
        let model = fgf_core::model_path::resolve(model.as_deref())?;
        Some(Arc::new(Tagger::load(&model)?))
    } else {
        None
    };
    let (writer, skip) = OrderedWriter::open(&paths, progress.clone())?;
    // Ctrl-C: stop reading, write what is done, print the summary.
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let interrupted = interrupted.clone();
        runtime.spawn(async move {
            if tokio::signal::ctrl_c().await.is_ok() {
                interrupted.store(true, Ordering::Relaxed);
            }
        });
    }
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let reporter = batch::spawn_progress(progress.clone(), stop.clone());
    let result = if let Some(tagger) = tagger {
        batch::run_local(
            documents,
            tagger,
            options,
            writer,
            skip,
            progress.clone(),
            interrupted,
        )
    } else {
        runtime.block_on(batch::run_remote(
            documents,
            &server_urls,
            options,
            writer,
            skip,
            progress.clone(),
            interrupted,
        ))
    };
    stop.store(true, Ordering::Relaxed);
    let _ = reporter.join();
    if let Some(report) = progress.server_report() {
        eprintln!("fgf tag: {report}");
    }
    let failed = progress.failed.load(Ordering::Relaxed);
    if let Err(e) = result {
        let Some(stopped) = e.downcast_ref::<Stopped>() else {
            return Err(e);
        };
        if failed > 0 {
            eprintln!(
                "fgf tag: {failed} documents failed; see {}",
                errors.display()
            );
        }
        let hint = match &out {
            Some(o) => format!(
                "the documents written so far stay in {}; run the same command with --resume to continue",
                o.display()
            ),
            None => "output went to stdout: give --out FILE to be able to --resume".to_string(),
        };
        stop_with(stopped, Some(progress.summary(started)), Some(hint));
    }
    eprintln!("fgf tag: {}", progress.summary(started));
    if failed > 0 {
        anyhow::bail!("{failed} documents failed; see {}", errors.display());
    }
    Ok(())
}
