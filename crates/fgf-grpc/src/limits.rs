//! What the server accepts and holds at once ([`Limits`]), and what a
//! request that passes the transport's ceiling is told.

use tonic::Status;

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
