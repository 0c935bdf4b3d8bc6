//! `fgf bench`: a load generator for the fgf.v1.Tagger/Tag API.
//!
//! Any server speaking the proto can be measured: this one, or the Python
//! baseline in `bench/python_baseline`. Three modes:
//!
//! * **unary**: `concurrency` tasks each call Tag in a loop (closed loop),
//!   or, with `rate`, calls are started on a fixed schedule (open loop) and
//!   latency counts from the scheduled start, so a slow server cannot hide
//!   queueing (no coordinated omission);
//! * **stream**: `concurrency` TagStream calls, each with up to `window`
//!   documents in flight; latency is from sending a document to its answer;
//! * **http**: `concurrency` keep-alive HTTP/1.1 connections each posting
//!   the documents to `POST /v1/tag` as JSON in a loop (closed loop), to
//!   compare the JSON API's cost with gRPC's on the same server. The bodies
//!   are encoded before the run, so the client spends its time on I/O.
//!
//! It stops after `duration` or `count` documents and reports documents per
//! second, MB/s, latency percentiles and errors by status code, as text and
//! as JSON.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Serialize;
use tokio::sync::{Mutex, mpsc};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::transport::Channel;

use fgf_grpc::client::{connect_channel_with, tagger_client};
use fgf_grpc::pb;
use fgf_grpc::status::code_name;

/// Unary calls or streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    Unary,
    Stream,
    Http,
}

/// What to run.
#[derive(Debug, Clone)]
pub struct LoadParams {
    pub server: String,
    pub mode: Mode,
    pub concurrency: usize,
    /// Documents in flight per stream (stream mode).
    pub window: usize,
    pub duration: Option<Duration>,
    pub count: Option<u64>,
    /// Calls started per second (unary, open loop); `None`: closed loop.
    pub rate: Option<f64>,
    pub warmup: Duration,
    /// Bearer token sent to servers that need one.
    pub auth_token: Option<String>,
    /// PEM CA that an `https://` server is verified against.
    pub tls_ca: Option<Vec<u8>>,
}

/// Latency percentiles in milliseconds.
#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Latency {
    pub p50_ms: f64,
    pub p90_ms: f64,
    pub p99_ms: f64,
    pub max_ms: f64,
    pub mean_ms: f64,
}

/// What a run measured.
#[derive(Debug, Clone, Serialize)]
pub struct LoadReport {
    pub server: String,
    pub mode: Mode,
    pub concurrency: usize,
    pub rate: Option<f64>,
    pub seconds: f64,
    pub documents: u64,
    pub ok: u64,
    pub bytes: u64,
    pub docs_per_s: f64,
    pub mb_per_s: f64,
    pub latency: Latency,
    /// Non-OK answers by status name.
    pub errors: BTreeMap<String, u64>,
}

impl LoadReport {
    /// A few lines for people.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "{} {:?} x{}{}: {} docs ({} ok) in {:.1} s: {:.1} docs/s, {:.2} MB/s\n\
             latency ms: p50 {:.2}  p90 {:.2}  p99 {:.2}  max {:.2}  mean {:.2}\n",
            self.server,
            self.mode,
            self.concurrency,
            self.rate.map_or(String::new(), |r| format!(" at {r:.0}/s")),
            self.documents,
            self.ok,
            self.seconds,
            self.docs_per_s,
            self.mb_per_s,
            self.latency.p50_ms,
            self.latency.p90_ms,
            self.latency.p99_ms,
            self.latency.max_ms,
            self.latency.mean_ms,
        );
        if self.errors.is_empty() {
            s.push_str("errors: none\n");
        } else {
            s.push_str(&format!("errors: {:?}\n", self.errors));
        }
        s
    }
}

fn percentile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i] as f64 / 1000.0
}

/// Shared counters of a run.
#[derive(Default)]
struct Tally {
    /// Latencies in microseconds of answered documents.
    latencies: std::sync::Mutex<Vec<u64>>,
    errors: std::sync::Mutex<BTreeMap<String, u64>>,
    documents: AtomicU64,
    ok: AtomicU64,
    bytes: AtomicU64,
}

