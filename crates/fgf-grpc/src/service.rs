//! The `fgf.v1.Tagger` gRPC service: request checks, off-reactor CPU work,
//! and conversion between protobuf messages and [`fgf_core::tagger`] types.
//!
//! The service is thin: every rpc checks its request, runs the library code
//! once a CPU slot is free (at most one job per core at a time, so a burst of
//! requests queues instead of oversubscribing the CPU), and converts the
//! result.
//!
//! Where a job runs: a small document of a unary call (up to
//! [`Limits::inline_max_bytes`], a few milliseconds of CPU at most) is
//! tagged on the runtime thread that decoded it; a larger one, and every
//! TagStream document, on the blocking pool, so that no runtime thread is
//! held for long and one stream's documents spread over all cores. Handing
//! every document to another thread costs two thread switches per call,
//! and on a server with one core the runtime thread (reading the next
//! requests) and the blocking thread then compete for it. At 70-80% of
//! peak load on one core, p99 latency stayed under 20 ms in 14 of 16 runs
//! tagging in place and in 4 of 12 with the hand-over (`bench/RESULTS.md`).
//! A panic in a job becomes INTERNAL either way.

use std::pin::Pin;
use std::sync::Arc;

use futures_util::{Stream, StreamExt};
use tokio::sync::{Semaphore, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;

use std::time::Duration;

use crate::telemetry::{Rpc, Telemetry};
use tonic::{Request, Response, Status, Streaming};

use crate::pb;
use fgf_core::features::TermKind;
use fgf_core::role::Role;
use fgf_core::spans::{LineMode, TextSpan};
use fgf_core::tagger::{LabelHit, TagOptions, TaggedDocument, TaggedSpan, Tagger};

/// Request limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest accepted document, in UTF-8 bytes.
    pub max_doc_bytes: usize,
    /// Documents a TagStream works on at once (and responses it buffers).
    pub stream_window: usize,
    /// Documents allowed to wait for a CPU slot; beyond that a document is
    /// refused at once with RESOURCE_EXHAUSTED (load shedding) instead of
    /// queueing without bound.
    pub max_queue: usize,
    /// Documents up to this many bytes are tagged on the runtime thread that
    /// received them, larger ones on the blocking pool (0: always the pool).
    pub inline_max_bytes: usize,
    /// Bytes of documents (Tag, TagStream and Segment texts) the server
    /// works on at once, from the moment one is accepted until its response
    /// is handed to the transport; a document that would go over it is
    /// refused at once with RESOURCE_EXHAUSTED. Bounds the memory that
    /// tagging takes (see deploy/README.md). At least `max_doc_bytes`.
    pub max_inflight_bytes: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_doc_bytes: DEFAULT_MAX_DOC_BYTES,
            stream_window: 16,
            max_queue: 256,
            inline_max_bytes: DEFAULT_INLINE_MAX_BYTES,
            max_inflight_bytes: DEFAULT_MAX_INFLIGHT_BYTES,
        }
    }
}

/// Default [`Limits::max_doc_bytes`]: 4 MiB.
pub const DEFAULT_MAX_DOC_BYTES: usize = 4 * 1024 * 1024;

/// Default [`Limits::max_inflight_bytes`]: 8 MiB, two documents of the
/// default largest size. Peak RSS is at most about 48 MiB + 24 x the budget
/// (measured with 3.7 MB documents, sentences and evidence: 4 MiB budget,
/// 130 MiB peak; 8 MiB, 196 MiB; see deploy/README.md), so the default
/// fits a 256 MiB memory limit.
pub const DEFAULT_MAX_INFLIGHT_BYTES: usize = 8 * 1024 * 1024;

/// The smallest hard ceiling on a request message (see
/// [`Limits::decode_ceiling`]).
pub const MIN_DECODE_CEILING: usize = 16 * 1024 * 1024;

