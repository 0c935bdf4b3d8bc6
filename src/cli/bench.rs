//! `fgf bench`: load-tests a server's Tag API (this one or any other
//! speaking the proto) and reports docs/s, MB/s, latency percentiles and
//! errors.

use super::*;
use anyhow::{Context, Result};
use std::path::PathBuf;

/// Load-test a server's Tag API (this one or any other speaking the
/// proto) and report docs/s, MB/s, latency percentiles and errors.
#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// Server URL.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    pub server: String,
    /// unary (Tag), stream (TagStream), or http (POST /v1/tag as JSON over
    /// keep-alive HTTP/1.1; plain http:// only).
    #[arg(long, default_value = "unary")]
    pub mode: String,
    /// Concurrent calls (unary) or streams.
    #[arg(long, default_value_t = 8)]
    pub concurrency: usize,
    /// Documents in flight per stream.
    #[arg(long, default_value_t = 8)]
    pub window: usize,
    /// How long to run (e.g. 10s).
    #[arg(long, value_parser = humantime::parse_duration)]
    pub duration: Option<std::time::Duration>,
    /// Or how many documents to send.
    #[arg(long)]
    pub count: Option<u64>,
    /// Open loop: start this many calls per second (unary).
    #[arg(long)]
    pub rate: Option<f64>,
    /// Warm-up before measuring.
    #[arg(long, default_value = "1s", value_parser = humantime::parse_duration)]
    pub warmup: std::time::Duration,
    /// Documents to send (JSONL with id and text); default: generated
    /// from models/corpus/train at --doc-size bytes each.
    #[arg(long)]
    pub docs: Option<PathBuf>,
    /// Bytes per generated document (without --docs).
    #[arg(long, default_value_t = 10_000)]
    pub doc_size: usize,
    /// Write the documents used as JSONL (to reuse them elsewhere).
    #[arg(long)]
    pub write_docs: Option<PathBuf>,
    /// Also write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    #[command(flatten)]
    pub client: ClientArgs,
}

pub fn run(args: BenchArgs) -> Result<()> {
    let BenchArgs {
        server,
        mode,
        concurrency,
        window,
        duration,
        count,
        rate,
        warmup,
        docs,
        doc_size,
        write_docs,
        json,
        client: ClientArgs {
            auth_token_file,
            tls_ca,
        },
    } = args;
    use crate::loadgen::{self, LoadParams, Mode};
    let mode = match mode.as_str() {
        "unary" => Mode::Unary,
        "stream" => Mode::Stream,
        "http" => Mode::Http,
        other => anyhow::bail!("--mode {other:?}: use unary, stream or http"),
    };
    let requests: Vec<fgf_grpc::pb::TagRequest> = match docs {
        Some(path) => crate::batch::Inputs::new(&[path])?
            .filter_map(|d| d.ok())
            .map(|d| fgf_grpc::pb::TagRequest {
                id: d.id,
                text: d.text,
                ..Default::default()
            })
            .collect(),
        None => loadgen::make_documents(&training_paragraphs()?, doc_size, 200),
    };
    if let Some(path) = write_docs {
        let mut out = String::new();
        for r in &requests {
            out.push_str(&serde_json::json!({"id": r.id, "text": r.text}).to_string());
            out.push('\n');
        }
        std::fs::write(&path, out).with_context(|| format!("writing {}", path.display()))?;
    }
    let params = LoadParams {
        server,
        mode,
        concurrency,
        window,
        duration: duration.or(if count.is_none() {
            Some(std::time::Duration::from_secs(10))
        } else {
            None
        }),
        count,
        rate,
        warmup,
        auth_token: fgf_grpc::auth::client_token(auth_token_file.as_deref())?,
        tls_ca: read_optional(tls_ca.as_deref())?,
    };
    let report = tokio::runtime::Runtime::new()?.block_on(loadgen::run(&params, requests))?;
    print!("{}", report.to_text());
    if let Some(path) = json {
        write_json(&path, &report)?;
    }
    Ok(())
}
