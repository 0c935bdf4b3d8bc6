//! `fgf soak`: keeps a server busy for a while with a mix of good and bad
//! calls, then checks that it is still the server it was.
//!
//! `concurrency` callers, one connection each, pick a [`Kind`] of call at
//! random (weighted) until the time is up: normal and large documents,
//! oversized and empty ones, binary-looking text, bad options, bytes that
//! are not protobuf, callers that give up after a millisecond, TagStreams
//! with a bad document inside, and Segment calls. Each kind has the statuses
//! it may get; anything else is *unexpected*.
//!
//! Before (after a warm-up with the same mix) and after (once the server
//! has had `settle` to go idle), the server's resident memory is read from
//! its metrics endpoint (`process_resident_memory_bytes`), when given.
//! The run passes when no status was unexpected, nothing is left in
//! flight, RSS ended within 10% of where it started and health still
//! answers SERVING.

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Serialize;
use tonic::transport::Channel;

use fgf_grpc::client::{connect_channel_with, tagger_client};
use fgf_grpc::pb;

mod mix;

pub use mix::Kind;
use mix::{Mix, Rng, Tally};

/// What to run.
#[derive(Debug, Clone)]
pub struct SoakParams {
    pub server: String,
    pub concurrency: usize,
    pub duration: Duration,
    /// The same mix, unmeasured, before the RSS baseline is read.
    pub warmup: Duration,
    /// Pause after the run before RSS is read again.
    pub settle: Duration,
    /// `host:port` of the server's `--metrics-addr`, for RSS and in-flight.
    pub metrics: Option<String>,
    /// Normal documents (about 10 KB each).
    pub documents: Vec<String>,
    pub auth_token: Option<String>,
    pub tls_ca: Option<Vec<u8>>,
}

/// Outcomes of one kind of call.
#[derive(Debug, Clone, Default, Serialize)]
pub struct KindTally {
    pub calls: u64,
    /// Answers by status name.
    pub statuses: BTreeMap<String, u64>,
    pub unexpected: u64,
}

/// What a soak run saw.
#[derive(Debug, Clone, Serialize)]
pub struct SoakReport {
    pub server: String,
    pub concurrency: usize,
    pub seconds: f64,
    pub calls: u64,
    pub unexpected: u64,
    pub kinds: BTreeMap<Kind, KindTally>,
    pub rss_before_mb: Option<f64>,
    pub rss_after_mb: Option<f64>,
    pub rss_peak_mb: Option<f64>,
    pub in_flight_after: Option<f64>,
    pub health_after: String,
    pub passed: bool,
}

impl SoakReport {
    /// A table for people.
    pub fn to_text(&self) -> String {
        let mut s = format!(
            "soak {} x{} for {:.0} s: {} calls, {} unexpected\n",
            self.server, self.concurrency, self.seconds, self.calls, self.unexpected
        );
        s.push_str(&format!(
            "{:<16} {:>8} {:>10}  statuses\n",
            "kind", "calls", "unexpected"
        ));
        for (kind, t) in &self.kinds {
            let kind = serde_json::to_value(kind)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            s.push_str(&format!(
                "{kind:<16} {:>8} {:>10}  {:?}\n",
                t.calls, t.unexpected, t.statuses
            ));
        }
        let mb = |v: Option<f64>| v.map_or("?".to_string(), |v| format!("{v:.1} MB"));
        s.push_str(&format!(
            "rss: before {}, peak seen {}, after {}; in flight after: {}; health after: {}\n",
            mb(self.rss_before_mb),
            mb(self.rss_peak_mb),
            mb(self.rss_after_mb),
            self.in_flight_after
                .map_or("?".to_string(), |v| format!("{v}")),
            self.health_after
        ));
        s.push_str(if self.passed { "PASSED\n" } else { "FAILED\n" });
        s
    }
}

/// Scrapes `name` (an unlabeled gauge or counter) from `GET /metrics`.
async fn scrape(addr: &str, name: &str) -> Option<f64> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await.ok()?;
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: fgf\r\nConnection: close\r\n\r\n")
        .await
        .ok()?;
    let mut body = String::new();
    stream.read_to_string(&mut body).await.ok()?;
    body.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// Runs the soak and returns what it saw.
