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
use tonic::Code;
use tonic::transport::Channel;

use fgf_grpc::client::{RawCodec, connect_channel_with, tagger_client};
use fgf_grpc::pb;
use fgf_grpc::status::code_name;

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

/// A kind of call in the mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A ~10 KB document with random options.
    Normal,
    /// Half the server's size limit.
    Large,
    /// Just over the size limit: INVALID_ARGUMENT.
    Oversized,
    Empty,
    /// Control chars, NULs, U+FFFD, random code points.
    Binary,
    /// Granularity 9: INVALID_ARGUMENT.
    BadOptions,
    /// Bytes that are not a TagRequest: INTERNAL (gRPC's code for a
    /// request that does not parse).
    Malformed,
    /// A normal document with a 1 ms deadline.
    Impatient,
    /// A TagStream of five documents, one of them oversized.
    Stream,
    Segment,
    /// A document inside a TagStream (not picked on its own).
    StreamDocument,
}

impl Kind {
    const WEIGHTED: [(Kind, u32); 10] = [
        (Kind::Normal, 40),
        (Kind::Large, 1),
        (Kind::Oversized, 3),
        (Kind::Empty, 5),
        (Kind::Binary, 10),
        (Kind::BadOptions, 5),
        (Kind::Malformed, 10),
        (Kind::Impatient, 10),
        (Kind::Stream, 6),
        (Kind::Segment, 10),
    ];

    fn pick(rng: &mut Rng) -> Kind {
        let total: u32 = Self::WEIGHTED.iter().map(|(_, w)| w).sum();
        let mut r = (rng.next() % u64::from(total)) as u32;
        for (kind, w) in Self::WEIGHTED {
            if r < w {
                return kind;
            }
            r -= w;
        }
        Kind::Normal
    }

    /// Whether `code` is a right answer to this kind of call.
    pub fn expects(self, code: Code) -> bool {
        match self {
            Kind::Normal | Kind::Empty | Kind::Binary | Kind::Segment => code == Code::Ok,
            // Large documents may pass the server's --max-inflight-bytes.
            Kind::Large => matches!(code, Code::Ok | Code::ResourceExhausted),
            Kind::Oversized | Kind::BadOptions => code == Code::InvalidArgument,
            // Not protobuf: INTERNAL; text not UTF-8: INVALID_ARGUMENT.
            Kind::Malformed => matches!(code, Code::Internal | Code::InvalidArgument),
            Kind::Impatient => {
                matches!(code, Code::Ok | Code::DeadlineExceeded | Code::Cancelled)
            }
            // The stream itself; its documents are checked one by one.
            Kind::Stream => code == Code::Ok,
            Kind::StreamDocument => {
                matches!(
                    code,
                    Code::Ok | Code::InvalidArgument | Code::ResourceExhausted
                )
            }
        }
    }
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

/// xorshift64*: a small, seeded, dependency-free generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
}

/// Per-kind tallies shared by the callers.
#[derive(Default)]
struct Tally(Mutex<BTreeMap<Kind, KindTally>>);

impl Tally {
    fn record(&self, kind: Kind, code: Code, expected: bool) {
        let mut map = self.0.lock().expect("tally");
        let t = map.entry(kind).or_default();
        t.calls += 1;
        *t.statuses.entry(code_name(code).to_string()).or_default() += 1;
        if !expected {
            t.unexpected += 1;
        }
    }
}

/// Everything a caller needs to make calls of any kind.
struct Mix<'a> {
    params: &'a SoakParams,
    /// Half the server's size limit.
    large: String,
    /// Just over the server's size limit.
    oversized: String,
}

