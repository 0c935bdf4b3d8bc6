//! `fgf tag`: tagging many documents, through servers or in process.
//!
//! This module owns a batch run end to end:
//!
//! * **Inputs** ([`Inputs`]) are read lazily, one document at a time: text
//!   files, folders (recursively, `*.txt` and `*.md` in any letter case),
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

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, IsTerminal, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::Value;
use tokio::sync::{Mutex, Semaphore, mpsc};
use tokio_stream::StreamExt;
use tokio_stream::wrappers::ReceiverStream;
use tonic::Code;
use tonic::transport::Channel;

use crate::protojson;
use fgf_core::tagger::{TagOptions, Tagger};
use fgf_grpc::client::{ClientTls, MAX_RESPONSE_BYTES};
use fgf_grpc::pb;

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
    stdin: Option<Box<dyn BufRead + Send>>,
    /// Files inside folders that were not read (not `.txt`/`.md`).
    pub skipped_files: Vec<PathBuf>,
}

/// Why an input list cannot be read at all.
fn plain_text_on_stdin() -> anyhow::Error {
    anyhow::anyhow!(
        "stdin does not look like JSONL: `fgf tag -` reads one {{\"id\": ..., \"text\": ...}} \
         object per line. To tag one plain-text document, use `fgf tag-one -`; to tag text \
         files, give their paths (or a folder)"
    )
}

impl Inputs {
    /// Expands folders (sorted, recursively) into their `*.txt`/`*.md`
    /// files. With `-`, looks at the start of stdin: text that is not JSON
    /// is refused with a hint to use `fgf tag-one`.
    pub fn new(inputs: &[PathBuf]) -> Result<Self> {
        let mut pending = VecDeque::new();
        let mut skipped_files = Vec::new();
        for input in inputs {
            if input.is_dir() {
                let mut files = Vec::new();
                collect_text_files(input, &mut files, &mut skipped_files)?;
                files.sort();
                pending.extend(files);
            } else if input.as_os_str() == "-" || input.exists() {
                pending.push_back(input.clone());
            } else {
                bail!("input {} does not exist", input.display());
            }
        }
        skipped_files.sort();
        let stdin = if pending.iter().any(|p| p.as_os_str() == "-") {
            let mut reader = BufReader::new(std::io::stdin());
            // The first byte that is not white space: JSONL starts with `{`.
            loop {
                let buf = reader.fill_buf().context("reading stdin")?;
                if buf.is_empty() {
                    break;
                }
                match buf.iter().position(|b| !b.is_ascii_whitespace()) {
                    Some(i) if buf[i] == b'{' => break,
                    Some(_) => return Err(plain_text_on_stdin()),
                    None => {
                        let n = buf.len();
                        reader.consume(n);
                    }
                }
            }
            Some(Box::new(reader) as Box<dyn BufRead + Send>)
        } else {
            None
        };
        Ok(Self {
            pending,
            current: None,
            stdin,
            skipped_files,
        })
    }

    /// Counts documents without keeping them (for progress): one per text
    /// file, one per non-blank JSONL line; `None` when stdin is an input.
    pub fn count(inputs: &[PathBuf]) -> Result<Option<u64>> {
        if inputs.iter().any(|p| p.as_os_str() == "-") {
            return Ok(None);
        }
        let mut n = 0u64;
        for path in Self::new(inputs)?.pending {
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

fn has_extension(path: &Path, names: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| names.iter().any(|n| e.eq_ignore_ascii_case(n)))
}

fn is_jsonl(path: &Path) -> bool {
    path.as_os_str() == "-" || has_extension(path, &["jsonl", "ndjson"])
}

fn collect_text_files(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    skipped: &mut Vec<PathBuf>,
) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_text_files(&path, out, skipped)?;
        } else if has_extension(&path, &["txt", "md"]) {
            out.push(path);
        } else {
            skipped.push(path);
        }
    }
    Ok(())
}

