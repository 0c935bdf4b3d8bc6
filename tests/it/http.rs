//! The JSON over HTTP API against the real server, with a plain HTTP/1.1
//! client written here (what curl sends): answers, every error status,
//! auth, limits, and a Tag answer byte-identical to `fgf tag`'s line.

use std::io::{Read, Write};
use std::net::TcpStream;

use crate::common::{REPLY, TestServer};

/// An HTTP answer: status, headers (names lowercased), body.
pub(crate) struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    pub(crate) body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }

    pub(crate) fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or_else(|e| panic!("{e}: {}", self.body))
    }

    /// The error's status name and message, checking the error's shape.
    fn error(&self) -> (String, String) {
        let v = self.json();
        let e = &v["error"];
        assert_eq!(e["code"], self.status, "{}", self.body);
        (
            e["status"].as_str().unwrap().to_string(),
            e["message"].as_str().unwrap().to_string(),
        )
    }
}

/// One request on its own connection.
fn call(server: &TestServer, method: &str, path: &str, headers: &[&str], body: &[u8]) -> Answer {
    let (raw, split) = exchange(server, method, path, "HTTP/1.1", headers, body);
    let head = String::from_utf8(raw[..split].to_vec()).unwrap();
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    Answer {
        status,
        headers,
        body: String::from_utf8(raw[split + 4..].to_vec()).unwrap(),
    }
}

pub(crate) fn post(server: &TestServer, path: &str, body: &serde_json::Value) -> Answer {
    call(
        server,
        "POST",
        path,
        &["Content-Type: application/json"],
        body.to_string().as_bytes(),
    )
}