impl Tally {
    fn record(&self, started: Instant, bytes: usize, status: Option<tonic::Code>) {
        let micros = started.elapsed().as_micros() as u64;
        self.documents.fetch_add(1, Ordering::Relaxed);
        self.latencies.lock().expect("tally").push(micros);
        match status {
            None => {
                self.ok.fetch_add(1, Ordering::Relaxed);
                self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
            }
            Some(code) => {
                *self
                    .errors
                    .lock()
                    .expect("tally")
                    .entry(code_name(code).to_string())
                    .or_default() += 1;
            }
        }
    }
}

/// Hands out documents round robin until the run is over.
struct Feed {
    docs: Arc<Vec<pb::TagRequest>>,
    next: AtomicU64,
    limit: Option<u64>,
    until: Option<Instant>,
    token: Option<String>,
}

impl Feed {
    /// `message` as a request, with the bearer token when there is one.
    fn request<T>(&self, message: T) -> tonic::Request<T> {
        fgf_grpc::auth::request_with(message, self.token.as_deref())
    }

    fn take(&self) -> Option<&pb::TagRequest> {
        self.take_index().map(|i| &self.docs[i])
    }

    /// The index of the next document to send.
    fn take_index(&self) -> Option<usize> {
        if self.until.is_some_and(|u| Instant::now() >= u) {
            return None;
        }
        let n = self.next.fetch_add(1, Ordering::Relaxed);
        if self.limit.is_some_and(|l| n >= l) {
            return None;
        }
        Some((n % self.docs.len() as u64) as usize)
    }
}

/// Runs the load and returns what it measured.
pub async fn run(params: &LoadParams, docs: Vec<pb::TagRequest>) -> Result<LoadReport> {
    if docs.is_empty() {
        bail!("no documents to send");
    }
    if params.duration.is_none() && params.count.is_none() {
        bail!("give a duration or a count");
    }
    if params.mode == Mode::Http {
        return run_http(params, docs).await;
    }
    // One connection per concurrent caller: a server that spreads
    // connections over processes (the Python baseline's SO_REUSEPORT
    // workers) sees the load as a real fleet of clients would send it.
    let mut channels = Vec::with_capacity(params.concurrency.max(1));
    for _ in 0..params.concurrency.max(1) {
        channels.push(connect_channel_with(&params.server, params.tls_ca.as_deref()).await?);
    }
    let docs = Arc::new(docs);
    // Warm-up: connections, server caches, allocator.
    if !params.warmup.is_zero() {
        let warm = Feed {
            docs: docs.clone(),
            next: AtomicU64::new(0),
            limit: None,
            until: Some(Instant::now() + params.warmup),
            token: params.auth_token.clone(),
        };
        run_closed_unary(&channels, &warm, &Tally::default()).await;
    }
    let feed = Feed {
        docs,
        next: AtomicU64::new(0),
        limit: params.count,
        until: params.duration.map(|d| Instant::now() + d),
        token: params.auth_token.clone(),
    };
    let tally = Tally::default();
    let started = Instant::now();
    match (params.mode, params.rate) {
        (Mode::Unary, None) => run_closed_unary(&channels, &feed, &tally).await,
        (Mode::Unary, Some(rate)) => run_open_unary(&channels, &feed, rate, &tally).await,
        (Mode::Stream, _) => run_streams(&channels, &feed, params.window, &tally).await?,
        (Mode::Http, _) => unreachable!("--mode http returned above"),
    }
    Ok(report(params, &tally, started.elapsed().as_secs_f64()))
}

/// What `tally` counted over `seconds`.
fn report(params: &LoadParams, tally: &Tally, seconds: f64) -> LoadReport {
    let mut latencies = std::mem::take(&mut *tally.latencies.lock().expect("tally"));
    latencies.sort_unstable();
    let mean = if latencies.is_empty() {
        0.0
    } else {
        latencies.iter().sum::<u64>() as f64 / latencies.len() as f64 / 1000.0
    };
    let documents = tally.documents.load(Ordering::Relaxed);
    let bytes = tally.bytes.load(Ordering::Relaxed);
    LoadReport {
        server: params.server.clone(),
        mode: params.mode,
        concurrency: params.concurrency,
        rate: params.rate,
        seconds,
        documents,
        ok: tally.ok.load(Ordering::Relaxed),
        bytes,
        docs_per_s: documents as f64 / seconds,
        mb_per_s: bytes as f64 / 1e6 / seconds,
        latency: Latency {
            p50_ms: percentile(&latencies, 0.50),
            p90_ms: percentile(&latencies, 0.90),
            p99_ms: percentile(&latencies, 0.99),
            max_ms: latencies.last().map_or(0.0, |&m| m as f64 / 1000.0),
            mean_ms: mean,
        },
        errors: std::mem::take(&mut *tally.errors.lock().expect("tally")),
    }
}

