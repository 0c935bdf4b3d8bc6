//! The page in a real browser: headless Chromium loads it from a running
//! server with a document in the link (`/?text=...&focus=CODE`), the page
//! tags it through `POST /v1/tag`, and the rendered DOM is checked: spans
//! with their roles, and the focused chip's evidence underlined on exactly
//! the characters the API names, in a document with a character outside
//! the BMP before them. A screenshot is kept in `target/browser/`.
//!
//! Needs Chromium, so it is ignored by `cargo test`; `.ci/run` installs
//! Debian's `chromium` when it is missing and runs it
//! (`cargo test --release --test it -- --ignored browser`). `FGF_CHROMIUM`
//! names another binary.

use std::path::PathBuf;
use std::process::Command;

use crate::common::TestServer;
use crate::http::post;

fn chromium() -> String {
    std::env::var("FGF_CHROMIUM").unwrap_or_else(|_| "chromium".to_string())
}

/// Chromium as the probe runs it: headless, no sandbox (CI runs as root),
/// no background networking (the machine's network is closed), a fresh
/// profile.
fn headless(profile: &std::path::Path) -> Command {
    let mut cmd = Command::new(chromium());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--virtual-time-budget=10000",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

fn link(server: &TestServer, text: &str, focus: &str) -> String {
    let encoded: String = text
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    format!("http://{}/?text={encoded}&focus={focus}", server.addr)
}

/// The DOM after the page's scripts ran.
fn rendered(url: &str) -> String {
    let profile = tempfile::tempdir().unwrap();
    let output = headless(profile.path())
        .arg("--dump-dom")
        .arg(url)
        .output()
        .unwrap_or_else(|e| panic!("running {}: {e} (install Debian's chromium)", chromium()));
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// The value of `attr` on the first element of `dom` whose start tag
/// holds `marker`.
fn attribute(dom: &str, marker: &str, attr: &str) -> Option<String> {
    let at = dom.find(marker)?;
    let tag_start = dom[..=at].rfind('<')?;
    let tag = &dom[tag_start..tag_start + dom[tag_start..].find('>')?];
    let key = format!("{attr}=\"");
    let from = tag.find(&key)? + key.len();
    Some(tag[from..from + tag[from..].find('"')?].to_string())
}

#[test]
#[ignore = "needs Chromium: .ci/run installs it and runs this"]
fn browser_renders_spans_roles_and_evidence_on_the_right_characters() {
    let server = TestServer::start(&[]);
    let text = "关于推行告知承诺制的通知\n𠀋村便民服务站全面推行告知承诺制，企业开办全程网上办理，审批时限压缩至3个工作日。\n联系电话：0931-1234567";
    // What the API says the chip's first evidence term covers.
    let answer = post(
        &server,
        "/v1/tag",
        &serde_json::json!({"text": text, "includeEvidence": true}),
    )
    .json();
    let body = &answer["spans"][1];
    let chip = body["themes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| !t["evidence"].as_array().unwrap().is_empty())
        .expect("a theme with evidence");
    let code = chip["code"].as_str().unwrap();
    // Its evidence terms' characters, overlapping ranges merged: what the
    // page must underline.
    let mut ranges: Vec<(usize, usize)> = chip["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            let at = |k: &str| e[k].as_u64().unwrap_or(0) as usize;
            (at("charStart"), at("charEnd"))
        })
        .collect();
    ranges.sort_unstable();
    let mut merged: Vec<(usize, usize)> = Vec::new();
    for (a, b) in ranges {
        match merged.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => merged.push((a, b)),
        }
    }

    let dom = rendered(&link(&server, text, code));
    for role in ["heading", "body", "boilerplate"] {
        assert!(
            dom.contains(&format!("data-role=\"{role}\"")),
            "no {role} span: {dom}"
        );
    }
    assert!(
        dom.contains("<h3 class=\"text\">关于推行告知承诺制的通知</h3>"),
        "{dom}"
    );
    assert!(
        dom.contains("pillar-"),
        "the body is tinted by its pillar: {dom}"
    );
    // The focused chip's evidence: a <mark> on exactly those characters.
    assert_eq!(
        dom.matches("class=\"evidence\"").count(),
        merged.len(),
        "{dom}"
    );
    for (start, end) in merged {
        let chars: String = text.chars().skip(start).take(end - start).collect();
        let mark = format!(
            "<mark class=\"evidence\" data-start=\"{start}\" data-end=\"{end}\">{chars}</mark>"
        );
        assert!(dom.contains(&mark), "{mark} not in {dom}");
    }
    assert!(
        dom.contains("id=\"model-version\">fgf-"),
        "the model version is shown"
    );
    assert!(
        dom.contains("<td class=\"description\">social credit system"),
        "the labels table says what guan.credit covers"
    );

    // A 100 KB document: how long the page takes from submit to drawn
    // (measured by the page itself, reported, not asserted).
    let unit = "全面推行告知承诺制，企业开办全程网上办理，审批时限压缩至3个工作日。\n\
                在市场监管领域全面推行“双随机、一公开”监管，抽查结果向社会公示。\n";
    let times = 100_000usize.div_ceil(unit.len());
    let dom = rendered(&format!("{}&repeat={times}", link(&server, unit, "fu")));
    let spans = dom.matches("class=\"span ").count();
    assert_eq!(
        spans,
        2 * times,
        "every paragraph of the 100 KB document is drawn"
    );
    let ms = attribute(&dom, "<body", "data-render-ms").expect("the page reports its time");
    eprintln!("100 KB document: tagged and drawn in {ms} ms (page's own measure)");

    // A screenshot, kept as an artifact.
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/browser");
    std::fs::create_dir_all(&dir).unwrap();
    let shot = dir.join("page.png");
    let profile = tempfile::tempdir().unwrap();
    let status = headless(profile.path())
        .args(["--window-size=1100,1400", "--hide-scrollbars"])
        .arg(format!("--screenshot={}", shot.display()))
        .arg(link(&server, text, code))
        .status()
        .unwrap();
    assert!(status.success());
    assert!(
        std::fs::metadata(&shot).unwrap().len() > 10_000,
        "an empty screenshot"
    );
}

#[test]
#[ignore = "needs Chromium: .ci/run installs it and runs this"]
fn browser_draws_the_batch_report_sorted_and_one_document_highlighted() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("docs.jsonl");
    let docs = [
        (
            "plan",
            "关于深化“证照分离”改革的实施方案\n全面推行告知承诺制，企业开办全程网上办理，审批时限压缩至3个工作日。",
        ),
        (
            "checks",
            "在市场监管领域全面推行“双随机、一公开”监管，抽查结果向社会公示。\n建立企业信用风险分类管理制度，对失信主体实施联合惩戒。",
        ),
        (
            "hall",
            "𠀋村便民服务站实行“一窗受理、集成服务”，群众办事最多跑一次。\n联系电话：0931-7654321",
        ),
    ];
    let lines: Vec<String> = docs
        .iter()
        .map(|(id, text)| serde_json::json!({"id": id, "text": text}).to_string())
        .collect();
    std::fs::write(&input, lines.join("\n")).unwrap();
    let report = dir.path().join("report.html");
    let out = dir.path().join("out.jsonl");
    let status = Command::new(env!("CARGO_BIN_EXE_fgf"))
        .args(["tag", "--local", "--out"])
        .arg(&out)
        .arg("--html")
        .arg(&report)
        .arg(&input)
        .status()
        .unwrap();
    assert!(status.success());
    let (_, data) = crate::batch::report_parts(&report);
    // The table sorted by guan's share, highest first, as the report's own
    // data orders it; the view of document 2 (hall) open.
    let mut by_guan: Vec<(f64, u64)> = data["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["guan"].as_f64().unwrap(), r["seq"].as_u64().unwrap()))
        .collect();
    by_guan.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    let url = format!("file://{}#sort=-guan&doc=2", report.display());
    let dom = rendered(&url);
    let order: Vec<u64> = dom
        .match_indices("<tr data-seq=\"")
        .map(|(i, m)| {
            let from = i + m.len();
            dom[from..from + dom[from..].find('"').unwrap()]
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(
        order,
        by_guan.iter().map(|r| r.1).collect::<Vec<_>>(),
        "{dom}"
    );
    assert!(
        dom.contains(r#"data-key="guan" aria-sort="descending""#),
        "{dom}"
    );
    assert!(
        dom.contains(r#"<h2 id="view-title" tabindex="-1">hall</h2>"#),
        "{dom}"
    );
    let view = &dom[dom.find("<div id=\"document\">").unwrap()..];
    let view = &view[..view.find("</section>").unwrap()];
    assert!(
        view.contains("data-role=\"body\"") && view.contains("data-role=\"boilerplate\""),
        "{view}"
    );
    assert!(
        view.contains("𠀋村便民服务站"),
        "the text, rebuilt from the spans: {view}"
    );
    assert!(view.contains("chip fu"), "{view}");
    assert!(
        !view.contains("关于深化"),
        "only the opened document is drawn: {view}"
    );
    assert!(dom.contains("3 documents tagged · model fgf-"), "{dom}");
}