impl Limits {
    /// The largest request message the transport reads: 4 x
    /// `max_doc_bytes`, at least [`MIN_DECODE_CEILING`]. A message up to it
    /// is read and an oversized document in it gets INVALID_ARGUMENT naming
    /// `--max-doc-bytes` (in a TagStream, as that document's answer); a
    /// larger one is refused before it is read and ends its call. Every
    /// message is held whole while it is read, so the ceiling is also the
    /// memory one call can take before any check (kept modest for that).
    pub fn decode_ceiling(&self) -> usize {
        self.max_doc_bytes.saturating_mul(4).max(MIN_DECODE_CEILING)
    }

    /// Checks that the limits fit together: a document of `max_doc_bytes`
    /// must fit in the in-flight budget (so the memory rule holds and such
    /// a document is not refused forever), and the decode ceiling must fit
    /// gRPC's 32-bit message length.
    pub fn check(&self) -> anyhow::Result<()> {
        if self.max_doc_bytes > self.max_inflight_bytes {
            anyhow::bail!(
                "--max-doc-bytes {} is larger than --max-inflight-bytes {}: a document that \
                 size could never be served; raise --max-inflight-bytes to at least \
                 --max-doc-bytes (and the memory limit with it, see deploy/README.md)",
                self.max_doc_bytes,
                self.max_inflight_bytes
            );
        }
        if self.decode_ceiling() > u32::MAX as usize {
            anyhow::bail!(
                "--max-doc-bytes {} is too large: at most {} (a gRPC message is under 4 GiB, \
                 and the server reads messages up to 4 x --max-doc-bytes)",
                self.max_doc_bytes,
                u32::MAX / 4
            );
        }
        Ok(())
    }
}

/// Default [`Limits::inline_max_bytes`]: 32 KiB, about 2 ms of tagging on
/// the slowest machine measured.
pub const DEFAULT_INLINE_MAX_BYTES: usize = 32 * 1024;

/// Implements `fgf.v1.Tagger` over a shared [`Tagger`].
#[derive(Debug, Clone)]
pub struct TaggerService {
    /// The model in use; swapped whole by a reload. A request takes its own
    /// `Arc` at the start and finishes on that model.
    tagger: Arc<arc_swap::ArcSwap<Tagger>>,
    limits: Limits,
    cpu: Arc<Semaphore>,
    /// Cancelled when the server starts shutting down: open TagStreams stop
    /// reading new documents, finish the ones in hand and end.
    draining: CancellationToken,
    /// Documents waiting for a CPU slot now.
    waiting: Arc<std::sync::atomic::AtomicUsize>,
    reload: ReloadConfig,
    telemetry: Arc<Telemetry>,
    /// Bytes of documents in flight (see [`Limits::max_inflight_bytes`]).
    inflight_bytes: Arc<std::sync::atomic::AtomicUsize>,
}

/// A document's share of [`Limits::max_inflight_bytes`], given back when
/// dropped.
#[derive(Debug)]
pub struct BudgetGuard {
    bytes: usize,
    inflight: Arc<std::sync::atomic::AtomicUsize>,
}

impl Drop for BudgetGuard {
    fn drop(&mut self) {
        self.inflight
            .fetch_sub(self.bytes, std::sync::atomic::Ordering::AcqRel);
    }
}

impl TaggerService {
    /// `cpu_jobs` bounds how many documents are processed at the same time.
    pub fn new(tagger: Arc<Tagger>, limits: Limits, cpu_jobs: usize) -> Self {
        Self {
            tagger: Arc::new(arc_swap::ArcSwap::new(tagger)),
            limits,
            cpu: Arc::new(Semaphore::new(cpu_jobs.max(1))),
            draining: CancellationToken::new(),
            waiting: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
            reload: ReloadConfig::default(),
            telemetry: Arc::new(Telemetry::default()),
            inflight_bytes: Arc::new(std::sync::atomic::AtomicUsize::new(0)),
        }
    }

