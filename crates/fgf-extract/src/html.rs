//! HTML pages and fragments to text, with the structure the segmenter
//! needs: every block element (`p`, `div`, `li`, `h1`-`h6`, `tr`, ...) and
//! `<br>` ends a line, table cells are joined with ` | `, `<script>`,
//! `<style>`, `<template>`, `<noscript>` and hidden elements (`hidden`,
//! `style="display:none"`, `aria-hidden="true"`) are dropped. Navigation,
//! footers and share bars stay: the role rules mark them boilerplate, and
//! nothing is thrown away by a guess at the "main content".
//!
//! Only html5ever's tokenizer is used, not its tree builder: no DOM is
//! built, so a page nested 100,000 elements deep costs no stack and no
//! tree, only a counter. Entities are decoded by the tokenizer.

use std::cell::{Cell, RefCell};

use html5ever::tendril::StrTendril;
use html5ever::tokenizer::states::RawKind;
use html5ever::tokenizer::{
    BufferQueue, CharacterTokens, EndTag, NullCharacterToken, StartTag, Tag, TagToken, Token,
    TokenSink, TokenSinkResult, Tokenizer, TokenizerOpts,
};

/// Elements whose end (and start) ends a line.
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "body",
    "caption",
    "center",
    "dd",
    "details",
    "dialog",
    "div",
    "dl",
    "dt",
    "fieldset",
    "figcaption",
    "figure",
    "footer",
    "form",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "html",
    "legend",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "pre",
    "section",
    "summary",
    "table",
    "tbody",
    "tfoot",
    "thead",
    "title",
    "tr",
    "ul",
];

/// Elements whose content is never text.
const SKIPPED: &[&str] = &["script", "style", "template", "noscript"];

/// Elements without content (never pushed as open).
const VOID: &[&str] = &[
    "area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source",
    "track", "wbr",
];

/// The text of an HTML page or fragment (already decoded to a string).
pub fn html_to_text(html: &str) -> String {
    let sink = TextSink::default();
    let tokenizer = Tokenizer::new(sink, TokenizerOpts::default());
    let input = BufferQueue::default();
    input.push_back(StrTendril::from_slice(html));
    let _ = tokenizer.feed(&input);
    tokenizer.end();
    tokenizer.sink.finish()
}

/// True when `text` starts (after white space and a BOM) like an HTML
/// document: a doctype, `<html`, `<head`, `<body` or an HTML comment.
pub fn looks_like_html(text: &str) -> bool {
    let head: String = text
        .trim_start_matches(['\u{feff}', ' ', '\t', '\r', '\n'])
        .chars()
        .take(16)
        .collect::<String>()
        .to_ascii_lowercase();
    ["<!doctype html", "<html", "<head", "<body", "<!--"]
        .iter()
        .any(|p| head.starts_with(p))
}

#[derive(Default)]
struct TextSink {
    out: RefCell<String>,
    /// The current line, white space not yet collapsed.
    line: RefCell<String>,
    /// Inside a skipped element: its name and how many of it are open.
    skip: RefCell<Option<(String, usize)>>,
    /// `<pre>` elements open: white space kept.
    pre: Cell<usize>,
    /// Cells seen in the current table row.
    cells: Cell<usize>,
}

impl TextSink {
    fn end_line(&self) {
        let mut line = self.line.borrow_mut();
        let text = if self.pre.get() > 0 {
            line.trim_end().to_string()
        } else {
            collapse(&line)
        };
        line.clear();
        if !text.is_empty() {
            let mut out = self.out.borrow_mut();
            out.push_str(&text);
            out.push('\n');
        }
        self.cells.set(0);
    }

    fn finish(&self) -> String {
        self.end_line();
        self.out.take()
    }

    fn start(&self, tag: &Tag) -> TokenSinkResult<()> {
        let name = tag.name.as_ref();
        if let Some((skipped, depth)) = self.skip.borrow_mut().as_mut() {
            if skipped == name && !tag.self_closing {
                *depth += 1;
            }
            return raw_state(name);
        }
        let hidden = tag.attrs.iter().any(|a| {
            let value = a.value.to_ascii_lowercase().replace(' ', "");
            match a.name.local.as_ref() {
                "hidden" => true,
                "aria-hidden" => value == "true",
                "style" => value.contains("display:none") || value.contains("visibility:hidden"),
                _ => false,
            }
        });
        if (SKIPPED.contains(&name) || hidden) && !VOID.contains(&name) && !tag.self_closing {
            *self.skip.borrow_mut() = Some((name.to_string(), 1));
            return raw_state(name);
        }
        match name {
            "br" => self.end_line(),
            "td" | "th" => {
                if self.cells.get() > 0 {
                    self.line.borrow_mut().push_str(" | ");
                }
                self.cells.set(self.cells.get() + 1);
            }
            "pre" => {
                self.end_line();
                self.pre.set(self.pre.get() + 1);
            }
            _ if BLOCKS.contains(&name) => self.end_line(),
            _ => {}
        }
        raw_state(name)
    }

