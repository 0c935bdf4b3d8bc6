//! Turning words into TF-IDF feature vectors.
//!
//! A document's terms are of four kinds ([`TermKind`]), told apart by how
//! their string is written:
//!
//! * a word: the normalised word (`审批`), a number folded to `#`;
//! * a dictionary hit `@word`: a second term for each domain-dictionary
//!   word, so the reform's vocabulary weighs twice (`@#` for a number in
//!   the dictionary, such as the 12345 hotline);
//! * a word pair `a b`: two consecutive words (punctuation between them is
//!   not a word, so a pair may span it) joined by one space;
//! * a character pair `#xy`: two consecutive CJK characters, inside a word
//!   or across the boundary of two consecutive words (which makes the
//!   model robust to segmentation differences).
//!
//! `fgf compare` found this set best (see `models/REPORT.md`). The vocabulary and IDF are fitted on the training
//! split and stored in the model. Vectors use sublinear term frequency
//! (`1 + ln tf`), are multiplied by IDF and L2-normalised; they are sparse
//! (sorted `(index, value)` pairs), so scoring costs only the terms present.

use std::collections::HashMap;

use anyhow::{Result, bail};
use serde::{Deserialize, Serialize};

use crate::normalize::Normalized;
use crate::prefetch::each_hinted_ahead;
use crate::term_hash::{self, is_cjk};
use crate::term_table::TermTable;
use crate::tokenize::{FeatureWord, Words};

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
            max_features: 30_000,
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
    pub fn terms(&self, words: Words<'_>) -> Vec<String> {
        let mut terms = Vec::with_capacity(words.len() * 3);
        self.each_term(words, |term| terms.push(term));
        terms
    }

    /// Calls `f(hash, first, last)` for every term, in the order of
    /// [`Self::each_term`], with the hash [`term_hash::of`] gives its string
    /// (built from the words' hashes, without building the string) and the
    /// indices of the first and last word it is made of.
    pub fn each_term_hash(&self, words: Words<'_>, mut f: impl FnMut(u64, usize, usize)) {
        self.walk(words, |term, first, last| f(term.hash(), first, last));
    }

    /// Calls `f(term)` for every term (the strings the vocabulary holds).
    pub fn each_term(&self, words: Words<'_>, mut f: impl FnMut(String)) {
        self.walk(words, |term, _, _| f(term.text()));
    }

    /// Calls `f(term, kind, place)` for every term, in the order of
    /// [`Self::each_term`]; `place` gives, on demand, the exact characters
    /// of the original text the term was built from
    /// ([`TermPlace::range`]).
    pub fn each_located_term(
        &self,
        words: Words<'_>,
        mut f: impl FnMut(String, TermKind, TermPlace),
    ) {
        self.walk(words, |term, first, last| {
            let place = TermPlace {
                first,
                last,
                chars: match term {
                    Term::Chars(_, _, at) => Some(at),
                    _ => None,
                },
            };
            f(term.text(), term.kind(), place)
        });
    }

    /// Calls `f(term, first word, last word)` for every term in word
    /// order: every term that ends at word `i` comes before any that ends
    /// at word `i + 1`, so the terms of a run of words are a run of terms.
    /// For each word: the word, its `@word`, then the word pair and the
    /// char pair across the boundary with the word before, then the char
    /// pairs inside the word.
    fn walk<'w>(&self, words: Words<'w>, mut f: impl FnMut(Term<'w>, usize, usize)) {
        let mut prev: Option<(&str, u64)> = None;
        for (i, (w, at)) in words.iter().enumerate() {
            let h = at.hash;
            f(Term::Word(w, h), i, i);
            if self.dict_hits && at.in_domain_dict {
                f(Term::Dict(w, h), i, i);
            }
            if let Some((p, ph)) = prev {
                if self.word_bigrams {
                    f(Term::Pair((p, ph), (w, h)), i - 1, i);
                }
                // Char pairs across a word boundary join the last char of
                // one word to the first of the next.
                if self.char_bigrams
                    && let (Some(x), Some(y)) = (p.chars().next_back(), w.chars().next())
                    && is_cjk(x)
                    && is_cjk(y)
                {
                    f(Term::Chars(x, y, CharsAt::Across), i - 1, i);
                }
            }
            if self.char_bigrams {
                let mut chars = w.chars();
                if let Some(mut a) = chars.next() {
                    for (k, b) in chars.enumerate() {
                        if is_cjk(a) && is_cjk(b) {
                            f(Term::Chars(a, b, CharsAt::Inside(k)), i, i);
                        }
                        a = b;
                    }
                }
            }
            prev = Some((w, h));
        }
    }
}

