//! Turning words into TF-IDF feature vectors.
//!
//! A document's terms are its words, its word bigrams (`a b`), its
//! character bigrams of CJK text (`#ab`, which make the model robust to
//! segmentation differences) and a second term `@word` for each
//! domain-dictionary word (`fgf compare` found this set best; see
//! `models/REPORT.md`). The vocabulary and IDF are fitted on the training
//! split and stored in the model. Vectors use sublinear term frequency
//! (`1 + ln tf`), are multiplied by IDF and L2-normalised; they are sparse
//! (sorted `(index, value)` pairs), so scoring costs only the terms present.

use std::collections::HashMap;

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use crate::tokenize::FeatureWord;

/// How terms are built and which are kept.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FeatureParams {
    /// Add word bigrams.
    pub word_bigrams: bool,
    /// Add character bigrams of CJK runs.
    pub char_bigrams: bool,
    /// Add a `@word` term for every domain-dictionary word, so that terms
    /// of the reform's vocabulary weigh twice.
    #[serde(default)]
    pub dict_hits: bool,
    /// Keep terms seen in at least this many training documents.
    pub min_df: usize,
    /// Keep at most this many terms (the most frequent by document count).
    pub max_features: usize,
}

impl Default for FeatureParams {
    fn default() -> Self {
        Self {
            word_bigrams: true,
            char_bigrams: true,
            dict_hits: true,
            min_df: 2,
            max_features: 8_000,
        }
    }
}

impl FeatureParams {
    pub fn check(&self) -> Result<()> {
        if self.min_df == 0 {
            bail!("min_df must be at least 1");
        }
        if self.max_features == 0 {
            bail!("max_features must be at least 1");
        }
        Ok(())
    }

    /// All terms of a document given its normalised feature words.
    pub fn terms(&self, words: &[FeatureWord]) -> Vec<String> {
        let mut terms = Vec::with_capacity(words.len() * 3);
        self.each_term(words, |term, _, _| terms.push(term));
        terms
    }

    /// Calls `f(hash)` for every term, in the order of [`Self::each_term`],
    /// with the hash of the term string, without building the string.
    pub fn each_term_hash(&self, words: &[FeatureWord], mut f: impl FnMut(u64)) {
        for w in words {
            let h = TermHasher::new().bytes(w.word.as_bytes());
            f(h.0);
            if self.dict_hits && w.in_domain_dict {
                f(TermHasher::new().bytes(b"@").bytes(w.word.as_bytes()).0);
            }
        }
        if self.word_bigrams {
            for pair in words.windows(2) {
                f(TermHasher::new()
                    .bytes(pair[0].word.as_bytes())
                    .bytes(b" ")
                    .bytes(pair[1].word.as_bytes())
                    .0);
            }
        }
        if self.char_bigrams {
            let bigram = |x: char, y: char| TermHasher::new().bytes(b"#").char(x).char(y).0;
            for pair in words.windows(2) {
                if let (Some(x), Some(y)) =
                    (pair[0].word.chars().last(), pair[1].word.chars().next())
                    && is_cjk(x)
                    && is_cjk(y)
                {
                    f(bigram(x, y));
                }
            }
            for w in words {
                let mut chars = w.word.chars();
                let Some(mut a) = chars.next() else { continue };
                for b in chars {
                    if is_cjk(a) && is_cjk(b) {
                        f(bigram(a, b));
                    }
                    a = b;
                }
            }
        }
    }

    /// Calls `f(term, start, end)` for every term, with the byte range in
    /// the original text of the word(s) it was built from.
    pub fn each_term(&self, words: &[FeatureWord], mut f: impl FnMut(String, usize, usize)) {
        for w in words {
            f(w.word.clone(), w.start, w.end);
            if self.dict_hits && w.in_domain_dict {
                f(format!("@{}", w.word), w.start, w.end);
            }
        }
        if self.word_bigrams {
            for pair in words.windows(2) {
                f(
                    format!("{} {}", pair[0].word, pair[1].word),
                    pair[0].start,
                    pair[1].end,
                );
            }
        }
        if self.char_bigrams {
            for pair in words.windows(2) {
                // Bigrams across a word boundary join the last char of one
                // word to the first of the next.
                if let (Some(x), Some(y)) =
                    (pair[0].word.chars().last(), pair[1].word.chars().next())
                    && is_cjk(x)
                    && is_cjk(y)
                {
                    f(format!("#{x}{y}"), pair[0].start, pair[1].end);
                }
            }
            for w in words {
                let mut chars = w.word.chars();
                let Some(mut a) = chars.next() else { continue };
                for b in chars {
                    if is_cjk(a) && is_cjk(b) {
                        f(format!("#{a}{b}"), w.start, w.end);
                    }
                    a = b;
                }
            }
        }
    }
}

