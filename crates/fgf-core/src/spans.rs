//! Splitting a document into paragraph and sentence spans.
//!
//! This module owns offsets. Every [`TextSpan`] it returns points into the
//! original text by UTF-8 byte offsets and by Unicode scalar (char) offsets,
//! and `&text[span.start..span.end]` is always the span's text: nothing here
//! copies or rewrites the input.
//!
//! * Lines are split on `\n`, `\r\n` or a lone `\r` and trimmed of
//!   whitespace (ASCII, U+3000 ideographic space, NBSP and the other Unicode
//!   spaces) and of zero-width characters.
//! * Paragraphs ([`paragraphs_with`], [`LineMode::Reflow`]) are runs of
//!   lines joined back together when the document is hard-wrapped (text
//!   copied out of a PDF or a Word export): see [`reflow`]. With
//!   [`LineMode::Lines`], every non-empty line is a paragraph.
//! * Sentences end at 。！？；!?; (with any closing quotes or brackets that
//!   follow), and a new sentence starts before an enumeration such as 一是 /
//!   二是 when it follows a clause break. Nothing splits inside “quotes”,
//!   「corner quotes」 or 《book titles》.

/// A half-open range of the original text, in bytes and in chars.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextSpan {
    /// UTF-8 byte offset of the first byte.
    pub start: usize,
    /// UTF-8 byte offset one past the last byte.
    pub end: usize,
    /// Char offset of the first char.
    pub char_start: usize,
    /// Char offset one past the last char.
    pub char_end: usize,
}

impl TextSpan {
    /// The span's text inside `text`, the string it was cut from.
    pub fn slice<'a>(&self, text: &'a str) -> &'a str {
        &text[self.start..self.end]
    }

    /// Number of chars in the span.
    pub fn char_len(&self) -> usize {
        self.char_end - self.char_start
    }

    /// Extends the span to the end of `later`, a span after it.
    fn extend_to(&mut self, later: TextSpan) {
        self.end = later.end;
        self.char_end = later.char_end;
    }
}

/// Characters trimmed from both ends of paragraphs and sentences.
pub fn is_trim_char(c: char) -> bool {
    c.is_whitespace() || matches!(c, '\u{200B}' | '\u{200C}' | '\u{200D}' | '\u{FEFF}')
}

/// How lines become paragraphs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LineMode {
    /// Join the lines of hard-wrapped text back into paragraphs.
    #[default]
    Reflow,
    /// Every non-empty line is a paragraph: for callers who already send
    /// one paragraph per line.
    Lines,
}

/// Paragraph spans of `text` under `mode`.
pub fn paragraphs_with(text: &str, mode: LineMode) -> Vec<TextSpan> {
    match mode {
        LineMode::Lines => paragraphs(text),
        LineMode::Reflow => reflow(text),
    }
}

/// Splits `text` into its non-empty, trimmed lines.
pub fn paragraphs(text: &str) -> Vec<TextSpan> {
    lines(text).into_iter().filter_map(|l| l.span).collect()
}

/// One line of the document.
#[derive(Debug, Clone, Copy)]
struct Line {
    /// The trimmed line, or `None` for a blank line.
    span: Option<TextSpan>,
    /// Display width of leading whitespace (a paragraph indent).
    indent: usize,
    /// Display width of the trimmed text.
    width: usize,
}

/// Every line of `text`, blank ones included.
fn lines(text: &str) -> Vec<Line> {
    let mut out = Vec::new();
    let bytes = text.as_bytes();
    let mut line_start = 0usize;
    let mut line_char_start = 0usize;
    for i in memchr::memchr2_iter(b'\n', b'\r', bytes) {
        if i < line_start {
            // The '\n' of a "\r\n" already ended its line.
            continue;
        }
        out.push(make_line(text, line_start, i, line_char_start));
        let mut next = i + 1;
        if bytes[i] == b'\r' && bytes.get(next) == Some(&b'\n') {
            next += 1;
        }
        // The line's chars and its terminator's.
        line_char_start += text[line_start..next].chars().count();
        line_start = next;
    }
    out.push(make_line(text, line_start, bytes.len(), line_char_start));
    out
}

