//! `fgf tag`: tagging many documents, through servers or in process.
//!
//! This module owns a batch run end to end:
//!
//! * **Inputs** ([`Inputs`]) are read lazily, one document at a time: text
//!   files, folders (recursively, `*.txt` and `*.md`), JSONL files with
//!   `{"id", "text"}` per line, or `-` for JSONL on stdin.
//! * **Flow control.** A document holds a permit of the window from the
//!   moment it is read until its line is written, so at most `window`
//!   documents are in memory whatever the input size.
//! * **Remote** ([`run_remote`]): `streams` concurrent TagStream calls on
//!   one tonic channel that balances over every `--server` (tower's
//!   power-of-two-choices balancer). Each stream has at most
//!   `window / streams` documents in flight; the server answers in order.
//!   A stream that breaks hands its unanswered documents back to the queue
//!   and reconnects after a backoff; a document answered with a retryable
//!   status (UNAVAILABLE, DEADLINE_EXCEEDED, RESOURCE_EXHAUSTED) is queued
//!   again after an exponential backoff with jitter; any other status
//!   (INVALID_ARGUMENT ...) sends it to the error file.
//! * **Local** ([`run_local`]): the model in process, one thread per core.
//! * **Output** ([`OrderedWriter`]): one proto-JSON TagResponse per line, in
//!   input order, each line written with one `write` call; `fsync` at the
//!   end. With `resume`, ids already in the output are skipped and a torn
//!   last line is cut off first.

use std::collections::{BTreeMap, HashSet, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::sync::{Mutex, Semaphore, mpsc};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic::transport::Channel;

use crate::client::MAX_RESPONSE_BYTES;
use crate::pb;
use crate::protojson;
use crate::tagger::{TagOptions, Tagger};

/// One document to tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doc {
    pub id: String,
    pub text: String,
}

/// A document that could not be read from its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadInput {
    pub id: String,
    pub message: String,
}

/// The documents of a list of inputs, read lazily.
pub struct Inputs {
    pending: VecDeque<PathBuf>,
    current: Option<(String, Box<dyn BufRead + Send>, usize)>,
}

impl Inputs {
    /// Expands folders (sorted, recursively) into their `*.txt`/`*.md` files.
    pub fn new(inputs: &[PathBuf]) -> Result<Self> {
        let mut pending = VecDeque::new();
        for input in inputs {
            if input.is_dir() {
                let mut files = Vec::new();
                collect_text_files(input, &mut files)?;
                files.sort();
                pending.extend(files);
            } else if input.as_os_str() == "-" || input.exists() {
                pending.push_back(input.clone());
            } else {
                bail!("input {} does not exist", input.display());
            }
        }
        Ok(Self {
            pending,
            current: None,
        })
    }

    /// Counts documents without keeping them (for progress): one per text
    /// file, one per non-blank JSONL line; `None` when stdin is an input.
    pub fn count(inputs: &[PathBuf]) -> Result<Option<u64>> {
        let mut n = 0u64;
        for path in Self::new(inputs)?.pending {
            if path.as_os_str() == "-" {
                return Ok(None);
            }
            if is_jsonl(&path) {
                let reader = BufReader::new(File::open(&path)?);
                for line in reader.split(b'\n') {
                    if !line?.iter().all(u8::is_ascii_whitespace) {
                        n += 1;
                    }
                }
            } else {
                n += 1;
            }
        }
        Ok(Some(n))
    }
}

fn is_jsonl(path: &Path) -> bool {
    path.as_os_str() == "-"
        || path
            .extension()
            .is_some_and(|e| e == "jsonl" || e == "ndjson")
}

fn collect_text_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_text_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "txt" || e == "md") {
            out.push(path);
        }
    }
    Ok(())
}

/// A JSONL line as `fgf tag` reads it.
#[derive(serde::Deserialize)]
struct JsonDoc {
    #[serde(default)]
    id: Option<String>,
    text: String,
}

