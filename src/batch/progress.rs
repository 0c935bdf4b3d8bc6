//! What a run shows: the counters of [`Progress`] (read, tagged, failed,
//! retried, skipped, repeated, bytes), the health of every server as the
//! watcher sees it ([`ServerHealth`]), when a server last answered (for
//! giving up), the progress line on stderr ([`spawn_progress`]) and the
//! final summary.

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

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
    pub(super) fn answered(&self) {
        let ms = self.epoch.elapsed().as_millis() as u64;
        self.last_answer_ms.fetch_max(ms, Ordering::Relaxed);
    }

    /// How long since any server answered.
    pub(super) fn silent_for(&self) -> Duration {
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
}