fn make_line(text: &str, start: usize, end: usize, char_start: usize) -> Line {
    let span = trim_span(text, start, end, char_start);
    let indent = span.map_or(0, |s| display_width(&text[start..s.start]));
    let width = span.map_or(0, |s| display_width(s.slice(text)));
    Line {
        span,
        indent,
        width,
    }
}

/// Width of a char on a page: CJK and other wide chars 2, ASCII 1, a tab
/// 4, zero-width chars 0.
pub fn char_width(c: char) -> usize {
    match c {
        '\t' => 4,
        c if c.is_ascii() => 1,
        '\u{200B}'..='\u{200D}' | '\u{FEFF}' => 0,
        _ => 2,
    }
}

/// Width of a line on a page ([`char_width`] summed).
fn display_width(s: &str) -> usize {
    s.chars().map(char_width).sum()
}

/// Lines up to this many chars that come back in a document may be running
/// headers or footers (page furniture); longer ones never are.
pub const SHORT_LINE_CHARS: usize = 40;

/// Page numbers (- 3 -, 第3页, 3/12) and running headers (a short line
/// repeated in the document): never part of a paragraph.
fn is_page_furniture(line: &str, repeats: usize) -> bool {
    if repeats >= 2 && line.chars().count() <= SHORT_LINE_CHARS {
        return true;
    }
    is_page_number_line(line)
}

/// A page number on its own line: "- 3 -", "第3页", "3/12", "Page 3".
pub(crate) fn is_page_number_line(line: &str) -> bool {
    use crate::role::non_space_chars;
    // The rules are for short lines only; most lines are long.
    let compact_len = non_space_chars(line).take(15).count();
    if compact_len > 14 {
        return false;
    }
    let no_cjk =
        || !non_space_chars(line).any(|c| c as u32 >= 0x3400 && !matches!(c, '—' | '－' | '／'));
    // "100%。" ends a wrapped sentence: Chinese punctuation is not a page
    // number's.
    let cjk_punctuation = || {
        non_space_chars(line)
            .any(|c| matches!(c, '\u{3001}'..='\u{3002}' | '\u{FF0C}' | '\u{FF1B}'))
    };
    crate::role::is_page_number(line)
        || (compact_len <= 12
            && non_space_chars(line).any(|c| c.is_ascii_digit() || matches!(c, '０'..='９'))
            && no_cjk()
            && !cjk_punctuation())
}

/// Starts a new block whatever the line before it: a section number, a
/// bullet, an article number.
fn starts_block(line: &str) -> bool {
    crate::role::starts_with_heading_marker(line)
        || line.starts_with(['●', '■', '◆', '★', '▲', '□', '○', '•', '◇', '※'])
        || ["附件", "抄送", "联系人", "主题词", "关键词"]
            .iter()
            .any(|p| line.starts_with(p))
        // "印发：" and "印发日期" start a field; "印发给你们" may be the
        // second half of a wrapped sentence.
        || line.strip_prefix("印发").is_some_and(|rest| {
            rest.starts_with(['：', ':', ' ', '　']) || ["日期", "机关", "单位"].iter().any(|p| rest.starts_with(p))
        })
}

/// A line scraped with its markup ending in a closing block tag (`</p>`,
/// `</div>`, `<br>`, or `/p>` whose `<` was lost): the paragraph ends there.
fn ends_with_block_tag(line: &str) -> bool {
    let t = line.trim_end().as_bytes();
    [
        "/p>", "/div>", "<br>", "<br/>", "<br />", "/li>", "/td>", "/h1>", "/h2>", "/h3>", "/h4>",
    ]
    .iter()
    .any(|tag| {
        t.len() >= tag.len() && t[t.len() - tag.len()..].eq_ignore_ascii_case(tag.as_bytes())
    })
}

fn ends_sentence(line: &str) -> bool {
    line.trim_end_matches(is_closing_mark)
        .ends_with(['。', '！', '？', '；', '!', '?', ';', '：', ':'])
}

