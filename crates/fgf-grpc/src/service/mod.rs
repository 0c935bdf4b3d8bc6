//! The `fgf.v1.Tagger` gRPC service: request checks, off-reactor CPU work,
//! and conversion between protobuf messages and [`fgf_core::tagger`] types.
//!
//! The service is thin: every rpc checks its request, runs the library code
//! once a CPU slot is free (at most one job per core at a time, so a burst of
//! requests queues instead of oversubscribing the CPU), and converts the
//! result.
//!
//! Where a job runs (`scheduler::Placement`): a small document of a unary
//! call (up to [`Limits::inline_max_bytes`], a few milliseconds of CPU at
//! most) is tagged on the runtime thread that decoded it; a small TagStream
//! document in a runtime task of its own, so one stream's documents still
//! spread over the worker threads; a larger one on the blocking pool, so
//! that no runtime thread is held for long. Handing every document to the
//! blocking pool costs two thread switches per document, and on a server
//! with one core the runtime thread (reading the next requests) and the
//! blocking thread then compete for it. At 70-80% of peak load on one core,
//! p99 latency stayed under 20 ms in 14 of 16 runs tagging in place and in
//! 4 of 12 with the hand-over (`bench/RESULTS.md`); a stream's throughput
//! on one core went from 876 to 989 documents/s with its own tasks instead
//! of the pool. A panic in a job becomes INTERNAL wherever it runs.

mod reload;
mod scheduler;

pub use crate::limits::{
    DEFAULT_INLINE_MAX_BYTES, DEFAULT_MAX_DOC_BYTES, DEFAULT_MAX_INFLIGHT_BYTES, Limits,
    MIN_DECODE_CEILING, explain_transport_error,
};
pub use reload::ReloadConfig;
pub use scheduler::BudgetGuard;

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
use fgf_core::tagger::Tagger;

use crate::convert::{model_info, to_response_with};

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

    /// The token that, once cancelled, makes open TagStreams end after the
    /// documents they are working on (see [`crate::server::serve`]).
    pub fn draining(&self) -> CancellationToken {
        self.draining.clone()
    }

    /// A status tonic gave for a message it could not read, made to say
    /// what to do: a message over the decode ceiling becomes
    /// INVALID_ARGUMENT naming the ceiling and --max-doc-bytes.
    pub fn explain_transport_error(&self, status: Status) -> Status {
        explain_transport_error(status, &self.limits)
    }

    /// Segments one text; a bad request becomes an error status.
    async fn segment_one(&self, text: String) -> Result<Vec<pb::Token>, Status> {
        crate::request::check_size(&text, "text", &self.limits)
            .inspect_err(|s| tracing::warn!(message = s.message(), "Segment rejected"))?;
        tracing::debug!(bytes = text.len(), "segment");
        let _budget = self.take_budget(text.len())?;
        self.run_cpu(self.placement(text.len(), false), move |tagger| {
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
        let options = crate::request::tag_options(&req, &self.limits)?;
        // A file's bytes (`content`) are extracted on the CPU slot too.
        let budget = self.take_budget(req.text.len().max(req.content.len()))?;
        let placement = self.placement(req.text.len() + req.content.len(), rpc == Rpc::TagStream);
        let limits = self.limits;
        let response = self
            .run_cpu(
                placement,
                move |tagger| -> Result<pb::TagResponse, Status> {
                    let mut req = req;
                    let from_content = crate::request::take_content(&mut req, &limits)?;
                    let pb::TagRequest {
                        id,
                        text,
                        omit_text,
                        ..
                    } = req;
                    let doc = tagger.tag(&text, &options);
                    let mut response = to_response_with(tagger, id, &text, &doc, omit_text);
                    if from_content {
                        response.text = text;
                    }
                    Ok(response)
                },
            )
            .await??;
        Ok((response, budget))
    }
}

/// The status code of a call's result (OK for a success).
fn status_code<T>(result: &Result<T, Status>) -> tonic::Code {
    result
        .as_ref()
        .map_or_else(Status::code, |_| tonic::Code::Ok)
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
