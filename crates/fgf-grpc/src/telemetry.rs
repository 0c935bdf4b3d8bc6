//! Prometheus metrics of a running server (`fgf serve --metrics-addr`).
//!
//! Counters are plain atomics indexed by rpc and status code, so recording
//! takes no lock. A tiny HTTP listener on its own address answers
//! `GET /metrics` in the Prometheus text format:
//!
//! * `fgf_requests_total{rpc,code}`: calls (and TagStream documents) by outcome;
//! * `fgf_request_seconds{rpc}`: latency histogram;
//! * `fgf_in_flight`: documents being tagged or waiting for a CPU slot;
//! * `fgf_documents_total`, `fgf_bytes_total`: documents and bytes tagged;
//! * `fgf_model_info{version}`: the model serving now;
//! * `fgf_auth_failures_total{reason}`: calls refused for their bearer token
//!   (`missing`, `malformed`, `wrong_token`);
//! * `fgf_reloads_total{result}`: model reloads (SIGHUP or ReloadModel) that
//!   swapped the model in (`ok`) or were refused (`failed`);
//! * `process_resident_memory_bytes`: resident memory (Linux).

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tonic::Code;

use crate::auth::AuthFailure;
use crate::status::code_name;

/// The rpcs that are counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rpc {
    Tag,
    TagStream,
    Segment,
    GetModelInfo,
    ReloadModel,
}

const RPCS: [Rpc; 5] = [
    Rpc::Tag,
    Rpc::TagStream,
    Rpc::Segment,
    Rpc::GetModelInfo,
    Rpc::ReloadModel,
];

impl Rpc {
    /// The rpc's name in the proto (`TagStream`).
    pub fn name(self) -> &'static str {
        match self {
            Rpc::Tag => "Tag",
            Rpc::TagStream => "TagStream",
            Rpc::Segment => "Segment",
            Rpc::GetModelInfo => "GetModelInfo",
            Rpc::ReloadModel => "ReloadModel",
        }
    }
}

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 11] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// Metrics of one server.
#[derive(Debug, Default)]
pub struct Telemetry {
    calls: [[AtomicU64; 17]; 5],
    buckets: [[AtomicU64; 11]; 5],
    latency_count: [AtomicU64; 5],
    latency_micros: [AtomicU64; 5],
    in_flight: AtomicI64,
    documents: AtomicU64,
    bytes: AtomicU64,
    auth_failures: [AtomicU64; 3],
    /// Reloads that succeeded, and that failed.
    reloads: [AtomicU64; 2],
}

/// Decrements the in-flight gauge when dropped.
pub struct InFlight<'a>(&'a Telemetry);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Ordering::Relaxed);
    }
}

