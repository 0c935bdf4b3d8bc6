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

    /// Runs `job` once a CPU slot is free: here when `inline` (see
    /// [`Self::inline`]), else on the blocking pool.
    pub(super) async fn run_cpu<T: Send + 'static>(
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

    /// Whether a unary call's job on a text of `bytes` bytes runs on the
    /// runtime thread (see the module doc).
    pub(super) fn inline(&self, bytes: usize) -> bool {
        bytes <= self.limits.inline_max_bytes
    }
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
