//! Where log lines go and what they look like (`fgf --log-format`).
//!
//! Logs go to stderr, as text or as one JSON object per line for log
//! collectors. Text is coloured only when stderr is a terminal and
//! `NO_COLOR` is not set, so a log file or a pod's log holds no escape codes.
//!
//! What is logged is `RUST_LOG` (default `info`), with two rules on top so
//! that `RUST_LOG=debug` shows this program's debug lines and not HTTP/2
//! frame dumps:
//! * the transport libraries (h2, hyper, tower, tonic's transport, rustls)
//!   stay at `warn` unless `RUST_LOG` names them;
//! * the access log (target [`ACCESS_TARGET`], one line per call) is on
//!   only with `fgf serve --access-log`, or when `RUST_LOG` names it.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

/// Format of the log lines on stderr.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines (coloured on a terminal only).
    #[default]
    Text,
    /// One JSON object per line: timestamp, level, target, fields.
    Json,
}

/// The tracing target of the per-call access log lines.
pub const ACCESS_TARGET: &str = "fgf::access";

/// Libraries whose debug output is transport noise.
const QUIET_LIBRARIES: [&str; 7] = [
    "h2",
    "hyper",
    "hyper_util",
    "tower",
    "tonic::transport",
    "rustls",
    "tokio_rustls",
];

/// The filter directives for a `RUST_LOG` value (`None`: unset).
pub fn filter_directives(rust_log: Option<&str>, access_log: bool) -> String {
    let base = rust_log.map(str::trim).filter(|s| !s.is_empty());
    let mut directives = base.unwrap_or("info").to_string();
    let names = |target: &str| {
        base.is_some_and(|b| {
            b.split(',')
                .any(|d| d.trim().split('=').next() == Some(target))
        })
    };
    for lib in QUIET_LIBRARIES {
        if !names(lib) {
            directives.push_str(&format!(",{lib}=warn"));
        }
    }
    if !names(ACCESS_TARGET) {
        let level = if access_log { "info" } else { "off" };
        directives.push_str(&format!(",{ACCESS_TARGET}={level}"));
    }
    directives
}

/// Whether access lines are logged: worth checking before computing their
/// fields.
pub fn access_enabled() -> bool {
    tracing::enabled!(target: ACCESS_TARGET, tracing::Level::INFO)
}

/// Logs one access line: a call, or one document of a TagStream. `id` is
/// the caller's document id (empty for calls without one), bytes are the
/// document's UTF-8 bytes in and the encoded response out.
pub fn access(
    rpc: &str,
    peer: Option<std::net::SocketAddr>,
    id: &str,
    status: tonic::Code,
    bytes_in: usize,
    bytes_out: usize,
    started: std::time::Instant,
) {
    let peer = peer.map_or_else(|| "-".to_string(), |p| p.to_string());
    tracing::info!(
        target: ACCESS_TARGET,
        rpc,
        peer = %peer,
        id,
        status = crate::status::code_name(status),
        bytes_in,
        bytes_out,
        micros = started.elapsed().as_micros() as u64,
        "call"
    );
}

/// Whether text logs should be coloured: stderr is a terminal and the user
/// did not ask for no colour (<https://no-color.org>).
fn colour() -> bool {
    std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty())
}

/// Installs the global subscriber. Call once, before logging.
pub fn init(format: LogFormat, access_log: bool) {
    let rust_log = std::env::var("RUST_LOG").ok();
    let directives = filter_directives(rust_log.as_deref(), access_log);
    let filter = EnvFilter::try_new(&directives).unwrap_or_else(|e| {
        eprintln!("fgf: warning: RUST_LOG={rust_log:?} is not a valid filter ({e}); using info");
        EnvFilter::new(filter_directives(None, access_log))
    });
    let builder = tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(filter);
    match format {
        LogFormat::Text => builder.with_ansi(colour()).init(),
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .init(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn transport_libraries_stay_at_warn_unless_named() {
        let d = filter_directives(Some("debug"), false);
        assert!(d.starts_with("debug,"), "{d}");
        assert!(d.contains(",h2=warn") && d.contains(",hyper=warn"), "{d}");
        let d = filter_directives(Some("debug,h2=trace"), false);
        assert!(!d.contains("h2=warn"), "{d}");
        assert!(d.contains("hyper=warn"), "{d}");
    }

    #[test]
    fn access_log_is_off_unless_asked_for() {
        assert!(filter_directives(None, false).contains("fgf::access=off"));
        assert!(filter_directives(None, true).contains("fgf::access=info"));
        let d = filter_directives(Some("warn,fgf::access=info"), false);
        assert!(!d.contains("fgf::access=off"), "{d}");
    }

    #[test]
    fn unset_or_blank_rust_log_means_info() {
        assert!(filter_directives(None, false).starts_with("info,"));
        assert!(filter_directives(Some("  "), false).starts_with("info,"));
    }
}
