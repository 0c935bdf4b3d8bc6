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
    /// with the hash [`term_hash::of`] gives its string, without building
    /// the string.
    pub fn each_term_hash(&self, words: &[FeatureWord], mut f: impl FnMut(u64)) {
        let hashes: Vec<u64> = words.iter().map(|w| term_hash::word(&w.word)).collect();
        for (w, &h) in words.iter().zip(&hashes) {
            f(h);
            if self.dict_hits && w.in_domain_dict {
                f(term_hash::dict(h));
            }
        }
        if self.word_bigrams {
            for pair in hashes.windows(2) {
                f(term_hash::pair(pair[0], pair[1]));
            }
        }
        if self.char_bigrams {
            for pair in words.windows(2) {
                if let (Some(x), Some(y)) =
                    (pair[0].word.chars().last(), pair[1].word.chars().next())
                    && is_cjk(x)
                    && is_cjk(y)
                {
                    f(term_hash::chars(x, y));
                }
            }
            for w in words {
                let mut chars = w.word.chars();
                let Some(mut a) = chars.next() else { continue };
                for b in chars {
                    if is_cjk(a) && is_cjk(b) {
                        f(term_hash::chars(a, b));
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

/// Hashes of terms, built from the parts of a term rather than its
/// string, so that looking a term up costs one hash per word plus a few
/// multiplications, and no string is built. [`term_hash`] gives the same
/// value from a term's string (for the vocabulary).
mod term_hash {
    const K: u64 = 0x517c_c1b7_2722_0a95;
    const WORD: u64 = 0x243f_6a88_85a3_08d3;
    const DICT: u64 = 0x1319_8a2e_0370_7344;
    const PAIR: u64 = 0xa409_3822_299f_31d0;
    const CHARS: u64 = 0x082e_fa98_ec4e_6c89;

    fn mix(h: u64, x: u64) -> u64 {
        (h.rotate_left(5) ^ x).wrapping_mul(K)
    }

    /// A word.
    pub fn word(w: &str) -> u64 {
        w.as_bytes().iter().fold(WORD, |h, &b| mix(h, u64::from(b)))
    }

    /// `@word`, from the word's hash.
    pub fn dict(word: u64) -> u64 {
        mix(DICT, word)
    }

    /// `a b`, from the words' hashes.
    pub fn pair(a: u64, b: u64) -> u64 {
        mix(mix(PAIR, a), b)
    }

    /// `#xy`.
    pub fn chars(x: char, y: char) -> u64 {
        mix(mix(CHARS, u64::from(x)), u64::from(y))
    }

    /// The hash of a term string as [`super::FeatureParams::terms`] builds
    /// them: `@word`, `#xy` (two CJK chars), `a b`, or a word.
    pub fn of(term: &str) -> u64 {
        if let Some(w) = term.strip_prefix('@')
            && !w.is_empty()
        {
            return dict(word(w));
        }
        if let Some(rest) = term.strip_prefix('#') {
            let mut cs = rest.chars();
            if let (Some(x), Some(y), None) = (cs.next(), cs.next(), cs.next())
                && super::is_cjk(x)
                && super::is_cjk(y)
            {
                return chars(x, y);
            }
        }
        if let Some((a, b)) = term.split_once(' ') {
            return pair(word(a), word(b));
        }
        word(term)
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
                .map(|(term, &i)| (term_hash::of(term), i))
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
