//! Measuring paragraph reconstruction: hard-wrapped copies of clean
//! documents, and how well their paragraphs and labels come back.
//!
//! [`hard_wrap`] turns a clean document (one paragraph per line) into what a
//! PDF or Word export gives: lines cut at a fixed display width, optionally
//! indented paragraph starts, and page furniture (a running header and a
//! page number) every so many lines, even in the middle of a paragraph.
//! [`compare`] tags both versions and scores the wrapped one against the
//! clean one: paragraph-boundary precision/recall/F1 and how many clean
//! paragraphs get exactly the same labels. `fgf eval-layout` prints these
//! numbers; the tests guard them.

use fgf_core::evaluation::Scores;
use fgf_core::role::Role;
use fgf_core::spans::LineMode;
use fgf_core::spans::char_width;
use fgf_core::tagger::{TagOptions, TaggedDocument, Tagger};

/// How to wrap a clean document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WrapStyle {
    /// Display columns per line (a CJK char is 2 columns).
    pub width: usize,
    /// Start every body paragraph with two ideographic spaces.
    pub indent: bool,
    /// Insert a running header and a page number every this many lines.
    pub page_lines: Option<usize>,
}

/// The running header inserted at page breaks.
pub const RUNNING_HEADER: &str = "某某市人民政府办公室文件";