/// What a term is made of; see the module documentation for how each
/// kind's string is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TermKind {
    /// A word (`审批`; `#` for a number).
    Word,
    /// A domain-dictionary word's second term (`@告知承诺制`).
    Dict,
    /// Two consecutive words (`信用 监管`).
    WordPair,
    /// Two consecutive CJK characters (`#监管`).
    CharPair,
}

impl TermKind {
    /// The kind of a term string as [`FeatureParams::terms`] writes it (the
    /// same reading as [`term_hash::of`]).
    pub fn of(term: &str) -> Self {
        if term.len() > 1 && term.starts_with('@') {
            return TermKind::Dict;
        }
        if let Some(rest) = term.strip_prefix('#') {
            let mut cs = rest.chars();
            if let (Some(x), Some(y), None) = (cs.next(), cs.next(), cs.next())
                && is_cjk(x)
                && is_cjk(y)
            {
                return TermKind::CharPair;
            }
        }
        if term.contains(' ') {
            TermKind::WordPair
        } else {
            TermKind::Word
        }
    }
}

/// Where a term was found among the words of a text, to be turned into
/// the byte range of exactly its characters in the original text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TermPlace {
    /// Index of the first and last word it is made of.
    pub first: usize,
    pub last: usize,
    /// For a character pair, which chars of the word(s) it is.
    pub chars: Option<CharsAt>,
}

/// The chars of a character pair among the (normalised) chars of its words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CharsAt {
    /// Chars `k` and `k + 1` of its word.
    Inside(usize),
    /// The last char of its first word and the first char of the next.
    Across,
}

impl TermPlace {
    /// The byte range in `text` (the text `words` were cut from) of the
    /// characters that made the term: a word's or dictionary hit's word; a
    /// word pair from the start of its first word to the end of its second
    /// (with any punctuation between them); a character pair from its first
    /// char to its second (with the wrap newline or punctuation between
    /// them when it crosses a word boundary). A normalised char maps back
    /// to the original char(s) it came from (a full-width or traditional
    /// char, a word broken by a wrap newline).
    pub fn range(&self, text: &str, words: Words<'_>) -> (usize, usize) {
        let at = words.as_slice();
        let (first, last) = (&at[self.first], &at[self.last]);
        let (a, b) = match self.chars {
            None => return (first.start, last.end),
            Some(CharsAt::Inside(k)) => (
                char_range(text, first, Some(k)),
                char_range(text, first, Some(k + 1)),
            ),
            Some(CharsAt::Across) => (
                char_range(text, first, None),
                char_range(text, last, Some(0)),
            ),
        };
        (a.map_or(first.start, |r| r.0), b.map_or(last.end, |r| r.1))
    }
}

/// The byte range in `text` of normalised char `k` of word `w` (its last
/// char when `k` is `None`). The word's original text normalises to the
/// same chars on its own as inside the whole text (it starts and ends at a
/// visible char, and normalising is char by char, whitespace judged by its
/// neighbours), so its own offset map serves. `None` if `k` is out of
/// range (it never is for a term of `w`).
fn char_range(text: &str, w: &FeatureWord, k: Option<usize>) -> Option<(usize, usize)> {
    let original = text.get(w.start..w.end)?;
    let normalized = Normalized::new(original);
    let k = k.unwrap_or(normalized.char_len().checked_sub(1)?);
    if k >= normalized.char_len() {
        return None;
    }
    let (s, e) = normalized.original_range(k, k + 1);
    Some((w.start + s, w.start + e))
}