impl Mix<'_> {
    fn request<T>(&self, message: T) -> tonic::Request<T> {
        fgf_grpc::auth::request_with(message, self.params.auth_token.as_deref())
    }

    fn normal(&self, rng: &mut Rng) -> pb::TagRequest {
        let docs = &self.params.documents;
        let bits = rng.next();
        pb::TagRequest {
            id: format!("soak-{}", bits % 100_000),
            text: docs[(bits >> 20) as usize % docs.len()].clone(),
            granularity: (bits & 1) as i32 + 1,
            line_mode: ((bits >> 1) & 1) as i32,
            include_evidence: bits & 4 != 0,
            ..Default::default()
        }
    }

    /// The documents repeated to `bytes` (cut back to a char boundary).
    fn sized(documents: &[String], bytes: usize) -> String {
        let mut text = String::with_capacity(bytes + 16);
        for doc in documents.iter().cycle() {
            if text.len() >= bytes {
                break;
            }
            text.push_str(doc);
        }
        while text.len() > bytes {
            text.pop();
        }
        text
    }

    fn binary(rng: &mut Rng) -> String {
        (0..rng.next() % 4000)
            .map(|_| {
                let r = rng.next();
                match r % 4 {
                    0 => char::from((r >> 8) as u8 % 32),
                    1 => '\u{fffd}',
                    _ => char::from_u32((r >> 8) as u32 % 0x11_0000).unwrap_or('\u{0}'),
                }
            })
            .collect()
    }

    /// Makes one call of `kind` on `channel` and records the outcome.
    async fn call(&self, kind: Kind, channel: &Channel, rng: &mut Rng, tally: &Tally) {
        let mut client = tagger_client(channel.clone());
        let tag = |req: pb::TagRequest| {
            let mut client = client.clone();
            let request = self.request(req);
            async move {
                client
                    .tag(request)
                    .await
                    .err()
                    .map_or(Code::Ok, |s| s.code())
            }
        };
        let code = match kind {
            Kind::Normal => tag(self.normal(rng)).await,
            Kind::Large => {
                tag(pb::TagRequest {
                    text: self.large.clone(),
                    ..Default::default()
                })
                .await
            }
            Kind::Oversized => {
                tag(pb::TagRequest {
                    text: self.oversized.clone(),
                    ..Default::default()
                })
                .await
            }
            Kind::Empty => tag(pb::TagRequest::default()).await,
            Kind::Binary => {
                tag(pb::TagRequest {
                    text: Self::binary(rng),
                    ..Default::default()
                })
                .await
            }
            Kind::BadOptions => {
                let mut req = self.normal(rng);
                req.granularity = 9;
                tag(req).await
            }
            Kind::Malformed => {
                // Field 2 (text) with a length running past the end, or
                // with bytes that are not UTF-8.
                let body = if rng.next().is_multiple_of(2) {
                    vec![0x12, 0x7f, 0x41, 0x42]
                } else {
                    vec![0x12, 0x03, 0xff, 0xfe, 0xfd]
                };
                let mut grpc = tonic::client::Grpc::new(channel.clone());
                match grpc.ready().await {
                    Ok(()) => grpc
                        .unary::<Vec<u8>, Vec<u8>, _>(
                            self.request(body),
                            tonic::codegen::http::uri::PathAndQuery::from_static(
                                "/fgf.v1.Tagger/Tag",
                            ),
                            RawCodec,
                        )
                        .await
                        .err()
                        .map_or(Code::Ok, |s| s.code()),
                    Err(_) => Code::Unavailable,
                }
            }
            Kind::Impatient => {
                let mut request = self.request(self.normal(rng));
                request.set_timeout(Duration::from_millis(1));
                client
                    .tag(request)
                    .await
                    .err()
                    .map_or(Code::Ok, |s| s.code())
            }
            Kind::Stream | Kind::StreamDocument => self.stream(&mut client, rng, tally).await,
            Kind::Segment => {
                let text = self.normal(rng).text;
                client
                    .segment(self.request(pb::SegmentRequest { text }))
                    .await
                    .err()
                    .map_or(Code::Ok, |s| s.code())
            }
        };
        tally.record(kind, code, kind.expects(code));
    }

    /// Five documents, the third oversized; each answer is checked here
    /// and the stream's own status returned.
    async fn stream(
        &self,
        client: &mut fgf_grpc::pb::tagger_client::TaggerClient<Channel>,
        rng: &mut Rng,
        tally: &Tally,
    ) -> Code {
        let mut docs: Vec<pb::TagRequest> = (0..5).map(|_| self.normal(rng)).collect();
        docs[2].text = self.oversized.clone();
        let ids: Vec<String> = (0..5).map(|i| format!("s{i}")).collect();
        for (d, id) in docs.iter_mut().zip(&ids) {
            d.id = id.clone();
        }
        let outbound = tokio_stream::iter(docs);
        let mut inbound = match client.tag_stream(self.request(outbound)).await {
            Ok(r) => r.into_inner(),
            Err(s) => return s.code(),
        };
        let mut answered = 0;
        loop {
            match inbound.message().await {
                Ok(Some(resp)) => {
                    let code = resp.error.as_ref().map_or(Code::Ok, |e| Code::from(e.code));
                    let want = if answered == 2 {
                        Code::InvalidArgument
                    } else {
                        Code::Ok
                    };
                    let in_order = ids.get(answered) == Some(&resp.id);
                    tally.record(Kind::StreamDocument, code, code == want && in_order);
                    answered += 1;
                }
                Ok(None) => break,
                Err(s) => return s.code(),
            }
        }
        if answered == ids.len() {
            Code::Ok
        } else {
            // A stream that ended early dropped documents.
            Code::DataLoss
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_is_picked() {
        let mut rng = Rng(7);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..10_000 {
            seen.insert(Kind::pick(&mut rng));
        }
        assert_eq!(seen.len(), Kind::WEIGHTED.len());
    }

    #[test]
    fn binary_text_is_valid_utf8_with_controls() {
        let mut rng = Rng(3);
        let text: String = (0..5).map(|_| Mix::binary(&mut rng)).collect();
        assert!(text.chars().any(|c| c.is_control()));
        assert!(text.contains('\u{fffd}'));
    }
}