/// `--mode http`: closed loop over keep-alive HTTP/1.1 connections, each
/// posting documents to `/v1/tag` and reading the whole answer.
async fn run_http(params: &LoadParams, docs: Vec<pb::TagRequest>) -> Result<LoadReport> {
    let authority = params
        .server
        .strip_prefix("http://")
        .unwrap_or(&params.server)
        .trim_end_matches('/')
        .to_string();
    if authority.contains("://") {
        bail!("--mode http speaks plain http://, not {}", params.server);
    }
    // Every request encoded once, before the run.
    let requests: Vec<(Vec<u8>, usize)> = docs
        .iter()
        .map(|d| {
            let body = serde_json::json!({"id": d.id, "text": d.text}).to_string();
            let mut head = format!(
                "POST /v1/tag HTTP/1.1\r\nHost: {authority}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n",
                body.len()
            );
            if let Some(token) = &params.auth_token {
                head.push_str(&format!("Authorization: Bearer {token}\r\n"));
            }
            head.push_str("\r\n");
            let mut bytes = head.into_bytes();
            bytes.extend_from_slice(body.as_bytes());
            (bytes, d.text.len())
        })
        .collect();
    let docs = Arc::new(docs);
    let warm = Feed {
        docs: docs.clone(),
        next: AtomicU64::new(0),
        limit: None,
        until: Some(Instant::now() + params.warmup),
        token: None,
    };
    let mut connections = Vec::new();
    for _ in 0..params.concurrency.max(1) {
        connections.push(
            HttpConnection::open(&authority)
                .await
                .with_context(|| format!("connecting to {authority}"))?,
        );
    }
    let warm_tally = Tally::default();
    http_loop(&mut connections, &requests, &warm, &warm_tally).await?;
    let feed = Feed {
        docs,
        next: AtomicU64::new(0),
        limit: params.count,
        until: params.duration.map(|d| Instant::now() + d),
        token: None,
    };
    let tally = Tally::default();
    let started = Instant::now();
    http_loop(&mut connections, &requests, &feed, &tally).await?;
    Ok(report(params, &tally, started.elapsed().as_secs_f64()))
}

async fn http_loop(
    connections: &mut [HttpConnection],
    requests: &[(Vec<u8>, usize)],
    feed: &Feed,
    tally: &Tally,
) -> Result<()> {
    let tasks = connections.iter_mut().map(|conn| async move {
        while let Some(i) = feed.take_index() {
            let (request, bytes) = &requests[i];
            let started = Instant::now();
            let status = conn.exchange(request).await?;
            let code = (status != 200).then_some(match status {
                400 => tonic::Code::InvalidArgument,
                401 => tonic::Code::Unauthenticated,
                413 | 429 => tonic::Code::ResourceExhausted,
                503 => tonic::Code::Unavailable,
                504 => tonic::Code::DeadlineExceeded,
                _ => tonic::Code::Unknown,
            });
            tally.record(started, *bytes, code);
        }
        anyhow::Ok(())
    });
    for r in futures_util::future::join_all(tasks).await {
        r?;
    }
    Ok(())
}

/// One keep-alive HTTP/1.1 connection: sends a request, reads the status
/// line, the headers and a `Content-Length` body.
struct HttpConnection {
    stream: tokio::io::BufReader<tokio::net::TcpStream>,
    body: Vec<u8>,
}

impl HttpConnection {
    async fn open(authority: &str) -> Result<Self> {
        let stream = tokio::net::TcpStream::connect(authority).await?;
        stream.set_nodelay(true)?;
        Ok(Self {
            stream: tokio::io::BufReader::new(stream),
            body: Vec::new(),
        })
    }

    /// Sends `request`, reads the whole answer, returns its status.
    async fn exchange(&mut self, request: &[u8]) -> Result<u16> {
        use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
        self.stream.get_mut().write_all(request).await?;
        let mut line = String::new();
        self.stream.read_line(&mut line).await?;
        let status: u16 = line
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("not an HTTP answer: {line:?}"))?;
        let mut length = 0usize;
        loop {
            line.clear();
            if self.stream.read_line(&mut line).await? == 0 {
                bail!("the server closed the connection");
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse()?;
            }
        }
        self.body.resize(length, 0);
        self.stream.read_exact(&mut self.body).await?;
        Ok(status)
    }
}

