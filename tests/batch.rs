//! `fgf tag` end to end: the real client binary against real servers.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::TestServer;

/// `n` generated documents as JSONL, ids `doc-00000` ...; each a few
/// paragraphs of report text.
fn write_docs(path: &Path, n: usize) {
    let paragraphs = [
        "各部门按“双随机、一公开”方式联合抽查企业，制定年度抽查计划，结果及时向社会公示。",
        "依托一体化在线政务服务平台，全市一千二百项政务服务事项实现全程网办。",
        "县行政审批局实行“一枚印章管审批”，划转十三个部门的审批事项一百八十七项。",
        "推进信用分级分类监管，对失信主体依法实施联合惩戒，指导企业完成信用修复。",
        "下一步，我们将持续深化改革，不断优化营商环境。",
        "联系人：王某某，联系电话：0931-1234567",
        "开展涉企违规收费专项整治，清理规范中介服务事项。",
    ];
    let mut out = String::new();
    for i in 0..n {
        let mut text = format!("关于第{i}号建议的答复");
        for k in 0..(3 + i % 5) {
            text.push('\n');
            text.push_str(paragraphs[(i * 7 + k * 3) % paragraphs.len()]);
        }
        out.push_str(&serde_json::json!({"id": format!("doc-{i:05}"), "text": text}).to_string());
        out.push('\n');
    }
    std::fs::write(path, out).unwrap();
}

fn ids(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a whole JSON line");
            v["id"].as_str().unwrap().to_string()
        })
        .collect()
}

fn lines_in(path: &Path) -> usize {
    std::fs::read(path).map_or(0, |b| b.iter().filter(|&&c| c == b'\n').count())
}

fn fgf_tag(args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_fgf"));
    cmd.arg("tag")
        .args(args)
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// Waits until `path` has at least `n` lines.
fn wait_for_lines(path: &Path, n: usize) {
    let started = Instant::now();
    while lines_in(path) < n {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "output stalled"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn five_thousand_documents_through_two_servers_survive_a_server_restart() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("docs.jsonl");
    let out = dir.path().join("out.jsonl");
    write_docs(&input, 5_000);
    let a = TestServer::start(&[]);
    let b = TestServer::start(&[]);
    let a_addr = a.addr.clone();
    let client = fgf_tag(&[
        input.to_str().unwrap(),
        "--server",
        &a.url(),
        "--server",
        &b.url(),
        "--out",
        out.to_str().unwrap(),
        "--window",
        "32",
    ])
    .spawn()
    .unwrap();

    // Kill one server a third of the way through, then bring it back.
    wait_for_lines(&out, 1_500);
    drop(a); // SIGKILL
    std::thread::sleep(Duration::from_millis(300));
    let _a = TestServer::start_at(&a_addr, &[]);

    let output = client.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let last = stderr.lines().last().unwrap_or_default();
    assert!(last.contains("tagged 5000, failed 0"), "{stderr}");
    let expected: Vec<String> = (0..5_000).map(|i| format!("doc-{i:05}")).collect();
    assert_eq!(ids(&out), expected, "every id once, in input order");
    assert_eq!(lines_in(&dir.path().join("out.jsonl.errors.jsonl")), 0);
}

#[test]
fn a_rejected_document_goes_to_the_error_file_and_the_rest_are_tagged() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("docs.jsonl");
    let out = dir.path().join("out.jsonl");
    let errors = dir.path().join("errors.jsonl");
    let summary = dir.path().join("summary.csv");
    let big = "放".repeat(10_000); // 30,000 bytes, over the server's limit
    let text = [
        serde_json::json!({"id": "ok-1", "text": "全面推行“双随机、一公开”监管。"}).to_string(),
        serde_json::json!({"id": "too-big", "text": big}).to_string(),
        "this line is not JSON".to_string(),
        serde_json::json!({"id": "ok-2", "text": "推行企业开办“一网通办”。"}).to_string(),
    ]
    .join("\n");
    std::fs::write(&input, text).unwrap();
    let server = TestServer::start(&["--max-doc-bytes", "20000"]);
    let output = fgf_tag(&[
        input.to_str().unwrap(),
        "--server",
        &server.url(),
        "--out",
        out.to_str().unwrap(),
        "--errors",
        errors.to_str().unwrap(),
        "--summary",
        summary.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("tagged 2, failed 2"), "{stderr}");
    assert_eq!(ids(&out), ["ok-1", "ok-2"]);
    let errors = std::fs::read_to_string(&errors).unwrap();
    let errors: Vec<serde_json::Value> = errors
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(errors.len(), 2);
    assert_eq!(errors[0]["id"], "too-big");
    assert_eq!(errors[0]["code"], "INVALID_ARGUMENT");
    assert!(errors[0]["message"].as_str().unwrap().contains("20000"));
    assert!(
        errors[1]["id"].as_str().unwrap().ends_with(":3"),
        "{errors:?}"
    );
    let csv = std::fs::read_to_string(&summary).unwrap();
    assert!(
        csv.starts_with("id,chars,fang,guan,fu,top_themes\nok-1,"),
        "{csv}"
    );
    assert!(csv.contains("guan.random_inspection"), "{csv}");
}

#[test]
fn resume_after_an_interrupted_run_gives_the_uninterrupted_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("docs.jsonl");
    write_docs(&input, 3_000);
    let server = TestServer::start(&[]);
    let whole = dir.path().join("whole.jsonl");
    let status = fgf_tag(&[
        input.to_str().unwrap(),
        "--server",
        &server.url(),
        "--out",
        whole.to_str().unwrap(),
    ])
    .status()
    .unwrap();
    assert!(status.success());

    let partial = dir.path().join("partial.jsonl");
    let mut client = fgf_tag(&[
        input.to_str().unwrap(),
        "--server",
        &server.url(),
        "--out",
        partial.to_str().unwrap(),
        "--window",
        "8",
    ])
    .spawn()
    .unwrap();
    wait_for_lines(&partial, 1_000);
    client.kill().unwrap();
    client.wait().unwrap();
    assert!(
        lines_in(&partial) < 3_000,
        "the run finished before the kill"
    );
    // A torn last line, as a crash in the middle of a write would leave.
    let mut bytes = std::fs::read(&partial).unwrap();
    bytes.extend_from_slice(b"{\"id\":\"doc-0");
    std::fs::write(&partial, bytes).unwrap();

    let output = fgf_tag(&[
        input.to_str().unwrap(),
        "--server",
        &server.url(),
        "--out",
        partial.to_str().unwrap(),
        "--resume",
    ])
    .output()
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains("already in the output"));
    assert_eq!(
        std::fs::read(&partial).unwrap(),
        std::fs::read(&whole).unwrap(),
        "resumed output differs from an uninterrupted run"
    );
}