#[test]
fn tag_answers_what_fgf_tag_writes_byte_for_byte() {
    let server = TestServer::start(&[]);
    let answer = post(
        &server,
        "/v1/tag",
        &serde_json::json!({"id": "reply", "text": REPLY}),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    // The same document through `fgf tag --local`: the same line.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.jsonl");
    let out = dir.path().join("out.jsonl");
    std::fs::write(
        &input,
        serde_json::json!({"id": "reply", "text": REPLY}).to_string(),
    )
    .unwrap();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_fgf"))
        .args([
            "tag",
            input.to_str().unwrap(),
            "--local",
            "--out",
            out.to_str().unwrap(),
        ])
        .env("RUST_LOG", "warn")
        .status()
        .unwrap();
    assert!(status.success());
    let line = std::fs::read_to_string(&out).unwrap();
    assert_eq!(answer.body, line.trim_end());
    let v = answer.json();
    assert!(v["spans"].as_array().unwrap().len() >= 5, "{v}");
    // Names in either spelling, enums by name, bytes as base64.
    let answer = post(
        &server,
        "/v1/tag",
        &serde_json::json!({
            "id": "gbk",
            "content": "zcbQ0Ljm1qqz0MW11sajrMbz0rW/qrDsyKuzzM34sOyhow==",
            "media_type": "text/plain; charset=gbk",
            "granularity": "GRANULARITY_SENTENCE",
            "includeEvidence": true,
        }),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    let v = answer.json();
    assert!(v["text"].as_str().unwrap().starts_with("推行"), "{v}");
}

#[test]
fn segment_model_and_health_answer() {
    let server = TestServer::start(&[]);
    let answer = post(
        &server,
        "/v1/segment",
        &serde_json::json!({"text": "推行告知承诺制"}),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    let tokens = answer.json()["tokens"].as_array().unwrap().clone();
    assert!(
        tokens.iter().any(|t| t["word"] == "告知承诺制"),
        "{tokens:?}"
    );
    let answer = call(&server, "GET", "/v1/model", &[], b"");
    assert_eq!(answer.status, 200, "{}", answer.body);
    let v = answer.json();
    assert!(v["version"].as_str().unwrap().starts_with("fgf-"), "{v}");
    assert!(v["labels"].as_array().unwrap().len() > 20, "{v}");
    let answer = call(&server, "GET", "/healthz", &[], b"");
    assert_eq!(
        (answer.status, answer.body.as_str()),
        (200, r#"{"status":"SERVING"}"#)
    );
}

#[test]
fn every_error_is_json_with_the_http_status_of_its_grpc_code() {
    let server = TestServer::start(&["--max-doc-bytes", "1000"]);
    let bad = |answer: Answer, status: u16, name: &str, says: &str| {
        assert_eq!(answer.status, status, "{}", answer.body);
        let (got, message) = answer.error();
        assert_eq!(got, name, "{message}");
        assert!(message.contains(says), "{says}: {message}");
    };
    let empty = call(&server, "POST", "/v1/tag", &[], b"");
    bad(empty, 400, "INVALID_ARGUMENT", "the body is empty");
    let not_json = call(&server, "POST", "/v1/tag", &[], b"text=abc");
    bad(not_json, 400, "INVALID_ARGUMENT", "not a TagRequest");
    let unknown = post(&server, "/v1/tag", &serde_json::json!({"txt": "审批"}));
    bad(unknown, 400, "INVALID_ARGUMENT", "unknown field `txt`");
    let enum_name = post(
        &server,
        "/v1/tag",
        &serde_json::json!({"text": "审批", "granularity": "WORDS"}),
    );
    bad(enum_name, 400, "INVALID_ARGUMENT", "WORDS");
    let too_big = post(
        &server,
        "/v1/tag",
        &serde_json::json!({"text": "审".repeat(400)}),
    );
    bad(too_big, 400, "INVALID_ARGUMENT", "--max-doc-bytes");
    let scan = post(
        &server,
        "/v1/tag",
        &serde_json::json!({"content": "JVBERi0xLjcK", "media_type": "application/pdf"}),
    );
    bad(scan, 400, "INVALID_ARGUMENT", "PDF");
    let route = call(&server, "GET", "/v2/tag", &[], b"");
    bad(route, 404, "NOT_FOUND", "POST /v1/tag");
    let method = call(&server, "GET", "/v1/tag", &[], b"");
    bad(method, 405, "UNIMPLEMENTED", "POST");
    // A body over the decode ceiling is refused unread.
    let huge = vec![b' '; 40 * 1024 * 1024];
    let over = call(&server, "POST", "/v1/tag", &[], &huge);
    bad(over, 413, "RESOURCE_EXHAUSTED", "bytes");
}

#[test]
fn with_a_token_every_route_but_healthz_needs_it() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "s3cret-token-for-tests\n").unwrap();
    let server = TestServer::start(&["--auth-token-file", token.to_str().unwrap()]);
    let body = serde_json::json!({"text": "推行告知承诺制。"}).to_string();
    for (headers, status) in [
        (vec![], 401),
        (vec!["Authorization: Basic czNjcmV0"], 401),
        (vec!["Authorization: Bearer wrong"], 401),
        (vec!["Authorization: Bearer s3cret-token-for-tests"], 200),
    ] {
        let answer = call(&server, "POST", "/v1/tag", &headers, body.as_bytes());
        assert_eq!(answer.status, status, "{headers:?}: {}", answer.body);
        if status == 401 {
            assert_eq!(answer.header("www-authenticate"), Some("Bearer"));
            let (name, message) = answer.error();
            assert_eq!(name, "UNAUTHENTICATED");
            assert!(message.to_lowercase().contains("bearer"), "{message}");
        }
    }
    assert_eq!(call(&server, "GET", "/v1/model", &[], b"").status, 401);
    assert_eq!(call(&server, "GET", "/healthz", &[], b"").status, 200);
}

#[test]
fn overload_is_429_resource_exhausted() {
    let server = TestServer::start(&["--cpu-jobs", "1", "--max-queue", "1"]);
    let body = serde_json::json!({"text": REPLY.repeat(400)}).to_string();
    let server = std::sync::Arc::new(server);
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let (server, body) = (server.clone(), body.clone());
            std::thread::spawn(move || call(&server, "POST", "/v1/tag", &[], body.as_bytes()))
        })
        .collect();
    let answers: Vec<Answer> = calls.into_iter().map(|c| c.join().unwrap()).collect();
    let shed: Vec<&Answer> = answers.iter().filter(|a| a.status != 200).collect();
    assert!(
        !shed.is_empty() && shed.len() < answers.len(),
        "{}",
        shed.len()
    );
    for answer in shed {
        assert_eq!(answer.status, 429, "{}", answer.body);
        let (name, message) = answer.error();
        assert_eq!(name, "RESOURCE_EXHAUSTED");
        assert!(message.contains("retry"), "{message}");
    }
}

