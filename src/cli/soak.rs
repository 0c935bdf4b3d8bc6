//! `fgf soak`: soaks a running server with a mix of good and bad calls,
//! then checks statuses, RSS and health.

use super::*;
use anyhow::Result;
use std::path::PathBuf;

/// Soak a running server: a mix of normal, large, oversized, empty,
/// binary-looking, malformed, impatient, streamed and Segment calls for
/// a while; then check statuses, RSS (via --metrics) and health. Exits
/// non-zero when the server did not hold up.
#[derive(Debug, clap::Args)]
pub struct SoakArgs {
    /// Server URL.
    #[arg(long, default_value = "http://127.0.0.1:50051")]
    pub server: String,
    /// Concurrent callers.
    #[arg(long, default_value_t = 16)]
    pub concurrency: usize,
    /// How long to soak (e.g. 60s, 10m).
    #[arg(long, default_value = "60s", value_parser = humantime::parse_duration)]
    pub duration: std::time::Duration,
    /// Load before the first RSS reading, not judged.
    #[arg(long, default_value = "5s", value_parser = humantime::parse_duration)]
    pub warmup: std::time::Duration,
    /// Pause before each RSS reading, for the server to go idle.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub settle: std::time::Duration,
    /// The server's --metrics-addr (host:port), to read its RSS.
    #[arg(long)]
    pub metrics: Option<String>,
    /// Also write the report as JSON here.
    #[arg(long)]
    pub json: Option<PathBuf>,
    #[command(flatten)]
    pub client: ClientArgs,
}

pub fn run(args: SoakArgs) -> Result<()> {
    let SoakArgs {
        server,
        concurrency,
        duration,
        warmup,
        settle,
        metrics,
        json,
        client: ClientArgs {
            auth_token_file,
            tls_ca,
        },
    } = args;
    let documents = crate::loadgen::make_documents(&training_paragraphs()?, 10_000, 50)
        .into_iter()
        .map(|r| r.text)
        .collect();
    let params = crate::soak::SoakParams {
        server,
        concurrency,
        duration,
        warmup,
        settle,
        metrics,
        documents,
        auth_token: fgf_grpc::auth::client_token(auth_token_file.as_deref())?,
        tls_ca: read_optional(tls_ca.as_deref())?,
    };
    let report = tokio::runtime::Runtime::new()?.block_on(crate::soak::run(&params))?;
    print!("{}", report.to_text());
    if let Some(path) = json {
        write_json(&path, &report)?;
    }
    if !report.passed {
        anyhow::bail!("the server did not hold up (see the table above)");
    }
    Ok(())
}