/// One term, as its parts: `word`, `@word`, `a b` or `#xy`.
#[derive(Debug, Clone, Copy)]
enum Term<'w> {
    /// A word and its hash.
    Word(&'w str, u64),
    Dict(&'w str, u64),
    Pair((&'w str, u64), (&'w str, u64)),
    /// Two chars, and where they are in their word(s).
    Chars(char, char, CharsAt),
}

impl Term<'_> {
    fn hash(self) -> u64 {
        match self {
            Term::Word(_, h) => h,
            Term::Dict(_, h) => term_hash::dict(h),
            Term::Pair((_, a), (_, b)) => term_hash::pair(a, b),
            Term::Chars(x, y, _) => term_hash::chars(x, y),
        }
    }

    fn text(self) -> String {
        match self {
            Term::Word(w, _) => w.to_string(),
            Term::Dict(w, _) => format!("@{w}"),
            Term::Pair((a, _), (b, _)) => format!("{a} {b}"),
            Term::Chars(x, y, _) => format!("#{x}{y}"),
        }
    }

    fn kind(self) -> TermKind {
        match self {
            Term::Word(..) => TermKind::Word,
            Term::Dict(..) => TermKind::Dict,
            Term::Pair(..) => TermKind::WordPair,
            Term::Chars(..) => TermKind::CharPair,
        }
    }
}

/// A vocabulary term found in a run of words: its feature index and the
/// indices of the first and last word it is made of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FoundTerm {
    pub index: u32,
    pub first: u32,
    pub last: u32,
}

/// The vocabulary terms of a text's words, found once, so that the whole
/// text and each of its sentences can be vectorised without hashing or
/// looking anything up again.
#[derive(Debug, Clone, Default)]
pub struct FoundTerms {
    /// In word order of their last word (see [`FeatureParams::each_term_hash`]).
    terms: Vec<FoundTerm>,
}

impl FoundTerms {
    /// Terms made only of words `words` (indices into the words they were
    /// found in).
    pub fn within(&self, words: std::ops::Range<usize>) -> impl Iterator<Item = u32> + '_ {
        let (a, b) = (words.start as u32, words.end as u32);
        let lo = self.terms.partition_point(|t| t.last < a);
        let hi = self.terms.partition_point(|t| t.last < b);
        self.terms[lo..hi]
            .iter()
            .filter(move |t| t.first >= a)
            .map(|t| t.index)
    }

    /// Feature indices of every term, with repeats.
    pub fn all(&self) -> impl Iterator<Item = u32> + '_ {
        self.terms.iter().map(|t| t.index)
    }

    pub fn len(&self) -> usize {
        self.terms.len()
    }

    pub fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }
}

/// A sparse vector: `(feature index, value)` sorted by index.
pub type SparseVector = Vec<(u32, f32)>;

/// A text's vector and the vectors of its sentences, built together from
/// one sort of its terms ([`FeatureSpace::vectors_with_sentences`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SentenceVectors {
    /// The whole text's vector, as [`FeatureSpace::vector_of_indices`] of
    /// all its terms gives it.
    pub whole: SparseVector,
    /// `(feature, sentence, value)`, by feature then sentence: the entries
    /// of sentence `s` are its own vector, as `vector_of_indices` of its
    /// terms gives it. Every feature here is in `whole`.
    pub entries: Vec<(u32, u32, f32)>,
    /// How many sentences there are (some may have no entries).
    pub sentences: usize,
}

impl SentenceVectors {
    /// The vector of sentence `s`.
    pub fn sentence(&self, s: usize) -> SparseVector {
        self.entries
            .iter()
            .filter(|e| e.1 as usize == s)
            .map(|&(f, _, x)| (f, x))
            .collect()
    }
}

/// TF weight of a term seen `n` times: sublinear, `1 + ln n`.
fn term_frequency(n: usize) -> f32 {
    // Most terms occur once, and 1 + ln 1 is exactly 1.
    match n {
        1 => 1.0,
        n => 1.0 + (n as f32).ln(),
    }
}