#[test]
fn grpc_web_calls_tag_as_a_browser_client_does() {
    use prost::Message;
    let server = TestServer::start(&[]);
    let request = fgf_grpc::pb::TagRequest {
        id: "web".into(),
        text: "全面推行告知承诺制，企业开办全程网上办理。".into(),
        ..Default::default()
    };
    // A gRPC-Web body: one data frame (flag 0, big-endian length, message).
    let message = request.encode_to_vec();
    let mut body = vec![0u8];
    body.extend_from_slice(&(message.len() as u32).to_be_bytes());
    body.extend_from_slice(&message);
    let (head, raw) = raw_call(&server, "/fgf.v1.Tagger/Tag", &body);
    assert!(head.starts_with("HTTP/1.0 200"), "{head}");
    assert!(
        head.to_ascii_lowercase()
            .contains("content-type: application/grpc-web"),
        "{head}"
    );
    assert_eq!(raw[0], 0, "a data frame first");
    let len = u32::from_be_bytes(raw[1..5].try_into().unwrap()) as usize;
    let response = fgf_grpc::pb::TagResponse::decode(&raw[5..5 + len]).unwrap();
    assert_eq!(response.id, "web");
    assert!(!response.spans.is_empty());
    // Then the trailers frame (flag 0x80) with grpc-status 0.
    let trailers = String::from_utf8_lossy(&raw[5 + len + 5..]);
    assert_eq!(raw[5 + len], 0x80);
    assert!(trailers.contains("grpc-status:0"), "{trailers}");
}