/// A JSONL line as `fgf tag` reads it: an object with a string `text` and
/// an optional `id` (a string, or a number taken in its JSON form). Errors
/// say what is wrong in JSON terms.
fn parse_jsonl_line(
    line: &[u8],
    line_no: usize,
) -> std::result::Result<(Option<String>, String), String> {
    if std::str::from_utf8(line).is_err() {
        return Err(format!("line {line_no}: not UTF-8 text"));
    }
    let value: Value = serde_json::from_slice(line).map_err(|e| {
        let what = if e.is_eof() {
            "a JSON object cut short"
        } else if e.is_syntax() {
            "not JSON"
        } else {
            "not valid JSON text"
        };
        format!(
            "line {line_no}: {what} (column {}); each line must be {{\"id\": ..., \"text\": ...}}",
            e.column()
        )
    })?;
    let Value::Object(mut map) = value else {
        return Err(format!(
            "line {line_no}: not a JSON object; each line must be {{\"id\": ..., \"text\": ...}}"
        ));
    };
    let text = match map.remove("text") {
        Some(Value::String(t)) => t,
        None => return Err(format!("line {line_no}: no \"text\" field")),
        Some(_) => return Err(format!("line {line_no}: \"text\" must be a string")),
    };
    let id = match map.remove("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => {
            return Err(format!(
                "line {line_no}: \"id\" must be a string or a number"
            ));
        }
    };
    Ok((id, text))
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
                        return Some(match parse_jsonl_line(&line, *line_no) {
                            Ok((id, text)) => Ok(Doc {
                                id: id.unwrap_or(where_),
                                text,
                            }),
                            Err(message) => Err(BadInput {
                                id: where_,
                                message,
                            }),
                        });
                    }
                    Err(e) => {
                        let id = format!("{name}:{}", *line_no + 1);
                        self.current = None;
                        let message = if e.kind() == std::io::ErrorKind::InvalidData {
                            "not UTF-8 text".to_string()
                        } else {
                            format!("read error: {e}")
                        };
                        return Some(Err(BadInput { id, message }));
                    }
                }
            }
            let path = self.pending.pop_front()?;
            let name = path.display().to_string();
            if is_jsonl(&path) {
                let reader: Box<dyn BufRead + Send> = if path.as_os_str() == "-" {
                    match self.stdin.take() {
                        Some(r) => r,
                        None => continue, // `-` twice: stdin is read once
                    }
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

/// What the watcher knows about one server.
#[derive(Debug, Clone)]
pub struct ServerHealth {
    pub url: String,
    /// Why the last probe failed; `None` while it answers.
    pub down: Option<String>,
    /// How often it went down during the run, and the last cause.
    pub went_down: u32,
    pub last_cause: Option<String>,
}

/// Counters shown while running and at the end.
#[derive(Debug)]
pub struct Progress {
    pub read: AtomicU64,
    pub tagged: AtomicU64,
    pub failed: AtomicU64,
    pub retried: AtomicU64,
    pub skipped: AtomicU64,
    /// Input documents whose id appeared earlier in the input.
    pub repeated: AtomicU64,
    pub bytes: AtomicU64,
    pub total: Option<u64>,
    /// Per server, from the watcher (remote runs only).
    pub servers: std::sync::Mutex<Vec<ServerHealth>>,
    /// When any server last answered (a probe or a stream), in ms after
    /// `epoch`.
    last_answer_ms: AtomicU64,
    epoch: Instant,
}

impl Default for Progress {
    fn default() -> Self {
        Self {
            read: AtomicU64::new(0),
            tagged: AtomicU64::new(0),
            failed: AtomicU64::new(0),
            retried: AtomicU64::new(0),
            skipped: AtomicU64::new(0),
            repeated: AtomicU64::new(0),
            bytes: AtomicU64::new(0),
            total: None,
            servers: std::sync::Mutex::new(Vec::new()),
            last_answer_ms: AtomicU64::new(0),
            epoch: Instant::now(),
        }
    }
}

impl Progress {
    /// Counters at zero for `total` documents (when known).
    pub fn with_total(total: Option<u64>) -> Self {
        Self {
            total,
            ..Self::default()
        }
    }

    /// Notes that a server answered.
    fn answered(&self) {
        let ms = self.epoch.elapsed().as_millis() as u64;
        self.last_answer_ms.fetch_max(ms, Ordering::Relaxed);
    }

    /// How long since any server answered.
    fn silent_for(&self) -> Duration {
        let last = Duration::from_millis(self.last_answer_ms.load(Ordering::Relaxed));
        self.epoch.elapsed().saturating_sub(last)
    }

    /// `URL (cause), ...` for the servers that are down now.
    fn down_now(&self) -> Vec<String> {
        self.servers
            .lock()
            .expect("server state")
            .iter()
            .filter_map(|s| s.down.as_ref().map(|c| format!("{} ({c})", s.url)))
            .collect()
    }

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
            let eta = if done > 0 && rate > 0.0 {
                format!("{}s", (left as f64 / rate).round())
            } else if left == 0 {
                "0s".to_string()
            } else {
                "?".to_string()
            };
            s = format!("{}/{total} ", done + self.skipped.load(Ordering::Relaxed)) + &s;
            s.push_str(&format!(", ETA {eta}"));
        }
        let down = self.down_now();
        if !down.is_empty() {
            s.push_str(&format!("; DOWN: {}", down.join(", ")));
        }
        s
    }

    /// The final line: `tagged N, failed M, retried R, ...`.
    pub fn summary(&self, started: Instant) -> String {
        let secs = started.elapsed().as_secs_f64();
        let tagged = self.tagged.load(Ordering::Relaxed);
        let mut s = format!(
            "tagged {tagged}, failed {}, retried {}, skipped {} already in the output",
            self.failed.load(Ordering::Relaxed),
            self.retried.load(Ordering::Relaxed),
            self.skipped.load(Ordering::Relaxed),
        );
        let repeated = self.repeated.load(Ordering::Relaxed);
        if repeated > 0 {
            s.push_str(&format!(
                ", {repeated} with an id seen before (each tagged and written)"
            ));
        }
        s.push_str(&format!(
            "; {:.1} MB in {secs:.1} s ({:.0} docs/s)",
            self.bytes.load(Ordering::Relaxed) as f64 / 1e6,
            tagged as f64 / secs.max(1e-3)
        ));
        s
    }

    /// The servers that went down during the run, with their last cause:
    /// one line, or `None` when every server answered throughout.
    pub fn server_report(&self) -> Option<String> {
        let servers = self.servers.lock().expect("server state");
        let down: Vec<String> = servers
            .iter()
            .filter(|s| s.went_down > 0)
            .map(|s| {
                let now = if s.down.is_some() {
                    "still down"
                } else {
                    "came back"
                };
                format!(
                    "{} ({}; down {}x, {now})",
                    s.url,
                    s.last_cause.as_deref().unwrap_or("?"),
                    s.went_down
                )
            })
            .collect();
        (!down.is_empty()).then(|| format!("servers down during the run: {}", down.join(", ")))
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
    errors_path: PathBuf,
    /// Created on the first failure, so a clean run leaves no error file.
    errors: Option<File>,
    summary: Option<csv_writer::CsvWriter>,
    next: u64,
    waiting: BTreeMap<u64, Outcome>,
    progress: Arc<Progress>,
}

/// The `--summary` CSV. Rows are computed from the JSON line written to
/// the output, so a resumed run rebuilds the rows of the kept lines with
/// the same function and gets the same bytes.
pub mod csv_writer {
    use std::fs::File;
    use std::io::{BufWriter, Write};

    use serde_json::Value;

    /// The header; README's "Batch tagging" documents every column.
    pub const HEADER: &str = "id,chars,body_chars,fang,guan,fu,top_themes";

    /// `--summary`: one row per tagged document.
    pub struct CsvWriter(pub BufWriter<File>);

    fn field(s: &str) -> String {
        if s.contains([',', '"', '\n', '\r']) {
            format!("\"{}\"", s.replace('"', "\"\""))
        } else {
            s.to_string()
        }
    }

    fn uint(v: &Value, key: &str) -> u64 {
        v.get(key).and_then(Value::as_u64).unwrap_or(0)
    }

    fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
        v.get(key)
            .and_then(Value::as_array)
            .map_or(&[], Vec::as_slice)
    }

    /// The CSV row (with its newline) of one output line (a TagResponse in
    /// proto JSON).
    pub fn row(line: &Value) -> String {
        let summary = line.get("summary").unwrap_or(&Value::Null);
        let share = |code: &str| {
            list(summary, "pillars")
                .iter()
                .find(|p| p.get("code").and_then(Value::as_str) == Some(code))
                .and_then(|p| p.get("share").and_then(Value::as_f64))
                .unwrap_or(0.0)
        };
        let chars: u64 = list(line, "spans")
            .iter()
            .map(|s| uint(s, "charEnd").saturating_sub(uint(s, "charStart")))
            .sum();
        let top: Vec<&str> = list(summary, "themes")
            .iter()
            .take(3)
            .filter_map(|t| t.get("code").and_then(Value::as_str))
            .collect();
        format!(
            "{},{chars},{},{:.3},{:.3},{:.3},{}\n",
            field(line.get("id").and_then(Value::as_str).unwrap_or("")),
            uint(summary, "bodyChars"),
            share("fang"),
            share("guan"),
            share("fu"),
            field(&top.join(";"))
        )
    }

    impl CsvWriter {
        pub fn header(&mut self) -> std::io::Result<()> {
            writeln!(self.0, "{HEADER}")
        }

        pub fn row(&mut self, line: &Value) -> std::io::Result<()> {
            self.0.write_all(row(line).as_bytes())
        }
    }
}