/// The wrap width of a hard-wrapped document: the display width that the
/// most lines reach (within a small slack), if enough lines do.
fn wrap_width(widths: &[usize]) -> Option<usize> {
    let candidates: Vec<usize> = widths.iter().copied().filter(|&w| w >= 16).collect();
    if candidates.len() < 2 {
        return None;
    }
    let mut best: Option<(usize, usize)> = None; // (count, width)
    let mut sorted = candidates.clone();
    sorted.sort_unstable();
    sorted.dedup();
    for &w in &sorted {
        let slack = wrap_slack(w);
        let count = candidates
            .iter()
            .filter(|&&x| x + slack >= w && x <= w)
            .count();
        if best.is_none_or(|(c, bw)| count > c || (count == c && w > bw)) {
            best = Some((count, w));
        }
    }
    let (count, w) = best?;
    // At least three in ten lines of the document reach it, and at least
    // three lines, or two when no line is longer (a short wrapped text).
    let longest = widths.iter().copied().max().unwrap_or(0);
    let enough = count >= 3 || (count == 2 && longest <= w + wrap_slack(w));
    // Wrapped text has few lines wider than its wrap width (an unwrapped
    // URL or table row). When as many lines are wider as reach it, the
    // lines that reach it are something else: short headings of one width
    // ("一、深化审批制度改革") above long unwrapped paragraphs.
    let wider = widths.iter().filter(|&&x| x > w + wrap_slack(w)).count();
    (enough && count * 10 >= widths.len() * 3 && wider * 2 < count && w <= 200).then_some(w)
}

/// How far short of the wrap width a wrapped line may end (a wide char
/// that did not fit, justification, a long ASCII word moved down).
fn wrap_slack(w: usize) -> usize {
    (w / 8).max(4)
}

/// Paragraphs of possibly hard-wrapped text.
///
/// A document is hard-wrapped when many of its lines reach the same display
/// width. In such a document a line that reaches that width continues onto
/// the next line, unless the next line starts a block (一、, （二）, 3., a
/// bullet), is indented when the document marks paragraphs by indent, or is
/// page furniture. A line that ends a sentence, or is followed by a line the
/// role rules call boilerplate (a contact line, a metadata field) that ends
/// no sentence, must reach the last two columns to continue: a paragraph's last line rarely
/// does. A line that ends a sentence never continues into boilerplate (a
/// date, a signature). Blank lines always separate paragraphs. Text that
/// is not hard-wrapped keeps one paragraph per line.
///
/// A page break (a form feed, as in text taken from a PDF) does not end a
/// paragraph whose last line runs on to the wrap width without ending a
/// sentence when the next page's first line does not start one: the
/// paragraph then spans the footer, the form feed and the next page's
/// header, which become part of it rather than spans of their own.
pub fn reflow(text: &str) -> Vec<TextSpan> {
    let all = lines(text);
    let content: Vec<&Line> = all.iter().filter(|l| l.span.is_some()).collect();
    let mut repeats: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for l in &content {
        if let Some(s) = l.span
            && s.char_len() <= SHORT_LINE_CHARS
        {
            *repeats.entry(s.slice(text)).or_default() += 1;
        }
    }
    // Page furniture, once per line.
    let furniture: Vec<bool> = all
        .iter()
        .map(|l| {
            l.span.is_some_and(|s| {
                let t = s.slice(text);
                is_page_furniture(t, repeats.get(t).copied().unwrap_or(0))
            })
        })
        .collect();
    let widths: Vec<usize> = all
        .iter()
        .zip(&furniture)
        .filter(|(l, f)| l.span.is_some() && !**f)
        .map(|(l, _)| l.indent + l.width)
        .collect();
    // None: not hard-wrapped, one paragraph per line (but across a page
    // break).
    let w = wrap_width(&widths);
    let indented = content.iter().filter(|l| l.indent >= 2).count();
    let uses_indent = indented > 0 && indented * 2 < content.len();

    let mut out: Vec<TextSpan> = Vec::new();
    // The paragraph so far, its last line, and whether that is furniture.
    let mut open: Option<(TextSpan, Line, bool)> = None;
    let mut i = 0;
    while i < all.len() {
        let (line, is_furniture) = (&all[i], furniture[i]);
        i += 1;
        if (is_furniture || line.span.is_none())
            && let Some((p, last, false)) = open.as_mut()
            && let Some(next) = continues_after_page_break(text, &all, &furniture, i - 1, last, w)
        {
            p.extend_to(all[next].span.expect("a content line"));
            *last = all[next];
            i = next + 1;
            continue;
        }
        let Some(span) = line.span else {
            if let Some((p, _, _)) = open.take() {
                out.push(p);
            }
            continue;
        };
        let joins = match (&open, w) {
            (Some((_, prev, prev_furniture)), Some(w)) if !is_furniture && !prev_furniture => {
                let slack = wrap_slack(w);
                let prev_text = prev.span.map_or("", |s| s.slice(text));
                let next_text = span.slice(text);
                let reach = prev.indent + prev.width;
                if reach < w.saturating_sub(slack) || reach > w + slack {
                    // Short of the wrap width (or an unwrapped long line).
                    false
                } else {
                    let next_is_boilerplate =
                        crate::role::classify(next_text) == crate::role::Role::Boilerplate;
                    // A line that ends a sentence continues only when it
                    // fills the line to the last column or two: a
                    // paragraph's last line rarely does.
                    let ends = ends_sentence(prev_text);
                    // A short line that ends a sentence ("100%。") is the
                    // tail of one more often than a field or a signature.
                    let next_is_field = next_is_boilerplate && !ends_sentence(next_text);
                    let need = if ends || next_is_field {
                        w.saturating_sub(2)
                    } else {
                        w.saturating_sub(slack)
                    };
                    let starts_paragraph = starts_block(next_text)
                        || (uses_indent && line.indent >= 2)
                        || (ends && next_is_boilerplate)
                        || ends_with_block_tag(prev_text);
                    reach >= need && !starts_paragraph
                }
            }
            _ => false,
        };
        if joins {
            if let Some((p, last, _)) = open.as_mut() {
                p.extend_to(span);
                *last = *line;
            }
        } else {
            if let Some((p, _, _)) = open.take() {
                out.push(p);
            }
            open = Some((span, *line, is_furniture));
        }
    }
    if let Some((p, _, _)) = open {
        out.push(p);
    }
    out
}

