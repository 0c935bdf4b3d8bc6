//! What `fgf serve` writes to stderr when it is not a terminal: no colour
//! codes, no HTTP/2 frame dumps at `RUST_LOG=debug`, JSON lines with
//! `--log-format json`, and one access line per call with
//! `--access-log`.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use fgf_grpc::pb;

/// Runs a server with `args` and `RUST_LOG`, stderr into a file; makes one
/// Tag call and one failing Tag call; stops it with SIGTERM; returns stderr.
async fn server_log(rust_log: &str, args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let log_path = dir.path().join("stderr.log");
    let mut child = Command::new(env!("CARGO_BIN_EXE_fgf"))
        .args([
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--model",
            "models/fgf.model",
        ])
        .args(args)
        .env("RUST_LOG", rust_log)
        .env_remove("NO_COLOR")
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&log_path).unwrap())
        .spawn()
        .expect("spawn fgf serve");
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let addr = line
        .trim()
        .strip_prefix("fgf listening on ")
        .unwrap()
        .to_string();
    let mut client = fgf_grpc::client::tagger_client(
        fgf_grpc::client::connect_channel(&format!("http://{addr}"))
            .await
            .unwrap(),
    );
    client
        .tag(pb::TagRequest {
            id: "log-doc-1".into(),
            text: crate::common::REPLY.into(),
            ..Default::default()
        })
        .await
        .expect("tag");
    let bad = client
        .tag(pb::TagRequest {
            id: "log-doc-2".into(),
            text: "推行告知承诺制。".into(),
            threshold: 7.0,
            ..Default::default()
        })
        .await
        .expect_err("threshold 7 is refused");
    assert_eq!(bad.code(), tonic::Code::InvalidArgument);
    drop(client);
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    // A hang guard, not a timing assertion: graceful shutdown takes
    // milliseconds; a server still running after 30 s is killed and the
    // test fails.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            panic!("the server did not stop on SIGTERM");
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    std::fs::read_to_string(&log_path).unwrap()
}

#[tokio::test]
async fn debug_logs_to_a_file_have_no_colour_and_no_frame_dumps() {
    let log = server_log("debug", &[]).await;
    assert!(log.contains("serving fgf.v1.Tagger"), "{log}");
    assert!(
        !log.contains('\u{1b}'),
        "escape codes in a log file:\n{log}"
    );
    for line in log.lines() {
        assert!(
            !line.contains(" h2::") && !line.contains(" hyper"),
            "transport noise at RUST_LOG=debug: {line}"
        );
    }
    assert!(
        !log.contains("fgf::access"),
        "access lines without --access-log:\n{log}"
    );
}

#[tokio::test]
async fn json_format_writes_one_object_per_line() {
    let log = server_log("info", &["--log-format", "json"]).await;
    let lines: Vec<&str> = log.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 2, "{log}");
    for line in lines {
        let v: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
        assert!(v["level"].is_string() && v["target"].is_string(), "{line}");
    }
}

#[tokio::test]
async fn access_log_gives_one_line_per_call() {
    let log = server_log("info", &["--access-log", "--log-format", "json"]).await;
    let access: Vec<serde_json::Value> = log
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|v| v["target"] == "fgf::access")
        .collect();
    assert_eq!(access.len(), 2, "{log}");
    assert_eq!(access[0]["rpc"], "Tag");
    assert_eq!(access[0]["id"], "log-doc-1");
    assert_eq!(access[0]["status"], "OK");
    assert!(
        access[0]["peer"]
            .as_str()
            .unwrap()
            .starts_with("127.0.0.1:"),
        "{log}"
    );
    assert!(access[0]["bytes_in"].as_u64().unwrap() > 100, "{log}");
    assert!(access[0]["bytes_out"].as_u64().unwrap() > 100, "{log}");
    assert!(access[0]["micros"].as_u64().is_some(), "{log}");
    assert_eq!(access[1]["id"], "log-doc-2");
    assert_eq!(access[1]["status"], "INVALID_ARGUMENT");
}
