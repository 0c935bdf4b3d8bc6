//! Helpers about the shape of a line, shared by the rules: its length in
//! chars, its compact (whitespace-free) form, spaced-out prefixes, sentence
//! punctuation, list bullets and Chinese numerals.

pub(super) fn char_len(s: &str) -> usize {
    s.chars().count()
}

/// The chars of `s` that are not whitespace: the "compact" form of a line
/// whose letters may be spaced out ("第 3 页"), without building it.
pub(crate) fn non_space_chars(s: &str) -> impl DoubleEndedIterator<Item = char> + Clone + '_ {
    s.chars().filter(|c| !c.is_whitespace())
}

/// True when the non-whitespace chars of `s` end with `suffix`.
pub(super) fn compact_ends_with(s: &str, suffix: &str) -> bool {
    let mut tail = non_space_chars(s).rev();
    suffix.chars().rev().all(|c| tail.next() == Some(c))
}

/// `s` without a leading `prefix`, where the chars of `s` may be spaced out
/// by ' ' or U+3000 ("索 引 号"): the rest of `s` after the prefix's last
/// char.
pub(super) fn strip_spaced_prefix<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let mut want = prefix.chars().peekable();
    for (i, c) in s.char_indices() {
        let Some(&w) = want.peek() else {
            return Some(&s[i..]);
        };
        if matches!(c, ' ' | '\u{3000}') {
            continue;
        }
        if c != w {
            return None;
        }
        want.next();
    }
    want.peek().is_none().then_some("")
}

pub(super) fn has_sentence_punct(s: &str) -> bool {
    s.chars()
        .any(|c| matches!(c, '。' | '，' | '；' | '！' | '？' | ',' | ';'))
}

/// Strips a leading list bullet (•, ·, ●, ■, -, *) and spaces.
pub(super) fn strip_bullet(s: &str) -> &str {
    s.trim_start_matches(|c: char| {
        matches!(
            c,
            '•' | '·' | '●' | '■' | '◆' | '▪' | '-' | '*' | '>' | '|' | '【' | '['
        ) || c.is_whitespace()
    })
}

pub(super) fn is_cjk_numeral(c: char) -> bool {
    matches!(
        c,
        '一' | '二' | '三' | '四' | '五' | '六' | '七' | '八' | '九' | '十' | '百'
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::role::is_page_number;

    #[test]
    fn spaced_out_lines_match_their_compact_form() {
        assert_eq!(
            strip_spaced_prefix("索 引\u{3000}号： 1", "索引号"),
            Some("： 1")
        );
        assert_eq!(strip_spaced_prefix("索引号", "索引号"), Some(""));
        assert_eq!(strip_spaced_prefix("索引", "索引号"), None);
        assert_eq!(strip_spaced_prefix("索取号", "索引号"), None);
        assert!(compact_ends_with("图片 1. png ", ".png"));
        assert!(!compact_ends_with("png", ".png"));
        assert!(is_page_number(" 第 12 页 "));
        assert!(!is_page_number("第"));
    }
}