impl Iterator for Inputs {
    type Item = std::result::Result<Doc, BadInput>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((name, reader, line_no)) = &mut self.current {
                let mut line = Vec::new();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) => {
                        self.current = None;
                        continue;
                    }
                    Ok(_) => {
                        *line_no += 1;
                        if line.iter().all(u8::is_ascii_whitespace) {
                            continue;
                        }
                        let where_ = format!("{name}:{line_no}");
                        return Some(match serde_json::from_slice::<JsonDoc>(&line) {
                            Ok(d) => Ok(Doc {
                                id: d.id.unwrap_or(where_),
                                text: d.text,
                            }),
                            Err(e) => Err(BadInput {
                                id: where_,
                                message: format!(
                                    "not a JSON object with a string \"text\" (and optional \"id\"): {e}"
                                ),
                            }),
                        });
                    }
                    Err(e) => {
                        let id = format!("{name}:{}", *line_no + 1);
                        self.current = None;
                        return Some(Err(BadInput {
                            id,
                            message: format!("read error: {e}"),
                        }));
                    }
                }
            }
            let path = self.pending.pop_front()?;
            let name = path.display().to_string();
            if is_jsonl(&path) {
                let reader: Box<dyn BufRead + Send> = if path.as_os_str() == "-" {
                    Box::new(BufReader::new(std::io::stdin()))
                } else {
                    match File::open(&path) {
                        Ok(f) => Box::new(BufReader::new(f)),
                        Err(e) => {
                            return Some(Err(BadInput {
                                id: name,
                                message: format!("cannot open: {e}"),
                            }));
                        }
                    }
                };
                self.current = Some((name, reader, 0));
                continue;
            }
            let mut bytes = Vec::new();
            let read = File::open(&path).and_then(|mut f| f.read_to_end(&mut bytes));
            return Some(match read {
                Err(e) => Err(BadInput {
                    id: name,
                    message: format!("cannot read: {e}"),
                }),
                Ok(_) => match String::from_utf8(bytes) {
                    Ok(text) => Ok(Doc { id: name, text }),
                    Err(_) => Err(BadInput {
                        id: name,
                        message: "not UTF-8 text".to_string(),
                    }),
                },
            });
        }
    }
}

/// How a batch runs.
#[derive(Debug, Clone)]
pub struct BatchOptions {
    /// Documents read but not yet written, at most.
    pub window: usize,
    /// Concurrent TagStream calls (remote only).
    pub streams: usize,
    /// Attempts per document before it is written to the error file.
    pub max_attempts: u32,
    /// Initial retry backoff; doubles per attempt, capped at 30x.
    pub backoff: Duration,
    /// Fields of every TagRequest other than id and text.
    pub request: pb::TagRequest,
    /// Threads for `--local` (default: cores).
    pub threads: usize,
    /// Bearer token sent to servers that need one.
    pub auth_token: Option<String>,
    /// PEM CA that `https://` servers are verified against.
    pub tls_ca: Option<Vec<u8>>,
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
            tls_ca: None,
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

/// Counters shown while running and at the end.
#[derive(Debug, Default)]
pub struct Progress {
    pub read: AtomicU64,
    pub tagged: AtomicU64,
    pub failed: AtomicU64,
    pub retried: AtomicU64,
    pub skipped: AtomicU64,
    pub bytes: AtomicU64,
    pub total: Option<u64>,
}

impl Progress {
    fn line(&self, started: Instant) -> String {
        let done = self.tagged.load(Ordering::Relaxed) + self.failed.load(Ordering::Relaxed);
        let secs = started.elapsed().as_secs_f64().max(1e-3);
        let mb = self.bytes.load(Ordering::Relaxed) as f64 / 1e6;
        let rate = done as f64 / secs;
        let mut s = format!(
            "{done} docs, {mb:.1} MB, {rate:.0} docs/s, {} failed, {} retried",
            self.failed.load(Ordering::Relaxed),
            self.retried.load(Ordering::Relaxed)
        );
        if let Some(total) = self.total {
            let left = total.saturating_sub(done + self.skipped.load(Ordering::Relaxed));
            let eta = if rate > 0.0 { left as f64 / rate } else { 0.0 };
            s = format!("{}/{total} ", done + self.skipped.load(Ordering::Relaxed)) + &s;
            s.push_str(&format!(", ETA {}s", eta.round()));
        }
        s
    }

