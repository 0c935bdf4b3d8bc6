//! One TagStream worker of a remote run: documents in flight ([`Job`]),
//! taken from the shared queue, at most `window / streams` on a stream,
//! matched to the server's in-order answers. A retryable answer queues the
//! document again after an exponential backoff with jitter (at most
//! `max_attempts` times); a stream that breaks hands its unanswered
//! documents back uncharged and reconnects after a backoff of its own.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use fgf_grpc::client::MAX_RESPONSE_BYTES;
use fgf_grpc::pb;
use tokio::sync::{Mutex, mpsc};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic::transport::Channel;

use super::inputs::Doc;
use super::progress::Progress;
use super::{BatchOptions, Outcome};

/// A document in flight: its place in the input, how often it was
/// answered with a retryable status, and how often a stream broke while it
/// was the oldest unanswered document on it.
pub(super) struct Job {
    pub(super) seq: u64,
    pub(super) doc: Doc,
    pub(super) attempts: u32,
    pub(super) breaks: u32,
    pub(super) _permit: tokio::sync::OwnedSemaphorePermit,
}

fn retryable(code: Code) -> bool {
    matches!(
        code,
        Code::Unavailable | Code::DeadlineExceeded | Code::ResourceExhausted
    )
}

/// Exponential backoff with ±50% jitter.
fn backoff(base: Duration, attempts: u32) -> Duration {
    use std::hash::{BuildHasher, Hasher};
    let exp = base.saturating_mul(1 << attempts.min(5));
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u32(attempts);
    let jitter = 0.5 + (h.finish() % 1000) as f64 / 1000.0;
    exp.mul_f64(jitter)
}

pub(super) type Queue = Arc<Mutex<mpsc::UnboundedReceiver<Job>>>;

/// Documents per TagStream call before it is closed and a new one opened.
const STREAM_DOCS: usize = 500;
type Results = mpsc::UnboundedSender<(u64, Outcome, Option<Job>)>;

/// Statuses that end a whole stream because of the document being read
/// (e.g. OUT_OF_RANGE for a message over the server's limit): the first
/// unanswered document is the culprit; the others are sent again.
fn blames_the_document(code: Code) -> bool {
    matches!(
        code,
        Code::InvalidArgument | Code::OutOfRange | Code::Internal | Code::FailedPrecondition
    )
}

/// Statuses on opening a stream that no retry can fix.
fn fatal_for_the_run(code: Code) -> bool {
    matches!(
        code,
        Code::Unauthenticated | Code::PermissionDenied | Code::Unimplemented
    )
}