    fn end(&self, tag: &Tag) {
        let name = tag.name.as_ref();
        {
            let mut skip = self.skip.borrow_mut();
            if let Some((skipped, depth)) = skip.as_mut() {
                if skipped == name {
                    *depth -= 1;
                    if *depth == 0 {
                        *skip = None;
                    }
                }
                return;
            }
        }
        match name {
            "pre" => {
                self.end_line();
                self.pre.set(self.pre.get().saturating_sub(1));
            }
            "td" | "th" => {}
            _ if BLOCKS.contains(&name) => self.end_line(),
            _ => {}
        }
    }
}

/// The tokenizer state for the content of `name`, as a browser's tree
/// builder would set it (so `<script>` content is not read as tags).
fn raw_state(name: &str) -> TokenSinkResult<()> {
    match name {
        "script" => TokenSinkResult::RawData(RawKind::ScriptData),
        "style" | "xmp" | "iframe" | "noembed" | "noframes" => {
            TokenSinkResult::RawData(RawKind::Rawtext)
        }
        "title" | "textarea" => TokenSinkResult::RawData(RawKind::Rcdata),
        "plaintext" => TokenSinkResult::Plaintext,
        _ => TokenSinkResult::Continue,
    }
}

/// White space runs to one space, trimmed; a run between two CJK chars
/// (a source line break inside a Chinese sentence) disappears.
fn collapse(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut pending_space = false;
    for c in line.chars() {
        if c.is_whitespace() && c != '\u{3000}' {
            pending_space = !out.is_empty();
            continue;
        }
        if pending_space {
            let before = out.chars().next_back().unwrap_or(' ');
            if !(is_cjk(before) && is_cjk(c)) {
                out.push(' ');
            }
            pending_space = false;
        }
        out.push(c);
    }
    out
}

fn is_cjk(c: char) -> bool {
    matches!(c, '\u{3000}'..='\u{303F}' | '\u{4E00}'..='\u{9FFF}' | '\u{FF00}'..='\u{FFEF}')
}

impl TokenSink for TextSink {
    type Handle = ();

    fn process_token(&self, token: Token, _line: u64) -> TokenSinkResult<()> {
        match token {
            TagToken(tag) => match tag.kind {
                StartTag => return self.start(&tag),
                EndTag => self.end(&tag),
            },
            CharacterTokens(text) if self.skip.borrow().is_none() => {
                self.line.borrow_mut().push_str(&text);
            }
            NullCharacterToken => {}
            _ => {}
        }
        TokenSinkResult::Continue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE: &str = r#"<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>南岭县人民政府</title>
<style>.nav { color: red }</style>
<script>var x = "<p>不是正文</p>";</script></head>
<body>
<div class="nav"><a href="/">首页</a> &gt; <a href="/gk">政务公开</a></div>
<h1>南岭县优化营商环境实施方案</h1>
<p>全面推行告知承诺制，
企业开办全程网上办理。</p>
<p style="display: none">隐藏的段落</p>
<table><tr><th>索引号</th><th>发布机构</th></tr>
<tr><td>0001-2026</td><td>县政府办公室</td></tr></table>
<ul><li>一、深化审批制度改革</li><li>二、加强事中事后监管</li></ul>
<p>第一行<br>第二行&nbsp;&amp;&nbsp;第三段</p>
<div hidden>也隐藏</div>
<footer>版权所有 &copy; 南岭县人民政府</footer>
</body></html>"#;

    #[test]
    fn blocks_become_lines_and_scripts_styles_and_hidden_text_are_gone() {
        let text = html_to_text(PAGE);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "南岭县人民政府",
                "首页 > 政务公开",
                "南岭县优化营商环境实施方案",
                "全面推行告知承诺制，企业开办全程网上办理。",
                "索引号 | 发布机构",
                "0001-2026 | 县政府办公室",
                "一、深化审批制度改革",
                "二、加强事中事后监管",
                "第一行",
                "第二行 & 第三段",
                "版权所有 © 南岭县人民政府",
            ],
            "{text}"
        );
        assert!(looks_like_html(PAGE));
        assert!(!looks_like_html("一、深化审批制度改革"));
    }

    #[test]
    fn deep_nesting_and_unclosed_tags_cost_no_stack() {
        let deep = "<div>".repeat(100_000) + "正文" + &"</div>".repeat(100_000);
        assert_eq!(html_to_text(&deep), "正文\n");
        let unclosed = "<p>第一段<p>第二段<script>不读";
        assert_eq!(html_to_text(unclosed), "第一段\n第二段\n");
        let nested_skip = "<div hidden><div>一</div><div>二</div></div><p>三</p>";
        assert_eq!(html_to_text(nested_skip), "三\n");
    }

    #[test]
    fn pre_keeps_its_line_breaks() {
        assert_eq!(html_to_text("<pre>一 行\n二  行</pre>"), "一 行\n二  行\n");
    }
}
