//! The `fgf` binary's behaviour on bad start-up input.

use std::process::Command;

fn fgf(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_fgf"))
        .args(args)
        .output()
        .expect("run fgf")
}

#[test]
fn serve_refuses_a_missing_model_with_one_line() {
    let out = fgf(&["serve", "--addr", "127.0.0.1:0", "--model", "no/such.model"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
    assert!(stderr.contains("no/such.model"), "{stderr}");
}

#[test]
fn serve_refuses_a_corrupt_model_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in [
        ("garbage.model", &b"\x00\x01not json"[..]),
        ("empty.model", &b""[..]),
        ("wrong.model", &br#"{"format": 1, "version": "x"}"#[..]),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, bytes).unwrap();
        let out = fgf(&[
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--model",
            path.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(stderr.trim().lines().count(), 1, "{stderr}");
        assert!(stderr.contains(name), "{stderr}");
    }
}

#[test]
fn segment_command_prints_tokens_with_offsets() {
    let out = fgf(&["segment", "推行告知承诺制"]);
    assert!(out.status.success());
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("告知承诺制\t6..21\t*"), "{stdout}");
}

#[test]
fn serve_refuses_all_interfaces_without_listen_public() {
    let out = fgf(&["serve", "--addr", "0.0.0.0:0"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("--listen-public"), "{stderr}");
}

#[test]
fn the_model_is_found_from_any_folder_and_fgf_model_overrides_it() {
    let elsewhere = tempfile::tempdir().unwrap();
    let run = |args: &[&str], env: Option<&str>| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_fgf"));
        cmd.args(args).current_dir(elsewhere.path());
        match env {
            Some(v) => cmd.env("FGF_MODEL", v),
            None => cmd.env_remove("FGF_MODEL"),
        };
        cmd.output().expect("run fgf")
    };
    // No models/ here: the build checkout's model is used.
    let out = run(&["segment", "推行告知承诺制"], None);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("告知承诺制\t6..21\t*"));
    let model = concat!(env!("CARGO_MANIFEST_DIR"), "/models/fgf.model");
    let out = run(&["eval-layout", "--help"], Some(model));
    assert!(out.status.success());
    // A wrong FGF_MODEL is named, not silently replaced by another model.
    let out = run(&["segment", "推行"], Some("/no/such/fgf.model"));
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("FGF_MODEL=/no/such/fgf.model"), "{stderr}");
}

#[test]
fn every_flag_and_argument_has_help_text() {
    let commands = [
        "serve",
        "train",
        "compare",
        "eval",
        "segment",
        "tag-one",
        "tag",
        "bench",
        "soak",
        "eval-layout",
        "eval-real",
        "compare-roles",
    ];
    for command in commands {
        let out = fgf(&[command, "--help"]);
        let help = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<&str> = help.lines().collect();
        for (i, line) in lines.iter().enumerate() {
            let t = line.trim_start();
            let flag = t.starts_with('-')
                && t[1..].starts_with(|c: char| c == '-' || c.is_ascii_alphabetic());
            let is_item = flag || (t.starts_with('<') && line.starts_with("  "));
            if !is_item || line.starts_with("Usage") {
                continue;
            }
            // clap puts the help after the flag on the same line, or on the
            // next line indented further.
            let same_line = t.split("  ").filter(|s| !s.trim().is_empty()).count() > 1;
            let next_line = lines
                .get(i + 1)
                .is_some_and(|n| n.starts_with("          ") && !n.trim().is_empty());
            assert!(same_line || next_line, "`fgf {command}`: no help for {t}");
        }
    }
}

#[test]
fn compare_refuses_an_unknown_approach_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out_path = dir.path().join("REPORT.md");
    let out = fgf(&[
        "compare",
        "--approaches",
        "lg",
        "--out",
        out_path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("svm, lr, nb, two-stage"), "{stderr}");
    assert!(!out_path.exists());
}

#[test]
fn train_refuses_an_unknown_loss() {
    let out = fgf(&["train", "--loss", "hinge", "--dry-run"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("squared-hinge"), "{stderr}");
}

/// A short clean notice (a gold file in the format `fgf eval-real` reads):
/// site furniture, title, addressee, transmittal, three numbered headings
/// each above one long paragraph, signature, date.
const REAL_DOCS: &str = "tests/fixtures/real/docs";
const REAL_GOLD: &str = "tests/fixtures/real/gold.jsonl";

#[test]
fn eval_real_scores_a_clean_notice_line_by_line() {
    let out = fgf(&["eval-real", REAL_DOCS, REAL_GOLD]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = String::from_utf8(out.stdout).unwrap();
    assert!(report.contains("gold: 14 lines in 1 docs"), "{report}");
    // Each heading stays its own paragraph (the headings share a width,
    // which once made the document look hard-wrapped and glued each one
    // to the paragraph under it).
    assert!(report.contains("role accuracy 1.000 (14/14)"), "{report}");
    assert!(
        report.contains("boilerplate lines that got a pillar/theme: 0/7"),
        "{report}"
    );
}

#[test]
fn compare_roles_scores_the_service_as_eval_real_does() {
    let out = fgf(&["eval-real", REAL_DOCS, REAL_GOLD]);
    let report = String::from_utf8(out.stdout).unwrap();
    let accuracy = report
        .lines()
        .find_map(|l| l.strip_prefix("role accuracy "))
        .and_then(|l| l.split(' ').next())
        .expect("a role accuracy line")
        .to_string();
    let out = fgf(&["compare-roles", "--real", REAL_DOCS, REAL_GOLD]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let table = String::from_utf8(out.stdout).unwrap();
    let rows: Vec<&str> = table.lines().filter(|l| l.contains("(bp")).collect();
    assert_eq!(rows.len(), 3, "{table}");
    assert!(
        rows[0].starts_with("rules + learned boilerplate check"),
        "{table}"
    );
    assert!(rows[1].starts_with("learned: terms + layout "), "{table}");
    assert!(
        rows[0].contains(&format!(" {accuracy} (bp  0/7")),
        "the service's row must match eval-real's {accuracy}:\n{table}"
    );
}
