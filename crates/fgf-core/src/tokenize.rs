//! Word segmentation: jieba-rs plus the domain dictionary, with offsets into
//! the original text.
//!
//! jieba sees the [`Normalized`] text (full-width folded, traditional
//! converted to simplified, wrap newlines and spaces inside CJK text
//! dropped); every token is mapped back to its exact range in the original.

use std::collections::{HashMap, HashSet};
use std::hash::BuildHasherDefault;
use std::path::Path;

use anyhow::{Context, Result, bail};
use jieba_rs::Jieba;
use serde::{Deserialize, Serialize};

use crate::normalize::{Normalized, normalize_str};
use crate::term_hash::{self, PrehashedKey};

/// One entry of the domain dictionary.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DictEntry {
    pub word: String,
    pub freq: usize,
    pub tag: Option<String>,
}

/// Terms jieba must keep whole (放管服, 一网通办, 互联网+监管 ...).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DomainDictionary {
    pub entries: Vec<DictEntry>,
}

impl DomainDictionary {
    /// Reads a dictionary file: `WORD FREQUENCY [TAG]` per line, `#` comments.
    pub fn load(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("reading domain dictionary {}", path.display()))?;
        Self::parse(&text).with_context(|| format!("in domain dictionary {}", path.display()))
    }

    /// Parses dictionary text. A line without a positive frequency is an
    /// error: jieba would give it frequency 0 and never produce the word.
    pub fn parse(text: &str) -> Result<Self> {
        let mut entries = Vec::new();
        let mut seen = HashSet::new();
        for (n, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let mut fields = line.split_whitespace();
            let word = fields.next().unwrap_or_default();
            let Some(freq) = fields.next() else {
                bail!("line {}: {word:?} has no frequency", n + 1);
            };
            let freq: usize = freq
                .parse()
                .with_context(|| format!("line {}: frequency {freq:?} is not a number", n + 1))?;
            if freq == 0 {
                bail!(
                    "line {}: {word:?} has frequency 0 and would never be produced",
                    n + 1
                );
            }
            if !seen.insert(word.to_string()) {
                bail!("line {}: {word:?} appears twice", n + 1);
            }
            let tag = fields.next().map(str::to_string);
            entries.push(DictEntry {
                word: normalize_str(word),
                freq,
                tag,
            });
        }
        Ok(Self { entries })
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// A word of the original text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token<'a> {
    /// The word as it appears in the original text.
    pub word: &'a str,
    /// UTF-8 byte offset of the first byte in the original text.
    pub start: usize,
    /// UTF-8 byte offset one past the last byte.
    pub end: usize,
    /// Char offset of the first char in the original text.
    pub char_start: usize,
    /// Char offset one past the last char.
    pub char_end: usize,
    /// True when the (normalised) word is a domain-dictionary entry.
    pub in_domain_dict: bool,
}

/// jieba with the domain dictionary loaded; cheap to share behind an `Arc`.
pub struct Tokenizer {
    jieba: Jieba,
    /// Domain-dictionary words (normalised) by their [`term_hash::word`].
    domain: HashMap<u64, Box<str>, BuildHasherDefault<PrehashedKey>>,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("domain_terms", &self.domain.len())
            .finish_non_exhaustive()
    }
}

impl Tokenizer {
    /// jieba's default dictionary plus `dict`.
    pub fn new(dict: &DomainDictionary) -> Self {
        let mut jieba = Jieba::new();
        let mut domain = HashMap::with_capacity_and_hasher(dict.len(), Default::default());
        for entry in &dict.entries {
            jieba.add_word(&entry.word, Some(entry.freq), entry.tag.as_deref());
            // Two dictionary words sharing a 64-bit hash would make the
            // later one count as not in the dictionary; with a few hundred
            // words that chance is about 2^-47.
            domain.insert(term_hash::word(&entry.word), entry.word.clone().into());
        }
        Self { jieba, domain }
    }

    /// The jieba instance (with the domain words added), for benchmarks
    /// that compare against segmentation alone.
    pub fn jieba(&self) -> &Jieba {
        &self.jieba
    }

    /// True when `word` (normalised) is a domain-dictionary entry.
    pub fn is_domain_term(&self, word: &str) -> bool {
        self.is_domain_hash(word, term_hash::word(word))
    }

    /// [`Self::is_domain_term`] of a word whose hash is known.
    fn is_domain_hash(&self, word: &str, hash: u64) -> bool {
        self.domain.get(&hash).is_some_and(|w| **w == *word)
    }