/// FxHash-style hash of a term's UTF-8 bytes, fed byte by byte so that a
/// term hashed in pieces (a word, a space, a word) hashes like the whole
/// string. Used to look terms up without building them as strings.
#[derive(Clone, Copy)]
struct TermHasher(u64);

impl TermHasher {
    const SEED: u64 = 0xcbf2_9ce4_8422_2325;
    const K: u64 = 0x517c_c1b7_2722_0a95;

    fn new() -> Self {
        Self(Self::SEED)
    }

    fn bytes(mut self, bytes: &[u8]) -> Self {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(Self::K);
        }
        self
    }

    fn char(self, c: char) -> Self {
        let mut buf = [0u8; 4];
        self.bytes(c.encode_utf8(&mut buf).as_bytes())
    }

    fn of(term: &str) -> u64 {
        Self::new().bytes(term.as_bytes()).0
    }
}

/// A hasher for keys that are already hashes.
#[derive(Default, Clone, Copy)]
pub struct PrehashedKey(u64);

impl std::hash::Hasher for PrehashedKey {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, _: &[u8]) {
        unreachable!("only u64 keys are hashed");
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type HashedVocabulary = HashMap<u64, u32, std::hash::BuildHasherDefault<PrehashedKey>>;

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}')
}

/// A sparse vector: `(feature index, value)` sorted by index.
pub type SparseVector = Vec<(u32, f32)>;

/// Fitted vocabulary and inverse document frequencies.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeatureSpace {
    pub params: FeatureParams,
    /// Term to feature index.
    pub vocabulary: HashMap<String, u32>,
    /// IDF of each feature index: `ln((1 + n) / (1 + df)) + 1`.
    pub idf: Vec<f32>,
    /// Term hash to feature index, built from `vocabulary` on first use.
    #[serde(skip)]
    hashed: std::sync::OnceLock<HashedVocabulary>,
}

impl FeatureSpace {
    /// Fits the vocabulary and IDF on the terms of the training documents.
    pub fn fit(params: FeatureParams, docs: &[Vec<String>]) -> Result<Self> {
        params.check()?;
        let mut df: HashMap<&str, usize> = HashMap::new();
        for doc in docs {
            let mut unique: Vec<&str> = doc.iter().map(String::as_str).collect();
            unique.sort_unstable();
            unique.dedup();
            for term in unique {
                *df.entry(term).or_default() += 1;
            }
        }
        let mut kept: Vec<(&str, usize)> = df
            .into_iter()
            .filter(|&(_, n)| n >= params.min_df)
            .collect();
        // Most frequent first, ties by term so the result is deterministic.
        kept.sort_unstable_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        kept.truncate(params.max_features);
        if kept.is_empty() {
            bail!("no term reaches min_df = {}", params.min_df);
        }
        kept.sort_unstable_by(|a, b| a.0.cmp(b.0));
        let n = docs.len() as f32;
        let vocabulary = kept
            .iter()
            .enumerate()
            .map(|(i, (t, _))| (t.to_string(), i as u32))
            .collect();
        let idf = kept
            .iter()
            .map(|&(_, d)| ((1.0 + n) / (1.0 + d as f32)).ln() + 1.0)
            .collect();
        Ok(Self {
            params,
            vocabulary,
            idf,
            hashed: std::sync::OnceLock::new(),
        })
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.idf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.idf.is_empty()
    }

    /// Term hash to feature index.
    fn hashed(&self) -> &HashedVocabulary {
        self.hashed.get_or_init(|| {
            self.vocabulary
                .iter()
                .map(|(term, &i)| (TermHasher::of(term), i))
                .collect()
        })
    }

