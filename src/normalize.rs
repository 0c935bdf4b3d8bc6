//! What jieba and the features see: a normalised copy of a piece of text with
//! a map from every normalised char back to the original.
//!
//! Real input is noisy in ways that must not change the labels, so before
//! segmentation the text is rewritten:
//!
//! * full-width digits and letters become ASCII, letters lowercase;
//! * traditional characters become simplified (char for char, from a table
//!   built once from `simplet2s`), so 審批 is seen as 审批;
//! * whitespace next to a CJK char is dropped: hard-wrap newlines inside a
//!   paragraph (互联网+\n监管), spaced-out numbers and words (2019 年 6 月,
//!   双 随 机); whitespace between two ASCII words becomes one space;
//! * zero-width characters and byte-order marks are dropped.
//!
//! Every normalised char remembers the byte range of the original char(s) it
//! came from, so a token found in the normalised text is reported at its
//! exact place in the original.

/// A normalised text and where each of its chars came from.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Normalized {
    /// The text jieba sees.
    pub text: String,
    /// For each char of `text`: its byte offset in `text`, and the byte
    /// range in the original it stands for.
    chars: Vec<MappedChar>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct MappedChar {
    at: u32,
    orig_start: u32,
    orig_end: u32,
}

/// Chars dropped from the normalised text.
fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{2060}' | '\u{FEFF}'
    )
}

/// True for chars after or before which whitespace carries no meaning:
/// anything outside ASCII (CJK, full-width punctuation).
fn glues(c: char) -> bool {
    !c.is_ascii()
}

/// Maps one char (already converted to simplified) to what the features see.
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

/// Normalises a dictionary word or any short string char by char, without
/// the whitespace rules or script conversion.
pub fn normalize_str(s: &str) -> String {
    s.chars().map(normalize_char).collect()
}

/// First and last char of the table of traditional-to-simplified mappings.
const T2S_FIRST: u32 = 0x3400;
const T2S_LAST: u32 = 0x9FFF;

/// Simplified form of every char in U+3400..=U+9FFF (the char itself when
/// it has none), built once from `simplet2s`'s one-to-one mapping. A table
/// lookup per char is far cheaper than converting strings, and it keeps the
/// conversion char for char; the handful of context-dependent cases
/// `simplet2s` knows (乾/干, 著/着) are left as they are.
fn t2s_table() -> &'static [char] {
    static TABLE: std::sync::OnceLock<Vec<char>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        (T2S_FIRST..=T2S_LAST)
            .map(|u| {
                let c = char::from_u32(u).unwrap_or(' ');
                let mut buf = [0u8; 4];
                let converted = simplet2s::convert(c.encode_utf8(&mut buf));
                let mut chars = converted.chars();
                match (chars.next(), chars.next()) {
                    (Some(s), None) => s,
                    _ => c,
                }
            })
            .collect()
    })
}

/// The simplified form of `c` (or `c`), from [`t2s_table`]: callers fetch
/// the table once per text rather than once per char.
fn simplify_with(table: &[char], c: char) -> char {
    let u = c as u32;
    if (T2S_FIRST..=T2S_LAST).contains(&u) {
        table[(u - T2S_FIRST) as usize]
    } else {
        c
    }
}

/// `s` in simplified script, char for char (borrowed when it already is).
pub fn simplified(s: &str) -> std::borrow::Cow<'_, str> {
    let table = t2s_table();
    match s
        .char_indices()
        .find(|&(_, c)| simplify_with(table, c) != c)
    {
        None => std::borrow::Cow::Borrowed(s),
        Some((first, _)) => {
            let mut out = String::with_capacity(s.len());
            out.push_str(&s[..first]);
            out.extend(s[first..].chars().map(|c| simplify_with(table, c)));
            std::borrow::Cow::Owned(out)
        }
    }
}

impl Normalized {
    /// Normalises `original`.
    pub fn new(original: &str) -> Self {
        let mut text = String::with_capacity(original.len());
        let mut chars: Vec<MappedChar> = Vec::with_capacity(original.len() / 2);
        // A whitespace run waiting to learn what follows it: its byte range
        // in the original.
        let mut pending_space: Option<(usize, usize)> = None;
        let mut prev: Option<char> = None;
        let table = t2s_table();
        for (b, orig) in original.char_indices() {
            let end = b + orig.len_utf8();
            if is_invisible(orig) {
                continue;
            }
            let c = normalize_char(simplify_with(table, orig));
            if c.is_whitespace() {
                pending_space = Some(pending_space.map_or((b, end), |(s, _)| (s, end)));
                continue;
            }
            if let Some((s, e)) = pending_space.take()
                && let Some(p) = prev
                && !glues(p)
                && !glues(c)
            {
                chars.push(MappedChar {
                    at: text.len() as u32,
                    orig_start: s as u32,
                    orig_end: e as u32,
                });
                text.push(' ');
            }
            chars.push(MappedChar {
                at: text.len() as u32,
                orig_start: b as u32,
                orig_end: end as u32,
            });
            text.push(c);
            prev = Some(c);
        }
        Self { text, chars }
    }

    /// Number of chars in the normalised text.
    pub fn char_len(&self) -> usize {
        self.chars.len()
    }

    /// Byte offset in the normalised text of normalised char `i` (or the end).
    pub fn byte_at(&self, i: usize) -> usize {
        self.chars.get(i).map_or(self.text.len(), |m| m.at as usize)
    }

    /// The byte range in the original of normalised chars `start..end`
    /// (`start < end`). Whitespace dropped between them is inside the range.
    pub fn original_range(&self, start: usize, end: usize) -> (usize, usize) {
        (
            self.chars[start].orig_start as usize,
            self.chars[end - 1].orig_end as usize,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrap_newlines_and_spaces_between_cjk_are_dropped() {
        let n = Normalized::new("互联网+\n监管，2019 年 6 月，双 随 机");
        assert_eq!(n.text, "互联网+监管,2019年6月,双随机");
    }

    #[test]
    fn spaces_between_ascii_words_are_kept_once() {
        let n = Normalized::new("ＡＰＰ  Login\r\nPage 审批");
        assert_eq!(n.text, "app login page审批");
    }

    #[test]
    fn traditional_becomes_simplified() {
        let n = Normalized::new("推行雙隨機一公開監管，審批服務");
        assert_eq!(n.text, "推行双随机一公开监管,审批服务");
    }

    #[test]
    fn every_char_maps_back_into_the_original() {
        let original = "\u{FEFF}审　批\n服務😀 ok  go";
        let n = Normalized::new(original);
        for i in 0..n.char_len() {
            let (s, e) = n.original_range(i, i + 1);
            assert!(original.is_char_boundary(s) && original.is_char_boundary(e));
            assert!(s < e);
        }
        let (s, e) = n.original_range(0, n.char_len());
        assert_eq!(&original[s..e], "审　批\n服務😀 ok  go");
    }
}