    /// Takes `bytes` from the in-flight budget, or refuses at once with
    /// RESOURCE_EXHAUSTED when they do not fit now.
    fn take_budget(&self, bytes: usize) -> Result<BudgetGuard, Status> {
        use std::sync::atomic::Ordering;
        let budget = self.limits.max_inflight_bytes;
        let taken = self
            .inflight_bytes
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |now| {
                (now.saturating_add(bytes) <= budget).then_some(now + bytes)
            });
        match taken {
            Ok(_) => Ok(BudgetGuard {
                bytes,
                inflight: self.inflight_bytes.clone(),
            }),
            Err(now) => Err(Status::resource_exhausted(format!(
                "server busy: {now} bytes of documents in flight, and this one's {bytes} would \
                 pass the server's --max-inflight-bytes {budget}; retry later with backoff \
                 (or the operator raises --max-inflight-bytes, and the memory limit with it)"
            ))),
        }
    }

    /// The metrics this service records.
    pub fn telemetry(&self) -> Arc<Telemetry> {
        self.telemetry.clone()
    }

    /// Enables reloading (SIGHUP, and the admin rpc when allowed).
    pub fn with_reload(mut self, reload: ReloadConfig) -> Self {
        self.reload = reload;
        self
    }

    /// The model serving now.
    pub fn current(&self) -> Arc<Tagger> {
        self.tagger.load_full()
    }

    /// Loads `path`, checks it against the model serving now and swaps it
    /// in. Returns the new version, or why the file was refused (the old
    /// model keeps serving). Counted in `fgf_reloads_total{result}`; the
    /// callers log a refusal.
    pub fn reload(&self, path: &std::path::Path) -> anyhow::Result<String> {
        let result = self.try_reload(path);
        self.telemetry.reloaded(result.is_ok());
        result
    }

    fn try_reload(&self, path: &std::path::Path) -> anyhow::Result<String> {
        use anyhow::bail;
        let new = Tagger::load(path)?;
        let old = self.tagger.load();
        let codes = |t: &Tagger| -> Vec<String> {
            t.model()
                .taxonomy
                .labels()
                .map(|l| l.code.clone())
                .collect()
        };
        if codes(&new) != codes(&old) {
            bail!("its taxonomy codes differ from the model serving now");
        }
        // Smoke classification: a plain sentence must get its theme.
        let smoke = "县里各部门一起按“双随机、一公开”方式抽查企业，结果及时公示。";
        let doc = new.tag(smoke, &fgf_core::tagger::TagOptions::default());
        let taxonomy = &new.model().taxonomy;
        let found = doc
            .spans
            .iter()
            .flat_map(|s| &s.labels)
            .any(|h| taxonomy.label(h.index).code == "guan.random_inspection");
        if !found {
            bail!("the smoke test sentence did not get guan.random_inspection");
        }
        let version = new.model().version.clone();
        let previous = old.model().version.clone();
        self.tagger.store(Arc::new(new));
        tracing::info!(path = %path.display(), from = %previous, to = %version, "model reloaded");
        Ok(version)
    }

    /// The token that, once cancelled, makes open TagStreams end after the
    /// documents they are working on (see [`crate::server::serve`]).
    pub fn draining(&self) -> CancellationToken {
        self.draining.clone()
    }

    /// Runs `job` once a CPU slot is free: here when `inline` (see
    /// [`Self::inline`]), else on the blocking pool.
    async fn run_cpu<T: Send + 'static>(
        &self,
        inline: bool,
        job: impl FnOnce(&Tagger) -> T + Send + 'static,
    ) -> Result<T, Status> {
        use std::sync::atomic::Ordering;
        let _in_flight = self.telemetry.start();
        // Load shedding: a full queue refuses at once. A caller that gives up
        // (deadline, cancel) while waiting drops this future, so its
        // document never reaches the CPU.
        let waiting = self.waiting.fetch_add(1, Ordering::AcqRel);
        let _waiting = scopeguard(&self.waiting);
        if waiting >= self.limits.max_queue {
            return Err(Status::resource_exhausted(format!(
                "server busy: {waiting} documents already waiting; retry with backoff"
            )));
        }
        let _permit = self
            .cpu
            .acquire()
            .await
            .map_err(|_| Status::unavailable("server is shutting down"))?;
        drop(_waiting);
        let tagger = self.tagger.load_full();
        if inline {
            return std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&tagger)))
                .map_err(|_| Status::internal("tagging failed: the tagger panicked"));
        }
        tokio::task::spawn_blocking(move || job(&tagger))
            .await
            .map_err(|e| Status::internal(format!("tagging failed: {e}")))
    }

    /// A status tonic gave for a message it could not read, made to say
    /// what to do: a message over the decode ceiling becomes
    /// INVALID_ARGUMENT naming the ceiling and --max-doc-bytes.
    pub fn explain_transport_error(&self, status: Status) -> Status {
        explain_transport_error(status, &self.limits)
    }

    /// Whether a unary call's job on a text of `bytes` bytes runs on the
    /// runtime thread (see the module doc).
    fn inline(&self, bytes: usize) -> bool {
        bytes <= self.limits.inline_max_bytes
    }

    fn check_size(&self, text: &str, what: &str) -> Result<(), Status> {
        if text.len() > self.limits.max_doc_bytes {
            return Err(Status::invalid_argument(format!(
                "{what} is {} bytes; the limit is {} bytes (--max-doc-bytes): split the document",
                text.len(),
                self.limits.max_doc_bytes
            )));
        }
        Ok(())
    }

    /// Checks a TagRequest and turns it into options.
    fn options(&self, req: &pb::TagRequest) -> Result<TagOptions, Status> {
        if let Some(reason) = crate::codec::invalid_utf8_reason(req) {
            return Err(Status::invalid_argument(reason));
        }
        self.check_size(&req.text, "text")?;
        let sentences = match pb::Granularity::try_from(req.granularity) {
            Ok(pb::Granularity::Unspecified | pb::Granularity::Paragraph) => false,
            Ok(pb::Granularity::Sentence) => true,
            Err(_) => {
                return Err(Status::invalid_argument(format!(
                    "granularity {} is not a Granularity value; use 1 (PARAGRAPH) or 2 (SENTENCE)",
                    req.granularity
                )));
            }
        };
        let threshold = req.threshold;
        if !(0.0..=1.0).contains(&threshold) {
            return Err(Status::invalid_argument(format!(
                "threshold {threshold} is outside [0, 1]; use 0 for the model's defaults"
            )));
        }
        if req.all_scores && threshold > 0.0 {
            return Err(Status::invalid_argument(format!(
                "threshold {threshold} and all_scores are both set; all_scores returns every \
                 label, so leave threshold at 0"
            )));
        }
        let line_mode = match pb::LineMode::try_from(req.line_mode) {
            Ok(pb::LineMode::Unspecified | pb::LineMode::Reflow) => LineMode::Reflow,
            Ok(pb::LineMode::Lines) => LineMode::Lines,
            Err(_) => {
                return Err(Status::invalid_argument(format!(
                    "line_mode {} is not a LineMode value; use 0 or 2 (REFLOW) or 1 (LINES)",
                    req.line_mode
                )));
            }
        };
        let threshold = if req.all_scores {
            Some(0.0)
        } else {
            (threshold > 0.0).then_some(threshold)
        };
        Ok(TagOptions {
            sentences,
            threshold,
            line_mode,
            evidence: req.include_evidence,
        })
    }

    /// Segments one text; a bad request becomes an error status.
    async fn segment_one(&self, text: String) -> Result<Vec<pb::Token>, Status> {
        self.check_size(&text, "text")
            .inspect_err(|s| tracing::warn!(message = s.message(), "Segment rejected"))?;
        tracing::debug!(bytes = text.len(), "segment");
        let _budget = self.take_budget(text.len())?;
        self.run_cpu(self.inline(text.len()), move |tagger| {
            tagger
                .tokenizer()
                .tokens(&text)
                .into_iter()
                .map(|t| pb::Token {
                    word: t.word.to_string(),
                    start: t.start as u32,
                    end: t.end as u32,
                    char_start: t.char_start as u32,
                    char_end: t.char_end as u32,
                    in_domain_dict: t.in_domain_dict,
                })
                .collect()
        })
        .await
    }

    /// Tags one request; a bad request becomes an error status.
    /// Tags one request of `rpc` (a Tag call or a TagStream document) and
    /// records it in the metrics.
    /// On success, also the document's share of the in-flight budget, to be
    /// dropped once the response is handed to the transport.
    async fn tag_one(
        &self,
        req: pb::TagRequest,
        rpc: Rpc,
        peer: Option<std::net::SocketAddr>,
    ) -> Result<(pb::TagResponse, BudgetGuard), Status> {
        let started = std::time::Instant::now();
        let bytes = req.text.len();
        let access_id = crate::logging::access_enabled().then(|| req.id.clone());
        let result = self.tag_unrecorded(req, rpc).await;
        if let Some(id) = access_id {
            let bytes_out = result
                .as_ref()
                .map_or(0, |(r, _)| prost::Message::encoded_len(r));
            crate::logging::access(
                rpc.name(),
                peer,
                &id,
                status_code(&result),
                bytes,
                bytes_out,
                started,
            );
        }
        self.telemetry.record(
            rpc,
            status_code(&result),
            started.elapsed(),
            result.is_ok().then_some(bytes),
        );
        if let Ok((response, _)) = &result {
            tracing::debug!(
                id = %response.id,
                paragraphs = response.spans.len(),
                micros = started.elapsed().as_micros() as u64,
                "tagged"
            );
        }
        result
    }

    async fn tag_unrecorded(
        &self,
        req: pb::TagRequest,
        rpc: Rpc,
    ) -> Result<(pb::TagResponse, BudgetGuard), Status> {
        let options = self.options(&req)?;
        let budget = self.take_budget(req.text.len())?;
        let pb::TagRequest {
            id,
            text,
            omit_text,
            ..
        } = req;
        let inline = rpc == Rpc::Tag && self.inline(text.len());
        let response = self
            .run_cpu(inline, move |tagger| {
                let doc = tagger.tag(&text, &options);
                to_response_with(tagger, id, &text, &doc, omit_text)
            })
            .await?;
        Ok((response, budget))
    }
}

