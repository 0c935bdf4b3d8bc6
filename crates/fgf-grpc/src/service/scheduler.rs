//! CPU slots and load shedding: a document waits for one of `cpu_jobs`
//! slots (at most `max_queue` wait; more are refused at once with
//! RESOURCE_EXHAUSTED), takes its bytes from the in-flight budget
//! ([`BudgetGuard`]), and runs on the runtime thread when small or on the
//! blocking pool (see the module doc of [`super`]).

use std::sync::Arc;

use fgf_core::tagger::Tagger;
use tonic::Status;

use super::TaggerService;

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
    /// Takes `bytes` from the in-flight budget, or refuses at once with
    /// RESOURCE_EXHAUSTED when they do not fit now.
    pub(super) fn take_budget(&self, bytes: usize) -> Result<BudgetGuard, Status> {
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

    /// Runs `job` once a CPU slot is free, where `placement` says.
    pub(super) async fn run_cpu<T: Send + 'static>(
        &self,
        placement: Placement,
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
        let panicked = || Status::internal("tagging failed: the tagger panicked");
        match placement {
            Placement::Here => {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&tagger)))
                    .map_err(|_| panicked())
            }
            Placement::Task => tokio::spawn(async move {
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| job(&tagger)))
            })
            .await
            .map_err(|e| Status::internal(format!("tagging failed: {e}")))?
            .map_err(|_| panicked()),
            Placement::Pool => tokio::task::spawn_blocking(move || job(&tagger))
                .await
                .map_err(|e| Status::internal(format!("tagging failed: {e}"))),
        }
    }

    /// Where the job of a call on a text of `bytes` bytes runs (see the
    /// module doc): a small one of a unary call here, a small one of a
    /// stream in a task of its own, a large one on the blocking pool.
    pub(super) fn placement(&self, bytes: usize, stream: bool) -> Placement {
        match (bytes <= self.limits.inline_max_bytes, stream) {
            (false, _) => Placement::Pool,
            (true, false) => Placement::Here,
            (true, true) => Placement::Task,
        }
    }
}

/// Where a CPU job runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Placement {
    /// On the runtime thread that decoded the request: no hand-over at all
    /// (a unary call's small document).
    Here,
    /// In a runtime task of its own (a stream's small document): the
    /// stream's documents still spread over the worker threads, without
    /// waking a thread of the blocking pool for each.
    Task,
    /// On the blocking pool (a large document), so no runtime thread is
    /// held for long.
    Pool,
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
