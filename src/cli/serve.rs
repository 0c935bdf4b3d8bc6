//! `fgf serve`: serves the fgf.v1.Tagger gRPC API (with health and
//! reflection).

use super::*;
use anyhow::{Context, Result};
use fgf_core::tagger::Tagger;
use fgf_grpc::server::{self, ServeConfig};
use fgf_grpc::service::Limits;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

/// Serve the fgf.v1.Tagger gRPC API (with health and reflection).
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on, HOST:PORT (an IP or a host name such as
    /// localhost); port 0 picks a free port. Addresses other than
    /// loopback need --listen-public.
    #[arg(long, default_value = "127.0.0.1:50051")]
    pub addr: String,
    /// Model file written by `fgf train` (default: $FGF_MODEL, ./models/fgf.model,
    /// PREFIX/share/fgf/fgf.model beside the binary, the build checkout's).
    #[arg(long, value_name = "FILE")]
    pub model: Option<PathBuf>,
    /// Largest accepted document in bytes; larger ones get INVALID_ARGUMENT
    /// (in a TagStream, as that document's answer). At most
    /// --max-inflight-bytes.
    #[arg(long, default_value_t = fgf_grpc::service::DEFAULT_MAX_DOC_BYTES)]
    pub max_doc_bytes: usize,
    /// Bytes of documents worked on at once (all calls together); a
    /// document that would go over it gets RESOURCE_EXHAUSTED at once.
    /// Sets the memory the server needs: see deploy/README.md.
    #[arg(long, default_value_t = fgf_grpc::service::DEFAULT_MAX_INFLIGHT_BYTES)]
    pub max_inflight_bytes: usize,
    /// Tokio worker threads (default: number of cores).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Documents tagged at the same time (default: number of cores).
    #[arg(long)]
    pub cpu_jobs: Option<usize>,
    /// Documents a TagStream call works on at once.
    #[arg(long, default_value_t = 16)]
    pub stream_window: usize,
    /// Require `authorization: Bearer <token>` on every call but health;
    /// the token is read from this file (or from FGF_AUTH_TOKEN).
    #[arg(long)]
    pub auth_token_file: Option<PathBuf>,
    /// Allow --addr and --metrics-addr to be non-loopback addresses
    /// (reachable from other machines).
    #[arg(long)]
    pub listen_public: bool,
    /// Documents allowed to wait for a CPU slot; more are refused with
    /// RESOURCE_EXHAUSTED at once.
    #[arg(long, default_value_t = 256)]
    pub max_queue: usize,
    /// Documents up to this many bytes are tagged on the thread that
    /// received them, larger ones on the blocking pool (0: always the pool).
    #[arg(long, default_value_t = fgf_grpc::service::DEFAULT_INLINE_MAX_BYTES)]
    pub inline_max_bytes: usize,
    /// Tagger calls one connection may have open at once; more are refused
    /// with RESOURCE_EXHAUSTED at once (0: no per-connection limit).
    #[arg(long, default_value_t = 64)]
    pub max_conn_calls: usize,
    /// Serve TLS with this PEM certificate chain (needs --tls-key).
    #[arg(long, requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// PEM private key of --tls-cert.
    #[arg(long, requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Mutual TLS: accept only clients with a certificate signed by this PEM CA.
    #[arg(long, requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
    /// Serve Prometheus metrics at http://ADDR/metrics (off by default);
    /// HOST:PORT as for --addr, non-loopback needs --listen-public.
    #[arg(long)]
    pub metrics_addr: Option<String>,
    /// Let pages from this origin call the server from a browser (CORS, for
    /// the JSON API and gRPC-Web), e.g. https://app.example.org; repeat for
    /// more, or * for any. Off by default: only the server's own page.
    #[arg(long = "cors-origin", value_name = "ORIGIN")]
    pub cors_origins: Vec<String>,
    /// Log one line per call at info (target fgf::access): rpc, peer,
    /// document id, status, bytes in and out, microseconds.
    #[arg(long)]
    pub access_log: bool,
}

pub fn run(args: ServeArgs) -> Result<()> {
    let ServeArgs {
        addr,
        model,
        max_doc_bytes,
        max_inflight_bytes,
        workers,
        cpu_jobs,
        stream_window,
        auth_token_file,
        listen_public,
        max_queue,
        inline_max_bytes,
        max_conn_calls,
        tls_cert,
        tls_key,
        tls_client_ca,
        metrics_addr,
        cors_origins,
        access_log: _,
    } = args;
    let model = fgf_core::model_path::resolve(model.as_deref())?;
    let addrs = resolve_listen("--addr", &addr, listen_public)?;
    let metrics_addrs = metrics_addr
        .as_deref()
        .map(|a| resolve_listen("--metrics-addr", a, listen_public))
        .transpose()?;
    let limits = Limits {
        max_doc_bytes,
        stream_window,
        max_queue,
        inline_max_bytes,
        max_inflight_bytes,
    };
    limits.check()?;
    // Built here, so a bad origin stops the server before the model loads.
    let cors = fgf_grpc::http::cors(&cors_origins)?;
    let auth = fgf_grpc::auth::BearerToken::configured(auth_token_file.as_deref())?;
    let read = |p: &PathBuf| std::fs::read(p).with_context(|| format!("reading {}", p.display()));
    let tls = match (&tls_cert, &tls_key) {
        (Some(cert), Some(key)) => {
            let ca = tls_client_ca.as_ref().map(read).transpose()?;
            Some(fgf_grpc::tls::TlsSettings::from_pem(
                &read(cert)?,
                &read(key)?,
                ca.as_deref(),
            )?)
        }
        _ => None,
    };
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let started = Instant::now();
    let tagger = Arc::new(Tagger::load(&model)?);
    tracing::info!(
        model = %model.display(),
        version = %tagger.model().version,
        millis = started.elapsed().as_millis() as u64,
        "model loaded"
    );
    let (tls_on, auth_on) = (tls.is_some(), auth.is_some());
    let mutual_tls = tls_client_ca.is_some();
    let config = ServeConfig {
        limits,
        cpu_jobs: cpu_jobs.unwrap_or(cores),
        max_conn_calls: (max_conn_calls > 0).then_some(max_conn_calls),
        auth,
        tls,
        model_path: Some(model.clone()),
        metrics: None,
        cors,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers.unwrap_or(cores).max(1))
        .enable_all()
        .build()
        .context("starting the tokio runtime")?;
    runtime.block_on(async move {
        let mut config = config;
        let listener = tokio::net::TcpListener::bind(&addrs[..])
            .await
            .with_context(|| format!("cannot listen on {addr}"))?;
        if let (Some(addrs), Some(addr)) = (metrics_addrs, &metrics_addr) {
            config.metrics = Some(
                tokio::net::TcpListener::bind(&addrs[..])
                    .await
                    .with_context(|| format!("cannot serve metrics on {addr}"))?,
            );
        }
        let local = listener.local_addr()?;
        let hup = server::reload_signal();
        // The first stdout line is the address, for scripts and tests.
        println!("fgf listening on {local}");
        tracing::info!(
            %local,
            tls = tls_on,
            mutual_tls,
            auth = auth_on,
            "serving fgf.v1.Tagger"
        );
        server::serve(listener, tagger, config, server::shutdown_signal(), hup).await
    })?;
    tracing::info!("stopped");
    Ok(())
}