/// See [`TaggerService::explain_transport_error`].
pub fn explain_transport_error(status: Status, limits: &Limits) -> Status {
    let too_large = status.code() == tonic::Code::OutOfRange
        && status
            .message()
            .contains("decoded message length too large");
    if !too_large {
        return status;
    }
    // tonic's message: "... found {len} bytes, the limit is: {limit} bytes".
    let found = status
        .message()
        .split("found ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .unwrap_or("?");
    Status::invalid_argument(format!(
        "the request message is {found} bytes, over the {} bytes this server reads at most \
         (4 x --max-doc-bytes, at least 16 MiB); a document may have at most {} bytes \
         (--max-doc-bytes): split the document",
        limits.decode_ceiling(),
        limits.max_doc_bytes
    ))
}

/// The status code of a call's result (OK for a success).
fn status_code<T>(result: &Result<T, Status>) -> tonic::Code {
    result
        .as_ref()
        .map_or_else(Status::code, |_| tonic::Code::Ok)
}

/// Decrements the waiting count when dropped.
struct WaitingGuard<'a>(&'a std::sync::atomic::AtomicUsize);

impl Drop for WaitingGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
    }
}

fn scopeguard(n: &std::sync::atomic::AtomicUsize) -> WaitingGuard<'_> {
    WaitingGuard(n)
}