    /// True when no two vocabulary terms share a hash (checked when a
    /// model is loaded).
    pub fn hashes_are_unique(&self) -> bool {
        self.hashed().len() == self.vocabulary.len()
    }

    /// The vector of a document's words: the same as
    /// `transform(&params.terms(words))`, without building term strings.
    pub fn transform_words(&self, words: &[FeatureWord]) -> SparseVector {
        let hashed = self.hashed();
        let mut ids: Vec<u32> = Vec::with_capacity(words.len() * 4);
        self.params.each_term_hash(words, |h| {
            if let Some(&i) = hashed.get(&h) {
                ids.push(i);
            }
        });
        self.weigh(ids)
    }

    /// TF-IDF of a list of feature ids (with repeats), L2-normalised.
    fn weigh(&self, mut ids: Vec<u32>) -> SparseVector {
        ids.sort_unstable();
        let mut v: SparseVector = Vec::with_capacity(ids.len());
        for run in ids.chunk_by(|a, b| a == b) {
            let i = run[0];
            v.push((i, (1.0 + (run.len() as f32).ln()) * self.idf[i as usize]));
        }
        let norm = v.iter().map(|&(_, x)| x * x).sum::<f32>().sqrt();
        if norm > 0.0 {
            for (_, x) in &mut v {
                *x /= norm;
            }
        }
        v
    }

    /// The L2-normalised TF-IDF vector of a document's terms.
    pub fn transform(&self, terms: &[String]) -> SparseVector {
        let ids: Vec<u32> = terms
            .iter()
            .filter_map(|t| self.vocabulary.get(t).copied())
            .collect();
        self.weigh(ids)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(s: &str) -> Vec<FeatureWord> {
        s.split(' ')
            .map(|w| FeatureWord {
                word: w.to_string(),
                start: 0,
                end: 0,
                in_domain_dict: false,
            })
            .collect()
    }

    #[test]
    fn terms_include_bigrams() {
        let p = FeatureParams::default();
        let t = p.terms(&words("推行 告知承诺制"));
        assert!(t.contains(&"推行 告知承诺制".to_string()));
        assert!(t.contains(&"#行告".to_string()));
        assert!(t.contains(&"#承诺".to_string()));
    }

    #[test]
    fn vectors_are_unit_length_and_sorted() {
        let p = FeatureParams {
            min_df: 1,
            ..FeatureParams::default()
        };
        let docs: Vec<Vec<String>> = ["取消 审批 事项", "审批 时限 压缩", "信用 监管"]
            .iter()
            .map(|d| p.terms(&words(d)))
            .collect();
        let space = FeatureSpace::fit(p, &docs).unwrap();
        let v = space.transform(&docs[0]);
        let norm: f32 = v.iter().map(|(_, x)| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-5);
        assert!(v.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(space.transform(&p.terms(&words("未知 词语"))).is_empty());
    }

    #[test]
    fn hashed_terms_give_the_same_vector_as_term_strings() {
        let p = FeatureParams {
            min_df: 1,
            dict_hits: true,
            ..FeatureParams::default()
        };
        let mut docs = [words("推行 告知承诺制 审批 #"), words("信用 监管 abc 审批")];
        docs[0][1].in_domain_dict = true;
        let terms: Vec<Vec<String>> = docs.iter().map(|d| p.terms(d)).collect();
        let space = FeatureSpace::fit(p, &terms).unwrap();
        assert!(space.hashes_are_unique());
        for (d, t) in docs.iter().zip(&terms) {
            assert_eq!(space.transform_words(d), space.transform(t));
        }
        assert!(space.transform_words(&words("未知 词语")).is_empty());
    }

    #[test]
    fn rare_terms_are_dropped_by_min_df() {
        let p = FeatureParams {
            word_bigrams: false,
            char_bigrams: false,
            dict_hits: false,
            min_df: 2,
            max_features: 100,
        };
        let docs = vec![p.terms(&words("审批 甲")), p.terms(&words("审批 乙"))];
        let space = FeatureSpace::fit(p, &docs).unwrap();
        assert_eq!(space.len(), 1);
        assert!(space.vocabulary.contains_key("审批"));
    }
}