impl Telemetry {
    /// Counts a document as in flight until the guard is dropped.
    pub fn start(&self) -> InFlight<'_> {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self)
    }

    /// Records one call (or one TagStream document).
    pub fn record(&self, rpc: Rpc, code: Code, elapsed: Duration, tagged_bytes: Option<usize>) {
        let r = rpc as usize;
        self.calls[r][code as usize].fetch_add(1, Ordering::Relaxed);
        let secs = elapsed.as_secs_f64();
        for (i, &bound) in BUCKETS.iter().enumerate() {
            if secs <= bound {
                self.buckets[r][i].fetch_add(1, Ordering::Relaxed);
            }
        }
        self.latency_count[r].fetch_add(1, Ordering::Relaxed);
        self.latency_micros[r].fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
        if let Some(bytes) = tagged_bytes {
            self.documents.fetch_add(1, Ordering::Relaxed);
            self.bytes.fetch_add(bytes as u64, Ordering::Relaxed);
        }
    }

    /// Counts a call refused for its token.
    pub fn auth_failed(&self, why: AuthFailure) {
        self.auth_failures[why.index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a model reload (swapped in, or refused with the old model
    /// serving on).
    pub fn reloaded(&self, ok: bool) {
        self.reloads[usize::from(!ok)].fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    pub fn render(&self, model_version: &str) -> String {
        let mut out = String::new();
        out.push_str("# HELP fgf_requests_total Calls, and TagStream documents, by rpc and status.\n# TYPE fgf_requests_total counter\n");
        for rpc in RPCS {
            for code in 0..17 {
                let n = self.calls[rpc as usize][code].load(Ordering::Relaxed);
                if n > 0 {
                    out.push_str(&format!(
                        "fgf_requests_total{{rpc=\"{}\",code=\"{}\"}} {n}\n",
                        rpc.name(),
                        code_name(Code::from(code as i32))
                    ));
                }
            }
        }
        out.push_str("# HELP fgf_request_seconds Latency of calls and TagStream documents.\n# TYPE fgf_request_seconds histogram\n");
        for rpc in RPCS {
            let r = rpc as usize;
            let count = self.latency_count[r].load(Ordering::Relaxed);
            if count == 0 {
                continue;
            }
            for (i, bound) in BUCKETS.iter().enumerate() {
                out.push_str(&format!(
                    "fgf_request_seconds_bucket{{rpc=\"{}\",le=\"{bound}\"}} {}\n",
                    rpc.name(),
                    self.buckets[r][i].load(Ordering::Relaxed)
                ));
            }
            out.push_str(&format!(
                "fgf_request_seconds_bucket{{rpc=\"{}\",le=\"+Inf\"}} {count}\n",
                rpc.name()
            ));
            out.push_str(&format!(
                "fgf_request_seconds_sum{{rpc=\"{}\"}} {}\n",
                rpc.name(),
                self.latency_micros[r].load(Ordering::Relaxed) as f64 / 1e6
            ));
            out.push_str(&format!(
                "fgf_request_seconds_count{{rpc=\"{}\"}} {count}\n",
                rpc.name()
            ));
        }
        out.push_str(&format!(
            "# HELP fgf_in_flight Documents being tagged or waiting for a CPU slot.\n# TYPE fgf_in_flight gauge\nfgf_in_flight {}\n",
            self.in_flight.load(Ordering::Relaxed)
        ));
        out.push_str(&format!(
            "# HELP fgf_documents_total Documents tagged.\n# TYPE fgf_documents_total counter\nfgf_documents_total {}\n",
            self.documents.load(Ordering::Relaxed)
        ));
        out.push_str(&format!(
            "# HELP fgf_bytes_total Bytes of text tagged.\n# TYPE fgf_bytes_total counter\nfgf_bytes_total {}\n",
            self.bytes.load(Ordering::Relaxed)
        ));
        out.push_str("# HELP fgf_auth_failures_total Calls refused for their bearer token, by reason.\n# TYPE fgf_auth_failures_total counter\n");
        for why in AuthFailure::ALL {
            out.push_str(&format!(
                "fgf_auth_failures_total{{reason=\"{}\"}} {}\n",
                why.name(),
                self.auth_failures[why.index()].load(Ordering::Relaxed)
            ));
        }
        out.push_str("# HELP fgf_reloads_total Model reloads (SIGHUP or ReloadModel), by result.\n# TYPE fgf_reloads_total counter\n");
        for (i, result) in ["ok", "failed"].iter().enumerate() {
            out.push_str(&format!(
                "fgf_reloads_total{{result=\"{result}\"}} {}\n",
                self.reloads[i].load(Ordering::Relaxed)
            ));
        }
        if let Some(rss) = resident_bytes() {
            out.push_str(&format!(
                "# HELP process_resident_memory_bytes Resident memory size in bytes.\n# TYPE process_resident_memory_bytes gauge\nprocess_resident_memory_bytes {rss}\n"
            ));
        }
        out.push_str(&format!(
            "# HELP fgf_model_info The model serving now.\n# TYPE fgf_model_info gauge\nfgf_model_info{{version=\"{}\"}} 1\n",
            model_version.replace(['"', '\\', '\n'], "_")
        ));
        out
    }
}

/// This process's resident set size (Linux `/proc/self/status` VmRSS).
pub fn resident_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Answers `GET /metrics` on `listener` until the task is dropped.
pub async fn serve_metrics(
    listener: TcpListener,
    render: impl Fn() -> String + Send + Sync + 'static,
) {
    let render = std::sync::Arc::new(render);
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let render = render.clone();
        tokio::spawn(async move {
            let mut buf = vec![0u8; 4096];
            let mut n = 0;
            // Read the request head (bounded, with a timeout).
            let read = tokio::time::timeout(Duration::from_secs(5), async {
                while n < buf.len() && !buf[..n].windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf[n..]).await {
                        Ok(0) | Err(_) => break,
                        Ok(k) => n += k,
                    }
                }
            })
            .await;
            if read.is_err() {
                return;
            }
            let head = &buf[..n];
            let (status, body) = if head.starts_with(b"GET /metrics ") {
                ("200 OK", render())
            } else {
                (
                    "404 Not Found",
                    "only GET /metrics is served here\n".to_string(),
                )
            };
            let response = format!(
                "HTTP/1.1 {status}\r\nContent-Type: text/plain; version=0.0.4\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = stream.write_all(response.as_bytes()).await;
        });
    }
}
