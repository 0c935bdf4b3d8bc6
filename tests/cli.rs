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