/// The line a paragraph whose last line is `last` continues on across a
/// page break at `all[at]`: the first content line after the blank and
/// furniture lines from `at`, when a form feed lies between, `last` runs
/// on (ends no sentence and reaches the wrap width `w`; in text that is
/// not hard-wrapped, holds 20 chars or more: not a heading) and that line
/// starts no paragraph (no block marker, no indent).
fn continues_after_page_break(
    text: &str,
    all: &[Line],
    furniture: &[bool],
    at: usize,
    last: &Line,
    w: Option<usize>,
) -> Option<usize> {
    let last_span = last.span?;
    let reach = last.indent + last.width;
    let runs_on = match w {
        Some(w) => reach + wrap_slack(w) >= w && reach <= w + wrap_slack(w),
        None => last.width >= 40,
    };
    if !runs_on {
        return None;
    }
    if ends_sentence(last_span.slice(text)) {
        return None;
    }
    let next = (at..all.len()).find(|&k| all[k].span.is_some() && !furniture[k])?;
    let span = all[next].span?;
    let between = &text[last_span.end..span.start];
    (between.contains('\u{c}') && all[next].indent < 2 && !starts_block(span.slice(text)))
        .then_some(next)
}

/// The trimmed sub-span of `text[start..end]`, or `None` when only trim
/// characters are there.
fn trim_span(text: &str, start: usize, end: usize, char_start: usize) -> Option<TextSpan> {
    let line = &text[start..end];
    let mut lead_chars = 0usize;
    let mut lead_bytes = 0usize;
    for c in line.chars() {
        if !is_trim_char(c) {
            break;
        }
        lead_chars += 1;
        lead_bytes += c.len_utf8();
    }
    if lead_bytes == line.len() {
        return None;
    }
    let rest = &line[lead_bytes..];
    let trimmed = rest.trim_end_matches(is_trim_char);
    let s = start + lead_bytes;
    let c = char_start + lead_chars;
    Some(TextSpan {
        start: s,
        end: s + trimmed.len(),
        char_start: c,
        char_end: c + trimmed.chars().count(),
    })
}

/// Chars that end a sentence.
fn is_sentence_end(c: char) -> bool {
    matches!(c, '。' | '！' | '？' | '；' | '!' | '?' | ';')
}