/// Sends one request on its own connection (`Connection: close`) and
/// reads the answer until the server closes: the raw bytes and where the
/// header block ends.
fn exchange(
    server: &TestServer,
    method: &str,
    path: &str,
    version: &str,
    headers: &[&str],
    body: &[u8],
) -> (Vec<u8>, usize) {
    let mut stream = TcpStream::connect(&server.addr).unwrap();
    let mut head = format!(
        "{method} {path} {version}\r\nHost: {}\r\nConnection: close\r\nContent-Length: {}\r\n",
        server.addr,
        body.len()
    );
    for h in headers {
        head.push_str(h);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    // A server that refuses a body unread answers and closes while it is
    // being sent: the write fails, the answer is there to read.
    let _ = stream
        .write_all(head.as_bytes())
        .and_then(|()| stream.write_all(body));
    let mut raw = Vec::new();
    let mut chunk = [0u8; 65536];
    while let Ok(n) = stream.read(&mut chunk) {
        if n == 0 {
            break;
        }
        raw.extend_from_slice(&chunk[..n]);
    }
    let split = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a header block");
    (raw, split)
}

/// A gRPC-Web call over HTTP/1.0 (so the answer is not chunked): the
/// header block and the body's bytes.
fn raw_call(server: &TestServer, path: &str, body: &[u8]) -> (String, Vec<u8>) {
    let headers = ["Content-Type: application/grpc-web+proto", "X-Grpc-Web: 1"];
    let (raw, split) = exchange(server, "POST", path, "HTTP/1.0", &headers, body);
    (
        String::from_utf8_lossy(&raw[..split]).into_owned(),
        raw[split + 4..].to_vec(),
    )
}

/// `fgf bench --mode http` against the server: every document answered,
/// and refusals counted by their status.
#[test]
fn bench_in_http_mode_posts_the_documents_and_counts_the_answers() {
    let run = |server: &TestServer, dir: &std::path::Path| {
        let report = dir.join("bench.json");
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_fgf"))
            .args([
                "bench",
                "--mode",
                "http",
                "--count",
                "30",
                "--concurrency",
                "3",
            ])
            .args([
                "--warmup",
                "0s",
                "--doc-size",
                "8000",
                "--server",
                &server.url(),
            ])
            .arg("--json")
            .arg(&report)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let text = std::fs::read_to_string(&report).unwrap();
        serde_json::from_str::<serde_json::Value>(&text).unwrap()
    };
    let dir = tempfile::tempdir().unwrap();
    let report = run(&TestServer::start(&[]), dir.path());
    assert_eq!(report["mode"], "http");
    assert_eq!(report["documents"], 30);
    assert_eq!(report["ok"], 30, "{report}");
    assert!(report["mb_per_s"].as_f64().unwrap() > 0.0);
    // Documents over the server's limit: 400, counted as INVALID_ARGUMENT.
    let report = run(&TestServer::start(&["--max-doc-bytes", "4000"]), dir.path());
    assert_eq!(report["ok"], 0, "{report}");
    assert_eq!(report["errors"]["INVALID_ARGUMENT"], 30, "{report}");
}

/// CORS: a page from a listed origin may call the JSON API and gRPC-Web
/// (preflight answered, gRPC-Web's trailers exposed); another origin, or
/// any origin on a server without `--cors-origin`, gets no CORS header.
#[test]
fn cors_lets_the_listed_origins_in_and_no_one_by_default() {
    let token = tempfile::NamedTempFile::new().unwrap();
    std::fs::write(token.path(), "s3cret-token-for-cors").unwrap();
    let server = TestServer::start(&[
        "--cors-origin",
        "https://app.example.org",
        "--auth-token-file",
        token.path().to_str().unwrap(),
    ]);
    // A gRPC-Web preflight: answered without the token.
    let preflight = call(
        &server,
        "OPTIONS",
        "/fgf.v1.Tagger/Tag",
        &[
            "Origin: https://app.example.org",
            "Access-Control-Request-Method: POST",
            "Access-Control-Request-Headers: content-type,x-grpc-web,authorization",
        ],
        b"",
    );
    assert_eq!(preflight.status, 200, "{}", preflight.body);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some("https://app.example.org")
    );
    let allowed = preflight.header("access-control-allow-headers").unwrap();
    for h in ["content-type", "x-grpc-web", "authorization"] {
        assert!(allowed.contains(h), "{allowed}");
    }
    // The call itself, with the token.
    let body = serde_json::json!({"text": "推行企业开办一网通办。"}).to_string();
    let answer = call(
        &server,
        "POST",
        "/v1/tag",
        &[
            "Origin: https://app.example.org",
            "Content-Type: application/json",
            "Authorization: Bearer s3cret-token-for-cors",
        ],
        body.as_bytes(),
    );
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.header("access-control-allow-origin"),
        Some("https://app.example.org")
    );
    assert!(
        answer
            .header("access-control-expose-headers")
            .unwrap()
            .contains("grpc-status")
    );
    // Another origin: no allow header, so the browser keeps the answer
    // from its page.
    let other = call(
        &server,
        "OPTIONS",
        "/v1/tag",
        &[
            "Origin: https://elsewhere.example.net",
            "Access-Control-Request-Method: POST",
        ],
        b"",
    );
    assert_eq!(other.header("access-control-allow-origin"), None);
    // No --cors-origin: no CORS header for anyone.
    let plain = TestServer::start(&[]);
    let answer = call(
        &plain,
        "GET",
        "/v1/model",
        &["Origin: https://app.example.org"],
        b"",
    );
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("access-control-allow-origin"), None);
}