/// Where a batch writes.
#[derive(Debug, Clone)]
pub struct OutputPaths {
    /// JSONL output; `None` for stdout.
    pub out: Option<PathBuf>,
    /// Rejected documents, one JSON object per line; created on the first
    /// one.
    pub errors: PathBuf,
    /// Optional per-document CSV.
    pub summary: Option<PathBuf>,
    /// Skip documents already in `out` and append.
    pub resume: bool,
}

/// How often each id occurs in the documents already written.
pub type Written = HashMap<String, usize>;

/// Reads an output file to resume it: cuts a torn last line (or anything
/// after the first line that is not a whole JSON object), counts the ids
/// of the kept lines and gives each kept line to `csv`.
fn resume_scan(path: &Path, mut csv: Option<&mut csv_writer::CsvWriter>) -> Result<Written> {
    let mut ids = Written::new();
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
        if !line.ends_with(b"\n") {
            break;
        }
        if line.iter().all(u8::is_ascii_whitespace) {
            good_len += n as u64;
            continue;
        }
        let Ok(value @ Value::Object(_)) = serde_json::from_slice::<Value>(&line) else {
            break;
        };
        // An empty id is left out of proto JSON.
        let id = value.get("id").and_then(Value::as_str).unwrap_or("");
        *ids.entry(id.to_string()).or_default() += 1;
        if let Some(csv) = csv.as_deref_mut() {
            csv.row(&value)?;
        }
        good_len += n as u64;
    }
    drop(reader);
    let len = file.metadata()?.len();
    if good_len < len {
        eprintln!(
            "fgf tag: resume: cut {} bytes after the last whole line of {}",
            len - good_len,
            path.display()
        );
        file.set_len(good_len)?;
    }
    file.seek(SeekFrom::End(0))?;
    Ok(ids)
}

