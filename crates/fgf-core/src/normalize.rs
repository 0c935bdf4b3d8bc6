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
//! * zero-width characters and byte-order marks are dropped;
//! * damage from mirror sites and scrapers is undone ([`damage_at`]): inline
//!   pinyin after a character (審(shěn)批 → 审批), HTML entities, also with
//!   the `&` lost (`&ldquo;`, `?ldquo;` → “), and stray tags (`<p>`, `</b>`,
//!   a `/p>` left after a broken character) are dropped or replaced.
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

/// Named entities scrapers leave in text, and what they stand for.
const ENTITIES: &[(&str, char)] = &[
    ("ldquo", '“'),
    ("rdquo", '”'),
    ("lsquo", '‘'),
    ("rsquo", '’'),
    ("nbsp", ' '),
    ("ensp", ' '),
    ("emsp", ' '),
    ("quot", '"'),
    ("amp", '&'),
    ("lt", '<'),
    ("gt", '>'),
    ("middot", '·'),
    ("mdash", '—'),
    ("hellip", '…'),
];

/// Vowels with a tone mark, which tell inline pinyin from other Latin text.
fn is_toned_vowel(c: char) -> bool {
    matches!(
        c,
        'ā' | 'á'
            | 'ǎ'
            | 'à'
            | 'ē'
            | 'é'
            | 'ě'
            | 'è'
            | 'ī'
            | 'í'
            | 'ǐ'
            | 'ì'
            | 'ō'
            | 'ó'
            | 'ǒ'
            | 'ò'
            | 'ū'
            | 'ú'
            | 'ǔ'
            | 'ù'
            | 'ǖ'
            | 'ǘ'
            | 'ǚ'
            | 'ǜ'
    )
}

/// The chars a damaged run can start with (see [`damage_at`]).
const DAMAGE_STARTS: [char; 7] = ['(', '（', '&', '?', '？', '<', '/'];

/// Damage starting at byte `at` of `s` (`prev` is the char before it): the
/// byte length of the damaged run and what it stands for (`None`: nothing).
/// Recognised, all short and all rare in clean text:
///
/// * inline pinyin right after a CJK char: `(wǎng)`, `（fàng guǎn fú）`,
///   lowercase letters and spaces with at least one tone mark;
/// * an entity `&name;` or `&#NNNN;`, or a known name whose `&` became `?`
///   or `？` (`?ldquo;`);
/// * a tag `<p>`, `</p>`, `<br/>`, `<b>`, `<span class="x">` (name of letters,
///   at most 80 bytes), and `/p>` whose `<` was lost.
pub fn damage_at(s: &str, at: usize, prev: Option<char>) -> Option<(usize, Option<char>)> {
    let rest = &s[at..];
    let first = rest.chars().next()?;
    match first {
        '(' | '（' if prev.is_some_and(is_cjk) => {
            let close = if first == '(' { ')' } else { '）' };
            let inner_start = first.len_utf8();
            let mut toned = false;
            for (i, c) in rest[inner_start..].char_indices().take(24) {
                if c == close || (c == ')' || c == '）') {
                    return (toned && i > 0).then_some((inner_start + i + c.len_utf8(), None));
                }
                if is_toned_vowel(c) {
                    toned = true;
                } else if !(c.is_ascii_lowercase() || c == ' ' || c == 'ü') {
                    return None;
                }
            }
            None
        }
        '&' | '?' | '？' => {
            let body = &rest[first.len_utf8()..];
            let end = body.char_indices().take(9).find(|&(_, c)| c == ';')?.0;
            let name = &body[..end];
            let len = first.len_utf8() + end + 1;
            if let Some(&(_, c)) = ENTITIES.iter().find(|(n, _)| *n == name) {
                return Some((len, Some(c)));
            }
            if first == '&' {
                let code = name.strip_prefix('#')?;
                let value = match code.strip_prefix(['x', 'X']) {
                    Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                    None => code.parse().ok()?,
                };
                return Some((
                    len,
                    Some(char::from_u32(value).filter(|c| !c.is_control())?),
                ));
            }
            None
        }
        '<' | '/' => {
            let body = rest.strip_prefix('<').unwrap_or(rest);
            // "/p>" counts only right after a CJK char (its "<" was lost
            // with the char's last byte); elsewhere it is a path or a URL.
            if first == '/' && !(body.starts_with('/') && prev.is_some_and(is_cjk)) {
                return None;
            }
            let body = body.strip_prefix('/').unwrap_or(body);
            let name_len = body
                .bytes()
                .take_while(|b| b.is_ascii_alphanumeric())
                .count();
            if name_len == 0 || !body.as_bytes()[0].is_ascii_alphabetic() {
                return None;
            }
            let close = body[name_len..].bytes().take(80).position(|b| b == b'>')?;
            let attrs = &body[name_len..name_len + close];
            if !(attrs.is_empty() || attrs.starts_with([' ', '/'])) || attrs.contains('<') {
                return None;
            }
            // "/p>" with its "<" lost: only a closing tag of a few letters.
            if first == '/' && (name_len > 5 || !attrs.is_empty()) {
                return None;
            }
            Some((rest.len() - body.len() + name_len + close + 1, None))
        }
        _ => None,
    }
}