async fn run_closed_unary(channels: &[Channel], feed: &Feed, tally: &Tally) {
    let tasks = channels.iter().map(|channel| async {
        let mut client = tagger_client(channel.clone());
        while let Some(req) = feed.take() {
            let started = Instant::now();
            let bytes = req.text.len();
            let status = client
                .tag(feed.request(req.clone()))
                .await
                .err()
                .map(|s| s.code());
            tally.record(started, bytes, status);
        }
    });
    futures_util::future::join_all(tasks).await;
}

/// Open loop: a ticker releases one call every `1/rate` s; `concurrency`
/// workers run them; latency counts from the tick, so time spent waiting
/// for a free worker is included.
async fn run_open_unary(channels: &[Channel], feed: &Feed, rate: f64, tally: &Tally) {
    let (tx, rx) = mpsc::channel::<(Instant, pb::TagRequest)>(100_000);
    let rx = Arc::new(Mutex::new(rx));
    let ticker = async move {
        let period = Duration::from_secs_f64(1.0 / rate.max(0.001));
        let mut interval = tokio::time::interval(period);
        interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
        loop {
            let tick = interval.tick().await;
            let Some(req) = feed.take() else { break };
            if tx.send((tick.into_std(), req.clone())).await.is_err() {
                break;
            }
        }
    };
    let workers = channels.iter().map(|channel| {
        let rx = rx.clone();
        async move {
            let mut client = tagger_client(channel.clone());
            loop {
                let Some((scheduled, req)) = rx.lock().await.recv().await else {
                    break;
                };
                let bytes = req.text.len();
                let status = client.tag(feed.request(req)).await.err().map(|s| s.code());
                tally.record(scheduled, bytes, status);
            }
        }
    });
    tokio::join!(ticker, futures_util::future::join_all(workers));
}

async fn run_streams(
    channels: &[Channel],
    feed: &Feed,
    window: usize,
    tally: &Tally,
) -> Result<()> {
    let tasks = channels.iter().map(|channel| async {
        let mut client = tagger_client(channel.clone());
        let (tx, rx) = mpsc::channel::<pb::TagRequest>(window.max(1));
        let mut inbound = client
            .tag_stream(feed.request(ReceiverStream::new(rx)))
            .await
            .context("opening TagStream")?
            .into_inner();
        let mut in_flight: VecDeque<(Instant, usize)> = VecDeque::new();
        let mut feeding = true;
        loop {
            while feeding && in_flight.len() < window.max(1) {
                match feed.take() {
                    Some(req) => {
                        in_flight.push_back((Instant::now(), req.text.len()));
                        if tx.send(req.clone()).await.is_err() {
                            feeding = false;
                        }
                    }
                    None => feeding = false,
                }
            }
            if in_flight.is_empty() {
                break;
            }
            match inbound.next().await {
                Some(Ok(resp)) => {
                    let (started, bytes) = in_flight.pop_front().expect("in flight");
                    let status = resp.error.map(|e| tonic::Code::from(e.code));
                    tally.record(started, bytes, status);
                }
                Some(Err(status)) => {
                    for (started, bytes) in in_flight.drain(..) {
                        tally.record(started, bytes, Some(status.code()));
                    }
                    break;
                }
                None => break,
            }
        }
        drop(tx);
        anyhow::Ok(())
    });
    for r in futures_util::future::join_all(tasks).await {
        r?;
    }
    Ok(())
}

/// Documents of about `size` bytes made of `paragraphs` taken in a fixed
/// order, one paragraph per line.
pub fn make_documents(paragraphs: &[String], size: usize, n: usize) -> Vec<pb::TagRequest> {
    let mut out = Vec::with_capacity(n);
    let mut source = paragraphs.iter().cycle().step_by(7);
    for i in 0..n {
        let mut text = String::new();
        while text.len() < size {
            text.push_str(source.next().map_or("", String::as_str));
            text.push('\n');
        }
        out.push(pb::TagRequest {
            id: format!("bench-{i}"),
            text,
            ..Default::default()
        });
    }
    out
}