    /// The final line: `tagged N, failed M, retried R`.
    pub fn summary(&self, started: Instant) -> String {
        let secs = started.elapsed().as_secs_f64();
        let tagged = self.tagged.load(Ordering::Relaxed);
        format!(
            "tagged {tagged}, failed {}, retried {}, skipped {} already in the output; {:.1} MB in {secs:.1} s ({:.0} docs/s)",
            self.failed.load(Ordering::Relaxed),
            self.retried.load(Ordering::Relaxed),
            self.skipped.load(Ordering::Relaxed),
            self.bytes.load(Ordering::Relaxed) as f64 / 1e6,
            tagged as f64 / secs.max(1e-3)
        )
    }
}

/// Prints progress to stderr until `stop` is set: a redrawn line on a
/// terminal, a plain line every 10 s otherwise.
pub fn spawn_progress(
    progress: Arc<Progress>,
    stop: Arc<AtomicBool>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let started = Instant::now();
        let tty = std::io::stderr().is_terminal();
        let every = if tty {
            Duration::from_millis(250)
        } else {
            Duration::from_secs(10)
        };
        let mut last = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(50));
            if last.elapsed() >= every {
                last = Instant::now();
                if tty {
                    eprint!("\r\x1b[2K{}", progress.line(started));
                } else {
                    eprintln!("progress: {}", progress.line(started));
                }
            }
        }
        if tty {
            eprint!("\r\x1b[2K");
        }
    })
}

/// Where results go, in input order.
pub struct OrderedWriter {
    out: Box<dyn Write + Send>,
    out_file: Option<File>,
    errors: File,
    summary: Option<csv_writer::CsvWriter>,
    next: u64,
    waiting: BTreeMap<u64, Outcome>,
    progress: Arc<Progress>,
}

mod csv_writer {
    use std::fs::File;
    use std::io::{BufWriter, Write};

    use crate::pb;

    /// `--summary`: one row per tagged document.
    pub struct CsvWriter(pub BufWriter<File>);

    fn field(s: &str) -> String {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    }

    impl CsvWriter {
        pub fn header(&mut self) -> std::io::Result<()> {
            writeln!(self.0, "id,chars,fang,guan,fu,top_themes")
        }

        pub fn row(&mut self, r: &pb::TagResponse) -> std::io::Result<()> {
            let summary = r.summary.clone().unwrap_or_default();
            let share = |code: &str| {
                summary
                    .pillars
                    .iter()
                    .find(|p| p.code == code)
                    .map_or(0.0, |p| p.share)
            };
            let chars: u32 = r.spans.iter().map(|s| s.char_end - s.char_start).sum();
            let top: Vec<&str> = summary
                .themes
                .iter()
                .take(3)
                .map(|t| t.code.as_str())
                .collect();
            writeln!(
                self.0,
                "{},{chars},{:.3},{:.3},{:.3},{}",
                field(&r.id),
                share("fang"),
                share("guan"),
                share("fu"),
                field(&top.join(";"))
            )
        }
    }
}

/// Where a batch writes.
#[derive(Debug, Clone)]
pub struct OutputPaths {
    /// JSONL output; `None` for stdout.
    pub out: Option<PathBuf>,
    /// Rejected documents, one JSON object per line.
    pub errors: PathBuf,
    /// Optional per-document CSV.
    pub summary: Option<PathBuf>,
    /// Skip ids already in `out` and append.
    pub resume: bool,
}

/// Ids already in an output file, after cutting a torn last line.
fn resume_ids(path: &Path) -> Result<HashSet<String>> {
    let mut ids = HashSet::new();
    if !path.exists() {
        return Ok(ids);
    }
    let mut file = OpenOptions::new().read(true).write(true).open(path)?;
    let mut good_len = 0u64;
    let mut reader = BufReader::new(&mut file);
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        let complete = line.ends_with(b"\n");
        let id = serde_json::from_slice::<serde_json::Value>(&line)
            .ok()
            .and_then(|v| v.get("id").and_then(|i| i.as_str()).map(str::to_string));
        match (complete, id) {
            (true, Some(id)) => {
                ids.insert(id);
                good_len += n as u64;
            }
            (true, None) if line.iter().all(u8::is_ascii_whitespace) => good_len += n as u64,
            _ => break,
        }
    }
    drop(reader);
    if good_len < file.metadata()?.len() {
        file.set_len(good_len)?;
    }
    file.seek(SeekFrom::End(0))?;
    Ok(ids)
}