/// A CJK ideograph: the unified block, extension A, and the supplementary
/// planes' extensions. The role rules use the same test.
pub(crate) fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{20000}'..='\u{2FFFF}')
}

/// `s` with the damage [`damage_at`] recognises undone (borrowed when there
/// is none): what the role rules read.
pub fn without_damage(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains(DAMAGE_STARTS) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::new();
    let mut copied = 0;
    let mut prev = None;
    let mut skip_to = 0;
    for (b, c) in s.char_indices() {
        if b < skip_to {
            continue;
        }
        if let Some((len, replacement)) = DAMAGE_STARTS
            .contains(&c)
            .then(|| damage_at(s, b, prev))
            .flatten()
        {
            out.push_str(&s[copied..b]);
            if let Some(r) = replacement {
                out.push(r);
            }
            skip_to = b + len;
            copied = skip_to;
            continue;
        }
        prev = Some(c);
    }
    if copied == 0 {
        return std::borrow::Cow::Borrowed(s);
    }
    out.push_str(&s[copied..]);
    std::borrow::Cow::Owned(out)
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
        // The end of a damaged run being skipped, and the char before it in
        // the original (what inline pinyin follows).
        let mut skip_to = 0;
        let mut prev_orig: Option<char> = None;
        for (b, orig) in original.char_indices() {
            if b < skip_to {
                continue;
            }
            let mut end = b + orig.len_utf8();
            if is_invisible(orig) {
                continue;
            }
            let mut orig = orig;
            if DAMAGE_STARTS.contains(&orig)
                && let Some((len, replacement)) = damage_at(original, b, prev_orig)
            {
                skip_to = b + len;
                match replacement {
                    None => continue,
                    Some(r) => {
                        orig = r;
                        end = skip_to;
                    }
                }
            }
            prev_orig = Some(orig);
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
    fn inline_pinyin_entities_and_tags_are_undone() {
        let n = Normalized::new("簡(jiǎn)化審(shěn)批流程");
        assert_eq!(n.text, "简化审批流程");
        let n = Normalized::new("<p>推行&ldquo;一网通办?rdquo;，服务到家/p>");
        assert_eq!(n.text, "推行“一网通办”,服务到家");
        let n = Normalized::new("放管服（fàng guǎn fú）改革&#12288;网站");
        assert_eq!(n.text, "放管服改革网站");
        // Clean text is left alone: Latin in brackets, a question mark, a path.
        let n = Normalized::new("政务服务(app)上线?请登录 a/b>");
        assert_eq!(n.text, "政务服务(app)上线?请登录a/b>");
        assert_eq!(without_damage("證(zhèng)照辦理</p>"), "證照辦理");
    }

    #[test]
    fn a_replaced_entity_maps_back_to_the_whole_entity() {
        let original = "推行&ldquo;双随机";
        let n = Normalized::new(original);
        let i = n.text.chars().position(|c| c == '“').unwrap();
        let (s, e) = n.original_range(i, i + 1);
        assert_eq!(&original[s..e], "&ldquo;");
        let (s, e) = n.original_range(i + 1, n.char_len());
        assert_eq!(&original[s..e], "双随机");
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