/// Wraps `clean` (one paragraph per line) in `style`.
pub fn hard_wrap(clean: &str, style: WrapStyle) -> String {
    let mut lines: Vec<String> = Vec::new();
    for para in clean.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let mut line = String::new();
        let mut cols = 0;
        if style.indent && para.chars().count() > style.width / 2 {
            line.push_str("\u{3000}\u{3000}");
            cols = 4;
        }
        for c in para.chars() {
            let w = char_width(c);
            if cols + w > style.width && !line.trim().is_empty() {
                lines.push(std::mem::take(&mut line));
                cols = 0;
            }
            line.push(c);
            cols += w;
        }
        lines.push(line);
    }
    let mut out = String::new();
    let mut page = 1;
    for (i, line) in lines.iter().enumerate() {
        if let Some(n) = style.page_lines
            && i > 0
            && i % n == 0
        {
            out.push_str(&format!("- {page} -\n{RUNNING_HEADER}\n"));
            page += 1;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// How a wrapped document compares with its clean original.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LayoutScore {
    /// Paragraphs of the clean document.
    pub clean_paragraphs: usize,
    /// Paragraphs found in the wrapped document, page furniture left out.
    pub wrapped_paragraphs: usize,
    /// Paragraph starts found vs the clean document's.
    pub boundaries: Scores,
    /// Clean body paragraphs whose best-overlapping wrapped paragraph has
    /// exactly the same labels.
    pub same_labels: usize,
    /// Clean body paragraphs.
    pub body_paragraphs: usize,
}

impl LayoutScore {
    /// Share of clean body paragraphs with the same labels.
    pub fn label_agreement(&self) -> f64 {
        if self.body_paragraphs == 0 {
            1.0
        } else {
            self.same_labels as f64 / self.body_paragraphs as f64
        }
    }

    /// Adds another document's counts.
    pub fn add(&mut self, other: &LayoutScore) {
        self.clean_paragraphs += other.clean_paragraphs;
        self.wrapped_paragraphs += other.wrapped_paragraphs;
        self.boundaries = Scores::from_counts(
            self.boundaries.true_positives + other.boundaries.true_positives,
            self.boundaries.false_positives + other.boundaries.false_positives,
            self.boundaries.false_negatives + other.boundaries.false_negatives,
        );
        self.same_labels += other.same_labels;
        self.body_paragraphs += other.body_paragraphs;
    }
}

/// Paragraphs of a tagged document as ranges of "content" (non-whitespace
/// chars outside page furniture), with their labels and role.
fn content_ranges(text: &str, doc: &TaggedDocument) -> Vec<(usize, usize, Role, Vec<usize>)> {
    // Content index of every byte offset.
    let mut content_at = vec![0usize; text.len() + 1];
    let furniture = furniture_bytes(text);
    let mut n = 0;
    for (b, c) in text.char_indices() {
        for slot in &mut content_at[b..b + c.len_utf8()] {
            *slot = n;
        }
        if !c.is_whitespace() && !furniture[b] {
            n += 1;
        }
    }
    content_at[text.len()] = n;
    doc.spans
        .iter()
        .filter(|s| !furniture[s.span.start])
        .map(|s| {
            let labels = s.labels.iter().map(|h| h.index).collect();
            (
                content_at[s.span.start],
                content_at[s.span.end],
                s.role,
                labels,
            )
        })
        .collect()
}

/// Bytes that belong to the page furniture [`hard_wrap`] inserts.
fn furniture_bytes(text: &str) -> Vec<bool> {
    let mut mask = vec![false; text.len() + 1];
    let mut start = 0;
    for line in text.split_inclusive('\n') {
        let t = line.trim();
        let is_page_number = t.starts_with("- ") && t.ends_with(" -");
        if t == RUNNING_HEADER || is_page_number {
            for slot in &mut mask[start..start + line.len()] {
                *slot = true;
            }
        }
        start += line.len();
    }
    mask
}

/// Tags `clean` line by line and `wrapped` in `mode`, and scores the latter.
pub fn compare(tagger: &Tagger, clean: &str, wrapped: &str, mode: LineMode) -> LayoutScore {
    let clean_doc = tagger.tag(
        clean,
        &TagOptions {
            line_mode: LineMode::Lines,
            ..TagOptions::default()
        },
    );
    let wrapped_doc = tagger.tag(
        wrapped,
        &TagOptions {
            line_mode: mode,
            ..TagOptions::default()
        },
    );
    let gold = content_ranges(clean, &clean_doc);
    let found = content_ranges(wrapped, &wrapped_doc);
    let gold_starts: std::collections::HashSet<usize> = gold.iter().map(|g| g.0).collect();
    let found_starts: std::collections::HashSet<usize> = found.iter().map(|f| f.0).collect();
    let tp = gold_starts.intersection(&found_starts).count();
    let boundaries = Scores::from_counts(tp, found_starts.len() - tp, gold_starts.len() - tp);
    let mut same_labels = 0;
    let mut body_paragraphs = 0;
    for (gs, ge, role, labels) in &gold {
        if *role != Role::Body {
            continue;
        }
        body_paragraphs += 1;
        let best = found
            .iter()
            .max_by_key(|(fs, fe, _, _)| (*fe).min(*ge).saturating_sub((*fs).max(*gs)));
        if best.is_some_and(|b| &b.3 == labels) {
            same_labels += 1;
        }
    }
    LayoutScore {
        clean_paragraphs: gold.len(),
        wrapped_paragraphs: found.len(),
        boundaries,
        same_labels,
        body_paragraphs,
    }
}

/// The wrap styles `fgf eval-layout` measures: 20, 28, 36 and 40 CJK
/// chars per line, plain, and indented with page furniture every 12 lines.
pub fn standard_styles() -> Vec<WrapStyle> {
    let mut out = Vec::new();
    for width in [40, 56, 72, 80] {
        out.push(WrapStyle {
            width,
            indent: false,
            page_lines: None,
        });
        out.push(WrapStyle {
            width,
            indent: true,
            page_lines: Some(12),
        });
    }
    out
}

/// Scores every style over `docs` (clean texts): with one paragraph per
/// line (before reconstruction) and with reconstruction.
pub fn evaluate(tagger: &Tagger, docs: &[String]) -> Vec<(WrapStyle, LayoutScore, LayoutScore)> {
    standard_styles()
        .into_iter()
        .map(|style| {
            let mut lines = LayoutScore::default();
            let mut reflow = LayoutScore::default();
            for clean in docs {
                let wrapped = hard_wrap(clean, style);
                lines.add(&compare(tagger, clean, &wrapped, LineMode::Lines));
                reflow.add(&compare(tagger, clean, &wrapped, LineMode::Reflow));
            }
            (style, lines, reflow)
        })
        .collect()
}

/// A text table of [`evaluate`]'s results.
pub fn format_table(rows: &[(WrapStyle, LayoutScore, LayoutScore)]) -> String {
    let mut out = String::from(
        "wrap  style            clean | per-line: paras  bnd-P  bnd-R  bnd-F1  same-labels | reflow: paras  bnd-P  bnd-R  bnd-F1  same-labels\n",
    );
    for (style, lines, reflow) in rows {
        let name = if style.indent {
            "indent+pages"
        } else {
            "plain"
        };
        out.push_str(&format!(
            "{:>4}  {:<14} {:>7} | {:>15} {:>6.3} {:>6.3} {:>7.3} {:>12.3} | {:>13} {:>6.3} {:>6.3} {:>7.3} {:>12.3}\n",
            style.width / 2,
            name,
            lines.clean_paragraphs,
            lines.wrapped_paragraphs,
            lines.boundaries.precision,
            lines.boundaries.recall,
            lines.boundaries.f1,
            lines.label_agreement(),
            reflow.wrapped_paragraphs,
            reflow.boundaries.precision,
            reflow.boundaries.recall,
            reflow.boundaries.f1,
            reflow.label_agreement(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_char_and_respects_the_width() {
        let clean = "第一段很长的文字，用来测试按显示宽度折行的效果是否正确。\n短行\n";
        let style = WrapStyle {
            width: 20,
            indent: false,
            page_lines: Some(2),
        };
        let wrapped = hard_wrap(clean, style);
        let strip = |s: &str| -> String { s.chars().filter(|c| !c.is_whitespace()).collect() };
        let without_furniture: String = wrapped
            .lines()
            .filter(|l| *l != RUNNING_HEADER && !l.starts_with("- "))
            .collect();
        assert_eq!(strip(&without_furniture), strip(clean));
        assert!(
            wrapped
                .lines()
                .all(|l| l.chars().map(char_width).sum::<usize>() <= 24)
        );
        assert!(wrapped.contains(RUNNING_HEADER));
    }
}
