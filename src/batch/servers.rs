//! The servers of a remote run: `--server` URLs ([`server_url`]), probes
//! (a new connection and one GetModelInfo call with the token, a failure
//! explained with a cause and a hint), the pre-flight of every server
//! before any input is read ([`preflight`]), and the watcher that probes
//! every server again during the run.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Result, bail};
use fgf_grpc::client::ClientTls;
use fgf_grpc::pb;
use tonic::Code;

use super::progress::Progress;
use super::{BatchOptions, Stopped};

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
pub(super) async fn watch_server(
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

#[cfg(test)]
mod tests {
    use super::*;

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
