//! What makes a heading: a numbering marker (一、 / （三） / 1. / 第二章)
//! before a short title, a lead-in ending in a colon, a question subhead, a
//! document's title, or a short line without sentence punctuation; and what
//! does not, though it looks alike (articles such as 第四条, table rows,
//! numbered sentences).

use super::text::{has_sentence_punct, is_cjk_numeral};

/// 一、 / （三） / (3) / 1. / 1、 / 第二章 / 第一部分
pub(crate) fn starts_with_heading_marker(p: &str) -> bool {
    let chars: Vec<char> = p.chars().take(8).collect();
    let numerals = chars.iter().take_while(|c| is_cjk_numeral(**c)).count();
    if numerals > 0 && matches!(chars.get(numerals), Some('、' | '，' | '.' | '．')) {
        return true;
    }
    if matches!(chars.first(), Some('（' | '(')) {
        let inner = chars[1..]
            .iter()
            .take_while(|c| is_cjk_numeral(**c) || c.is_ascii_digit())
            .count();
        if inner > 0 && matches!(chars.get(1 + inner), Some('）' | ')')) {
            return true;
        }
    }
    let digits = chars
        .iter()
        .take_while(|c| c.is_ascii_digit() || matches!(c, '０'..='９'))
        .count();
    if digits > 0
        && digits <= 2
        && matches!(chars.get(digits), Some('.' | '、' | '．'))
        && !chars.get(digits + 1).is_some_and(|c| c.is_ascii_digit())
    {
        return true;
    }
    if chars.first() == Some(&'第') {
        let n = chars[1..]
            .iter()
            .take_while(|c| is_cjk_numeral(**c))
            .count();
        if n > 0 && matches!(chars.get(1 + n), Some('章' | '节' | '部' | '条' | '篇')) {
            return true;
        }
    }
    false
}

pub(super) fn is_heading(p: &str, len: usize) -> bool {
    // A table row ("3 | 推行告知承诺制 | 市司法局 | 2023年底") is body: it
    // carries its task, whatever number it starts with.
    if p.chars().filter(|c| matches!(c, '|' | '｜')).count() >= 2 {
        return false;
    }
    if is_article(p) {
        return false;
    }
    if starts_with_heading_marker(p) {
        // A marker followed by a whole paragraph is body text that starts
        // with its section number; a heading has at most a final stop.
        let inner = p.trim_end_matches(['。', '；', ';', '：', ':']);
        // "（二）…，…。" over 30 chars is a numbered sentence, not a title.
        let sentence = len > 30 && p.ends_with('。') && inner.contains(['，', ',']);
        return len <= 60 && !inner.contains(['。', '；', '！', '？']) && !sentence;
    }
    let inner = p.trim_end_matches(['：', ':', '？', '?']);
    // A lead-in ("主要做法：", "企业开办“一件事”：") or a question subhead
    // of an explainer ("什么是公平竞争审查？"): short, one phrase.
    if len <= 30 && p.ends_with(['：', ':', '？', '?']) && !has_sentence_punct(inner) {
        return inner.chars().any(crate::normalize::is_cjk);
    }
    // A document's title, which can be long: "关于印发《……办法（试行）》的通知".
    if len <= 100 && is_document_title(p) {
        return true;
    }
    // Title lines: short, no sentence punctuation.
    len <= 40
        && !has_sentence_punct(p)
        && !p.ends_with(['：', ':'])
        && p.chars().any(crate::normalize::is_cjk)
}

/// Kinds of official documents a title ends with.
const DOCUMENT_KINDS: &[&str] = &[
    "通知", "意见", "方案", "办法", "决定", "批复", "报告", "规定", "细则", "要点", "规划", "计划",
    "函", "答复", "公告", "通报",
];

/// "……关于……的通知": a title naming its document kind, with no sentence
/// punctuation outside the brackets of a quoted title.
fn is_document_title(p: &str) -> bool {
    let t = p
        .trim_end_matches(['）', ')'])
        .trim_end_matches("（试行")
        .trim_end_matches("(试行")
        .trim_end_matches("（暂行")
        .trim_end_matches(['》', '”']);
    p.contains("关于")
        && DOCUMENT_KINDS.iter().any(|k| t.ends_with(k))
        && !p.contains(['。', '；', '！', '？', '，', ','])
}

/// An article of a regulation or rule ("第四条 ……"): a provision, so body
/// text, unlike "第二章" or "第三节" which head a part.
fn is_article(p: &str) -> bool {
    let mut chars = p.chars();
    chars.next() == Some('第') && {
        let rest: Vec<char> = chars.take(8).collect();
        let n = rest
            .iter()
            .take_while(|c| is_cjk_numeral(**c) || **c == '零')
            .count();
        n > 0 && rest.get(n) == Some(&'条')
    }
}

#[cfg(test)]
mod tests {
    use crate::role::{Role, classify};

    #[test]
    fn headings() {
        for p in [
            "一、持续深化行政审批制度改革",
            "（三）推进“双随机、一公开”监管",
            "(2)优化营商环境",
            "3.完善信用体系",
            "第二部分 主要任务",
            "关于推进政务服务标准化的实施方案",
            "下一步工作打算",
            "主要做法：",
            "什么是“证照分离”改革？",
        ] {
            assert_eq!(classify(p), Role::Heading, "{p}");
        }
    }
}
