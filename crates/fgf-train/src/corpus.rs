//! The labeled corpus under `models/corpus/`.
//!
//! Samples are JSON Lines (`id`, `text`, `pillars`, `themes`, `role`, `kind`)
//! in two folders: `train/` for fitting and `test/`, the frozen test split
//! that training never reads. [`Corpus::load`] checks every sample against the
//! taxonomy and fingerprints the files, so a model can say exactly which
//! corpus it was trained from.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use fgf_core::role::Role;
use fgf_core::taxonomy::Taxonomy;

/// One labeled paragraph or sentence.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Sample {
    pub id: String,
    pub text: String,
    pub pillars: Vec<String>,
    pub themes: Vec<String>,
    pub role: Role,
    /// Document kind: reply, report, plan, research, news, web.
    #[serde(default)]
    pub kind: String,
}

impl Sample {
    /// All label codes of the sample, pillars first.
    pub fn codes(&self) -> impl Iterator<Item = &str> {
        self.pillars.iter().chain(&self.themes).map(String::as_str)
    }
}

/// The train and test splits.
#[derive(Debug, Clone)]
pub struct Corpus {
    pub train: Vec<Sample>,
    pub test: Vec<Sample>,
    /// SHA-256 over the file names and bytes of both splits.
    pub fingerprint: String,
}

impl Corpus {
    /// Loads `dir/train/*.jsonl` and `dir/test/*.jsonl` and checks them.
    pub fn load(dir: &Path, taxonomy: &Taxonomy) -> Result<Self> {
        let mut hasher = Sha256::new();
        let train = load_split(&dir.join("train"), &mut hasher)?;
        let test = load_split(&dir.join("test"), &mut hasher)?;
        let fingerprint = hex(&hasher.finalize());
        let corpus = Self {
            train,
            test,
            fingerprint,
        };
        corpus.check(taxonomy)?;
        Ok(corpus)
    }

    /// Rejects unknown codes, themes without their pillar (a pillar alone is
    /// allowed: text about the pillar in general), labeled boilerplate, and texts that appear twice (within or
    /// across the splits).
    pub fn check(&self, taxonomy: &Taxonomy) -> Result<()> {
        let mut seen: HashMap<String, &str> = HashMap::new();
        for s in self.train.iter().chain(&self.test) {
            let ctx = || format!("sample {}", s.id);
            for p in &s.pillars {
                if !taxonomy.pillars.iter().any(|l| &l.code == p) {
                    bail!("{}: unknown pillar {p:?}", ctx());
                }
            }
            for t in &s.themes {
                let Some(i) = taxonomy.index_of(t).filter(|&i| !taxonomy.is_pillar(i)) else {
                    bail!("{}: unknown theme {t:?}", ctx());
                };
                let pillar = &taxonomy.label(taxonomy.pillar_index(i)).code;
                if !s.pillars.contains(pillar) {
                    bail!("{}: theme {t:?} without its pillar {pillar:?}", ctx());
                }
            }
            if s.role == Role::Boilerplate && (!s.pillars.is_empty() || !s.themes.is_empty()) {
                bail!("{}: boilerplate carries labels", ctx());
            }
            if s.text.trim().is_empty() || s.text.contains(['\n', '\r']) {
                bail!("{}: text must be one non-empty line", ctx());
            }
            let key = dedup_key(&s.text);
            if let Some(other) = seen.insert(key, &s.id) {
                bail!("{}: same text as sample {other}", ctx());
            }
        }
        self.check_split_overlap()
    }

    /// No test sample shares a run of [`SHINGLE_CHARS`] chars (digits,
    /// spaces and punctuation ignored) with a training sample: a
    /// near-duplicate on both sides would make test scores look better than
    /// they are.
    fn check_split_overlap(&self) -> Result<()> {
        let mut train_shingles: HashMap<String, &str> = HashMap::new();
        for s in &self.train {
            for shingle in shingles(&s.text) {
                train_shingles.entry(shingle).or_insert(&s.id);
            }
        }
        for s in &self.test {
            for shingle in shingles(&s.text) {
                if let Some(other) = train_shingles.get(&shingle) {
                    bail!(
                        "test sample {} shares {shingle:?} with training sample {other}: \
                         rewrite one of them or move both to the same split",
                        s.id
                    );
                }
            }
        }
        Ok(())
    }
}

/// Length of the runs compared across the train/test split.
pub const SHINGLE_CHARS: usize = 14;