/// One TagStream at a time: feeds it jobs from the queue, matches the
/// in-order answers to the jobs in flight, and on a broken stream hands the
/// unanswered jobs back (not charged to them) and reconnects after a
/// backoff of its own. Runs until aborted.
pub(super) async fn stream_worker(
    channel: Channel,
    queue: Queue,
    requeue: mpsc::UnboundedSender<Job>,
    results: Results,
    options: Arc<BatchOptions>,
    progress: Arc<Progress>,
) {
    let per_stream = (options.window / options.streams.max(1)).max(1);
    let request = |job: &Job| pb::TagRequest {
        id: job.doc.id.clone(),
        text: job.doc.text.clone(),
        ..options.request.clone()
    };
    // Consecutive failures of this worker's streams: its backoff.
    let mut failures = 0u32;
    loop {
        if failures > 0 {
            tokio::time::sleep(backoff(options.backoff, failures)).await;
        }
        // Wait for a job before opening a stream.
        let Some(first) = queue.lock().await.recv().await else {
            return;
        };
        let mut in_flight: VecDeque<Job> = VecDeque::new();
        let (tx, rx) = mpsc::channel::<pb::TagRequest>(per_stream);
        let _ = tx.send(request(&first)).await;
        in_flight.push_back(first);
        let mut client = pb::tagger_client::TaggerClient::new(channel.clone())
            .max_decoding_message_size(MAX_RESPONSE_BYTES);
        let call =
            fgf_grpc::auth::request_with(ReceiverStream::new(rx), options.auth_token.as_deref());
        let mut inbound = match client.tag_stream(call).await {
            Ok(r) => r.into_inner(),
            Err(status) if fatal_for_the_run(status.code()) => {
                // Every document would fail the same way: fail them as they
                // come, with the server's reason.
                for job in in_flight.drain(..) {
                    let outcome = Outcome::Failed {
                        id: job.doc.id.clone(),
                        code: status.code(),
                        message: status.message().to_string(),
                    };
                    let _ = results.send((job.seq, outcome, Some(job)));
                }
                continue;
            }
            Err(status) => {
                tracing::debug!(code = ?status.code(), "TagStream call failed; retrying");
                failures = failures.saturating_add(1);
                hand_back(&mut in_flight, &requeue);
                continue;
            }
        };
        // Documents sent on this stream. A stream is closed after
        // STREAM_DOCS documents and a new one opened, so that the balancer
        // can move work to servers that came back or were added.
        let mut sent = 1usize;
        let mut broke = false;
        loop {
            let room = in_flight.len() < per_stream && sent < STREAM_DOCS;
            tokio::select! {
                biased;
                msg = inbound.next() => match msg {
                    Some(Ok(resp)) => {
                        failures = 0;
                        progress.answered();
                        let Some(job) = in_flight.pop_front() else { break };
                        answer(job, resp, &requeue, &results, &progress, &options);
                        if sent >= STREAM_DOCS && in_flight.is_empty() {
                            break;
                        }
                    }
                    Some(Err(status)) => {
                        tracing::debug!(code = ?status.code(), "TagStream ended with an error");
                        if blames_the_document(status.code())
                            && let Some(job) = in_flight.pop_front()
                        {
                            let outcome = Outcome::Failed {
                                id: job.doc.id.clone(),
                                code: status.code(),
                                message: status.message().to_string(),
                            };
                            let _ = results.send((job.seq, outcome, Some(job)));
                        } else {
                            broke = true;
                        }
                        break;
                    }
                    None => {
                        broke = !in_flight.is_empty();
                        break;
                    }
                },
                job = async { queue.lock().await.recv().await }, if room => match job {
                    Some(job) => {
                        let ok = tx.send(request(&job)).await.is_ok();
                        in_flight.push_back(job);
                        sent += 1;
                        if !ok {
                            broke = true;
                            break;
                        }
                    }
                    None => return,
                },
            }
        }
        if broke {
            failures = failures.saturating_add(1);
            // The oldest unanswered document may be what broke the stream
            // (a server crashing on it): after max_attempts such breaks it
            // goes to the error file instead of looping for ever.
            if let Some(job) = in_flight.front_mut() {
                job.breaks += 1;
                if job.breaks >= options.max_attempts.max(3)
                    && let Some(job) = in_flight.pop_front()
                {
                    let outcome = Outcome::Failed {
                        id: job.doc.id.clone(),
                        code: Code::Unavailable,
                        message: format!(
                            "the stream broke {} times while this document was the oldest \
                             unanswered one on it (does the server crash on it?)",
                            job.breaks
                        ),
                    };
                    let _ = results.send((job.seq, outcome, Some(job)));
                }
            }
        }
        hand_back(&mut in_flight, &requeue);
    }
}

/// Puts the unanswered documents of a stream back in the queue as they
/// are: a broken stream is not the documents' fault.
fn hand_back(in_flight: &mut VecDeque<Job>, requeue: &mpsc::UnboundedSender<Job>) {
    for job in in_flight.drain(..) {
        let _ = requeue.send(job);
    }
}

/// Handles the server's answer for `job`.
fn answer(
    job: Job,
    resp: pb::TagResponse,
    requeue: &mpsc::UnboundedSender<Job>,
    results: &Results,
    progress: &Progress,
    options: &BatchOptions,
) {
    match &resp.error {
        None => {
            let _ = results.send((job.seq, Outcome::Tagged(resp), Some(job)));
        }
        Some(err) => {
            let code = Code::from(err.code);
            if retryable(code) {
                requeue_later(job, code, &err.message, requeue, results, progress, options);
            } else {
                let outcome = Outcome::Failed {
                    id: job.doc.id.clone(),
                    code,
                    message: err.message.clone(),
                };
                let _ = results.send((job.seq, outcome, Some(job)));
            }
        }
    }
}

/// Sends `job`, answered with the retryable `code`, back to the queue
/// after its backoff, or gives it up with that answer after
/// `max_attempts`.
fn requeue_later(
    mut job: Job,
    code: Code,
    message: &str,
    requeue: &mpsc::UnboundedSender<Job>,
    results: &Results,
    progress: &Progress,
    options: &BatchOptions,
) {
    job.attempts += 1;
    if job.attempts >= options.max_attempts {
        let outcome = Outcome::Failed {
            id: job.doc.id.clone(),
            code,
            message: format!("{message} (after {} attempts)", job.attempts),
        };
        let _ = results.send((job.seq, outcome, Some(job)));
        return;
    }
    progress.retried.fetch_add(1, Ordering::Relaxed);
    let wait = backoff(options.backoff, job.attempts);
    let requeue = requeue.clone();
    tokio::spawn(async move {
        tokio::time::sleep(wait).await;
        let _ = requeue.send(job);
    });
}