/// Where a reload reads the model and whether the admin rpc is allowed.
#[derive(Debug, Clone, Default)]
pub struct ReloadConfig {
    /// The model file the server was started with.
    pub model_path: Option<std::path::PathBuf>,
    /// The admin rpc needs a bearer token on the server.
    pub admin_allowed: bool,
}

type TagStreamOut = Pin<Box<dyn Stream<Item = Result<pb::TagResponse, Status>> + Send>>;

#[tonic::async_trait]
impl pb::tagger_server::Tagger for TaggerService {
    async fn tag(
        &self,
        request: Request<pb::TagRequest>,
    ) -> Result<Response<pb::TagResponse>, Status> {
        let peer = request.remote_addr();
        let req = request.into_inner();
        let id = req.id.clone();
        // The budget share goes back when the handler returns: tonic
        // encodes the response right after.
        let result = self.tag_one(req, Rpc::Tag, peer).await;
        result
            .map(|(r, _budget)| Response::new(r))
            .inspect_err(|s| {
                tracing::warn!(id = %id, code = ?s.code(), message = s.message(), "Tag rejected");
            })
    }

    type TagStreamStream = TagStreamOut;

    async fn tag_stream(
        &self,
        request: Request<Streaming<pb::TagRequest>>,
    ) -> Result<Response<Self::TagStreamStream>, Status> {
        let peer = request.remote_addr();
        // On shutdown, stop reading: the documents already read are answered
        // and the stream ends with OK; a client resends the rest elsewhere.
        let inbound = request
            .into_inner()
            .take_until(self.draining.clone().cancelled_owned());
        let window = self.limits.stream_window.max(1);
        let (tx, rx) =
            mpsc::channel::<(Result<pb::TagResponse, Status>, Option<BudgetGuard>)>(window);
        let service = self.clone();
        tokio::spawn(async move {
            // `buffered` keeps request order and works on at most `window`
            // documents; `send` waits while the client is not reading.
            let results = inbound
                .map(|item| {
                    let service = service.clone();
                    async move {
                        // A message tonic could not read ends the stream
                        // (the next bytes cannot be framed); one over the
                        // ceiling gets a status that says what to do.
                        let req = item.map_err(|s| service.explain_transport_error(s))?;
                        let id = req.id.clone();
                        Ok(match service.tag_one(req, Rpc::TagStream, peer).await {
                            Ok((response, budget)) => (response, Some(budget)),
                            Err(status) => {
                                tracing::warn!(id = %id, code = ?status.code(), message = status.message(), "TagStream item rejected");
                                let response = pb::TagResponse {
                                    id,
                                    error: Some(pb::TagError {
                                        code: status.code() as i32,
                                        message: status.message().to_string(),
                                    }),
                                    ..Default::default()
                                };
                                (response, None)
                            }
                        })
                    }
                })
                .buffered(window);
            let mut results = std::pin::pin!(results);
            while let Some(result) = results.next().await {
                let (item, failed) = match result {
                    Ok((response, budget)) => ((Ok(response), budget), false),
                    Err(status) => ((Err(status), None), true),
                };
                if tx.send(item).await.is_err() || failed {
                    break;
                }
            }
        });
        // A document's budget share goes back as its response is taken
        // for encoding.
        let out = ReceiverStream::new(rx).map(|(result, _budget)| result);
        Ok(Response::new(Box::pin(out)))
    }

