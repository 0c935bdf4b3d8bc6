//! `fgf tag --html FILE`: one self-contained page for reviewing a batch.
//!
//! The file is written as the batch runs, in input order, next to the
//! JSONL output:
//!
//! * a head with the page's styles inline (`fgf_grpc::web::STYLE`);
//! * each tagged document's output line, as it is in the JSONL, in a
//!   `<script type="application/json" class="doc" id="doc-N">` block
//!   (N counts tagged documents from 0). The browser parses a block only
//!   when its document is opened, so a report of thousands of documents
//!   opens at once;
//! * at the end ([`HtmlReport::finish`]), one `<script type="application/json"
//!   id="report">` block with a [`DocRow`] per document (failed ones with
//!   their status, so none is silently missing), the model versions seen
//!   and when the report was written, then the scripts inline: the page's
//!   `render.js` and `report.js`, which draw the sortable table and a
//!   document's highlighted view.
//!
//! Nothing is fetched: the file can be mailed or opened from disk. A
//! `--resume`d run writes the report again from the kept output lines, as
//! the CSV is rebuilt.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::Path;

use anyhow::{Context, Result};
use serde_json::{Value, json};

use super::csv_writer::DocRow;

/// The report's HTML up to the document blocks.
const HEAD: &str = r#"<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>fgf-tagger report</title>
<style>
"#;