/// Sorts feature ids (all below `features`). A paragraph has hundreds of
/// them: a two-pass radix sort on their two low bytes beats a comparison
/// sort there; short lists and larger vocabularies take `sort_unstable`.
/// The result is the same either way.
fn sort_ids(ids: &mut Vec<u32>, features: usize) {
    if !radix_sort_by_feature(ids, |&id| id, features) {
        ids.sort_unstable();
    }
}

/// Sorts `(feature, tag)` pairs by feature (all below `features`), keeping
/// the order of pairs with the same feature, as [`sort_ids`] sorts ids.
fn sort_by_feature(pairs: &mut Vec<(u32, u32)>, features: usize) {
    if !radix_sort_by_feature(pairs, |p| p.0, features) {
        pairs.sort_by_key(|p| p.0);
    }
}

/// A stable two-pass LSD radix sort of `items` by the two low bytes of
/// their feature, when there are enough items for it to pay and every
/// feature fits in two bytes. Returns whether it sorted.
fn radix_sort_by_feature<T: Copy + Default>(
    items: &mut Vec<T>,
    feature: impl Fn(&T) -> u32,
    features: usize,
) -> bool {
    const RADIX_FROM: usize = 96;
    if items.len() < RADIX_FROM || features > 1 << 16 {
        return false;
    }
    let mut counts = [[0u32; 256]; 2];
    for item in items.iter() {
        let f = feature(item);
        counts[0][(f & 0xff) as usize] += 1;
        counts[1][(f >> 8 & 0xff) as usize] += 1;
    }
    let mut buf = vec![T::default(); items.len()];
    for (pass, counts) in counts.iter_mut().enumerate() {
        let mut at = 0;
        for c in counts.iter_mut() {
            (*c, at) = (at, at + *c);
        }
        let shift = 8 * pass;
        for item in items.iter() {
            let slot = &mut counts[(feature(item) >> shift & 0xff) as usize];
            buf[*slot as usize] = *item;
            *slot += 1;
        }
        std::mem::swap(items, &mut buf);
    }
    true
}