    async fn segment(
        &self,
        request: Request<pb::SegmentRequest>,
    ) -> Result<Response<pb::SegmentResponse>, Status> {
        let started = std::time::Instant::now();
        let peer = request.remote_addr();
        let text = request.into_inner().text;
        let bytes_in = text.len();
        let result = self
            .segment_one(text)
            .await
            .map(|tokens| pb::SegmentResponse { tokens });
        let code = status_code(&result);
        self.telemetry
            .record(Rpc::Segment, code, started.elapsed(), None);
        if crate::logging::access_enabled() {
            let bytes_out = result.as_ref().map_or(0, prost::Message::encoded_len);
            crate::logging::access("Segment", peer, "", code, bytes_in, bytes_out, started);
        }
        result.map(Response::new)
    }

    async fn get_model_info(
        &self,
        request: Request<pb::GetModelInfoRequest>,
    ) -> Result<Response<pb::ModelInfo>, Status> {
        let started = std::time::Instant::now();
        self.telemetry
            .record(Rpc::GetModelInfo, tonic::Code::Ok, Duration::ZERO, None);
        let info = model_info(&self.tagger.load(), &self.limits);
        if crate::logging::access_enabled() {
            let bytes_out = prost::Message::encoded_len(&info);
            let peer = request.remote_addr();
            crate::logging::access(
                "GetModelInfo",
                peer,
                "",
                tonic::Code::Ok,
                0,
                bytes_out,
                started,
            );
        }
        Ok(Response::new(info))
    }

