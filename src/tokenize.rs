//! Word segmentation: jieba-rs plus the domain dictionary, with offsets into
//! the original text.
//!
//! Before jieba sees the text, every char is normalised one-for-one
//! (full-width digits and letters to ASCII, ASCII letters to lowercase,
//! ideographic space to a space). Because the mapping is char-for-char, a
//! token's char offsets in the normalised text are its char offsets in the
//! original, and the byte offsets are looked up from them.

use std::collections::HashSet;
use std::path::Path;

use anyhow::{Context, Result, bail};
use jieba_rs::Jieba;
use serde::{Deserialize, Serialize};

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
    domain: HashSet<String>,
}

impl std::fmt::Debug for Tokenizer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tokenizer")
            .field("domain_terms", &self.domain.len())
            .finish_non_exhaustive()
    }
}

/// Maps one char to the char jieba and the features see.
pub fn normalize_char(c: char) -> char {
    match c {
        // Full-width ASCII variants (！ to ～) to ASCII.
        '\u{FF01}'..='\u{FF5E}' => {
            let ascii = char::from_u32(c as u32 - 0xFF01 + 0x21).unwrap_or(c);
            ascii.to_ascii_lowercase()
        }
        '\u{3000}' | '\u{00A0}' => ' ',
        _ => c.to_ascii_lowercase(),
    }
}

/// Normalises a whole string char by char.
pub fn normalize_str(s: &str) -> String {
    s.chars().map(normalize_char).collect()
}

impl Tokenizer {
    /// jieba's default dictionary plus `dict`.
    pub fn new(dict: &DomainDictionary) -> Self {
        let mut jieba = Jieba::new();
        let mut domain = HashSet::with_capacity(dict.len());
        for entry in &dict.entries {
            jieba.add_word(&entry.word, Some(entry.freq), entry.tag.as_deref());
            domain.insert(entry.word.clone());
        }
        Self { jieba, domain }
    }

    /// True when `word` (normalised) is a domain-dictionary entry.
    pub fn is_domain_term(&self, word: &str) -> bool {
        self.domain.contains(word)
    }

    /// Segments `text`; offsets point into `text`. Whitespace is skipped.
    pub fn tokens<'a>(&self, text: &'a str) -> Vec<Token<'a>> {
        let mut normalized = String::with_capacity(text.len());
        // Byte offset in `text` of every char, plus the end.
        let mut byte_at: Vec<usize> = Vec::with_capacity(text.len() / 2 + 1);
        for (b, c) in text.char_indices() {
            byte_at.push(b);
            normalized.push(normalize_char(c));
        }
        byte_at.push(text.len());

        self.jieba
            .cut(&normalized, true)
            .into_iter()
            .filter(|t| !t.word.chars().all(char::is_whitespace))
            .map(|t| {
                let (start, end) = (byte_at[t.start], byte_at[t.end]);
                Token {
                    word: &text[start..end],
                    start,
                    end,
                    char_start: t.start,
                    char_end: t.end,
                    in_domain_dict: self.domain.contains(t.word),
                }
            })
            .collect()
    }

    /// Normalised words of `text` for features: punctuation dropped, numbers
    /// folded to `#`, appended to `out`.
    pub fn feature_words(&self, text: &str, out: &mut Vec<String>) {
        let normalized = normalize_str(text);
        for t in self.jieba.cut(&normalized, true) {
            let w = t.word;
            if !w.chars().any(char::is_alphanumeric) {
                continue;
            }
            if w.chars()
                .all(|c| c.is_ascii_digit() || matches!(c, '.' | '%' | ','))
            {
                out.push("#".to_string());
            } else {
                out.push(w.to_string());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokenizer() -> Tokenizer {
        Tokenizer::new(&DomainDictionary::load(Path::new("models/domain_dict.txt")).unwrap())
    }

    #[test]
    fn committed_dictionary_is_large_and_every_entry_has_a_frequency() {
        let dict = DomainDictionary::load(Path::new("models/domain_dict.txt")).unwrap();
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
    fn feature_words_fold_numbers_and_drop_punctuation() {
        let tok = tokenizer();
        let mut out = Vec::new();
        tok.feature_words("取消审批事项１２项。", &mut out);
        assert!(out.contains(&"#".to_string()), "{out:?}");
        assert!(!out.iter().any(|w| w == "。"));
    }
}