/// Closing marks that stay with the sentence they close.
fn is_closing_mark(c: char) -> bool {
    matches!(
        c,
        '”' | '’' | '」' | '』' | '》' | '）' | ')' | '】' | '"' | '\''
    )
}

/// Chars after which an enumeration (一是, 二是...) starts a new sentence.
fn is_clause_break(c: char) -> bool {
    matches!(c, '，' | ',' | '：' | ':' | '、') || is_sentence_end(c) || is_trim_char(c)
}

fn is_cjk_numeral(c: char) -> bool {
    matches!(
        c,
        '一' | '二' | '三' | '四' | '五' | '六' | '七' | '八' | '九' | '十'
    )
}

/// Splits the paragraph `para` (a span of `text`) into sentence spans.
pub fn sentences(text: &str, para: TextSpan) -> Vec<TextSpan> {
    let body = para.slice(text);
    let chars: Vec<(usize, char)> = body.char_indices().collect();
    let mut cuts: Vec<usize> = Vec::new(); // char indices where a new sentence begins
    let mut quote_depth = 0usize; // “ ” 「 」 『 』
    let mut title_depth = 0usize; // 《 》
    let mut ascii_quote_open = false;
    let mut i = 0usize;
    while i < chars.len() {
        let c = chars[i].1;
        match c {
            '“' | '「' | '『' => quote_depth += 1,
            '”' | '」' | '』' => quote_depth = quote_depth.saturating_sub(1),
            '《' => title_depth += 1,
            '》' => title_depth = title_depth.saturating_sub(1),
            '"' => ascii_quote_open = !ascii_quote_open,
            _ => {}
        }
        let protected = quote_depth > 0 || title_depth > 0 || ascii_quote_open;
        if !protected && is_sentence_end(c) {
            let mut j = i + 1;
            while j < chars.len() && (is_sentence_end(chars[j].1) || is_closing_mark(chars[j].1)) {
                if matches!(chars[j].1, '”' | '」' | '』') {
                    quote_depth = quote_depth.saturating_sub(1);
                }
                j += 1;
            }
            if j < chars.len() {
                cuts.push(j);
            }
            i = j;
            continue;
        }
        // 一是 / 二是 / 十一是 after a clause break starts a new sentence.
        if !protected && i > 0 && is_cjk_numeral(c) && is_clause_break(chars[i - 1].1) {
            let mut j = i;
            while j < chars.len() && is_cjk_numeral(chars[j].1) {
                j += 1;
            }
            if j < chars.len() && chars[j].1 == '是' && !is_sentence_end(chars[i - 1].1) {
                cuts.push(i);
            }
        }
        i += 1;
    }
    cuts.dedup();

    let mut out = Vec::with_capacity(cuts.len() + 1);
    let mut begin = 0usize;
    for cut in cuts.into_iter().chain(std::iter::once(chars.len())) {
        if cut <= begin {
            continue;
        }
        let b_start = para.start + chars[begin].0;
        let b_end = para.start + chars.get(cut).map_or(body.len(), |&(b, _)| b);
        if let Some(span) = trim_span(text, b_start, b_end, para.char_start + begin) {
            out.push(span);
        }
        begin = cut;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts<'a>(text: &'a str, spans: &[TextSpan]) -> Vec<&'a str> {
        spans.iter().map(|s| s.slice(text)).collect()
    }

    fn assert_offsets(text: &str, spans: &[TextSpan]) {
        for s in spans {
            assert!(text.is_char_boundary(s.start) && text.is_char_boundary(s.end));
            assert_eq!(text[..s.start].chars().count(), s.char_start);
            assert_eq!(text[..s.end].chars().count(), s.char_end);
        }
    }

    #[test]
    fn crlf_lone_cr_and_lf_all_split_lines() {
        let text = "第一段\r\n第二段\r第三段\n\n第四段";
        let p = paragraphs(text);
        assert_eq!(texts(text, &p), ["第一段", "第二段", "第三段", "第四段"]);
        assert_offsets(text, &p);
    }

    #[test]
    fn full_width_space_and_nbsp_are_trimmed() {
        let text = "\u{3000}\u{3000}一、深化改革\u{a0} \n  \u{3000}\n\t正文内容。\u{3000}";
        let p = paragraphs(text);
        assert_eq!(texts(text, &p), ["一、深化改革", "正文内容。"]);
        assert_offsets(text, &p);
    }

    #[test]
    fn emoji_and_four_byte_chars_keep_offsets() {
        let text = "😀开头𠀀字\n🇨🇳 国旗 𝄞";
        let p = paragraphs(text);
        assert_eq!(texts(text, &p), ["😀开头𠀀字", "🇨🇳 国旗 𝄞"]);
        assert_offsets(text, &p);
        assert_eq!(p[1].char_start, 6);
    }

    #[test]
    fn ascii_only_and_no_newline() {
        let text = "  plain ascii text without newline  ";
        let p = paragraphs(text);
        assert_eq!(texts(text, &p), ["plain ascii text without newline"]);
        assert_offsets(text, &p);
    }

    #[test]
    fn ten_thousand_empty_lines_give_no_paragraphs() {
        let text = "\n".repeat(10_000) + "最后一行" + &"\r\n".repeat(10_000);
        let p = paragraphs(&text);
        assert_eq!(texts(&text, &p), ["最后一行"]);
        assert_offsets(&text, &p);
        assert!(paragraphs(&"\n \r\n\u{3000}".repeat(10_000)).is_empty());
    }

    #[test]
    fn short_headings_of_one_width_above_long_lines_are_not_a_wrap_width() {
        // Four headings of ten chars and a signature of the same width, each
        // above (or below) a long unwrapped paragraph: not hard-wrapped.
        let body = "全面推行企业投资项目承诺制，对标准地出让项目实行先建后验，审批时限压缩至三十个工作日以内。";
        let text = format!(
            "一、深化审批制度改革\n{body}\n二、加强事中事后监管\n{body}\n\
             三、提升政务服务水平\n{body}\n四、优化营商法治环境\n{body}\n南岭县人民政府办公室\n"
        );
        let spans = reflow(&text);
        assert_offsets(&text, &spans);
        assert_eq!(spans.len(), 9, "{:?}", texts(&text, &spans));
        assert_eq!(texts(&text, &spans)[0], "一、深化审批制度改革");
    }

    #[test]
    fn a_closing_tag_left_by_a_scraper_ends_the_paragraph() {
        // Wrapped at 42 columns; the heading fills its line but ends in </p>.
        let text = "县行政审批局会同行业主管部门梳理涉企经营许\n\
                    可事项，逐项明确审批改革方式和加强监管措\n\
                    施。\n\
                    二、完善证照分离配套制度，压实审管衔接</p>\n\
                    各乡镇便民服务中心要对照事项清单调整窗口设\n\
                    置，合理配备综合受理人员，确保按期完成。";
        let p = reflow(text);
        assert_eq!(p.len(), 3, "{:?}", texts(text, &p));
        assert!(p[1].slice(text).ends_with("</p>"));
    }

    #[test]
    fn empty_text() {
        assert!(paragraphs("").is_empty());
    }

    #[test]
    fn sentences_split_on_end_marks_and_keep_closing_quotes() {
        let text = "前言\n推进改革。他说：“要快！”随后落实；效果好?是的";
        let p = paragraphs(text);
        let s = sentences(text, p[1]);
        assert_eq!(
            texts(text, &s),
            ["推进改革。", "他说：“要快！”随后落实；", "效果好?", "是的"]
        );
        assert_offsets(text, &s);
    }

    #[test]
    fn sentences_do_not_break_inside_book_titles() {
        let text = "印发《关于深化改革的意见。修订版》并实施。下一步继续。";
        let s = sentences(text, paragraphs(text)[0]);
        assert_eq!(
            texts(text, &s),
            ["印发《关于深化改革的意见。修订版》并实施。", "下一步继续。"]
        );
    }

    #[test]
    fn enumerations_start_new_sentences() {
        let text = "主要做法：一是精简材料，二是压缩时限；三是推行网办。之一是关键";
        let s = sentences(text, paragraphs(text)[0]);
        assert_eq!(
            texts(text, &s),
            [
                "主要做法：",
                "一是精简材料，",
                "二是压缩时限；",
                "三是推行网办。",
                "之一是关键"
            ]
        );
        assert_offsets(text, &s);
    }

    #[test]
    fn a_wrapped_line_starting_with_yinfa_continues_its_sentence() {
        // Two lines of 20 columns, the break before "印发给你们".
        let text = "《城东区工程审批方案》已经区政府同意，现\n印发给你们，请认真贯彻。\n抄送：区委办公室，区人大办\n印发：二〇二六年三月一日，共印十份。";
        let got: Vec<&str> = reflow(text).iter().map(|s| s.slice(text)).collect();
        assert_eq!(
            got[0],
            "《城东区工程审批方案》已经区政府同意，现\n印发给你们，请认真贯彻。"
        );
        assert!(starts_block("印发：二〇二六年三月一日"));
        assert!(starts_block("印发日期：2026年3月1日"));
        assert!(!starts_block("印发给你们，请认真贯彻。"));
    }

    #[test]
    fn a_paragraph_runs_on_across_a_page_break() {
        // Lines of 20 columns; page 1 ends mid-sentence, page 2 starts
        // with the rest after its running header.
        let text = "　　县政务服务中心设立综合窗口，实行收件\n与审核分开、材料在网上流转、证照邮寄，\n\n- 1 -\n\u{c}城南县人民政府公报\n材料一次提交，结果统一送达。\n　　下一步，我们将继续深化改革，不断提升\n服务质量和办事效率，持续优化营商环境。\n\n- 2 -\n\u{c}城南县人民政府公报\n";
        let got: Vec<&str> = reflow(text).iter().map(|s| s.slice(text)).collect();
        assert_eq!(got.len(), 4, "{got:?}");
        assert!(
            got[0].starts_with("县政务服务中心") && got[0].ends_with("结果统一送达。"),
            "{got:?}"
        );
        assert!(got[1].starts_with("下一步"), "{got:?}");
        // A paragraph that ends at the foot of a page keeps its page number
        // and header as spans of their own.
        assert_eq!(&got[2..], ["- 2 -", "城南县人民政府公报"]);
        // Without the form feed it is not a page break.
        let plain = text.replace('\u{c}', "");
        assert!(reflow(&plain).iter().any(|s| s.slice(&plain) == "- 1 -"));
    }

    #[test]
    fn a_number_ending_a_wrapped_sentence_is_not_a_page_number() {
        assert!(!is_page_number_line("100%。"));
        assert!(!is_page_number_line("3.5亿元，"));
        assert!(is_page_number_line("- 3 -"));
        assert!(is_page_number_line("3/12"));
    }

    #[test]
    fn the_tail_of_a_sentence_wrapped_onto_a_line_of_its_own_joins_it() {
        // Proportional layout: full lines are 38-40 columns, the one
        // before the tail 36; "100%。" alone is what the role rules call
        // boilerplate, but it ends the sentence.
        let text = "全面推行一件事一次办，上线集成服务事项\n32个，便民热线受理诉求4.1万件，按时办结率达\n99.2%，群众满意率96.7%，差评件整改率达\n100%。\n（四）存在的问题\n";
        let got: Vec<&str> = reflow(text).iter().map(|s| s.slice(text)).collect();
        assert_eq!(got.len(), 2, "{got:?}");
        assert!(got[0].ends_with("100%。"), "{got:?}");
    }

    #[test]
    fn a_paragraph_per_line_runs_on_across_a_page_break_too() {
        // A PDF's text with one line per paragraph: no wrap width.
        let text = "　　县政务服务中心设立综合窗口，实行收件与审核分开、材料在网上流转、证照邮寄，申请\n\n- 1 -\n\u{c}城南县人民政府公报\n材料一次提交，结果统一送达。\n　　二、加强监管\n　　下一步，我们将继续深化改革。\n\n- 2 -\n\u{c}城南县人民政府公报\n";
        let got: Vec<&str> = reflow(text).iter().map(|s| s.slice(text)).collect();
        assert!(
            got[0].starts_with("县政务服务中心") && got[0].ends_with("结果统一送达。"),
            "{got:?}"
        );
        assert_eq!(
            &got[1..],
            [
                "二、加强监管",
                "下一步，我们将继续深化改革。",
                "- 2 -",
                "城南县人民政府公报"
            ]
        );
    }
}