    async fn reload_model(
        &self,
        _request: Request<pb::ReloadModelRequest>,
    ) -> Result<Response<pb::ModelInfo>, Status> {
        if !self.reload.admin_allowed {
            return Err(Status::permission_denied(
                "ReloadModel needs a server started with --auth-token-file (or FGF_AUTH_TOKEN)",
            ));
        }
        let Some(path) = self.reload.model_path.clone() else {
            return Err(Status::failed_precondition(
                "this server has no model file to reload",
            ));
        };
        let service = self.clone();
        let result = tokio::task::spawn_blocking(move || service.reload(&path))
            .await
            .map_err(|e| Status::internal(format!("reload failed: {e}")))?;
        match result {
            Ok(_) => Ok(Response::new(model_info(&self.tagger.load(), &self.limits))),
            Err(e) => {
                tracing::warn!(error = %format!("{e:#}"), "model reload refused; the old model keeps serving");
                Err(Status::failed_precondition(format!(
                    "model not reloaded, the old one keeps serving: {e:#}"
                )))
            }
        }
    }
}

fn role_to_pb(role: Role) -> pb::Role {
    match role {
        Role::Heading => pb::Role::Heading,
        Role::Body => pb::Role::Body,
        Role::Boilerplate => pb::Role::Boilerplate,
    }
}

fn label_scores(
    tagger: &Tagger,
    text: &str,
    span: &TextSpan,
    hits: &[LabelHit],
    pillars: bool,
) -> Vec<pb::LabelScore> {
    let taxonomy = &tagger.model().taxonomy;
    let span_text = span.slice(text);
    let mut out: Vec<pb::LabelScore> = hits
        .iter()
        .filter(|h| taxonomy.is_pillar(h.index) == pillars)
        .map(|h| {
            let label = taxonomy.label(h.index);
            pb::LabelScore {
                code: label.code.clone(),
                name: label.name.clone(),
                score: h.score,
                evidence: h
                    .evidence
                    .iter()
                    .map(|e| {
                        let char_start = span.char_start + span_text[..e.start].chars().count();
                        pb::Evidence {
                            term: e.term.clone(),
                            weight: e.weight,
                            start: (span.start + e.start) as u32,
                            end: (span.start + e.end) as u32,
                            char_start: char_start as u32,
                            char_end: (char_start + span_text[e.start..e.end].chars().count())
                                as u32,
                            kind: evidence_kind(e.kind) as i32,
                        }
                    })
                    .collect(),
            }
        })
        .collect();
    out.sort_by(|a, b| b.score.total_cmp(&a.score));
    out
}

fn evidence_kind(kind: TermKind) -> pb::EvidenceKind {
    match kind {
        TermKind::Word => pb::EvidenceKind::Word,
        TermKind::Dict => pb::EvidenceKind::Dictionary,
        TermKind::WordPair => pb::EvidenceKind::WordPair,
        TermKind::CharPair => pb::EvidenceKind::CharPair,
    }
}

fn to_span(tagger: &Tagger, text: &str, s: &TaggedSpan, omit_text: bool) -> pb::Span {
    let TextSpan {
        start,
        end,
        char_start,
        char_end,
    } = s.span;
    pb::Span {
        start: start as u32,
        end: end as u32,
        char_start: char_start as u32,
        char_end: char_end as u32,
        text: if omit_text {
            String::new()
        } else {
            text[start..end].to_string()
        },
        role: role_to_pb(s.role) as i32,
        pillars: label_scores(tagger, text, &s.span, &s.labels, true),
        themes: label_scores(tagger, text, &s.span, &s.labels, false),
        sentences: s
            .sentences
            .iter()
            .map(|c| to_span(tagger, text, c, omit_text))
            .collect(),
    }
}