/// Every run of [`SHINGLE_CHARS`] letters (digits, spaces, punctuation removed).
fn shingles(text: &str) -> Vec<String> {
    let chars: Vec<char> = text
        .chars()
        .filter(|c| c.is_alphabetic() && !c.is_ascii_digit())
        .collect();
    chars
        .windows(SHINGLE_CHARS)
        .map(|w| w.iter().collect())
        .collect()
}

/// The text with whitespace and punctuation removed, for duplicate checks.
fn dedup_key(text: &str) -> String {
    text.chars().filter(|c| c.is_alphanumeric()).collect()
}

fn load_split(dir: &Path, hasher: &mut Sha256) -> Result<Vec<Sample>> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading corpus folder {}", dir.display()))?
        .map(|e| e.map(|e| e.path()))
        .collect::<std::io::Result<_>>()?;
    files.retain(|p| p.extension().is_some_and(|e| e == "jsonl"));
    files.sort();
    if files.is_empty() {
        bail!("no *.jsonl files in {}", dir.display());
    }
    let mut samples = Vec::new();
    for file in files {
        let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        let name = file.file_name().unwrap_or_default().to_string_lossy();
        hasher.update(name.as_bytes());
        hasher.update(&bytes);
        let text = std::str::from_utf8(&bytes)
            .with_context(|| format!("{} is not UTF-8", file.display()))?;
        for (n, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let sample: Sample = serde_json::from_str(line)
                .with_context(|| format!("{}:{}: bad sample", file.display(), n + 1))?;
            samples.push(sample);
        }
    }
    Ok(samples)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taxonomy() -> Taxonomy {
        Taxonomy::load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../models/taxonomy.toml"
        )))
        .unwrap()
    }

    fn sample(id: &str, text: &str, pillars: &[&str], themes: &[&str], role: Role) -> Sample {
        Sample {
            id: id.into(),
            text: text.into(),
            pillars: pillars.iter().map(|s| s.to_string()).collect(),
            themes: themes.iter().map(|s| s.to_string()).collect(),
            role,
            kind: "reply".into(),
        }
    }

    fn corpus(train: Vec<Sample>, test: Vec<Sample>) -> Corpus {
        Corpus {
            train,
            test,
            fingerprint: String::new(),
        }
    }

    #[test]
    fn committed_corpus_passes_every_check() {
        let c = Corpus::load(
            Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/corpus")),
            &taxonomy(),
        )
        .unwrap();
        assert!(c.train.len() > 500 && c.test.len() > 100);
    }

    #[test]
    fn rejects_bad_samples() {
        let t = taxonomy();
        let ok = sample(
            "a",
            "推行告知承诺制。",
            &["fang"],
            &["fang.streamlining"],
            Role::Body,
        );
        assert!(corpus(vec![ok.clone()], vec![]).check(&t).is_ok());
        // A pillar alone: text about the pillar in general.
        let pillar_alone = sample("p", "（一）持续深化简政放权", &["fang"], &[], Role::Heading);
        assert!(corpus(vec![pillar_alone], vec![]).check(&t).is_ok());
        let cases = [
            sample("b", "x。", &["fang"], &["fang.nope"], Role::Body),
            sample("c", "x。", &[], &["guan.credit"], Role::Body),
            sample("d", "x。", &["fu"], &["fu.nope"], Role::Body),
            sample("e", "x。", &["fu"], &["fu.online"], Role::Boilerplate),
            sample("f", "x\n。", &[], &[], Role::Body),
        ];
        for bad in cases {
            assert!(
                corpus(vec![bad.clone()], vec![]).check(&t).is_err(),
                "{bad:?}"
            );
        }
        // The same text (up to spacing and punctuation) in train and test.
        let mut dup = ok.clone();
        dup.id = "z".into();
        dup.text = "推行 告知承诺制".into();
        assert!(corpus(vec![ok], vec![dup]).check(&t).is_err());
    }

    #[test]
    fn rejects_near_duplicates_across_the_split() {
        let t = taxonomy();
        let train = sample(
            "a",
            "2021年全市推行证明事项告知承诺制，共取消证明材料58项。",
            &["fang"],
            &["fang.streamlining"],
            Role::Body,
        );
        let mut near = train.clone();
        near.id = "b".into();
        near.text = "2023年，全县推行证明事项告知承诺制，共取消证明材料12项".into();
        assert!(
            corpus(vec![train.clone()], vec![near.clone()])
                .check(&t)
                .is_err()
        );
        // Within one split the same wording is allowed.
        assert!(corpus(vec![train, near], vec![]).check(&t).is_ok());
    }
}