    /// Segments `text`; offsets point into `text`. Whitespace is skipped; a
    /// word broken by a wrap newline or spaced out (双 随 机) is one token
    /// whose `word` contains that whitespace.
    pub fn tokens<'a>(&self, text: &'a str) -> Vec<Token<'a>> {
        let normalized = Normalized::new(text);
        let mut char_of_byte = CharCounter::new(text);
        self.cut(&normalized)
            .into_iter()
            .map(|(s, e, word)| {
                let (start, end) = normalized.original_range(s, e);
                Token {
                    word: &text[start..end],
                    start,
                    end,
                    char_start: char_of_byte.at(start),
                    char_end: char_of_byte.at(end),
                    in_domain_dict: self.is_domain_term(word),
                }
            })
            .collect()
    }

    /// jieba over normalised text: `(char start, char end, word)` in
    /// normalised chars, whitespace tokens dropped.
    fn cut<'n>(&self, normalized: &'n Normalized) -> Vec<(usize, usize, &'n str)> {
        self.jieba
            .cut(&normalized.text, true)
            .into_iter()
            .filter(|t| !t.word.chars().all(char::is_whitespace))
            .map(|t| (t.start, t.end, t.word))
            .collect()
    }

    /// Normalised words of `text` for features: punctuation dropped,
    /// numbers folded to `#`, each with its byte range in `text`.
    pub fn feature_words(&self, text: &str) -> FeatureWords {
        let normalized = Normalized::new(text);
        let mut out = FeatureWords::with_capacity(normalized.text.len(), normalized.char_len() / 2);
        for t in self.jieba.cut(&normalized.text, true) {
            let w = t.word;
            if !w.chars().any(is_word_char) {
                continue;
            }
            let (start, end) = normalized.original_range(t.start, t.end);
            if w.bytes()
                .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'%' | b','))
            {
                // A number in the dictionary (12345, the hotline) still
                // counts as a dictionary hit: the model learned `@#` so.
                out.push("#", start, end, self.is_domain_term(w));
            } else {
                let hash = term_hash::word(w);
                out.push_hashed(w, hash, start, end, self.is_domain_hash(w, hash));
            }
        }
        out
    }
}

/// True for chars that make a token a word (CJK, letters, digits), as
/// `char::is_alphanumeric`, tested cheapest first: ASCII, then the CJK
/// block, then the Unicode tables.
fn is_word_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_alphanumeric()
    } else {
        ('\u{4E00}'..='\u{9FFF}').contains(&c) || (!is_punctuation(c) && c.is_alphanumeric())
    }
}

/// The punctuation that surrounds Chinese words, by block: General
/// Punctuation (U+2010..U+206F: “ ” — …) and CJK Symbols and Punctuation
/// without 々〆〇 (U+3000..U+3004, U+3008..U+3020: 、。《》【】). None of
/// it is alphanumeric, so the Unicode tables need not be asked.
fn is_punctuation(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{3004}' | '\u{3008}'..='\u{3020}' | '\u{2010}'..='\u{206F}')
}

/// The feature words of one text: normalised words (numbers folded to
/// `#`) kept back to back in one buffer, so that segmenting a text costs
/// two allocations, not one per word.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeatureWords {
    /// The normalised words, back to back.
    text: String,
    words: Vec<FeatureWord>,
}

/// A normalised word for the features and where it is in the original.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FeatureWord {
    /// Byte range of the normalised word in its [`FeatureWords`] buffer.
    norm_start: u32,
    norm_end: u32,
    /// [`term_hash::word`] of the normalised word.
    pub hash: u64,
    /// Byte range in the original text.
    pub start: usize,
    pub end: usize,
    /// The word is a domain-dictionary entry.
    pub in_domain_dict: bool,
}

impl FeatureWords {
    fn with_capacity(bytes: usize, words: usize) -> Self {
        Self {
            text: String::with_capacity(bytes),
            words: Vec::with_capacity(words),
        }
    }

    /// Appends a normalised word found at `start..end` of the original.
    pub fn push(&mut self, word: &str, start: usize, end: usize, in_domain_dict: bool) {
        self.push_hashed(word, term_hash::word(word), start, end, in_domain_dict);
    }

    fn push_hashed(&mut self, word: &str, hash: u64, start: usize, end: usize, dict: bool) {
        let norm_start = self.text.len() as u32;
        self.text.push_str(word);
        self.words.push(FeatureWord {
            norm_start,
            norm_end: self.text.len() as u32,
            hash,
            start,
            end,
            in_domain_dict: dict,
        });
    }

    /// All the words.
    pub fn all(&self) -> Words<'_> {
        Words {
            text: &self.text,
            words: &self.words,
        }
    }

    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }
}

/// A run of feature words (all of a text's, or one sentence's), cheap to
/// copy.
#[derive(Debug, Clone, Copy)]
pub struct Words<'a> {
    text: &'a str,
    words: &'a [FeatureWord],
}

impl<'a> Words<'a> {
    pub fn len(&self) -> usize {
        self.words.len()
    }

    pub fn is_empty(&self) -> bool {
        self.words.is_empty()
    }

