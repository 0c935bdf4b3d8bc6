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

/// The CSV row (with its newline) of one output line (a TagResponse in
/// proto JSON).
pub fn row(line: &Value) -> String {
    let summary = line.get("summary").unwrap_or(&Value::Null);
    let share = |code: &str| {
        list(summary, "pillars")
            .iter()
            .find(|p| p.get("code").and_then(Value::as_str) == Some(code))
            .and_then(|p| p.get("share").and_then(Value::as_f64))
            .unwrap_or(0.0)
    };
    let chars: u64 = list(line, "spans")
        .iter()
        .map(|s| uint(s, "charEnd").saturating_sub(uint(s, "charStart")))
        .sum();
    let top: Vec<&str> = list(summary, "themes")
        .iter()
        .take(3)
        .filter_map(|t| t.get("code").and_then(Value::as_str))
        .collect();
    format!(
        "{},{chars},{},{:.3},{:.3},{:.3},{}\n",
        field(line.get("id").and_then(Value::as_str).unwrap_or("")),
        uint(summary, "bodyChars"),
        share("fang"),
        share("guan"),
        share("fu"),
        field(&top.join(";"))
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
