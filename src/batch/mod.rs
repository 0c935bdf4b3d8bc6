//! `fgf tag`: tagging many documents, through servers or in process.
//!
//! This module owns a batch run end to end:
//!
//! * **Inputs** ([`Inputs`]) are read lazily, one document at a time: text
//!   files, folders (recursively, `*.txt`, `*.md`, `*.html`, `*.htm`, `*.docx`
//!   and `*.pdf` in any letter case),
//!   JSONL files with `{"id", "text"}` per line, or `-` for JSONL on stdin.
//! * **Pre-flight** ([`preflight`]): before any input is read, every
//!   `--server` gets its own connection (connect timeout of a few seconds)
//!   and one GetModelInfo call with the token; a server that fails is an
//!   error naming it, the cause and a hint. The smallest `max_doc_bytes` of
//!   the servers is kept: larger documents fail without being sent.
//! * **Flow control.** A document holds a permit of the window from the
//!   moment it is read until its line is written, so at most `window`
//!   documents are in memory whatever the input size.
//! * **Remote** ([`run_remote`]): `streams` concurrent TagStream calls on
//!   one tonic channel that balances over every `--server` (tower's
//!   power-of-two-choices balancer). Each stream has at most
//!   `window / streams` documents in flight; the server answers in order.
//!   A stream that breaks hands its unanswered documents back to the queue
//!   uncharged and waits out a backoff of its own (so retries of a server
//!   that is down do not grow with the documents waiting); a document
//!   answered with a retryable status (UNAVAILABLE, DEADLINE_EXCEEDED,
//!   RESOURCE_EXHAUSTED) is queued again after an exponential backoff with
//!   jitter, at most `max_attempts` times; any other status
//!   (INVALID_ARGUMENT ...) sends it to the error file.
//! * **Watcher**: every server is probed again every few seconds; a server
//!   that stops answering is named, with the cause, in the progress line
//!   and the summary. When no server has answered for `give_up_after`, the
//!   run stops ([`Stopped::GaveUp`]); what was written stays.
//! * **Local** ([`run_local`]): the model in process, one thread per core.
//! * **Output** ([`OrderedWriter`]): one proto-JSON TagResponse per line, in
//!   input order, each line written with one `write` call; `fsync` at the
//!   end. Every input document gets a line, a repeated id too. With
//!   `resume`, a torn last line is cut off, and an id found k times in the
//!   output skips its first k occurrences in the input; the CSV summary is
//!   rebuilt from the kept lines (its rows are computed from the output
//!   line, live and on resume alike).
//!
//! The code is laid out one concern a file: `inputs` (reading documents),
//! `admission` (resume skips, repeated ids), `servers` (URLs, probes, the
//! pre-flight, the watcher), `stream` (one TagStream worker, retries),
//! `remote` (the balanced run), `local` (`--local`), `output` (the
//! ordered writer, resume), [`csv_writer`] (`--summary`), `html_report`
//! (`--html`) and `progress`.

mod admission;
pub mod csv_writer;
mod html_report;
mod inputs;
mod local;
mod output;
mod progress;
mod remote;
mod servers;
mod stream;

pub use inputs::{BadInput, Doc, Inputs};
pub use local::run_local;
pub use output::{OrderedWriter, OutputPaths, Written};
pub use progress::{Progress, ServerHealth, spawn_progress};
pub use remote::{balanced_channel, run_remote};
pub use servers::{ServerInfo, preflight, server_url};

use std::time::Duration;

use fgf_grpc::client::ClientTls;
use fgf_grpc::pb;
use tonic::Code;

/// How a batch runs.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// Documents read but not yet written, at most.
    pub window: usize,
    /// Concurrent TagStream calls (remote only).
    pub streams: usize,
    /// Attempts per document before it is written to the error file (for
    /// retryable answers about the document; a broken stream is not
    /// charged to its documents).
    pub max_attempts: u32,
    /// Initial retry backoff; doubles per attempt, capped at 32x.
    pub backoff: Duration,
    /// Fields of every TagRequest other than id and text.
    pub request: pb::TagRequest,
    /// Threads for `--local` (default: cores).
    pub threads: usize,
    /// Bearer token sent to servers that need one.
    pub auth_token: Option<String>,
    /// How `https://` servers are verified, and the client certificate.
    pub tls: ClientTls,
    /// Documents over this many bytes fail without being sent (the
    /// smallest `max_doc_bytes` of the servers, from the pre-flight).
    pub max_doc_bytes: Option<u64>,
    /// How often every server is probed during the run.
    pub probe_every: Duration,
    /// The run stops when no server has answered for this long.
    pub give_up_after: Duration,
}

impl Default for BatchOptions {
    fn default() -> Self {
        Self {
            window: 64,
            streams: 4,
            max_attempts: 8,
            backoff: Duration::from_millis(200),
            request: pb::TagRequest::default(),
            threads: std::thread::available_parallelism().map_or(1, |n| n.get()),
            auth_token: None,
            tls: ClientTls::default(),
            max_doc_bytes: None,
            probe_every: Duration::from_secs(2),
            give_up_after: Duration::from_secs(60),
        }
    }
}

/// What happened to one document.
#[derive(Debug)]
pub enum Outcome {
    Tagged(pb::TagResponse),
    Failed {
        id: String,
        code: Code,
        message: String,
    },
}

/// Why a run stopped before every document was written. What was written
/// stays (flushed and fsynced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Stopped {
    /// Ctrl-C (SIGINT).
    Interrupted,
    /// No server answered for `give_up_after`; the message names them.
    GaveUp(String),
    /// A server failed the pre-flight; the message names it.
    Unreachable(String),
}

impl Stopped {
    /// The process exit code: 130 for Ctrl-C, 2 for servers.
    pub fn exit_code(&self) -> u8 {
        match self {
            Stopped::Interrupted => 130,
            Stopped::GaveUp(_) | Stopped::Unreachable(_) => 2,
        }
    }
}

impl std::fmt::Display for Stopped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Stopped::Interrupted => f.write_str("interrupted"),
            Stopped::GaveUp(m) | Stopped::Unreachable(m) => f.write_str(m),
        }
    }
}

impl std::error::Error for Stopped {}