    /// The words' positions and hashes.
    pub fn as_slice(&self) -> &'a [FeatureWord] {
        self.words
    }

    /// The normalised string of word `i`.
    pub fn word(&self, i: usize) -> &'a str {
        let w = &self.words[i];
        &self.text[w.norm_start as usize..w.norm_end as usize]
    }

    /// Each word's normalised string with its position and hash.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &'a FeatureWord)> + 'a {
        let text = self.text;
        self.words
            .iter()
            .map(move |w| (&text[w.norm_start as usize..w.norm_end as usize], w))
    }

    /// Words `range` of this run.
    pub fn slice(&self, range: std::ops::Range<usize>) -> Words<'a> {
        Words {
            text: self.text,
            words: &self.words[range],
        }
    }
}

/// Char offsets of increasing byte offsets, counted incrementally.
struct CharCounter<'a> {
    text: &'a str,
    byte: usize,
    chars: usize,
}

impl<'a> CharCounter<'a> {
    fn new(text: &'a str) -> Self {
        Self {
            text,
            byte: 0,
            chars: 0,
        }
    }

    /// Char offset of byte offset `b` (a char boundary). Fast when called
    /// with non-decreasing offsets.
    fn at(&mut self, b: usize) -> usize {
        if b < self.byte {
            self.byte = 0;
            self.chars = 0;
        }
        self.chars += self.text[self.byte..b].chars().count();
        self.byte = b;
        self.chars
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokenizer() -> Tokenizer {
        Tokenizer::new(
            &DomainDictionary::load(Path::new(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/../../models/domain_dict.txt"
            )))
            .unwrap(),
        )
    }

    #[test]
    fn committed_dictionary_is_large_and_every_entry_has_a_frequency() {
        let dict = DomainDictionary::load(Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../models/domain_dict.txt"
        )))
        .unwrap();
        assert!(dict.len() >= 150, "only {} terms", dict.len());
        assert!(dict.entries.iter().all(|e| e.freq > 0));
    }

    #[test]
    fn entry_without_frequency_is_rejected() {
        assert!(DomainDictionary::parse("放管服 30000\n一网通办\n").is_err());
        assert!(DomainDictionary::parse("放管服 0\n").is_err());
        assert!(DomainDictionary::parse("放管服 abc\n").is_err());
    }

    #[test]
    fn domain_terms_stay_whole() {
        let tok = tokenizer();
        let text = "深化放管服改革，推行一网通办和证照分离，落实双随机一公开、告知承诺制、免申即享、好差评。";
        let words: Vec<&str> = tok.tokens(text).iter().map(|t| t.word).collect();
        for term in [
            "放管服",
            "一网通办",
            "证照分离",
            "双随机一公开",
            "告知承诺制",
            "免申即享",
            "好差评",
        ] {
            assert!(words.contains(&term), "{term} split in {words:?}");
        }
    }

    #[test]
    fn offsets_point_into_the_original_with_full_width_input() {
        let tok = tokenizer();
        let text = "２０２１年，ＡＰＰ办理\u{3000}😀互联网+监管";
        let tokens = tok.tokens(text);
        for t in &tokens {
            assert_eq!(&text[t.start..t.end], t.word);
            assert_eq!(text[..t.start].chars().count(), t.char_start);
            assert_eq!(text[..t.end].chars().count(), t.char_end);
        }
        let joined: String = tokens.iter().map(|t| t.word).collect();
        let expected: String = text.chars().filter(|c| !c.is_whitespace()).collect();
        assert_eq!(joined, expected);
    }

    #[test]
    fn wrapped_spaced_and_traditional_words_are_whole() {
        let tok = tokenizer();
        let text = "推行互联网+\n监管和双 随 机一公开，實行一網通辦";
        let tokens = tok.tokens(text);
        let words: Vec<&str> = tokens.iter().map(|t| t.word).collect();
        assert!(words.contains(&"互联网+\n监管"), "{words:?}");
        assert!(words.contains(&"一網通辦"), "{words:?}");
        let dict: Vec<&str> = tokens
            .iter()
            .filter(|t| t.in_domain_dict)
            .map(|t| t.word)
            .collect();
        assert!(dict.contains(&"一網通辦"), "{dict:?}");
        for t in &tokens {
            assert_eq!(&text[t.start..t.end], t.word);
            assert_eq!(text[..t.start].chars().count(), t.char_start);
        }
    }

    #[test]
    fn word_chars_are_exactly_the_alphanumeric_ones() {
        for c in (0..=0x10FFFF).filter_map(char::from_u32) {
            assert_eq!(is_word_char(c), c.is_alphanumeric(), "{c:?}");
        }
    }

    #[test]
    fn feature_words_fold_numbers_and_drop_punctuation() {
        let tok = tokenizer();
        let text = "取消审批事项１２项。";
        let out = tok.feature_words(text);
        assert!(
            out.all()
                .iter()
                .any(|(w, at)| w == "#" && &text[at.start..at.end] == "１２")
        );
        assert!(!out.all().iter().any(|(w, _)| w == "。"));
        assert!(
            out.all()
                .iter()
                .all(|(w, at)| at.hash == term_hash::word(w))
        );
    }
}