impl OrderedWriter {
    /// Opens the outputs; with `resume`, returns how often each id is in
    /// the output already (and rebuilds the CSV from those lines).
    pub fn open(paths: &OutputPaths, progress: Arc<Progress>) -> Result<(Self, Written)> {
        let mut summary = match &paths.summary {
            None => None,
            Some(p) => {
                let mut w = csv_writer::CsvWriter(std::io::BufWriter::new(
                    File::create(p).with_context(|| format!("opening {}", p.display()))?,
                ));
                w.header()?;
                Some(w)
            }
        };
        let mut skip = Written::new();
        let (out, out_file): (Box<dyn Write + Send>, Option<File>) = match &paths.out {
            None => (Box::new(std::io::stdout()), None),
            Some(p) => {
                let file = if paths.resume {
                    skip = resume_scan(p, summary.as_mut())
                        .with_context(|| format!("reading {} to resume", p.display()))?;
                    OpenOptions::new().create(true).append(true).open(p)
                } else {
                    File::create(p)
                }
                .with_context(|| format!("opening {}", p.display()))?;
                (Box::new(file.try_clone()?), Some(file))
            }
        };
        // The error file of an earlier run describes documents that are not
        // in the output: they are tried again, and the file will list this
        // run's failures only.
        if let Ok(old) = std::fs::read(&paths.errors) {
            let n = old.iter().filter(|&&b| b == b'\n').count();
            if paths.resume && n > 0 {
                eprintln!(
                    "fgf tag: resume: the {n} documents in the earlier error file {} are not in \
                     the output and are tried again; the file is rewritten with this run's failures",
                    paths.errors.display()
                );
            }
            std::fs::remove_file(&paths.errors)
                .with_context(|| format!("removing {}", paths.errors.display()))?;
        }
        Ok((
            Self {
                out,
                out_file,
                errors_path: paths.errors.clone(),
                errors: None,
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
                let value = protojson::tag_response(&resp);
                let mut line = value.to_string();
                line.push('\n');
                self.out.write_all(line.as_bytes())?;
                if let Some(s) = &mut self.summary {
                    s.row(&value)?;
                }
                self.progress.tagged.fetch_add(1, Ordering::Relaxed);
            }
            Outcome::Failed { id, code, message } => {
                let mut line = serde_json::json!({
                    "id": id,
                    "code": fgf_grpc::status::code_name(code),
                    "message": message,
                })
                .to_string();
                line.push('\n');
                if self.errors.is_none() {
                    self.errors = Some(
                        File::create(&self.errors_path)
                            .with_context(|| format!("opening {}", self.errors_path.display()))?,
                    );
                }
                if let Some(errors) = &mut self.errors {
                    errors.write_all(line.as_bytes())?;
                }
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
        if let Some(errors) = &self.errors {
            errors.sync_all()?;
        }
        if let Some(mut s) = self.summary {
            s.0.flush()?;
            s.0.get_ref().sync_all()?;
        }
        Ok(())
    }
}

/// Decides, per input document, whether it is sent: a document whose id
/// is still counted in the output (resume) is skipped, one count used up;
/// an id seen before in the input is tagged again and warned about.
struct Admission {
    skip: Written,
    seen: HashSet<String>,
    progress: Arc<Progress>,
}

/// Repeated ids named on stderr before only counting them.
const REPEATS_SHOWN: u64 = 5;

impl Admission {
    fn new(skip: Written, progress: Arc<Progress>) -> Self {
        Self {
            skip,
            seen: HashSet::new(),
            progress,
        }
    }

    /// True when `doc` is to be tagged.
    fn admit(&mut self, doc: &Doc) -> bool {
        if !self.seen.insert(doc.id.clone()) {
            let n = self.progress.repeated.fetch_add(1, Ordering::Relaxed) + 1;
            if n <= REPEATS_SHOWN {
                eprintln!(
                    "fgf tag: warning: id {:?} appears again in the input; every copy is tagged \
                     and has its own output line{}",
                    doc.id,
                    if n == REPEATS_SHOWN {
                        " (further repeats are only counted in the summary)"
                    } else {
                        ""
                    }
                );
            }
        }
        if let Some(k) = self.skip.get_mut(&doc.id)
            && *k > 0
        {
            *k -= 1;
            self.progress.skipped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        true
    }
}

/// A document in flight: its place in the input, how often it was
/// answered with a retryable status, and how often a stream broke while it
/// was the oldest unanswered document on it.
struct Job {
    seq: u64,
    doc: Doc,
    attempts: u32,
    breaks: u32,
    _permit: tokio::sync::OwnedSemaphorePermit,
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

/// Connect timeout of the pre-flight and of every probe.
const PROBE_CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
/// Time a probe (connect and GetModelInfo) may take in all.
const PROBE_TIMEOUT: Duration = Duration::from_secs(5);

/// `url` as a server URL: `http://` is assumed when there is no scheme
/// (the note says so); other schemes than http and https are refused, and
/// so is `https://` without a CA to verify the server with.
pub fn server_url(
    url: &str,
    tls: &ClientTls,
) -> std::result::Result<(String, Option<String>), String> {
    let (url, note) = match url.split_once("://") {
        Some((scheme, _)) if scheme == "http" || scheme == "https" => (url.to_string(), None),
        Some((scheme, _)) => {
            return Err(format!(
                "--server {url}: unknown scheme {scheme:?}: use http://HOST:PORT (or https://HOST:PORT with --tls-ca)"
            ));
        }
        None => (
            format!("http://{url}"),
            Some(format!(
                "--server {url} has no scheme: using http://{url} (write https://{url} and --tls-ca for TLS)"
            )),
        ),
    };
    if url.starts_with("https://") && tls.ca.is_none() {
        return Err(format!(
            "--server {url}: https:// needs --tls-ca CA.pem (the CA that signed the server's \
             certificate); for a plaintext server use http://"
        ));
    }
    fgf_grpc::client::endpoint_with(&url, tls).map_err(|e| format!("--server {url}: {e:#}"))?;
    Ok((url, note))
}

/// An error with its sources, `a: b: c`.
fn chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut s = e.to_string();
    let mut source = e.source();
    while let Some(inner) = source {
        let text = inner.to_string();
        if !s.contains(&text) {
            s.push_str(": ");
            s.push_str(&text);
        }
        source = inner.source();
    }
    s
}

/// A cause a person can act on, from what a probe of `url` saw.
fn explain(url: &str, detail: &str, code: Option<Code>, token: bool) -> String {
    let lower = detail.to_ascii_lowercase();
    let https = url.starts_with("https://");
    let hint = match code {
        Some(Code::Unauthenticated) if token => {
            "UNAUTHENTICATED: the server refused the token: check --auth-token-file (or FGF_AUTH_TOKEN)"
        }
        Some(Code::Unauthenticated) => {
            "UNAUTHENTICATED: the server needs a token: give --auth-token-file FILE (or set FGF_AUTH_TOKEN)"
        }
        Some(Code::PermissionDenied) => "PERMISSION_DENIED: the token is not allowed here",
        Some(Code::Unimplemented) => {
            "UNIMPLEMENTED: not an fgf server (it has no fgf.v1.Tagger service); check the port"
        }
        _ if lower.contains("connection refused") => {
            "connection refused: nothing listens there (is the server running? is the port right?)"
        }
        _ if lower.contains("dns") || lower.contains("lookup") || lower.contains("resolve") => {
            "cannot resolve the host name"
        }
        _ if lower.contains("timed out")
            || lower.contains("elapsed")
            || lower.contains("deadline") =>
        {
            "no answer in time (host down, a firewall, or not a gRPC server?)"
        }
        _ if https
            && (lower.contains("certificate required")
                || lower.contains("certificaterequired")) =>
        {
            "the server wants a client certificate (mutual TLS): give --tls-cert and --tls-key"
        }
        // The TLS handshake went through, then the server hung up: with
        // TLS 1.3 that is how a server refuses a missing client certificate.
        Some(Code::Cancelled | Code::Unavailable | Code::Unknown)
            if https
                && (lower.contains("connection closed")
                    || lower.contains("broken pipe")
                    || lower.contains("reset")) =>
        {
            "the server closed the connection after the TLS handshake: it probably wants a client certificate (mutual TLS): give --tls-cert and --tls-key"
        }
        _ if https && (lower.contains("certificate") || lower.contains("unknownissuer")) => {
            "the server's certificate does not verify against --tls-ca (wrong CA, or a host name not in the certificate?)"
        }
        _ if https => "TLS handshake failed: is it a plaintext server (then use http://)?",
        _ => {
            "no gRPC answer: http:// to a TLS server (then use https:// with --tls-ca), or not an fgf server?"
        }
    };
    format!("{hint} [{detail}]")
}

/// Probes one server: a new connection (connect timeout of a few seconds)
/// and one GetModelInfo call with the token. `Err` is the cause, for a
/// person.
async fn probe(
    url: &str,
    tls: &ClientTls,
    token: Option<&str>,
) -> std::result::Result<pb::ModelInfo, String> {
    let endpoint = fgf_grpc::client::endpoint_with(url, tls)
        .map_err(|e| format!("{e:#}"))?
        .connect_timeout(PROBE_CONNECT_TIMEOUT);
    let call = async {
        let channel = endpoint
            .connect()
            .await
            .map_err(|e| explain(url, &chain(&e), None, token.is_some()))?;
        let request = fgf_grpc::auth::request_with(pb::GetModelInfoRequest {}, token);
        fgf_grpc::client::tagger_client(channel)
            .get_model_info(request)
            .await
            .map(tonic::Response::into_inner)
            .map_err(|s| {
                let mut detail = format!("{:?}: {}", s.code(), s.message());
                if let Some(source) = std::error::Error::source(&s) {
                    detail.push_str(": ");
                    detail.push_str(&chain(source));
                }
                explain(url, &detail, Some(s.code()), token.is_some())
            })
    };
    match tokio::time::timeout(PROBE_TIMEOUT, call).await {
        Ok(result) => result,
        Err(_) => Err(explain(
            url,
            &format!("no answer within {} s", PROBE_TIMEOUT.as_secs()),
            None,
            token.is_some(),
        )),
    }
}

/// What the pre-flight found about one server.
#[derive(Debug, Clone)]
pub struct ServerInfo {
    /// The URL as used (with the scheme).
    pub url: String,
    pub model_version: String,
    pub max_doc_bytes: u64,
}

/// Checks every server before any input is read: the URL, a connection
/// and a GetModelInfo call with the token, all servers at once. Notes (a
/// scheme assumed) go to stderr; any failure is [`Stopped::Unreachable`]
/// naming every server that failed, its cause and a hint.
pub async fn preflight(servers: &[String], options: &BatchOptions) -> Result<Vec<ServerInfo>> {
    if servers.is_empty() {
        bail!("no --server given (or use --local)");
    }
    let mut failures = Vec::new();
    let mut urls = Vec::new();
    for s in servers {
        match server_url(s, &options.tls) {
            Ok((url, note)) => {
                if let Some(note) = note {
                    eprintln!("fgf tag: {note}");
                }
                urls.push(url);
            }
            Err(e) => failures.push(e),
        }
    }
    if !failures.is_empty() {
        return Err(Stopped::Unreachable(failures.join("\n")).into());
    }
    let probes: Vec<_> = urls
        .iter()
        .map(|url| {
            let url = url.clone();
            let tls = options.tls.clone();
            let token = options.auth_token.clone();
            tokio::spawn(async move { probe(&url, &tls, token.as_deref()).await })
        })
        .collect();
    let mut infos = Vec::new();
    for (url, probe) in urls.iter().zip(probes) {
        match probe.await {
            Ok(Ok(info)) => infos.push(ServerInfo {
                url: url.clone(),
                model_version: info.version,
                max_doc_bytes: u64::from(info.max_doc_bytes),
            }),
            Ok(Err(cause)) => failures.push(format!("cannot use server {url}: {cause}")),
            Err(e) => failures.push(format!("cannot use server {url}: {e}")),
        }
    }
    if !failures.is_empty() {
        return Err(Stopped::Unreachable(failures.join("\n")).into());
    }
    Ok(infos)
}

/// Probes `url` every `every` until aborted, keeping its state in
/// `progress.servers[index]`.
async fn watch_server(
    index: usize,
    url: String,
    options: Arc<BatchOptions>,
    progress: Arc<Progress>,
) {
    loop {
        tokio::time::sleep(options.probe_every).await;
        let result = probe(&url, &options.tls, options.auth_token.as_deref()).await;
        if result.is_ok() {
            progress.answered();
        }
        let mut servers = progress.servers.lock().expect("server state");
        let Some(state) = servers.get_mut(index) else {
            return;
        };
        match result {
            Ok(_) => {
                if state.down.take().is_some() {
                    eprintln!("fgf tag: server {url} answers again");
                }
            }
            Err(cause) => {
                if state.down.is_none() {
                    state.went_down += 1;
                    eprintln!("fgf tag: server {url} does not answer: {cause}");
                }
                state.last_cause = Some(cause.clone());
                state.down = Some(cause);
            }
        }
    }
}

/// A channel balancing over every server (tower p2c through tonic).
pub fn balanced_channel(servers: &[String], tls: &ClientTls) -> Result<Channel> {
    let endpoints = servers
        .iter()
        .map(|url| {
            Ok(fgf_grpc::client::endpoint_with(url, tls)?
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
/// unanswered jobs back (not charged to them) and reconnects after a
/// backoff of its own. Runs until aborted.
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

/// The message of [`Stopped::GaveUp`].
fn give_up_message(progress: &Progress, after: Duration) -> String {
    let servers = progress.servers.lock().expect("server state");
    let causes: Vec<String> = servers
        .iter()
        .map(|s| {
            format!(
                "{} ({})",
                s.url,
                s.down
                    .as_deref()
                    .or(s.last_cause.as_deref())
                    .unwrap_or("answered no probe")
            )
        })
        .collect();
    format!(
        "no server answered for {} s (--give-up-after): {}",
        after.as_secs(),
        causes.join(", ")
    )
}

/// Tags `inputs` through `servers` (URLs checked by [`preflight`]);
/// returns when every document is written, or with [`Stopped`] when
/// `interrupted` is set or no server answered for `give_up_after`.
pub async fn run_remote(
    inputs: Inputs,
    servers: &[String],
    options: BatchOptions,
    mut writer: OrderedWriter,
    skip: Written,
    progress: Arc<Progress>,
    interrupted: Arc<AtomicBool>,
) -> Result<()> {
    if servers.is_empty() {
        bail!("no --server given (or use --local)");
    }
    let channel = balanced_channel(servers, &options.tls)?;
    let options = Arc::new(options);
    *progress.servers.lock().expect("server state") = servers
        .iter()
        .map(|url| ServerHealth {
            url: url.clone(),
            down: None,
            went_down: 0,
            last_cause: None,
        })
        .collect();
    progress.answered(); // the pre-flight
    let watchers: Vec<_> = servers
        .iter()
        .enumerate()
        .map(|(i, url)| {
            tokio::spawn(watch_server(
                i,
                url.clone(),
                options.clone(),
                progress.clone(),
            ))
        })
        .collect();
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
        let max_doc_bytes = options.max_doc_bytes;
        tokio::spawn(async move {
            let mut admission = Admission::new(skip, progress.clone());
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
                let failed = match item {
                    Ok(doc) if !admission.admit(&doc) => continue,
                    Ok(doc) => match max_doc_bytes {
                        Some(limit) if doc.text.len() as u64 > limit => Outcome::Failed {
                            message: format!(
                                "the document is {} bytes; the server's limit is {limit} bytes \
                                 (max_doc_bytes): split the document (not sent)",
                                doc.text.len()
                            ),
                            id: doc.id,
                            code: Code::InvalidArgument,
                        },
                        _ => {
                            let permit = window.clone().acquire_owned().await.expect("window open");
                            progress
                                .bytes
                                .fetch_add(doc.text.len() as u64, Ordering::Relaxed);
                            let _ = job_tx.send(Job {
                                seq,
                                doc,
                                attempts: 0,
                                breaks: 0,
                                _permit: permit,
                            });
                            seq += 1;
                            continue;
                        }
                    },
                    Err(bad) => Outcome::Failed {
                        id: bad.id,
                        code: Code::InvalidArgument,
                        message: bad.message,
                    },
                };
                let _ = result_tx.send((seq, failed, None));
                seq += 1;
            }
            let _ = read.await;
            let _ = total_tx.send(seq);
        })
    };
    drop(job_tx);
    drop(result_tx);

    let mut total: Option<u64> = None;
    let mut written = 0u64;
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    let mut stopped = None;
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
            _ = tick.tick() => {
                if interrupted.load(Ordering::Relaxed) {
                    stopped = Some(Stopped::Interrupted);
                    break;
                }
                if progress.silent_for() >= options.give_up_after {
                    stopped = Some(Stopped::GaveUp(give_up_message(&progress, options.give_up_after)));
                    break;
                }
            }
        }
    }
    reader.abort();
    for w in workers.into_iter().chain(watchers) {
        w.abort();
    }
    writer.finish()?;
    match stopped {
        Some(s) => Err(s.into()),
        None => Ok(()),
    }
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
    skip: Written,
    progress: Arc<Progress>,
    interrupted: Arc<AtomicBool>,
) -> Result<()> {
    let tag_options = tag_options(&options.request);
    let omit_text = options.request.omit_text;
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
                            Outcome::Tagged(fgf_grpc::service::to_response_with(
                                &tagger, doc.id, &doc.text, &tagged, omit_text,
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
        let reader_interrupted = interrupted.clone();
        scope.spawn(move || {
            let mut admission = Admission::new(skip, reader_progress.clone());
            let mut seq = 0u64;
            for item in inputs {
                if reader_interrupted.load(Ordering::Relaxed) {
                    break;
                }
                reader_progress.read.fetch_add(1, Ordering::Relaxed);
                if let Ok(doc) = &item {
                    if !admission.admit(doc) {
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
    writer.finish()?;
    if interrupted.load(Ordering::Relaxed) {
        return Err(Stopped::Interrupted.into());
    }
    Ok(())
}

/// The in-process equivalent of a TagRequest's options.
fn tag_options(req: &pb::TagRequest) -> TagOptions {
    TagOptions {
        sentences: req.granularity == pb::Granularity::Sentence as i32,
        threshold: (req.threshold > 0.0).then_some(req.threshold),
        line_mode: if req.line_mode == pb::LineMode::Lines as i32 {
            fgf_core::spans::LineMode::Lines
        } else {
            fgf_core::spans::LineMode::Reflow
        },
        evidence: req.include_evidence,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eta_is_unknown_until_a_document_is_done() {
        let progress = Progress::with_total(Some(10));
        let line = progress.line(Instant::now());
        assert!(line.ends_with("ETA ?"), "{line}");
        progress.tagged.store(5, Ordering::Relaxed);
        let line = progress.line(Instant::now() - Duration::from_secs(1));
        assert!(line.contains("ETA 1s") || line.contains("ETA 2s"), "{line}");
    }

    #[test]
    fn down_servers_are_named_in_the_progress_line() {
        let progress = Progress::with_total(None);
        progress.servers.lock().unwrap().push(ServerHealth {
            url: "http://10.0.0.5:50051".into(),
            down: Some("connection refused".into()),
            went_down: 1,
            last_cause: Some("connection refused".into()),
        });
        let line = progress.line(Instant::now());
        assert!(
            line.contains("DOWN: http://10.0.0.5:50051 (connection refused)"),
            "{line}"
        );
    }

    #[test]
    fn server_urls() {
        let tls = ClientTls::default();
        let (url, note) = server_url("127.0.0.1:50051", &tls).unwrap();
        assert_eq!(url, "http://127.0.0.1:50051");
        assert!(note.unwrap().contains("no scheme"));
        assert!(
            server_url("https://h:1", &tls)
                .unwrap_err()
                .contains("--tls-ca")
        );
        assert!(
            server_url("grpc://h:1", &tls)
                .unwrap_err()
                .contains("unknown scheme")
        );
    }
}