impl OrderedWriter {
    /// Opens the outputs; with `resume`, returns the ids to skip.
    pub fn open(paths: &OutputPaths, progress: Arc<Progress>) -> Result<(Self, HashSet<String>)> {
        let mut skip = HashSet::new();
        let (out, out_file): (Box<dyn Write + Send>, Option<File>) = match &paths.out {
            None => (Box::new(std::io::stdout()), None),
            Some(p) => {
                let file = if paths.resume {
                    skip = resume_ids(p)?;
                    OpenOptions::new().create(true).append(true).open(p)
                } else {
                    File::create(p)
                }
                .with_context(|| format!("opening {}", p.display()))?;
                (Box::new(file.try_clone()?), Some(file))
            }
        };
        let errors = File::create(&paths.errors)
            .with_context(|| format!("opening {}", paths.errors.display()))?;
        let summary = match &paths.summary {
            None => None,
            Some(p) => {
                let mut w = csv_writer::CsvWriter(std::io::BufWriter::new(
                    File::create(p).with_context(|| format!("opening {}", p.display()))?,
                ));
                w.header()?;
                Some(w)
            }
        };
        Ok((
            Self {
                out,
                out_file,
                errors,
                summary,
                next: 0,
                waiting: BTreeMap::new(),
                progress,
            },
            skip,
        ))
    }

    /// Takes the outcome of document `seq`; writes every outcome that is
    /// next in order. Returns how many were written.
    pub fn push(&mut self, seq: u64, outcome: Outcome) -> Result<usize> {
        self.waiting.insert(seq, outcome);
        let mut written = 0;
        while let Some(outcome) = self.waiting.remove(&self.next) {
            self.write(outcome)?;
            self.next += 1;
            written += 1;
        }
        Ok(written)
    }