#[test]
fn local_mode_tags_folders_in_process_like_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(docs.join("sub")).unwrap();
    std::fs::write(docs.join("a.txt"), "推行“一网通办”，事项全程网办。").unwrap();
    std::fs::write(docs.join("sub/b.md"), "开展信用修复。").unwrap();
    std::fs::write(docs.join("ignored.pdf"), "not text").unwrap();
    let local = dir.path().join("local.jsonl");
    let remote = dir.path().join("remote.jsonl");
    let status = fgf_tag(&[
        docs.to_str().unwrap(),
        "--local",
        "--out",
        local.to_str().unwrap(),
    ])
    .status()
    .unwrap();
    assert!(status.success());
    let server = TestServer::start(&[]);
    let status = fgf_tag(&[
        docs.to_str().unwrap(),
        "--server",
        &server.url(),
        "--out",
        remote.to_str().unwrap(),
    ])
    .status()
    .unwrap();
    assert!(status.success());
    let got = ids(&local);
    assert_eq!(got.len(), 2);
    assert!(
        got[0].ends_with("a.txt") && got[1].ends_with("b.md"),
        "{got:?}"
    );
    assert_eq!(
        std::fs::read(&local).unwrap(),
        std::fs::read(&remote).unwrap()
    );
}

#[test]
fn a_wrong_token_fails_every_document_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    let wrong = dir.path().join("wrong");
    std::fs::write(&token, "right-token").unwrap();
    std::fs::write(&wrong, "wrong-token").unwrap();
    let input = dir.path().join("docs.jsonl");
    write_docs(&input, 20);
    let out = dir.path().join("out.jsonl");
    let server = TestServer::start(&["--auth-token-file", token.to_str().unwrap()]);
    let args = |t: &Path| {
        vec![
            input.to_str().unwrap().to_string(),
            "--server".to_string(),
            server.url(),
            "--out".to_string(),
            out.to_str().unwrap().to_string(),
            "--auth-token-file".to_string(),
            t.to_str().unwrap().to_string(),
        ]
    };
    let a = args(&wrong);
    let refs: Vec<&str> = a.iter().map(String::as_str).collect();
    let started = Instant::now();
    let output = fgf_tag(&refs).output().unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "retried a token error"
    );
    let errors = std::fs::read_to_string(dir.path().join("out.jsonl.errors.jsonl")).unwrap();
    assert_eq!(errors.lines().count(), 20);
    assert!(errors.contains("UNAUTHENTICATED"), "{errors}");

    let a = args(&token);
    let refs: Vec<&str> = a.iter().map(String::as_str).collect();
    assert!(fgf_tag(&refs).output().unwrap().status.success());
    assert_eq!(lines_in(&out), 20);
}