/// The report's own styles, then the table and the view, before the
/// document blocks.
const AFTER_STYLE: &str = r#"
.report-table td.num { text-align: right; font-variant-numeric: tabular-nums; }
.report-table a.sort { color: inherit; }
.report-table th[aria-sort=ascending] a.sort::after { content: " ▲"; }
.report-table th[aria-sort=descending] a.sort::after { content: " ▼"; }
.cell-bar { display: inline-block; width: 3rem; height: .6rem; background: #f1f3f5; vertical-align: middle; }
.cell-fill { display: block; height: 100%; background: var(--grey); }
.share.fang .cell-fill { background: var(--fang); } .share.guan .cell-fill { background: var(--guan); } .share.fu .cell-fill { background: var(--fu); }
tr.failed, .failed { color: #c92a2a; }
#view-title:focus { outline: none; }
</style>
</head>
<body>
<header>
  <h1>fgf-tagger report</h1>
  <p class="model" id="report-meta">This report draws its table with JavaScript: open it in a browser with scripts on.</p>
</header>
<main>
  <section id="table-section" aria-label="documents">
    <label for="filter">filter by id</label> <input id="filter" type="search" autocomplete="off">
    <table id="docs" class="report-table"><thead></thead><tbody></tbody></table>
  </section>
  <section id="view" aria-labelledby="view-title" hidden>
    <p id="view-nav"></p>
    <h2 id="view-title" tabindex="-1"></h2>
    <div id="pillars" class="bars"></div>
    <h3>Top themes</h3>
    <div id="themes" class="bars"></div>
    <div id="document"></div>
  </section>
</main>
"#;

/// A batch's HTML report, written as documents come.
pub struct HtmlReport {
    out: BufWriter<File>,
    rows: Vec<Value>,
    models: Vec<String>,
    /// Tagged documents written so far: the next `doc-N`.
    docs: usize,
}

/// JSON inside `<script>`: `<` as `\u003c`, so no `</script>` or `<!--`
/// in a document's text can end the block. (In JSON text `<` only occurs
/// inside strings, where the escape means the same.)
fn script_json(json: &str) -> String {
    json.replace('<', "\\u003c")
}

impl HtmlReport {
    /// Creates `path` and writes the head.
    pub fn create(path: &Path) -> Result<Self> {
        let file = File::create(path).with_context(|| format!("opening {}", path.display()))?;
        let mut out = BufWriter::new(file);
        out.write_all(HEAD.as_bytes())?;
        out.write_all(fgf_grpc::web::STYLE.as_bytes())?;
        out.write_all(AFTER_STYLE.as_bytes())?;
        Ok(Self {
            out,
            rows: Vec::new(),
            models: Vec::new(),
            docs: 0,
        })
    }

    /// A tagged document: `line` is its output line, `value` the same
    /// parsed.
    pub fn tagged(&mut self, line: &str, value: &Value) -> Result<()> {
        let n = self.docs;
        self.docs += 1;
        writeln!(
            self.out,
            r#"<script type="application/json" class="doc" id="doc-{n}">{}</script>"#,
            script_json(line.trim_end())
        )?;
        let mut row = serde_json::to_value(DocRow::from_line(value))?;
        row["seq"] = json!(self.rows.len());
        row["doc"] = json!(n);
        self.rows.push(row);
        if let Some(model) = value.get("modelVersion").and_then(Value::as_str)
            && !self.models.iter().any(|m| m == model)
        {
            self.models.push(model.to_string());
        }
        Ok(())
    }

    /// A document that failed, with its status.
    pub fn failed(&mut self, id: &str, code: &str, message: &str) {
        self.rows.push(json!({
            "seq": self.rows.len(),
            "id": id,
            "error": {"code": code, "message": message},
        }));
    }

    /// Writes the table's data and the scripts, then flushes and fsyncs.
    pub fn finish(mut self) -> Result<()> {
        let written = humantime::format_rfc3339_seconds(std::time::SystemTime::now());
        let report = json!({
            "rows": self.rows,
            "models": self.models,
            "written": written.to_string(),
            "fgfVersion": env!("CARGO_PKG_VERSION"),
        });
        writeln!(
            self.out,
            r#"<script type="application/json" id="report">{}</script>"#,
            script_json(&report.to_string())
        )?;
        writeln!(
            self.out,
            "<script>\n{}\n{}</script>\n</body>\n</html>",
            fgf_grpc::web::RENDER_SCRIPT,
            fgf_grpc::web::REPORT_SCRIPT
        )?;
        self.out.flush()?;
        self.out.get_ref().sync_all()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_text_can_close_the_script_block() {
        let line =
            json!({"id": "a</script><script>alert(1)</script>", "text": "<!-- x"}).to_string();
        let escaped = script_json(&line);
        assert!(!escaped.contains('<'));
        let back: Value = serde_json::from_str(&escaped).unwrap();
        assert_eq!(back, serde_json::from_str::<Value>(&line).unwrap());
    }

    #[test]
    fn the_report_holds_every_document_and_its_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.html");
        let mut report = HtmlReport::create(&path).unwrap();
        let line = json!({"id": "d1", "modelVersion": "fgf-x", "spans": [
            {"charStart": 0, "charEnd": 4, "text": "一网通办", "role": "ROLE_BODY"}],
            "summary": {"bodyChars": 4, "pillars": [{"code": "fu", "share": 1}],
                        "themes": [{"code": "fu.online", "share": 1}]}});
        report.tagged(&line.to_string(), &line).unwrap();
        report.failed("d2", "INVALID_ARGUMENT", "not UTF-8");
        report.finish().unwrap();
        let html = std::fs::read_to_string(&path).unwrap();
        assert!(html.contains(r#"id="doc-0">{"#));
        assert!(!html.contains("doc-1"));
        let at = html.find(r#"id="report">"#).unwrap() + r#"id="report">"#.len();
        let end = at + html[at..].find("</script>").unwrap();
        let data: Value = serde_json::from_str(&html[at..end]).unwrap();
        assert_eq!(data["models"], json!(["fgf-x"]));
        assert_eq!(data["rows"][0]["themes"], json!(["fu.online"]));
        assert_eq!(data["rows"][0]["fu"], json!(1.0));
        assert_eq!(data["rows"][0]["doc"], json!(0));
        assert_eq!(data["rows"][1]["error"]["code"], json!("INVALID_ARGUMENT"));
        assert!(html.ends_with("</html>\n"));
    }
}