    fn write(&mut self, outcome: Outcome) -> Result<()> {
        match outcome {
            Outcome::Tagged(resp) => {
                let mut line = protojson::tag_response(&resp).to_string();
                line.push('\n');
                self.out.write_all(line.as_bytes())?;
                if let Some(s) = &mut self.summary {
                    s.row(&resp)?;
                }
                self.progress.tagged.fetch_add(1, Ordering::Relaxed);
            }
            Outcome::Failed { id, code, message } => {
                let mut line = serde_json::json!({
                    "id": id,
                    "code": code_name(code),
                    "message": message,
                })
                .to_string();
                line.push('\n');
                self.errors.write_all(line.as_bytes())?;
                self.progress.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
        Ok(())
    }

    /// Flushes and fsyncs everything.
    pub fn finish(mut self) -> Result<()> {
        self.out.flush()?;
        if let Some(f) = &self.out_file {
            f.sync_all()?;
        }
        self.errors.sync_all()?;
        if let Some(mut s) = self.summary {
            s.0.flush()?;
            s.0.get_ref().sync_all()?;
        }
        Ok(())
    }
}

/// A document in flight: its place in the input and how often it was sent.
struct Job {
    seq: u64,
    doc: Doc,
    attempts: u32,
    _permit: tokio::sync::OwnedSemaphorePermit,
}

/// The canonical name of a status code (`INVALID_ARGUMENT`).
pub fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
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

/// A channel balancing over every server (tower p2c through tonic).
pub fn balanced_channel(servers: &[String], tls_ca: Option<&[u8]>) -> Result<Channel> {
    let endpoints = servers
        .iter()
        .map(|url| {
            Ok(crate::client::endpoint(url, tls_ca)?
                .http2_keep_alive_interval(Duration::from_secs(10))
                .keep_alive_timeout(Duration::from_secs(10)))
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Channel::balance_list(endpoints.into_iter()))
}

type Queue = Arc<Mutex<mpsc::UnboundedReceiver<Job>>>;

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
/// unanswered jobs back and reconnects. Runs until aborted.
async fn stream_worker(
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
    let mut failures = 0u32;
    loop {
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
        let mut call = tonic::Request::new(ReceiverStream::new(rx));
        if let Some(token) = &options.auth_token
            && crate::auth::authorize(&mut call, token).is_err()
        {
            return;
        }
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
                failures += 1;
                requeue_all(&mut in_flight, &requeue, &results, &progress, &options);
                tokio::time::sleep(backoff(options.backoff, failures)).await;
                continue;
            }
        };
        // Documents sent on this stream. A stream is closed after
        // STREAM_DOCS documents and a new one opened, so that the balancer
        // can move work to servers that came back or were added.
        let mut sent = 1usize;
        loop {
            let room = in_flight.len() < per_stream && sent < STREAM_DOCS;
            tokio::select! {
                biased;
                msg = inbound.next() => match msg {
                    Some(Ok(resp)) => {
                        failures = 0;
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
                            // The others were not at fault: resend them as they are.
                            for job in in_flight.drain(..) {
                                let _ = requeue.send(job);
                            }
                        } else {
                            failures += 1;
                        }
                        break;
                    }
                    None => break,
                },
                job = async { queue.lock().await.recv().await }, if room => match job {
                    Some(job) => {
                        let ok = tx.send(request(&job)).await.is_ok();
                        in_flight.push_back(job);
                        sent += 1;
                        if !ok {
                            break;
                        }
                    }
                    None => return,
                },
            }
        }
        if !in_flight.is_empty() {
            requeue_all(&mut in_flight, &requeue, &results, &progress, &options);
            tokio::time::sleep(backoff(options.backoff, failures)).await;
        }
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
                requeue_later(job, requeue, results, progress, options);
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

fn requeue_all(
    in_flight: &mut VecDeque<Job>,
    requeue: &mpsc::UnboundedSender<Job>,
    results: &Results,
    progress: &Progress,
    options: &BatchOptions,
) {
    for job in in_flight.drain(..) {
        requeue_later(job, requeue, results, progress, options);
    }
}

/// Sends `job` back to the queue after its backoff, or gives it up as
/// UNAVAILABLE after `max_attempts`.
fn requeue_later(
    mut job: Job,
    requeue: &mpsc::UnboundedSender<Job>,
    results: &Results,
    progress: &Progress,
    options: &BatchOptions,
) {
    job.attempts += 1;
    if job.attempts >= options.max_attempts {
        let outcome = Outcome::Failed {
            id: job.doc.id.clone(),
            code: Code::Unavailable,
            message: format!("no server answered after {} attempts", job.attempts),
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

/// Tags `inputs` through `servers`; returns when every document is written.
pub async fn run_remote(
    inputs: Inputs,
    servers: &[String],
    options: BatchOptions,
    mut writer: OrderedWriter,
    skip: HashSet<String>,
    progress: Arc<Progress>,
) -> Result<()> {
    if servers.is_empty() {
        bail!("no --server given (or use --local)");
    }
    let channel = balanced_channel(servers, options.tls_ca.as_deref())?;
    let options = Arc::new(options);
    let window = Arc::new(Semaphore::new(options.window.max(1)));
    let (job_tx, job_rx) = mpsc::unbounded_channel::<Job>();
    let queue: Queue = Arc::new(Mutex::new(job_rx));
    let (result_tx, mut result_rx) = mpsc::unbounded_channel::<(u64, Outcome, Option<Job>)>();

    let mut workers = Vec::new();
    for _ in 0..options.streams.max(1) {
        workers.push(tokio::spawn(stream_worker(
            channel.clone(),
            queue.clone(),
            job_tx.clone(),
            result_tx.clone(),
            options.clone(),
            progress.clone(),
        )));
    }

    // The reader: takes a window permit per document, numbers it, queues it.
    let (total_tx, mut total_rx) = tokio::sync::oneshot::channel::<u64>();
    let reader = {
        let window = window.clone();
        let job_tx = job_tx.clone();
        let result_tx = result_tx.clone();
        let progress = progress.clone();
        tokio::spawn(async move {
            let mut seq = 0u64;
            let (doc_tx, mut doc_rx) = mpsc::channel(16);
            let read = tokio::task::spawn_blocking(move || {
                for item in inputs {
                    if doc_tx.blocking_send(item).is_err() {
                        break;
                    }
                }
            });
            while let Some(item) = doc_rx.recv().await {
                progress.read.fetch_add(1, Ordering::Relaxed);
                match item {
                    Ok(doc) if skip.contains(&doc.id) => {
                        progress.skipped.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(doc) => {
                        let permit = window.clone().acquire_owned().await.expect("window open");
                        progress
                            .bytes
                            .fetch_add(doc.text.len() as u64, Ordering::Relaxed);
                        let _ = job_tx.send(Job {
                            seq,
                            doc,
                            attempts: 0,
                            _permit: permit,
                        });
                        seq += 1;
                    }
                    Err(bad) => {
                        let outcome = Outcome::Failed {
                            id: bad.id,
                            code: Code::InvalidArgument,
                            message: bad.message,
                        };
                        let _ = result_tx.send((seq, outcome, None));
                        seq += 1;
                    }
                }
            }
            let _ = read.await;
            let _ = total_tx.send(seq);
        })
    };
    drop(job_tx);
    drop(result_tx);

    let mut total: Option<u64> = None;
    let mut written = 0u64;
    loop {
        if total == Some(written) {
            break;
        }
        tokio::select! {
            r = result_rx.recv() => {
                let Some((seq, outcome, job)) = r else { break };
                written += writer.push(seq, outcome)? as u64;
                drop(job); // releases the window permit
            }
            t = &mut total_rx, if total.is_none() => {
                total = Some(t.unwrap_or(0));
            }
        }
    }
    reader.await.ok();
    for w in workers {
        w.abort();
    }
    writer.finish()
}

/// A counting semaphore for threads: the window of `--local`.
struct Window {
    free: std::sync::Mutex<usize>,
    freed: std::sync::Condvar,
}

impl Window {
    fn new(n: usize) -> Self {
        Self {
            free: std::sync::Mutex::new(n),
            freed: std::sync::Condvar::new(),
        }
    }

    fn acquire(&self) {
        let mut free = self.free.lock().expect("window lock");
        while *free == 0 {
            free = self.freed.wait(free).expect("window lock");
        }
        *free -= 1;
    }

    fn release(&self, n: usize) {
        *self.free.lock().expect("window lock") += n;
        self.freed.notify_all();
    }
}

/// Tags `inputs` with the model in process, `options.threads` at a time.
pub fn run_local(
    inputs: Inputs,
    tagger: Arc<Tagger>,
    options: BatchOptions,
    mut writer: OrderedWriter,
    skip: HashSet<String>,
    progress: Arc<Progress>,
) -> Result<()> {
    let tag_options = tag_options(&options.request);
    let threads = options.threads.max(1);
    let window = Arc::new(Window::new(options.window.max(threads)));
    type Item = (u64, std::result::Result<Doc, BadInput>);
    let (job_tx, job_rx) = std::sync::mpsc::channel::<Item>();
    let job_rx = Arc::new(std::sync::Mutex::new(job_rx));
    let (out_tx, out_rx) = std::sync::mpsc::channel::<(u64, Outcome)>();
    std::thread::scope(|scope| -> Result<()> {
        for _ in 0..threads {
            let job_rx = job_rx.clone();
            let out_tx = out_tx.clone();
            let tagger = tagger.clone();
            scope.spawn(move || {
                loop {
                    let next = job_rx.lock().expect("job queue").recv();
                    let Ok((seq, item)) = next else { break };
                    let outcome = match item {
                        Ok(doc) => {
                            let tagged = tagger.tag(&doc.text, &tag_options);
                            Outcome::Tagged(crate::service::to_response(
                                &tagger, doc.id, &doc.text, &tagged,
                            ))
                        }
                        Err(bad) => Outcome::Failed {
                            id: bad.id,
                            code: Code::InvalidArgument,
                            message: bad.message,
                        },
                    };
                    if out_tx.send((seq, outcome)).is_err() {
                        break;
                    }
                }
            });
        }
        drop(out_tx);
        let reader_window = window.clone();
        let reader_progress = progress.clone();
        scope.spawn(move || {
            let mut seq = 0u64;
            for item in inputs {
                reader_progress.read.fetch_add(1, Ordering::Relaxed);
                if let Ok(doc) = &item {
                    if skip.contains(&doc.id) {
                        reader_progress.skipped.fetch_add(1, Ordering::Relaxed);
                        continue;
                    }
                    reader_progress
                        .bytes
                        .fetch_add(doc.text.len() as u64, Ordering::Relaxed);
                }
                reader_window.acquire();
                if job_tx.send((seq, item)).is_err() {
                    break;
                }
                seq += 1;
            }
        });
        for (seq, outcome) in out_rx {
            match writer.push(seq, outcome) {
                Ok(written) => window.release(written),
                Err(e) => {
                    // Unblock the reader so the threads can end.
                    window.release(usize::MAX / 2);
                    return Err(e);
                }
            }
        }
        Ok(())
    })?;
    writer.finish()
}

/// The in-process equivalent of a TagRequest's options.
fn tag_options(req: &pb::TagRequest) -> TagOptions {
    TagOptions {
        sentences: req.granularity == pb::Granularity::Sentence as i32,
        threshold: (req.threshold > 0.0).then_some(req.threshold),
        line_mode: if req.line_mode == pb::LineMode::Lines as i32 {
            crate::segment::LineMode::Lines
        } else {
            crate::segment::LineMode::Reflow
        },
        evidence: req.include_evidence,
    }
}
