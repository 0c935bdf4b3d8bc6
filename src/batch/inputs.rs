//! Reading the inputs of `fgf tag` into documents, lazily, one at a time:
//! text files, folders (recursively, `*.txt`, `*.md`, `*.html`, `*.htm`, `*.docx` and `*.pdf` in any letter
//! case), JSONL files with `{"id", "text"}` per line, and `-` for JSONL on
//! stdin. A document that cannot be read is a [`BadInput`], not an error
//! of the run.

use std::collections::VecDeque;
use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_json::Value;

/// One document to tag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Doc {
    pub id: String,
    pub text: String,
}

/// A document that could not be read from its input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadInput {
    pub id: String,
    pub message: String,
}

/// The documents of a list of inputs, read lazily.
pub struct Inputs {
    pending: VecDeque<PathBuf>,
    current: Option<(String, Box<dyn BufRead + Send>, usize)>,
    stdin: Option<Box<dyn BufRead + Send>>,
    /// Files inside folders that were not read (not `.txt`/`.md`/`.html`/`.htm`/`.docx`/`.pdf`).
    pub skipped_files: Vec<PathBuf>,
    /// The encoding of text files (`--encoding`); `None` detects it.
    encoding: Option<&'static fgf_extract::Encoding>,
}

/// Why an input list cannot be read at all.
fn plain_text_on_stdin() -> anyhow::Error {
    anyhow::anyhow!(
        "stdin does not look like JSONL: `fgf tag -` reads one {{\"id\": ..., \"text\": ...}} \
         object per line. To tag one plain-text document, use `fgf tag-one -`; to tag text \
         files, give their paths (or a folder)"
    )
}

impl Inputs {
    /// Reads text files in `encoding` instead of detecting theirs.
    pub fn with_encoding(mut self, encoding: Option<&'static fgf_extract::Encoding>) -> Self {
        self.encoding = encoding;
        self
    }

    /// Expands folders (sorted, recursively) into their `*.txt`/`*.md`/`*.html`/`*.htm`/`*.docx`/`*.pdf`
    /// files. With `-`, looks at the start of stdin: text that is not JSON
    /// is refused with a hint to use `fgf tag-one`.
    pub fn new(inputs: &[PathBuf]) -> Result<Self> {
        let mut pending = VecDeque::new();
        let mut skipped_files = Vec::new();
        for input in inputs {
            if input.is_dir() {
                let mut files = Vec::new();
                collect_text_files(input, &mut files, &mut skipped_files)?;
                files.sort();
                pending.extend(files);
            } else if input.as_os_str() == "-" || input.exists() {
                pending.push_back(input.clone());
            } else {
                bail!("input {} does not exist", input.display());
            }
        }
        skipped_files.sort();
        let stdin = if pending.iter().any(|p| p.as_os_str() == "-") {
            let mut reader = BufReader::new(std::io::stdin());
            // The first byte that is not white space: JSONL starts with `{`.
            loop {
                let buf = reader.fill_buf().context("reading stdin")?;
                if buf.is_empty() {
                    break;
                }
                match buf.iter().position(|b| !b.is_ascii_whitespace()) {
                    Some(i) if buf[i] == b'{' => break,
                    Some(_) => return Err(plain_text_on_stdin()),
                    None => {
                        let n = buf.len();
                        reader.consume(n);
                    }
                }
            }
            Some(Box::new(reader) as Box<dyn BufRead + Send>)
        } else {
            None
        };
        Ok(Self {
            pending,
            current: None,
            stdin,
            skipped_files,
            encoding: None,
        })
    }

    /// Counts documents without keeping them (for progress): one per text
    /// file, one per non-blank JSONL line; `None` when stdin is an input.
    pub fn count(inputs: &[PathBuf]) -> Result<Option<u64>> {
        if inputs.iter().any(|p| p.as_os_str() == "-") {
            return Ok(None);
        }
        let mut n = 0u64;
        for path in Self::new(inputs)?.pending {
            if is_jsonl(&path) {
                let reader = BufReader::new(File::open(&path)?);
                for line in reader.split(b'\n') {
                    if !line?.iter().all(u8::is_ascii_whitespace) {
                        n += 1;
                    }
                }
            } else {
                n += 1;
            }
        }
        Ok(Some(n))
    }
}

fn has_extension(path: &Path, names: &[&str]) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| names.iter().any(|n| e.eq_ignore_ascii_case(n)))
}

fn is_jsonl(path: &Path) -> bool {
    path.as_os_str() == "-" || has_extension(path, &["jsonl", "ndjson"])
}

