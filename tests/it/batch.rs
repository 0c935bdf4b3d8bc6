//! `fgf tag` end to end: the real client binary against real servers.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::{TestServer, docx};

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

/// The JSON objects of a JSONL file, one per line (none when it is absent).
fn jsonl(path: &Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).expect("a whole JSON line"))
        .collect()
}

/// `fgf tag INPUT --local` with --out and --errors in `dir`: the run's
/// output, the responses and the rejected documents.
pub(crate) fn tag_locally(
    input: &Path,
    dir: &Path,
) -> (Output, Vec<serde_json::Value>, Vec<serde_json::Value>) {
    let (out, errors) = (dir.join("out.jsonl"), dir.join("errors.jsonl"));
    let output = fgf_tag(&[
        input.to_str().unwrap(),
        "--local",
        "--out",
        out.to_str().unwrap(),
        "--errors",
        errors.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    (output, jsonl(&out), jsonl(&errors))
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
        .env_remove("FGF_AUTH_TOKEN")
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    cmd
}

/// Runs `cmd` to its end with stderr captured; a run still going after
/// `secs` is killed and fails the test (a hang guard, far above the
/// expected time).
fn run_guarded(mut cmd: Command, secs: u64) -> Output {
    let mut child = cmd.stderr(Stdio::piped()).spawn().unwrap();
    let mut stderr = child.stderr.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stderr.read_to_end(&mut s);
        s
    });
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > Duration::from_secs(secs) {
            child.kill().unwrap();
            child.wait().unwrap();
            let stderr = reader.join().unwrap();
            panic!(
                "fgf tag still running after {secs} s (hang); stderr:\n{}",
                String::from_utf8_lossy(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    Output {
        status,
        stdout: Vec::new(),
        stderr: reader.join().unwrap(),
    }
}

/// A port nothing listens on.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

/// Sends SIGINT (Ctrl-C) to a process.
fn interrupt(pid: u32) {
    let status = Command::new("kill")
        .args(["-INT", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
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
        // A broken stream is not charged to its documents: with one
        // attempt each, a document in flight on the killed server that
        // was charged would fail.
        "--max-attempts",
        "1",
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
    assert!(
        !dir.path().join("out.jsonl.errors.jsonl").exists(),
        "an empty error file was left behind"
    );
}

#[test]
fn a_rejected_document_goes_to_the_error_file_and_the_rest_are_tagged() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("docs.jsonl");
    let out = dir.path().join("out.jsonl");
    let errors = dir.path().join("errors.jsonl");
    let summary = dir.path().join("summary.csv");
    let report = dir.path().join("report.html");
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
    let output = tag_command(
        &input,
        &server.url(),
        &out,
        &[
            "--errors",
            errors.to_str().unwrap(),
            "--summary",
            summary.to_str().unwrap(),
            "--html",
            report.to_str().unwrap(),
        ],
    )
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
    let message = errors[0]["message"].as_str().unwrap();
    // Known from the pre-flight's GetModelInfo: refused without being sent.
    assert!(
        message.contains("20000")
            && message.contains("split the document")
            && message.contains("not sent"),
        "{message}"
    );
    assert!(
        errors[1]["id"].as_str().unwrap().ends_with(":3"),
        "{errors:?}"
    );
    let csv = std::fs::read_to_string(&summary).unwrap();
    assert!(
        csv.starts_with("id,chars,body_chars,fang,guan,fu,top_themes\nok-1,"),
        "{csv}"
    );
    assert!(csv.contains("guan.random_inspection"), "{csv}");

    // The report: each output line as a document block, and a table row
    // for every input document in input order, the failed ones with their
    // status.
    let (docs, data) = report_parts(&report);
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(docs, lines);
    let rows = data["rows"].as_array().unwrap();
    let row_ids: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    assert_eq!(
        row_ids,
        ["ok-1", "too-big", errors[1]["id"].as_str().unwrap(), "ok-2"]
    );
    assert_eq!(rows[0]["doc"], 0);
    assert_eq!(rows[3]["doc"], 1);
    assert_eq!(rows[1]["error"]["code"], "INVALID_ARGUMENT");
    assert!(rows[0]["guan"].as_f64().unwrap() > 0.5, "{:?}", rows[0]);
    assert_eq!(rows[0]["themes"][0], "guan.random_inspection");
    assert_eq!(data["models"][0], lines[0]["modelVersion"]);
    let html = std::fs::read_to_string(&report).unwrap();
    assert!(
        !html.contains("http://") && !html.contains("https://") && !html.contains(" src="),
        "the report loads nothing"
    );
}

/// The document blocks of an `fgf tag --html` report, parsed, and its
/// table data (`rows`, `models`, ...).
pub fn report_parts(path: &Path) -> (Vec<serde_json::Value>, serde_json::Value) {
    let html = std::fs::read_to_string(path).unwrap();
    let block = |from: usize| {
        let end = from + html[from..].find("</script>").unwrap();
        serde_json::from_str::<serde_json::Value>(&html[from..end]).unwrap()
    };
    let mut docs = Vec::new();
    let mut at = 0;
    while let Some(i) = html[at..].find(&format!(r#"class="doc" id="doc-{}">"#, docs.len())) {
        let from = at + i + html[at + i..].find('>').unwrap() + 1;
        docs.push(block(from));
        at = from;
    }
    let marker = r#"<script type="application/json" id="report">"#;
    let data = block(html.find(marker).expect("the report's data block") + marker.len());
    (docs, data)
}

#[test]
fn resume_after_an_interrupted_run_gives_the_uninterrupted_output() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("docs.jsonl");
    write_docs(&input, 3_000);
    let server = TestServer::start(&[]);
    let whole = dir.path().join("whole.jsonl");
    let status = tag_command(&input, &server.url(), &whole, &[])
        .status()
        .unwrap();
    assert!(status.success());

    let partial = dir.path().join("partial.jsonl");
    let mut client = tag_command(&input, &server.url(), &partial, &["--window", "8"])
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

    let output = tag_command(&input, &server.url(), &partial, &["--resume"])
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
fn text_files_in_gb18030_utf16_and_utf8_get_the_same_spans_and_labels() {
    // The same short notice saved as UTF-8, GB18030 (as Windows tools in
    // China save it) and UTF-16LE with a BOM, plus a binary file named .txt.
    let plan = "关于进一步优化营商环境的实施方案\n一、深化审批制度改革\n\
                全面推行告知承诺制，企业开办全程网上办理，审批时限压缩至3个工作日。\n\
                二、加强事中事后监管\n\
                在市场监管领域全面推行“双随机、一公开”监管，抽查结果及时向社会公示。\n";
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(docs.join("a_utf8.txt"), plan).unwrap();
    let (gb, _, unmappable) = encoding_rs::GB18030.encode(plan);
    assert!(!unmappable);
    std::fs::write(docs.join("b_gb18030.txt"), &gb).unwrap();
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(plan.encode_utf16().flat_map(u16::to_le_bytes));
    std::fs::write(docs.join("c_utf16.txt"), &utf16).unwrap();
    let mut binary = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
    binary.extend((0..512u32).map(|i| (i * 13 % 256) as u8));
    std::fs::write(docs.join("d_word.txt"), &binary).unwrap();
    let (output, responses, errors) = tag_locally(&docs, dir.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(responses.len(), 3);
    let spans = |r: &serde_json::Value| r["spans"].clone();
    assert!(
        spans(&responses[0]).as_array().unwrap().len() >= 5,
        "{}",
        responses[0]
    );
    assert_eq!(
        spans(&responses[0]),
        spans(&responses[1]),
        "GB18030 differs"
    );
    assert_eq!(spans(&responses[0]), spans(&responses[2]), "UTF-16 differs");
    assert_eq!(errors.len(), 1);
    let error = &errors[0];
    assert!(
        error["id"].as_str().unwrap().ends_with("d_word.txt"),
        "{error}"
    );
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("old binary Word (.doc) or WPS (.wps) file"),
        "{error}"
    );
}

#[test]
fn an_html_page_gets_the_labels_of_its_text_and_its_furniture_is_boilerplate() {
    let body = [
        "关于进一步优化营商环境的实施方案",
        "一、深化审批制度改革",
        "全面推行告知承诺制，企业开办全程网上办理，审批时限压缩至3个工作日。",
        "二、加强事中事后监管",
        "在市场监管领域全面推行“双随机、一公开”监管，抽查结果及时向社会公示。",
    ];
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(docs.join("plan.txt"), body.join("\n")).unwrap();
    let page = format!(
        "<!DOCTYPE html><html><head><meta charset=\"gbk\"><title>南岭县人民政府门户网站</title>\
         <script>document.write('<p>脚本里的假段落</p>');</script></head><body>\
         <div class=\"crumb\">首页 &gt; 政务公开 &gt; 政策文件</div>\
         <h1>{}</h1><h2>{}</h2><p>{}</p><h2>{}</h2><p>{}</p>\
         <div style=\"display:none\">隐藏的统计代码</div>\
         <div class=\"foot\">版权所有：南岭县人民政府办公室 网站标识码1234000001</div></body></html>",
        body[0], body[1], body[2], body[3], body[4]
    );
    // Saved as many government sites serve it: GBK, declared in a meta tag.
    let (gbk, _, unmappable) = encoding_rs::GBK.encode(&page);
    assert!(!unmappable);
    std::fs::write(docs.join("plan.html"), &gbk).unwrap();
    let (output, responses, _) = tag_locally(&docs, dir.path());
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(responses.len(), 2);
    let (html, text) = (&responses[0], &responses[1]);
    assert!(html["id"].as_str().unwrap().ends_with("plan.html"));
    let spans = |r: &serde_json::Value| r["spans"].as_array().unwrap().clone();
    let labels = |s: &serde_json::Value| (s["pillars"].clone(), s["themes"].clone());
    for t in spans(text) {
        let same = spans(html)
            .into_iter()
            .find(|h| h["text"] == t["text"])
            .unwrap_or_else(|| panic!("{} is not in the page's spans: {html}", t["text"]));
        assert_eq!(labels(&same), labels(&t), "{}", t["text"]);
    }
    let page_text: Vec<String> = spans(html)
        .iter()
        .map(|s| s["text"].as_str().unwrap().to_string())
        .collect();
    assert!(
        !page_text
            .iter()
            .any(|t| t.contains("脚本") || t.contains("隐藏")),
        "{page_text:?}"
    );
    for furniture in ["首页 > 政务公开 > 政策文件", "版权所有"] {
        let span = spans(html)
            .into_iter()
            .find(|s| s["text"].as_str().unwrap().starts_with(furniture))
            .unwrap_or_else(|| panic!("no {furniture} span: {page_text:?}"));
        assert_eq!(span["role"], "ROLE_BOILERPLATE", "{span}");
    }
}

#[test]
fn a_word_file_gets_the_spans_of_its_text_and_an_old_doc_is_refused() {
    let lines = [
        "关于进一步优化营商环境的实施方案",
        "一、深化审批制度改革",
        "全面推行告知承诺制，企业开办全程网上办理，审批时限压缩至3个工作日。",
    ];
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(&docs).unwrap();
    std::fs::write(docs.join("a.txt"), lines.join("\n")).unwrap();
    std::fs::write(docs.join("b.docx"), docx(&lines)).unwrap();
    let mut ole = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1".to_vec();
    ole.extend([0u8; 512]);
    std::fs::write(docs.join("c.docx"), &ole).unwrap();
    let (output, responses, errors) = tag_locally(&docs, dir.path());
    assert_eq!(
        output.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(responses.len(), 2);
    assert_eq!(
        responses[0]["spans"], responses[1]["spans"],
        "the .docx differs"
    );
    assert_eq!(responses[0]["spans"].as_array().unwrap().len(), 3);
    let error = serde_json::to_string(&errors).unwrap();
    assert!(
        error.contains("c.docx") && error.contains("save it as .docx"),
        "{error}"
    );
}

#[test]
fn an_encoding_nobody_knows_is_refused_before_anything_is_read() {
    let dir = tempfile::tempdir().unwrap();
    let output = fgf_tag(&[
        dir.path().to_str().unwrap(),
        "--local",
        "--encoding",
        "klingon",
    ])
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("unknown encoding") && stderr.contains("gb18030"),
        "{stderr}"
    );
}

#[test]
fn local_mode_refuses_what_a_default_server_refuses() {
    // `--local` runs the server's request checks and default limits: a
    // document over the default --max-doc-bytes (4 MiB) goes to the error
    // file as INVALID_ARGUMENT, as a default server would answer it.
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("docs.jsonl");
    let big = "管".repeat(1_500_000); // 4.5 MB
    let text = [
        serde_json::json!({"id": "ok", "text": "全面推行“双随机、一公开”监管。"}).to_string(),
        serde_json::json!({"id": "too-big", "text": big}).to_string(),
    ]
    .join("\n");
    std::fs::write(&input, text).unwrap();
    let (output, responses, errors) = tag_locally(&input, dir.path());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    let ids: Vec<&str> = responses
        .iter()
        .map(|r| r["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["ok"]);
    assert_eq!(errors.len(), 1);
    let errors = &errors[0];
    assert_eq!(errors["id"], "too-big");
    assert_eq!(errors["code"], "INVALID_ARGUMENT");
    let message = errors["message"].as_str().unwrap();
    assert!(
        message.contains("4194304") && message.contains("split the document"),
        "{message}"
    );
}

#[test]
fn local_mode_tags_folders_in_process_like_the_server() {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs");
    std::fs::create_dir_all(docs.join("sub")).unwrap();
    std::fs::write(docs.join("a.txt"), "推行“一网通办”，事项全程网办。").unwrap();
    std::fs::write(docs.join("sub/b.md"), "开展信用修复。").unwrap();
    std::fs::write(docs.join("sub/C.TXT"), "深化“放管服”改革。").unwrap();
    std::fs::write(docs.join("ignored.xlsx"), "not text").unwrap();
    let local = dir.path().join("local.jsonl");
    let remote = dir.path().join("remote.jsonl");
    let output = fgf_tag(&[
        docs.to_str().unwrap(),
        "--local",
        "--out",
        local.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(
        stderr.contains("skipped 1 files") && stderr.contains("ignored.xlsx"),
        "the skipped file is not reported: {stderr}"
    );
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
    assert_eq!(got.len(), 3);
    assert!(
        got[0].ends_with("a.txt") && got[1].ends_with("C.TXT") && got[2].ends_with("b.md"),
        "{got:?}"
    );
    assert_eq!(
        std::fs::read(&local).unwrap(),
        std::fs::read(&remote).unwrap()
    );
}

#[test]
fn a_wrong_or_missing_token_stops_the_run_before_it_starts() {
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
    let output = run_guarded(fgf_tag(&refs), 60);
    let stderr = String::from_utf8_lossy(&output.stderr);
    // Checked before any input is read: nothing is sent, no error file.
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("UNAUTHENTICATED") && stderr.contains("--auth-token-file"),
        "{stderr}"
    );
    assert!(!dir.path().join("out.jsonl.errors.jsonl").exists());
    let a = args(&dir.path().join("no-such-token"))[..5].to_vec();
    let refs: Vec<&str> = a.iter().map(String::as_str).collect();
    let output = run_guarded(fgf_tag(&refs), 60);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("needs a token"), "{stderr}");

    let a = args(&token);
    let refs: Vec<&str> = a.iter().map(String::as_str).collect();
    assert!(fgf_tag(&refs).output().unwrap().status.success());
    assert_eq!(lines_in(&out), 20);
}

#[test]
fn a_closed_port_is_an_error_naming_it_within_seconds() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("docs.jsonl");
    write_docs(&input, 10);
    let out = dir.path().join("out.jsonl");
    let addr = format!("127.0.0.1:{}", closed_port());
    for server in [format!("http://{addr}"), addr.clone()] {
        let output = run_guarded(
            fgf_tag(&[
                input.to_str().unwrap(),
                "--server",
                &server,
                "--out",
                out.to_str().unwrap(),
            ]),
            60,
        );
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains(&format!("http://{addr}")) && stderr.contains("connection refused"),
            "{stderr}"
        );
        if !server.starts_with("http") {
            assert!(stderr.contains("no scheme"), "{stderr}");
        }
    }
}

#[test]
fn a_server_without_scheme_is_taken_as_http() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("docs.jsonl");
    write_docs(&input, 10);
    let out = dir.path().join("out.jsonl");
    let server = TestServer::start(&[]);
    let output = run_guarded(
        fgf_tag(&[
            input.to_str().unwrap(),
            "--server",
            &server.addr,
            "--out",
            out.to_str().unwrap(),
        ]),
        120,
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    assert!(stderr.contains("no scheme: using http://"), "{stderr}");
    assert_eq!(lines_in(&out), 10);
}

/// A CA, a server certificate for `localhost` and a client certificate,
/// in `dir` as ca.pem, server.pem, server.key, client.pem, client.key.
fn write_pki(dir: &Path) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    std::fs::write(
        dir.join("ca.pem"),
        ca_params.self_signed(&ca_key).unwrap().pem(),
    )
    .unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    for (name, host) in [("server", "localhost"), ("client", "fgf-client")] {
        let key = KeyPair::generate().unwrap();
        let cert = CertificateParams::new(vec![host.to_string()])
            .unwrap()
            .signed_by(&key, &issuer)
            .unwrap();
        std::fs::write(dir.join(format!("{name}.pem")), cert.pem()).unwrap();
        std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
    }
}

#[test]
fn tls_mistakes_are_named_before_the_run() {
    let dir = tempfile::tempdir().unwrap();
    write_pki(dir.path());
    let p = |f: &str| dir.path().join(f).to_str().unwrap().to_string();
    let input = dir.path().join("docs.jsonl");
    write_docs(&input, 5);
    let out = p("out.jsonl");
    let plain = TestServer::start(&[]);
    let tag = |server: &str, extra: &[&str]| {
        let mut args = vec![input.to_str().unwrap(), "--server", server, "--out", &out];
        args.extend_from_slice(extra);
        let output = run_guarded(fgf_tag(&args), 60);
        let stderr = String::from_utf8_lossy(&output.stderr).to_string();
        (output.status.code(), stderr)
    };
    // https:// without a CA.
    let (code, stderr) = tag(&format!("https://{}", plain.addr), &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("needs --tls-ca"), "{stderr}");
    // https:// with a CA, to a plaintext server.
    let (code, stderr) = tag(
        &format!("https://{}", plain.addr),
        &["--tls-ca", &p("ca.pem")],
    );
    assert_eq!(code, Some(2), "{stderr}");
    assert!(
        stderr.contains(&plain.addr) && stderr.contains("plaintext server"),
        "{stderr}"
    );
    // http:// to a TLS server.
    let (cert, key, ca) = (p("server.pem"), p("server.key"), p("ca.pem"));
    let tls = TestServer::start(&["--tls-cert", &cert, "--tls-key", &key]);
    let (code, stderr) = tag(&format!("http://{}", tls.addr), &[]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("TLS server"), "{stderr}");
    // Mutual TLS: without a client certificate, then with one.
    let mutual = TestServer::start(&[
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
        "--tls-client-ca",
        &ca,
    ]);
    let port = mutual.addr.rsplit(':').next().unwrap();
    let url = format!("https://localhost:{port}");
    let (code, stderr) = tag(&url, &["--tls-ca", &ca]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("--tls-cert"), "{stderr}");
    let (code, stderr) = tag(
        &url,
        &[
            "--tls-ca",
            &ca,
            "--tls-cert",
            &p("client.pem"),
            "--tls-key",
            &p("client.key"),
        ],
    );
    assert_eq!(code, Some(0), "{stderr}");
    assert_eq!(lines_in(Path::new(&out)), 5);
}

#[test]
fn a_server_killed_for_good_mid_run_is_named_and_the_run_stops() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("docs.jsonl");
    let out = dir.path().join("out.jsonl");
    write_docs(&input, 200_000);
    let server = TestServer::start(&[]);
    let url = server.url();
    let cmd = fgf_tag(&[
        input.to_str().unwrap(),
        "--server",
        &url,
        "--out",
        out.to_str().unwrap(),
        "--give-up-after",
        "3s",
    ]);
    let guard = std::thread::spawn(move || run_guarded(cmd, 300));
    wait_for_lines(&out, 500);
    drop(server); // SIGKILL, not restarted
    let output = guard.join().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(lines_in(&out) < 200_000, "the run finished before the kill");
    assert!(
        stderr.contains(&format!("server {url} does not answer: connection refused")),
        "{stderr}"
    );
    assert!(stderr.contains("no server answered for 3 s"), "{stderr}");
    assert!(stderr.contains("servers down during the run"), "{stderr}");
    assert!(stderr.contains("--resume"), "{stderr}");
}

/// `fgf tag INPUT --server URL --out OUT [extra]` to its end.
/// `fgf tag INPUT --server SERVER --out OUT EXTRA...`, not started yet.
fn tag_command(input: &Path, server: &str, out: &Path, extra: &[&str]) -> Command {
    let mut args = vec![
        input.to_str().unwrap(),
        "--server",
        server,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    fgf_tag(&args)
}

fn tag_to(input: &Path, server: &str, out: &Path, extra: &[&str]) -> Output {
    run_guarded(tag_command(input, server, out, extra), 300)
}

#[test]
fn resume_with_a_summary_and_a_report_gives_the_uninterrupted_ones() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("docs.jsonl");
    write_docs(&input, 3_000);
    let server = TestServer::start(&[]);
    let (whole, whole_csv) = (dir.path().join("whole.jsonl"), dir.path().join("whole.csv"));
    let whole_html = dir.path().join("whole.html");
    let output = tag_to(
        &input,
        &server.url(),
        &whole,
        &[
            "--summary",
            whole_csv.to_str().unwrap(),
            "--html",
            whole_html.to_str().unwrap(),
        ],
    );
    assert!(output.status.success());
    let csv = std::fs::read_to_string(&whole_csv).unwrap();
    assert_eq!(csv.lines().count(), 3_001);
    assert!(
        csv.starts_with("id,chars,body_chars,fang,guan,fu,top_themes\n"),
        "{csv}"
    );

    let (partial, partial_csv) = (dir.path().join("p.jsonl"), dir.path().join("p.csv"));
    let mut client = tag_command(
        &input,
        &server.url(),
        &partial,
        &["--summary", partial_csv.to_str().unwrap(), "--window", "8"],
    )
    .spawn()
    .unwrap();
    wait_for_lines(&partial, 1_000);
    client.kill().unwrap();
    client.wait().unwrap();
    assert!(
        lines_in(&partial) < 3_000,
        "the run finished before the kill"
    );
    let partial_html = dir.path().join("p.html");
    let resume = [
        "--summary",
        partial_csv.to_str().unwrap(),
        "--html",
        partial_html.to_str().unwrap(),
        "--resume",
    ];
    let output = tag_to(&input, &server.url(), &partial, &resume);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        std::fs::read(&partial).unwrap(),
        std::fs::read(&whole).unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(&partial_csv).unwrap(),
        csv,
        "resumed CSV differs from an uninterrupted run's"
    );
    // The report is rebuilt from the kept lines: the same documents and
    // table as an uninterrupted run's.
    let (whole_docs, whole_data) = report_parts(&whole_html);
    let (docs, data) = report_parts(&partial_html);
    assert_eq!(docs.len(), 3_000);
    assert!(docs == whole_docs, "resumed report's documents differ");
    assert_eq!(data["rows"], whole_data["rows"]);
    // Resuming a finished run changes nothing.
    let output = tag_to(&input, &server.url(), &partial, &resume);
    assert!(output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("tagged 0, failed 0"));
    assert_eq!(
        std::fs::read(&partial).unwrap(),
        std::fs::read(&whole).unwrap()
    );
    assert_eq!(std::fs::read_to_string(&partial_csv).unwrap(), csv);
}

#[test]
fn repeated_ids_are_all_written_and_ctrl_c_then_resume_keeps_them() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("docs.jsonl");
    write_docs(&input, 3_000);
    // Every 100th document takes the id of the one before it, and one
    // line is not a document.
    let text = std::fs::read_to_string(&input).unwrap();
    let mut lines: Vec<String> = text.lines().map(str::to_string).collect();
    for i in (100..3_000).step_by(100) {
        lines[i] = lines[i].replace(&format!("doc-{i:05}"), &format!("doc-{:05}", i - 1));
    }
    lines[1_550] = "{\"id\": \"bad\", \"text\": 5}".to_string();
    std::fs::write(&input, lines.join("\n") + "\n").unwrap();
    let server = TestServer::start(&[]);
    let whole = dir.path().join("whole.jsonl");
    let output = tag_to(&input, &server.url(), &whole, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(lines_in(&whole), 2_999, "one line per input document");
    assert!(
        stderr.contains("id \"doc-00099\" appears again")
            && stderr.contains("29 with an id seen before"),
        "{stderr}"
    );
    let whole_errors =
        std::fs::read_to_string(dir.path().join("whole.jsonl.errors.jsonl")).unwrap();
    assert!(
        whole_errors.contains("line 1551: \\\"text\\\" must be a string"),
        "{whole_errors}"
    );

    let partial = dir.path().join("partial.jsonl");
    let client = tag_command(&input, &server.url(), &partial, &["--window", "8"])
        .spawn()
        .unwrap();
    wait_for_lines(&partial, 1_000);
    interrupt(client.id());
    let output = client.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(130), "{stderr}");
    assert!(lines_in(&partial) < 2_999, "the run finished before Ctrl-C");
    assert!(
        stderr.contains("tagged ") && stderr.contains("interrupted") && stderr.contains("--resume"),
        "{stderr}"
    );
    let output = tag_to(&input, &server.url(), &partial, &["--resume"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert_eq!(
        std::fs::read(&partial).unwrap(),
        std::fs::read(&whole).unwrap(),
        "resumed output differs from an uninterrupted run"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("partial.jsonl.errors.jsonl")).unwrap(),
        whole_errors
    );
}

#[test]
fn jsonl_edges_numeric_ids_f32_scores_and_plain_text_on_stdin() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("docs.jsonl");
    std::fs::write(
        &input,
        "{\"id\": 42, \"text\": \"全面推行“双随机、一公开”监管。\"}\n\
         {\"id\": \"x\", \"text\": [\"a\"]}\n\
         {\"id\": \"y\"}\n\
         [1, 2]\n",
    )
    .unwrap();
    let out = dir.path().join("out.jsonl");
    let output = fgf_tag(&[
        input.to_str().unwrap(),
        "--local",
        "--out",
        out.to_str().unwrap(),
    ])
    .output()
    .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert_eq!(ids(&out), ["42"]);
    let line = std::fs::read_to_string(&out).unwrap();
    // Scores as the f32 they are: the shortest form that reads back as
    // the same f32 (what grpcurl prints), not the f64 widening.
    let mut scores = 0;
    for part in line.split("\"score\":").skip(1) {
        let number: String = part
            .chars()
            .take_while(|c| c.is_ascii_digit() || *c == '.' || *c == 'e' || *c == '-')
            .collect();
        let f: f32 = number.parse().unwrap();
        let shortest = if f.fract() == 0.0 {
            format!("{}", f as i64)
        } else {
            f.to_string()
        };
        assert_eq!(number, shortest, "{line}");
        scores += 1;
    }
    assert!(scores > 0, "{line}");
    let errors = std::fs::read_to_string(dir.path().join("out.jsonl.errors.jsonl")).unwrap();
    let messages: Vec<String> = errors
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["message"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(messages[0], "line 2: \"text\" must be a string");
    assert_eq!(messages[1], "line 3: no \"text\" field");
    assert!(
        messages[2].starts_with("line 4: not a JSON object"),
        "{messages:?}"
    );
    for m in &messages {
        assert!(
            !m.contains("invalid type") && !m.contains("expected"),
            "{m}"
        );
    }

    // Plain text on stdin: a hint to use tag-one, nothing written.
    let mut child = fgf_tag(&["-", "--local", "--out", out.to_str().unwrap()])
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all("关于推进政务服务的通知\n各部门：\n".as_bytes())
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success());
    assert!(stderr.contains("fgf tag-one -"), "{stderr}");
}

#[test]
fn omit_text_leaves_span_text_out_locally_and_through_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let docs = dir.path().join("docs.jsonl");
    write_docs(&docs, 3);
    let server = TestServer::start(&[]);
    let url = server.url();
    for mode in [vec!["--local"], vec!["--server", url.as_str()]] {
        let out = dir.path().join("out.jsonl");
        let mut args = vec![docs.to_str().unwrap(), "--omit-text", "--sentences"];
        args.extend(mode.iter().copied());
        args.extend(["--out", out.to_str().unwrap()]);
        let output = fgf_tag(&args).output().unwrap();
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        for line in std::fs::read_to_string(&out).unwrap().lines() {
            let v: serde_json::Value = serde_json::from_str(line).unwrap();
            let spans = v["spans"].as_array().unwrap();
            assert!(!spans.is_empty());
            for span in spans {
                assert!(span.get("text").is_none(), "{mode:?}: {span}");
                assert!(span["end"].as_u64().unwrap() > 0, "{mode:?}: {span}");
            }
        }
    }
}