pub async fn run(params: &SoakParams) -> Result<SoakReport> {
    anyhow::ensure!(!params.documents.is_empty(), "no documents to send");
    let first = connect_channel_with(&params.server, params.tls_ca.as_deref()).await?;
    let mix = {
        let info = tagger_client(first.clone())
            .get_model_info(fgf_grpc::auth::request_with(
                pb::GetModelInfoRequest {},
                params.auth_token.as_deref(),
            ))
            .await
            .context("GetModelInfo")?
            .into_inner();
        let limit = info.max_doc_bytes as usize;
        Mix {
            params,
            large: Mix::sized(&params.documents, limit / 2),
            oversized: Mix::sized(&params.documents, limit + 1000),
        }
    };
    let mut channels = vec![first];
    for _ in 1..params.concurrency.max(1) {
        channels.push(connect_channel_with(&params.server, params.tls_ca.as_deref()).await?);
    }
    let rss = |addr: &Option<String>| {
        let addr = addr.clone();
        async move {
            match addr {
                Some(a) => scrape(&a, "process_resident_memory_bytes")
                    .await
                    .map(|b| b / 1e6),
                None => None,
            }
        }
    };
    run_mix(&mix, &channels, params.warmup, &Tally::default(), None).await;
    tokio::time::sleep(params.settle).await;
    let rss_before = rss(&params.metrics).await;

    let tally = Tally::default();
    let peak = Mutex::new(rss_before);
    let started = Instant::now();
    run_mix(&mix, &channels, params.duration, &tally, Some(&peak)).await;
    let seconds = started.elapsed().as_secs_f64();

    tokio::time::sleep(params.settle).await;
    let rss_after = rss(&params.metrics).await;
    let in_flight_after = match &params.metrics {
        Some(a) => scrape(a, "fgf_in_flight").await,
        None => None,
    };
    let health_after = health(&channels[0]).await;

    let kinds = tally.0.into_inner().expect("tally");
    let calls = kinds.values().map(|t| t.calls).sum();
    let unexpected = kinds.values().map(|t| t.unexpected).sum();
    let rss_ok = match (rss_before, rss_after) {
        (Some(b), Some(a)) => a <= b * 1.10,
        _ => true,
    };
    let passed = unexpected == 0
        && rss_ok
        && in_flight_after.is_none_or(|n| n == 0.0)
        && health_after == "SERVING";
    Ok(SoakReport {
        server: params.server.clone(),
        concurrency: params.concurrency,
        seconds,
        calls,
        unexpected,
        kinds,
        rss_before_mb: rss_before,
        rss_after_mb: rss_after,
        rss_peak_mb: peak.into_inner().expect("peak"),
        in_flight_after,
        health_after,
        passed,
    })
}

/// Every channel makes calls from the mix for `duration`; with `peak`, RSS
/// is sampled once a second meanwhile.
async fn run_mix(
    mix: &Mix<'_>,
    channels: &[Channel],
    duration: Duration,
    tally: &Tally,
    peak: Option<&Mutex<Option<f64>>>,
) {
    let until = Instant::now() + duration;
    let callers = channels.iter().enumerate().map(|(i, channel)| async move {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (i as u64 + 1).wrapping_mul(0x1000_0001));
        while Instant::now() < until {
            let kind = Kind::pick(&mut rng);
            mix.call(kind, channel, &mut rng, tally).await;
        }
    });
    let sampler = async {
        let (Some(peak), Some(addr)) = (peak, &mix.params.metrics) else {
            return;
        };
        while Instant::now() < until {
            if let Some(mb) = scrape(addr, "process_resident_memory_bytes").await {
                let mut p = peak.lock().expect("peak");
                *p = Some(p.map_or(mb / 1e6, |v: f64| v.max(mb / 1e6)));
            }
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
    };
    tokio::join!(futures_util::future::join_all(callers), sampler);
}

async fn health(channel: &Channel) -> String {
    use tonic_health::pb::health_client::HealthClient;
    let mut client = HealthClient::new(channel.clone());
    match client
        .check(tonic_health::pb::HealthCheckRequest {
            service: String::new(),
        })
        .await
    {
        Ok(r) => match r.into_inner().status() {
            tonic_health::pb::health_check_response::ServingStatus::Serving => "SERVING".into(),
            other => format!("{other:?}"),
        },
        Err(s) => format!("error: {}", s.message()),
    }
}
