//! `deploy/`: the Docker build context must hold everything the image build
//! reads. There is no Docker engine in CI, so the test does what the
//! Dockerfile's build step does on exactly the files its allowlist
//! (`deploy/Dockerfile.dockerignore`) lets through: it copies them to an
//! empty folder and runs cargo there, offline and `--locked`. A file that
//! `cargo build` needs but the allowlist leaves out (a declared bench, a new
//! proto, a patched crate) fails here instead of in someone's `docker build`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The paths the allowlist sends, relative to the context root. The file
/// must be an allowlist: `*` first, then only `!path` lines (and comments),
/// the only form this test (and a reader) can check without Docker.
fn allowlisted(dockerignore: &str) -> Vec<PathBuf> {
    let mut patterns = dockerignore
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'));
    assert_eq!(
        patterns.next(),
        Some("*"),
        "deploy/Dockerfile.dockerignore must start by excluding everything (`*`)"
    );
    patterns
        .map(|p| {
            let path = p.strip_prefix('!').unwrap_or_else(|| {
                panic!("only `!path` lines may follow `*` in the allowlist, found {p:?}")
            });
            assert!(
                !path.contains(['*', '?', '[']),
                "wildcards in the allowlist are not checked by this test: {p:?}"
            );
            PathBuf::from(path.trim_end_matches('/'))
        })
        .collect()
}

fn copy_tree(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_tree(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap_or_else(|e| panic!("copying {}: {e}", from.display()));
    }
}

#[test]
fn the_allowlisted_docker_context_builds_offline() {
    let root = root();
    let dockerignore =
        std::fs::read_to_string(root.join("deploy/Dockerfile.dockerignore")).unwrap();
    let context = tempfile::tempdir().unwrap();
    for path in allowlisted(&dockerignore) {
        let from = root.join(&path);
        assert!(
            from.exists(),
            "the allowlist names {}, which does not exist",
            path.display()
        );
        copy_tree(&from, &context.path().join(&path));
    }

    // Every file the Dockerfile copies by name must be in the context.
    let dockerfile = std::fs::read_to_string(root.join("deploy/Dockerfile")).unwrap();
    for line in dockerfile.lines().filter(|l| l.starts_with("COPY ")) {
        let words: Vec<&str> = line.split_whitespace().collect();
        if words.iter().any(|w| w.starts_with("--from")) {
            continue;
        }
        for source in &words[1..words.len() - 1] {
            assert!(
                context.path().join(source).exists(),
                "the Dockerfile copies {source}, which the allowlist leaves out"
            );
        }
    }

    // The build step of the Dockerfile (`cargo build --release --locked
    // --bin fgf`), as a check: it reads the same files (manifest and every
    // target it declares, lock file, build script, proto/, src/, crates/)
    // without linking a second copy of the binary. Its own target folder
    // under target/ keeps the dependencies between runs.
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let out = Command::new(cargo)
        .args([
            "check",
            "--release",
            "--locked",
            "--offline",
            "--bin",
            "fgf",
        ])
        .current_dir(context.path())
        .env("CARGO_TARGET_DIR", root.join("target/docker-context-check"))
        .output()
        .expect("run cargo");
    assert!(
        out.status.success(),
        "the Docker build step fails on the allowlisted context: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
