//! The `--summary` CSV. Rows are computed from the JSON line written to
//! the output, so a resumed run rebuilds the rows of the kept lines with
//! the same function and gets the same bytes.

use std::fs::File;
use std::io::{BufWriter, Write};

use serde_json::Value;

/// The header; README's "Batch tagging" documents every column.
pub const HEADER: &str = "id,chars,body_chars,fang,guan,fu,top_themes";

/// `--summary`: one row per tagged document.
pub struct CsvWriter(pub BufWriter<File>);

fn field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

fn uint(v: &Value, key: &str) -> u64 {
    v.get(key).and_then(Value::as_u64).unwrap_or(0)
}

fn list<'a>(v: &'a Value, key: &str) -> &'a [Value] {
    v.get(key)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// What the CSV and the HTML report's table show of one tagged document,
/// read from its output line (a TagResponse in proto JSON).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct DocRow {
    pub id: String,
    /// Characters in the spans (the document without the whitespace
    /// between paragraphs).
    pub chars: u64,
    /// Characters in body spans.
    pub body_chars: u64,
    /// Shares of body characters per pillar.
    pub fang: f64,
    pub guan: f64,
    pub fu: f64,
    /// The top three theme codes by share.
    pub themes: Vec<String>,
}

impl DocRow {
    pub fn from_line(line: &Value) -> Self {
        let summary = line.get("summary").unwrap_or(&Value::Null);
        let share = |code: &str| {
            list(summary, "pillars")
                .iter()
                .find(|p| p.get("code").and_then(Value::as_str) == Some(code))
                .and_then(|p| p.get("share").and_then(Value::as_f64))
                .unwrap_or(0.0)
        };
        Self {
            id: line
                .get("id")
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string(),
            chars: list(line, "spans")
                .iter()
                .map(|s| uint(s, "charEnd").saturating_sub(uint(s, "charStart")))
                .sum(),
            body_chars: uint(summary, "bodyChars"),
            fang: share("fang"),
            guan: share("guan"),
            fu: share("fu"),
            themes: list(summary, "themes")
                .iter()
                .take(3)
                .filter_map(|t| t.get("code").and_then(Value::as_str))
                .map(str::to_string)
                .collect(),
        }
    }
}

/// The CSV row (with its newline) of one output line (a TagResponse in
/// proto JSON).
pub fn row(line: &Value) -> String {
    let r = DocRow::from_line(line);
    format!(
        "{},{},{},{:.3},{:.3},{:.3},{}\n",
        field(&r.id),
        r.chars,
        r.body_chars,
        r.fang,
        r.guan,
        r.fu,
        field(&r.themes.join(";"))
    )
}

impl CsvWriter {
    pub fn header(&mut self) -> std::io::Result<()> {
        writeln!(self.0, "{HEADER}")
    }

    pub fn row(&mut self, line: &Value) -> std::io::Result<()> {
        self.0.write_all(row(line).as_bytes())
    }
}