/// Divides `v` by its L2 norm (summed in its order), unless that is 0.
fn normalize(v: &mut SparseVector) {
    let norm = v.iter().map(|&(_, x)| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for (_, x) in v {
            *x /= norm;
        }
    }
}

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
    hashed: std::sync::OnceLock<TermTable>,
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

    /// The same space with only the features `keep` (indices into this
    /// space, any order), renumbered in their old order; IDF values are kept.
    pub fn retain(&self, keep: &[u32]) -> FeatureSpace {
        let mut keep = keep.to_vec();
        keep.sort_unstable();
        keep.dedup();
        let mut new_index = vec![None; self.len()];
        for (i, &old) in keep.iter().enumerate() {
            new_index[old as usize] = Some(i as u32);
        }
        FeatureSpace {
            params: self.params,
            vocabulary: self
                .vocabulary
                .iter()
                .filter_map(|(t, &i)| new_index[i as usize].map(|n| (t.clone(), n)))
                .collect(),
            idf: keep.iter().map(|&i| self.idf[i as usize]).collect(),
            hashed: std::sync::OnceLock::new(),
        }
    }

    /// Number of features.
    pub fn len(&self) -> usize {
        self.idf.len()
    }

    pub fn is_empty(&self) -> bool {
        self.idf.is_empty()
    }

    /// Term hash to feature index.
    fn hashed(&self) -> &TermTable {
        self.hashed.get_or_init(|| {
            TermTable::new(
                self.vocabulary
                    .iter()
                    .map(|(term, &i)| (term_hash::of(term), i)),
            )
        })
    }

    /// True when no two vocabulary terms share a hash, in the bits the
    /// lookup table keeps (checked when a model is loaded).
    pub fn hashes_are_unique(&self) -> bool {
        self.hashed().duplicates() == 0
    }

    /// The vocabulary terms of `words`, with the words each is made of.
    pub fn find_terms(&self, words: Words<'_>) -> FoundTerms {
        let hashed = self.hashed();
        // First every term's hash, then the lookups, each prefetching the
        // slot of the one `AHEAD` of it: the table does not fit in the
        // nearest caches, and lookups one after another would each wait
        // for memory in turn.
        const AHEAD: usize = 8;
        let mut wanted: Vec<(u64, u32, u32)> = Vec::with_capacity(words.len() * 4);
        self.params.each_term_hash(words, |h, first, last| {
            wanted.push((h, first as u32, last as u32));
        });
        let mut terms = Vec::with_capacity(wanted.len());
        each_hinted_ahead(
            &wanted,
            AHEAD,
            |&(h, _, _)| hashed.prefetch(h),
            |&(h, first, last)| {
                if let Some(index) = hashed.get(h) {
                    terms.push(FoundTerm { index, first, last });
                }
            },
        );
        FoundTerms { terms }
    }

    /// The vector of a document's words: the same as
    /// `transform(&params.terms(words))`, without building term strings.
    pub fn transform_words(&self, words: Words<'_>) -> SparseVector {
        self.weigh(self.find_terms(words).all())
    }

    /// The TF-IDF vector of feature indices (with repeats), L2-normalised.
    pub fn vector_of_indices(&self, indices: impl Iterator<Item = u32>) -> SparseVector {
        self.weigh(indices)
    }

    /// The vector of all of `terms` and the vector of each sentence's, a
    /// sentence being a range of the words the terms were found in (in
    /// order, not overlapping). The same vectors as `vector_of_indices` of
    /// `terms.all()` and of each `terms.within(sentence)`, value for value,
    /// but with one sort of the terms instead of one per sentence. A term
    /// made of words of two sentences (a word pair across a full stop)
    /// counts for the whole text only.
    pub fn vectors_with_sentences(
        &self,
        terms: &FoundTerms,
        sentences: &[std::ops::Range<usize>],
    ) -> SentenceVectors {
        if sentences.is_empty() {
            return SentenceVectors {
                whole: self.weigh(terms.all()),
                ..SentenceVectors::default()
            };
        }
        const NO_SENTENCE: u32 = u32::MAX;
        // Each term's feature and sentence. Terms are in order of their
        // last word, so the sentence of each is found by walking forward.
        let mut keyed: Vec<(u32, u32)> = Vec::with_capacity(terms.len());
        let mut s = 0;
        for t in &terms.terms {
            while s < sentences.len() && sentences[s].end <= t.last as usize {
                s += 1;
            }
            let inside = s < sentences.len() && sentences[s].start <= t.first as usize;
            keyed.push((t.index, if inside { s as u32 } else { NO_SENTENCE }));
        }
        // By feature, keeping term order within a feature: a feature's
        // entries of one sentence then follow each other (terms outside
        // any sentence may come between them).
        sort_by_feature(&mut keyed, self.len());
        let mut whole: SparseVector = Vec::with_capacity(keyed.len());
        let mut entries: Vec<(u32, u32, f32)> = Vec::with_capacity(keyed.len());
        for run in keyed.chunk_by(|a, b| a.0 == b.0) {
            let (f, idf) = (run[0].0, self.idf[run[0].0 as usize]);
            whole.push((f, term_frequency(run.len()) * idf));
            let mut in_sentences = run.iter().map(|k| k.1).filter(|&s| s != NO_SENTENCE);
            if let Some(mut current) = in_sentences.next() {
                let mut n = 1;
                for s in in_sentences {
                    if s == current {
                        n += 1;
                    } else {
                        entries.push((f, current, term_frequency(n) * idf));
                        (current, n) = (s, 1);
                    }
                }
                entries.push((f, current, term_frequency(n) * idf));
            }
        }
        // L2 norms, each summed in feature order as `weigh` sums them.
        normalize(&mut whole);
        let mut norms = vec![0.0f32; sentences.len()];
        for &(_, s, x) in &entries {
            norms[s as usize] += x * x;
        }
        for n in &mut norms {
            *n = n.sqrt();
        }
        for (_, s, x) in &mut entries {
            let norm = norms[*s as usize];
            if norm > 0.0 {
                *x /= norm;
            }
        }
        SentenceVectors {
            whole,
            entries,
            sentences: sentences.len(),
        }
    }

    /// TF-IDF of a list of feature ids (with repeats), L2-normalised.
    fn weigh(&self, ids: impl Iterator<Item = u32>) -> SparseVector {
        // Ids that come through a filter (`FoundTerms::within`,
        // `transform`'s vocabulary lookups) are sized by its upper bound,
        // so the list is allocated once, not grown by doubling.
        let mut list = Vec::with_capacity(ids.size_hint().1.unwrap_or(0));
        list.extend(ids);
        let mut ids = list;
        sort_ids(&mut ids, self.len());
        let mut v: SparseVector = Vec::with_capacity(ids.len());
        for run in ids.chunk_by(|a, b| a == b) {
            let i = run[0];
            v.push((i, term_frequency(run.len()) * self.idf[i as usize]));
        }
        normalize(&mut v);
        v
    }

    /// The L2-normalised TF-IDF vector of a document's terms.
    pub fn transform(&self, terms: &[String]) -> SparseVector {
        self.weigh(terms.iter().filter_map(|t| self.vocabulary.get(t).copied()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tokenize::FeatureWords;

    fn words(s: &str) -> FeatureWords {
        dict_words(s, &[])
    }

    fn dict_words(s: &str, dict: &[&str]) -> FeatureWords {
        let mut out = FeatureWords::default();
        let mut at = 0;
        for w in s.split(' ') {
            out.push(w, at, at + w.len(), dict.contains(&w));
            at += w.len() + 1;
        }
        out
    }

    /// A fixed stream of numbers below the bound it is asked for (a linear
    /// congruential generator), for tests that want varied input.
    fn numbers(seed: u64) -> impl FnMut(usize) -> usize {
        let mut x = seed;
        move |below| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) as usize % below
        }
    }

    #[test]
    fn radix_sorted_ids_equal_sorted_ids() {
        let mut next = numbers(12345);
        for n in [0, 1, 95, 96, 97, 300, 5000] {
            let ids: Vec<u32> = (0..n).map(|_| next(30_000) as u32).collect();
            let mut want = ids.clone();
            want.sort_unstable();
            let mut got = ids.clone();
            sort_ids(&mut got, 30_000);
            assert_eq!(got, want, "n = {n}");
            let mut wide = ids.iter().map(|&i| i * 3).collect::<Vec<_>>();
            sort_ids(&mut wide, 90_000);
            assert!(wide.windows(2).all(|w| w[0] <= w[1]));
        }
    }

    #[test]
    fn terms_include_bigrams() {
        let p = FeatureParams::default();
        let t = p.terms(words("推行 告知承诺制").all());
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
            .map(|d| p.terms(words(d).all()))
            .collect();
        let space = FeatureSpace::fit(p, &docs).unwrap();
        let v = space.transform(&docs[0]);
        let norm: f32 = v.iter().map(|(_, x)| x * x).sum();
        assert!((norm - 1.0).abs() < 1e-5);
        assert!(v.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(
            space
                .transform(&p.terms(words("未知 词语").all()))
                .is_empty()
        );
    }

    #[test]
    fn hashed_terms_give_the_same_vector_as_term_strings() {
        let p = FeatureParams {
            min_df: 1,
            dict_hits: true,
            ..FeatureParams::default()
        };
        let docs = [
            dict_words("推行 告知承诺制 审批 #", &["告知承诺制"]),
            words("信用 监管 abc 审批"),
        ];
        let terms: Vec<Vec<String>> = docs.iter().map(|d| p.terms(d.all())).collect();
        assert!(terms[0].contains(&"@告知承诺制".to_string()));
        let space = FeatureSpace::fit(p, &terms).unwrap();
        assert!(space.hashes_are_unique());
        for (d, t) in docs.iter().zip(&terms) {
            assert_eq!(space.transform_words(d.all()), space.transform(t));
        }
        assert!(space.transform_words(words("未知 词语").all()).is_empty());
    }

    #[test]
    fn terms_found_once_give_every_sentence_its_own_vector() {
        let p = FeatureParams {
            min_df: 1,
            ..FeatureParams::default()
        };
        let doc = dict_words(
            "推行 告知承诺制 审批 。 压缩 审批 时限 信用 监管",
            &["告知承诺制"],
        );
        let space = FeatureSpace::fit(p, &[p.terms(doc.all())]).unwrap();
        let found = space.find_terms(doc.all());
        assert_eq!(found.len(), p.terms(doc.all()).len());
        assert_eq!(
            space.vector_of_indices(found.all()),
            space.transform_words(doc.all())
        );
        for a in 0..doc.len() {
            for b in a..=doc.len() {
                assert_eq!(
                    space.vector_of_indices(found.within(a..b)),
                    space.transform_words(doc.all().slice(a..b)),
                    "words {a}..{b}"
                );
            }
        }
    }

    #[test]
    fn sentence_vectors_are_each_sentences_own_vector_to_the_bit() {
        let p = FeatureParams {
            min_df: 1,
            ..FeatureParams::default()
        };
        let pool = [
            "推行",
            "告知承诺制",
            "审批",
            "。",
            "压缩",
            "时限",
            "信用",
            "监管",
            "#",
            "企业",
            "开办",
            "一网通办",
        ];
        let mut next = numbers(7);
        // A short text (fewer terms than the radix sort takes) and long ones.
        for n_words in [6, 40, 150] {
            let text: Vec<&str> = (0..n_words).map(|_| pool[next(pool.len())]).collect();
            let doc = dict_words(&text.join(" "), &["告知承诺制"]);
            let space = FeatureSpace::fit(p, &[p.terms(doc.all())]).unwrap();
            let found = space.find_terms(doc.all());
            for _ in 0..20 {
                // Consecutive word ranges, with gaps between some.
                let mut sentences = Vec::new();
                let mut at = 0;
                while at < doc.len() {
                    let start = at + next(2);
                    let end = (start + 1 + next(12)).min(doc.len());
                    if start < end {
                        sentences.push(start..end);
                    }
                    at = end;
                }
                let v = space.vectors_with_sentences(&found, &sentences);
                assert_eq!(v.whole, space.vector_of_indices(found.all()));
                assert_eq!(v.sentences, sentences.len());
                for (i, range) in sentences.iter().enumerate() {
                    assert_eq!(
                        v.sentence(i),
                        space.vector_of_indices(found.within(range.clone())),
                        "{n_words} words, sentence {range:?}"
                    );
                }
                assert!(v.entries.is_sorted_by_key(|e| (e.0, e.1)));
            }
        }
    }

    #[test]
    fn pairs_sorted_by_feature_keep_their_order_within_a_feature() {
        for n in [10, 500] {
            let pairs: Vec<(u32, u32)> = (0..n).map(|i| ((i * 7919) % 37, i)).collect();
            let mut want = pairs.clone();
            want.sort_by_key(|p| p.0);
            let mut got = pairs;
            sort_by_feature(&mut got, 30_000);
            assert_eq!(got, want, "n = {n}");
        }
    }

    /// `norm` with the word `w` taken off its front (`#` takes a number).
    fn strip_word<'a>(norm: &'a str, w: &str) -> Option<&'a str> {
        if w == "#" {
            let n = norm
                .find(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | '%' | ',')))
                .unwrap_or(norm.len());
            (n > 0).then(|| &norm[n..])
        } else {
            norm.strip_prefix(w)
        }
    }

    /// True when `original`, normalised, is exactly the characters of
    /// `term` (with only non-word characters between the parts of a pair).
    fn covers(term: &str, kind: TermKind, original: &str) -> bool {
        let norm = Normalized::new(original).text;
        let gap = |g: &str| !g.chars().any(char::is_alphanumeric);
        match kind {
            TermKind::Word => strip_word(&norm, term) == Some(""),
            TermKind::Dict => strip_word(&norm, &term[1..]) == Some(""),
            TermKind::WordPair => {
                let (a, b) = term.split_once(' ').unwrap();
                // The second word is found from the back.
                (0..=norm.len())
                    .filter(|&i| norm.is_char_boundary(i))
                    .any(|i| {
                        strip_word(&norm[..i], a).is_some_and(gap)
                            && strip_word(&norm[i..], b) == Some("")
                    })
            }
            TermKind::CharPair => {
                let mut pair = term[1..].chars();
                let (x, y) = (pair.next().unwrap(), pair.next().unwrap());
                let mut cs = norm.chars();
                cs.next() == Some(x) && cs.next_back() == Some(y) && gap(cs.as_str())
            }
        }
    }

    #[test]
    fn every_term_points_at_exactly_its_characters() {
        let dict = crate::tokenize::DomainDictionary::parse(
            "告知承诺制 30000\n一网通办 30000\n互联网+监管 30000\n12345 30000\n",
        )
        .unwrap();
        let tok = crate::tokenize::Tokenizer::new(&dict);
        // Full-width, traditional, a word broken by a wrap newline, spaced
        // words, punctuation between words, a number in the dictionary.
        let text = "推行告知承諾制，實行“一網通辦”和互联网+\n监管，ＡＰＰ办理１２項，\
                    双 随 机抽查，拨打12345热线。";
        let p = FeatureParams::default();
        let words = tok.feature_words(text);
        let mut kinds = Vec::new();
        p.each_located_term(words.all(), |term, kind, place| {
            assert_eq!(kind, TermKind::of(&term), "{term}");
            let (s, e) = place.range(text, words.all());
            assert!(s < e && e <= text.len(), "{term}: {s}..{e}");
            assert!(
                covers(&term, kind, &text[s..e]),
                "{term} ({kind:?}) points at {:?}",
                &text[s..e]
            );
            kinds.push((term, kind, &text[s..e]));
        });
        for k in [
            TermKind::Word,
            TermKind::Dict,
            TermKind::WordPair,
            TermKind::CharPair,
        ] {
            assert!(kinds.iter().any(|t| t.1 == k), "no {k:?} in {kinds:?}");
        }
        // A character pair inside a word is its two characters, not the word.
        let find = |term: &str| kinds.iter().find(|t| t.0 == term).map(|t| t.2);
        assert_eq!(find("#承诺"), Some("承諾"));
        assert_eq!(find("#网通"), Some("網通"));
        // Across a wrap newline inside a dictionary word, and across words.
        assert_eq!(find("#网监"), None, "{kinds:?}");
        assert_eq!(find("#行告"), Some("行告"));
        assert_eq!(find("@互联网+监管"), Some("互联网+\n监管"));
        assert_eq!(find("#制实"), Some("制，實"));
        assert_eq!(find("@#"), Some("12345"));
    }

    #[test]
    fn term_kinds_are_read_from_their_strings() {
        assert_eq!(TermKind::of("审批"), TermKind::Word);
        assert_eq!(TermKind::of("#"), TermKind::Word);
        assert_eq!(TermKind::of("@"), TermKind::Word);
        assert_eq!(TermKind::of("@#"), TermKind::Dict);
        assert_eq!(TermKind::of("@一网通办"), TermKind::Dict);
        assert_eq!(TermKind::of("信用 监管"), TermKind::WordPair);
        assert_eq!(TermKind::of("# 项"), TermKind::WordPair);
        assert_eq!(TermKind::of("#监管"), TermKind::CharPair);
        assert_eq!(TermKind::of("#ab"), TermKind::Word);
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
        let docs = vec![
            p.terms(words("审批 甲").all()),
            p.terms(words("审批 乙").all()),
        ];
        let space = FeatureSpace::fit(p, &docs).unwrap();
        assert_eq!(space.len(), 1);
        assert!(space.vocabulary.contains_key("审批"));
    }
}