fn collect_text_files(
    dir: &Path,
    out: &mut Vec<PathBuf>,
    skipped: &mut Vec<PathBuf>,
) -> Result<()> {
    for entry in std::fs::read_dir(dir).with_context(|| format!("reading {}", dir.display()))? {
        let path = entry?.path();
        if path.is_dir() {
            collect_text_files(&path, out, skipped)?;
        } else if has_extension(&path, &["txt", "md", "html", "htm", "docx", "pdf"]) {
            out.push(path);
        } else {
            skipped.push(path);
        }
    }
    Ok(())
}

/// A JSONL line as `fgf tag` reads it: an object with a string `text` and
/// an optional `id` (a string, or a number taken in its JSON form). Errors
/// say what is wrong in JSON terms.
fn parse_jsonl_line(
    line: &[u8],
    line_no: usize,
) -> std::result::Result<(Option<String>, String), String> {
    if std::str::from_utf8(line).is_err() {
        return Err(format!("line {line_no}: not UTF-8 text"));
    }
    let value: Value = serde_json::from_slice(line).map_err(|e| {
        let what = if e.is_eof() {
            "a JSON object cut short"
        } else if e.is_syntax() {
            "not JSON"
        } else {
            "not valid JSON text"
        };
        format!(
            "line {line_no}: {what} (column {}); each line must be {{\"id\": ..., \"text\": ...}}",
            e.column()
        )
    })?;
    let Value::Object(mut map) = value else {
        return Err(format!(
            "line {line_no}: not a JSON object; each line must be {{\"id\": ..., \"text\": ...}}"
        ));
    };
    let text = match map.remove("text") {
        Some(Value::String(t)) => t,
        None => return Err(format!("line {line_no}: no \"text\" field")),
        Some(_) => return Err(format!("line {line_no}: \"text\" must be a string")),
    };
    let id = match map.remove("id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) if s.is_empty() => None,
        Some(Value::String(s)) => Some(s),
        Some(Value::Number(n)) => Some(n.to_string()),
        Some(_) => {
            return Err(format!(
                "line {line_no}: \"id\" must be a string or a number"
            ));
        }
    };
    Ok((id, text))
}

impl Iterator for Inputs {
    type Item = std::result::Result<Doc, BadInput>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some((name, reader, line_no)) = &mut self.current {
                let mut line = Vec::new();
                match reader.read_until(b'\n', &mut line) {
                    Ok(0) => {
                        self.current = None;
                        continue;
                    }
                    Ok(_) => {
                        *line_no += 1;
                        if line.iter().all(u8::is_ascii_whitespace) {
                            continue;
                        }
                        let where_ = format!("{name}:{line_no}");
                        return Some(match parse_jsonl_line(&line, *line_no) {
                            Ok((id, text)) => Ok(Doc {
                                id: id.unwrap_or(where_),
                                text,
                            }),
                            Err(message) => Err(BadInput {
                                id: where_,
                                message,
                            }),
                        });
                    }
                    Err(e) => {
                        let id = format!("{name}:{}", *line_no + 1);
                        self.current = None;
                        let message = if e.kind() == std::io::ErrorKind::InvalidData {
                            "not UTF-8 text".to_string()
                        } else {
                            format!("read error: {e}")
                        };
                        return Some(Err(BadInput { id, message }));
                    }
                }
            }
            let path = self.pending.pop_front()?;
            let name = path.display().to_string();
            if is_jsonl(&path) {
                let reader: Box<dyn BufRead + Send> = if path.as_os_str() == "-" {
                    match self.stdin.take() {
                        Some(r) => r,
                        None => continue, // `-` twice: stdin is read once
                    }
                } else {
                    match File::open(&path) {
                        Ok(f) => Box::new(BufReader::new(f)),
                        Err(e) => {
                            return Some(Err(BadInput {
                                id: name,
                                message: format!("cannot open: {e}"),
                            }));
                        }
                    }
                };
                self.current = Some((name, reader, 0));
                continue;
            }
            let mut bytes = Vec::new();
            let read = File::open(&path).and_then(|mut f| f.read_to_end(&mut bytes));
            return Some(match read {
                Err(e) => Err(BadInput {
                    id: name,
                    message: format!("cannot read: {e}"),
                }),
                // UTF-8, UTF-16, GB18030/GBK, Big5 (detected) or --encoding;
                // an HTML page becomes its text.
                Ok(_) => match fgf_extract::extract(&bytes, Some(&name), self.encoding) {
                    Ok(decoded) => Ok(Doc {
                        id: name,
                        text: decoded.text,
                    }),
                    Err(e) => Err(BadInput {
                        id: name,
                        message: e.to_string(),
                    }),
                },
            });
        }
    }
}