/// Builds a TagResponse from a tagged document.
pub fn to_response(
    tagger: &Tagger,
    id: String,
    text: &str,
    doc: &TaggedDocument,
) -> pb::TagResponse {
    to_response_with(tagger, id, text, doc, false)
}

/// As [`to_response`]; with `omit_text`, spans carry offsets but no text.
pub fn to_response_with(
    tagger: &Tagger,
    id: String,
    text: &str,
    doc: &TaggedDocument,
    omit_text: bool,
) -> pb::TagResponse {
    let taxonomy = &tagger.model().taxonomy;
    let summary = &doc.summary;
    let share = |index: usize| {
        let label = taxonomy.label(index);
        let chars = summary.label_chars[index];
        pb::LabelShare {
            code: label.code.clone(),
            name: label.name.clone(),
            chars: chars as u32,
            share: if summary.body_chars == 0 {
                0.0
            } else {
                chars as f32 / summary.body_chars as f32
            },
        }
    };
    let mut pillars: Vec<pb::LabelShare> = (0..taxonomy.len())
        .filter(|&j| taxonomy.is_pillar(j) && summary.label_chars[j] > 0)
        .map(share)
        .collect();
    let mut themes: Vec<pb::LabelShare> = (0..taxonomy.len())
        .filter(|&j| !taxonomy.is_pillar(j) && summary.label_chars[j] > 0)
        .map(share)
        .collect();
    pillars.sort_by_key(|s| std::cmp::Reverse(s.chars));
    themes.sort_by_key(|s| std::cmp::Reverse(s.chars));
    pb::TagResponse {
        id,
        spans: doc
            .spans
            .iter()
            .map(|s| to_span(tagger, text, s, omit_text))
            .collect(),
        model_version: tagger.model().version.clone(),
        summary: Some(pb::DocumentSummary {
            paragraphs: summary.paragraphs as u32,
            body_chars: summary.body_chars as u32,
            pillars,
            themes,
        }),
        error: None,
    }
}

fn metrics_to_pb(s: &fgf_core::evaluation::Scores) -> pb::LabelMetrics {
    pb::LabelMetrics {
        precision: s.precision as f32,
        recall: s.recall as f32,
        f1: s.f1 as f32,
        support: s.support as u32,
    }
}

/// Describes the loaded model.
pub fn model_info(tagger: &Tagger, limits: &Limits) -> pb::ModelInfo {
    let model = tagger.model();
    let taxonomy = &model.taxonomy;
    let test = model.test.as_ref();
    let labels = taxonomy
        .labels()
        .enumerate()
        .map(|(j, label)| pb::LabelInfo {
            code: label.code.clone(),
            name: label.name.clone(),
            pillar: if taxonomy.is_pillar(j) {
                String::new()
            } else {
                taxonomy.label(taxonomy.pillar_index(j)).code.clone()
            },
            threshold: model.thresholds[j],
            train_support: model.train_support[j] as u32,
            test: test.and_then(|e| e.label(&label.code)).map(metrics_to_pb),
            cross_validation: model
                .cv
                .as_ref()
                .and_then(|e| e.label(&label.code))
                .map(metrics_to_pb),
        })
        .collect();
    pb::ModelInfo {
        version: model.version.clone(),
        trained_at: model.trained_at.clone(),
        train_samples: model.train_samples as u32,
        test_samples: model.test_samples as u32,
        labels,
        vocabulary_size: model.features.len() as u32,
        dictionary_terms: model.dictionary.len() as u32,
        pillar_micro: test.map(|e| metrics_to_pb(&e.pillar_micro)),
        theme_micro: test.map(|e| metrics_to_pb(&e.theme_micro)),
        theme_macro: test.map(|e| metrics_to_pb(&e.theme_macro)),
        max_doc_bytes: u32::try_from(limits.max_doc_bytes).unwrap_or(u32::MAX),
        corpus_fingerprint: model.corpus_fingerprint.clone(),
    }
}
